#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256(as_bytes("")).hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256(as_bytes("abc")).hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).hex(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalOfNothingIsTheEmptyDigest) {
  EXPECT_EQ(Sha256().finish(), sha256(as_bytes("")));
}

TEST(Sha256Test, IncrementalEqualsOneShotAtEverySplit) {
  std::string message;
  for (int i = 0; i < 200; ++i) message.push_back(static_cast<char>('a' + i % 26));
  Hash256 expected = sha256(as_bytes(message));
  std::string_view text = message;
  for (std::size_t split = 0; split <= message.size(); ++split) {
    Sha256 hasher;
    hasher.update(as_bytes(text.substr(0, split))).update(as_bytes(text.substr(split)));
    EXPECT_EQ(hasher.finish(), expected) << "split at " << split;
  }
}

TEST(Sha256Test, IncrementalByteByByteEqualsOneShot) {
  std::string message(1000, 'x');
  Sha256 hasher;
  for (char c : message) hasher.update(as_bytes(std::string_view(&c, 1)));
  EXPECT_EQ(hasher.finish(), sha256(as_bytes(message)));
}

TEST(Sha256Test, DigestsCompareAndPrint) {
  Hash256 a = sha256(as_bytes("a"));
  Hash256 b = sha256(as_bytes("b"));
  EXPECT_NE(a, b);
  EXPECT_EQ(a, sha256(as_bytes("a")));
  EXPECT_EQ(a.hex().size(), 64u);
  EXPECT_EQ(a.view().size(), 32u);
  EXPECT_TRUE(a < b || b < a);
}

TEST(Sha256DeathTest, UseAfterFinishIsAnInvariantViolation) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Sha256 hasher;
  (void)hasher.finish();
  EXPECT_DEATH(hasher.update(as_bytes("more")), "invariant violated: !finished_");
  EXPECT_DEATH((void)hasher.finish(), "invariant violated: !finished_");
}

}  // namespace
}  // namespace ballast
