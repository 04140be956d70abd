#include "consensus/types.h"

#include "base/assert.h"

namespace ballast::consensus {

ValidatorSet::ValidatorSet(std::vector<ValidatorInfo> validators)
    : validators_(std::move(validators)) {
  BALLAST_ASSERT_MSG(!validators_.empty(), "a validator set needs at least one validator");
  for (const ValidatorInfo& validator : validators_) {
    BALLAST_ASSERT(validator.stake > 0);
    // Bounded so that 3 * stake never overflows.
    BALLAST_ASSERT(validator.stake < (1ULL << 60) && total_stake_ < (1ULL << 60));
    total_stake_ += validator.stake;
  }
  BALLAST_ASSERT(total_stake_ < (1ULL << 61));
}

bool ValidatorSet::is_quorum(Stake stake) const {
  return 3 * stake > 2 * total_stake_;
}

bool ValidatorSet::exceeds_one_third(Stake stake) const {
  return 3 * stake > total_stake_;
}

std::optional<ValidatorIndex> ValidatorSet::index_of(const PublicKey& key) const {
  for (std::size_t i = 0; i < validators_.size(); ++i) {
    if (validators_[i].key == key) return static_cast<ValidatorIndex>(i);
  }
  return std::nullopt;
}

}  // namespace ballast::consensus
