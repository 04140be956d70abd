#include "consensus/leader_schedule.h"

#include <algorithm>

#include "base/assert.h"
#include "base/codec.h"

namespace ballast::consensus {

LeaderSchedule::LeaderSchedule(const ValidatorSet& validators, const Hash256& seed,
                               View inactivity_views)
    : validators_(validators), seed_(seed), inactivity_views_(inactivity_views) {
  Stake sum = 0;
  for (const ValidatorInfo& validator : validators.validators()) {
    sum += validator.stake;
    cumulative_stake_.push_back(sum);
  }
}

ActivityRecord LeaderSchedule::genesis_record() const {
  return ActivityRecord{std::vector<View>(validators_.size(), 0),
                        std::vector<View>(validators_.size(), 0)};
}

ValidatorIndex LeaderSchedule::weighted_pick(View view, std::uint32_t attempt) const {
  Encoder input(48);
  input.raw(seed_.bytes);
  input.u64(view);
  input.u32(attempt);
  Hash256 digest = sha256(input.buffer());
  std::uint64_t draw = 0;
  for (int i = 0; i < 8; ++i) draw |= static_cast<std::uint64_t>(digest.bytes[i]) << (8 * i);
  // The modulo bias is below total_stake / 2^64: negligible for any real stake distribution.
  Stake point = draw % validators_.total_stake();
  auto it = std::upper_bound(cumulative_stake_.begin(), cumulative_stake_.end(), point);
  BALLAST_ASSERT(it != cumulative_stake_.end());
  return static_cast<ValidatorIndex>(it - cumulative_stake_.begin());
}

bool LeaderSchedule::inactive(const ActivityRecord& record, ValidatorIndex validator,
                              View view) const {
  View missed = record.last_missed[validator];
  return missed > record.last_led[validator] && missed < view && view - missed <= inactivity_views_;
}

std::vector<bool> LeaderSchedule::skipped(const ActivityRecord& record, View view) const {
  std::vector<ValidatorIndex> candidates;
  for (ValidatorIndex i = 0; i < validators_.size(); ++i) {
    if (inactive(record, i, view)) candidates.push_back(i);
  }
  // The most recent misses are the best evidence of who is down now.
  std::stable_sort(candidates.begin(), candidates.end(), [&](ValidatorIndex a, ValidatorIndex b) {
    return record.last_missed[a] > record.last_missed[b];
  });
  std::vector<bool> skip(validators_.size(), false);
  Stake skipped_stake = 0;
  for (ValidatorIndex i : candidates) {
    Stake with = skipped_stake + validators_[i].stake;
    if (3 * with >= validators_.total_stake()) continue;  // would reach a third: keep it eligible
    skip[i] = true;
    skipped_stake = with;
  }
  return skip;
}

ValidatorIndex LeaderSchedule::leader(View view, const ActivityRecord& record) const {
  BALLAST_ASSERT(record.last_missed.size() == validators_.size());
  const std::vector<bool> skip = skipped(record, view);
  const std::uint32_t attempts = static_cast<std::uint32_t>(2 * validators_.size() + 1);
  for (std::uint32_t attempt = 0; attempt < attempts; ++attempt) {
    ValidatorIndex candidate = weighted_pick(view, attempt);
    if (!skip[candidate]) return candidate;
  }
  return weighted_pick(view, 0);  // every draw was skipped: fall back to the plain draw
}

ActivityRecord LeaderSchedule::extend(const ActivityRecord& parent, View parent_view, View view,
                                      ValidatorIndex proposer) const {
  BALLAST_ASSERT(view > parent_view && proposer < validators_.size());
  ActivityRecord record = parent;
  // Only the last inactivity_views skipped views can still mark anyone inactive.
  View first_skipped = std::max(
      parent_view + 1, view > inactivity_views_ ? view - inactivity_views_ : parent_view + 1);
  for (View skipped = first_skipped; skipped < view; ++skipped) {
    ValidatorIndex absent = leader(skipped, parent);
    record.last_missed[absent] = std::max(record.last_missed[absent], skipped);
  }
  record.last_led[proposer] = view;
  return record;
}

}  // namespace ballast::consensus
