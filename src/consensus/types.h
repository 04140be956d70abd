// Consensus vocabulary: views, heights, time as an input, and the stake-weighted validator set.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "crypto/keys.h"

namespace ballast::consensus {

using View = std::uint64_t;
using Height = std::uint64_t;
using ValidatorIndex = std::uint32_t;
using TimeMs = std::int64_t;  // milliseconds on the driver's clock; the core never reads a clock
using Stake = std::uint64_t;

struct ValidatorInfo {
  PublicKey key;
  Stake stake = 0;
};

// The validators and their stakes. A set of signers is a quorum when it holds more than two
// thirds of the total stake, which tolerates Byzantine stake below one third.
class ValidatorSet {
 public:
  explicit ValidatorSet(std::vector<ValidatorInfo> validators);

  std::size_t size() const { return validators_.size(); }
  const ValidatorInfo& operator[](ValidatorIndex index) const { return validators_.at(index); }
  const std::vector<ValidatorInfo>& validators() const { return validators_; }
  Stake total_stake() const { return total_stake_; }
  bool is_quorum(Stake stake) const;
  // Stake strictly above one third: at least one honest validator among them.
  bool exceeds_one_third(Stake stake) const;
  std::optional<ValidatorIndex> index_of(const PublicKey& key) const;

 private:
  std::vector<ValidatorInfo> validators_;
  Stake total_stake_ = 0;
};

}  // namespace ballast::consensus
