// Stake-weighted quorum arithmetic.
#include "consensus/types.h"

#include <gtest/gtest.h>

#include "fixtures.h"

namespace ballast::consensus {
namespace {

using testing::make_validators;

TEST(ValidatorSetTest, EqualStakesNeedThreeOfFour) {
  ValidatorSet validators = make_validators({1, 1, 1, 1});
  EXPECT_EQ(validators.size(), 4u);
  EXPECT_EQ(validators.total_stake(), 4u);
  EXPECT_FALSE(validators.is_quorum(0));
  EXPECT_FALSE(validators.is_quorum(2));  // 6 > 8 fails
  EXPECT_TRUE(validators.is_quorum(3));   // 9 > 8
  EXPECT_TRUE(validators.is_quorum(4));
  EXPECT_FALSE(validators.exceeds_one_third(1));  // 3 > 4 fails
  EXPECT_TRUE(validators.exceeds_one_third(2));
}

TEST(ValidatorSetTest, ExactlyTwoThirdsIsNotAQuorum) {
  ValidatorSet validators = make_validators({1, 1, 1});
  EXPECT_FALSE(validators.is_quorum(2));  // 2/3 exactly
  EXPECT_TRUE(validators.is_quorum(3));
  EXPECT_FALSE(validators.exceeds_one_third(1));  // 1/3 exactly
  EXPECT_TRUE(validators.exceeds_one_third(2));
}

TEST(ValidatorSetTest, UnequalStakes) {
  // Total 8: a quorum needs 3s > 16, so s >= 6; more than a third needs 3s > 8, so s >= 3.
  ValidatorSet validators = make_validators({5, 1, 1, 1});
  EXPECT_EQ(validators.total_stake(), 8u);
  EXPECT_FALSE(validators.is_quorum(validators[0].stake));  // the big validator alone
  EXPECT_FALSE(validators.is_quorum(5));
  EXPECT_TRUE(validators.is_quorum(6));   // the big one and any other
  EXPECT_FALSE(validators.is_quorum(3));  // all the small ones together
  EXPECT_FALSE(validators.exceeds_one_third(2));
  EXPECT_TRUE(validators.exceeds_one_third(3));
  EXPECT_TRUE(validators.exceeds_one_third(5));  // so the big one alone can block progress

  // Seven validators, total 18: quorum from 13.
  ValidatorSet seven = make_validators({5, 4, 3, 2, 2, 1, 1});
  EXPECT_EQ(seven.total_stake(), 18u);
  EXPECT_FALSE(seven.is_quorum(12));
  EXPECT_TRUE(seven.is_quorum(13));  // everyone but the largest validator
  EXPECT_FALSE(seven.exceeds_one_third(6));
  EXPECT_TRUE(seven.exceeds_one_third(7));
}

TEST(ValidatorSetTest, TwoQuorumsOverlapInMoreThanAThird) {
  // For every pair of quorum-sized stakes a and b out of total T: a + b - T > T/3.
  for (Stake total : {3u, 4u, 7u, 8u, 18u, 100u}) {
    std::vector<Stake> stakes(total, 1);
    ValidatorSet validators = make_validators(stakes);
    for (Stake a = 0; a <= total; ++a) {
      for (Stake b = 0; b <= total; ++b) {
        if (!validators.is_quorum(a) || !validators.is_quorum(b)) continue;
        EXPECT_TRUE(validators.exceeds_one_third(a + b - total)) << total << " " << a << " " << b;
      }
    }
  }
}

TEST(ValidatorSetTest, IndexOfKey) {
  ValidatorSet validators = make_validators({1, 2, 3});
  EXPECT_EQ(validators.index_of(validators[2].key), 2u);
  EXPECT_EQ(validators.index_of(validators[0].key), 0u);
  PublicKey unknown;
  unknown.bytes.fill(7);
  EXPECT_EQ(validators.index_of(unknown), std::nullopt);
}

}  // namespace
}  // namespace ballast::consensus
