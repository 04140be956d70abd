#include "crypto/lthash.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast {
namespace {

Hash256 element(int index) {
  return sha256(as_bytes("element " + std::to_string(index)));
}

TEST(LtHashTest, EmptySetsAgree) {
  EXPECT_EQ(LtHash(), LtHash());
  EXPECT_EQ(LtHash().digest(), LtHash().digest());
  EXPECT_EQ(LtHash().bytes().size(), LtHash::kLanes * 2);
}

TEST(LtHashTest, InsertionOrderDoesNotMatter) {
  LtHash forward;
  LtHash backward;
  for (int i = 0; i < 20; ++i) forward.add(element(i));
  for (int i = 19; i >= 0; --i) backward.add(element(i));
  EXPECT_EQ(forward, backward);
  EXPECT_EQ(forward.digest(), backward.digest());
}

TEST(LtHashTest, RemoveUndoesAdd) {
  LtHash set;
  set.add(element(1));
  LtHash before = set;
  set.add(element(2));
  EXPECT_NE(set, before);
  set.remove(element(2));
  EXPECT_EQ(set, before);
  set.remove(element(1));
  EXPECT_EQ(set, LtHash());
}

TEST(LtHashTest, DifferentSetsDiffer) {
  LtHash a;
  LtHash b;
  a.add(element(1));
  b.add(element(2));
  EXPECT_NE(a.digest(), b.digest());
  LtHash twice;
  twice.add(element(1));
  twice.add(element(1));
  EXPECT_NE(twice.digest(), a.digest());  // a multiset: duplicates count
}

}  // namespace
}  // namespace ballast
