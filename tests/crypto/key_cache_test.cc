#include "crypto/key_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ballast {
namespace {

struct Signed {
  SecretKey key;
  Hash256 message;
  Signature signature;
};

Signed signed_by(const std::string& seed) {
  SecretKey key = SecretKey::insecure_from_seed(seed);
  Hash256 message = sha256(as_bytes("order from " + seed));
  Signature signature = key.sign(message);
  return {key, message, signature};
}

TEST(VerifyingKeyCacheTest, KeysSharingASlotEachCheckOnlyTheirOwnSignatures) {
  VerifyingKeyCache cache(1);  // every key lands in the same slot
  Signed alice = signed_by("alice");
  Signed bob = signed_by("bob");
  for (int round = 0; round < 3; ++round) {
    auto a = cache.get(alice.key.public_key());
    ASSERT_TRUE(a.is_ok());
    EXPECT_TRUE(a->verify(alice.message, alice.signature));
    EXPECT_FALSE(a->verify(bob.message, bob.signature));
    auto b = cache.get(bob.key.public_key());
    ASSERT_TRUE(b.is_ok());
    EXPECT_TRUE(b->verify(bob.message, bob.signature));
    EXPECT_FALSE(b->verify(alice.message, alice.signature));
  }
}

TEST(VerifyingKeyCacheTest, ManyKeysInAFewSlotsAllVerify) {
  VerifyingKeyCache cache(5);
  EXPECT_EQ(cache.slots(), 8u);  // rounded up to a power of two
  std::vector<Signed> traders;
  for (int i = 0; i < 40; ++i) traders.push_back(signed_by("trader " + std::to_string(i)));
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < traders.size(); ++i) {
      auto key = cache.get(traders[i].key.public_key());
      ASSERT_TRUE(key.is_ok());
      EXPECT_TRUE(key->verify(traders[i].message, traders[i].signature)) << i;
      const Signed& next = traders[(i + 1) % traders.size()];
      EXPECT_FALSE(key->verify(next.message, next.signature)) << i;
    }
  }
}

TEST(VerifyingKeyCacheTest, AKeyNotOnTheCurveIsAnErrorEveryTime) {
  VerifyingKeyCache cache(1);
  PublicKey off_curve;
  off_curve.bytes[31] = 5;  // x = 5: x^3 + 7 is not a square mod p
  for (int round = 0; round < 2; ++round) {
    auto key = cache.get(off_curve);
    ASSERT_FALSE(key.is_ok());
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  }
  Signed alice = signed_by("alice");
  auto key = cache.get(alice.key.public_key());
  ASSERT_TRUE(key.is_ok());
  EXPECT_TRUE(key->verify(alice.message, alice.signature));
}

}  // namespace
}  // namespace ballast
