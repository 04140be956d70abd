// Who leads a view. Deterministic and stake-weighted: candidates for view v are drawn from
// SHA-256(seed, v, attempt) over the cumulative stakes. A validator that missed its most recent
// leader slot on the chain being extended (its view was skipped), and has not led a block since,
// is passed over for `inactivity_views` views, so a crashed validator costs one timeout rather
// than one per rotation; after that it is tried again. The passed-over validators never hold a
// third of the stake (the most recent misses go first): with fewer than a third of the stake
// down, some eligible validator is always up, so the schedule can never elect only the dead.
#pragma once

#include <vector>

#include "consensus/types.h"
#include "crypto/hash.h"

namespace ballast::consensus {

// Leader-slot outcomes recorded by one chain of blocks.
struct ActivityRecord {
  std::vector<View> last_missed;  // per validator: last view it led that was skipped (0: none)
  std::vector<View> last_led;     // per validator: last view in which it proposed a chain block
  bool operator==(const ActivityRecord&) const = default;
};

class LeaderSchedule {
 public:
  LeaderSchedule(const ValidatorSet& validators, const Hash256& seed, View inactivity_views);

  ActivityRecord genesis_record() const;
  // The leader of `view` for a proposal extending a chain whose record is `record`.
  ValidatorIndex leader(View view, const ActivityRecord& record) const;
  // The record of a chain extended by a block of `view` by `proposer` on a parent of
  // `parent_view`: the views in between were skipped, so their leaders missed their slots.
  ActivityRecord extend(const ActivityRecord& parent, View parent_view, View view,
                        ValidatorIndex proposer) const;

 private:
  ValidatorIndex weighted_pick(View view, std::uint32_t attempt) const;
  bool inactive(const ActivityRecord& record, ValidatorIndex validator, View view) const;
  // Per validator: passed over in `view`. Inactive ones, most recent miss first, while their
  // stake stays below a third of the total.
  std::vector<bool> skipped(const ActivityRecord& record, View view) const;

  const ValidatorSet& validators_;
  Hash256 seed_;
  View inactivity_views_;
  std::vector<Stake> cumulative_stake_;  // cumulative_stake_[i] = stake of validators 0..i
};

}  // namespace ballast::consensus
