#include "node/ingress_guard.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace ballast::node {

namespace {

constexpr std::uint64_t kMilli = 1'000;

Status exhausted(std::string message, std::string_view reason) {
  return Status(StatusCode::kResourceExhausted, std::move(message)).with_reason(reason);
}

std::string describe(const BucketLimits& limits) {
  return std::to_string(limits.rate_per_s) + " transactions/s (burst " +
         std::to_string(limits.burst) + ")";
}

}  // namespace

// --- TokenBucket --------------------------------------------------------------------------------

TokenBucket::TokenBucket(BucketLimits limits, std::int64_t now_ms)
    : limits_(limits), milli_tokens_(limits.burst * kMilli), refilled_at_ms_(now_ms) {
  BALLAST_ASSERT(limits_.rate_per_s > 0 && limits_.burst > 0);
  BALLAST_ASSERT(limits_.burst <= std::numeric_limits<std::uint64_t>::max() / kMilli);
}

// A rate of R per second is R milli-tokens per millisecond: integers throughout.
void TokenBucket::refill(std::int64_t now_ms) {
  if (now_ms <= refilled_at_ms_) return;  // a clock that stood still (or stepped back) adds none
  const std::uint64_t capacity = limits_.burst * kMilli;
  const auto elapsed_ms = static_cast<std::uint64_t>(now_ms - refilled_at_ms_);
  refilled_at_ms_ = now_ms;
  if (elapsed_ms >= capacity / limits_.rate_per_s + 1) {
    milli_tokens_ = capacity;  // long idle: full (and no overflow computing it)
    return;
  }
  milli_tokens_ = std::min(capacity, milli_tokens_ + elapsed_ms * limits_.rate_per_s);
}

bool TokenBucket::take(std::int64_t now_ms) {
  refill(now_ms);
  if (milli_tokens_ < kMilli) return false;
  milli_tokens_ -= kMilli;
  return true;
}

std::uint64_t TokenBucket::tokens(std::int64_t now_ms) {
  refill(now_ms);
  return milli_tokens_ / kMilli;
}

// --- IngressBreaker -----------------------------------------------------------------------------

namespace {
constexpr std::int64_t kSecondSlotMs = 1'000 / kBreakerSlots;  // the confirming second's slots
}  // namespace

IngressBreaker::IngressBreaker(BreakerOptions options)
    : options_(options),
      slot_ms_(std::max<std::int64_t>(1, options.current_window_ms / kBreakerSlots)),
      slots_per_rise_(std::max<std::int64_t>(1, options.floor_rise_ms / slot_ms_)),
      slots_per_step_(std::max<std::int64_t>(1, options.floor_step_ms / slot_ms_)),
      warm_history_weight_(1.0 - std::pow(1.0 - baseline_weight(),
                                          static_cast<double>(kBreakerWarmUpMs / slot_ms_))) {
  BALLAST_ASSERT(options_.baseline_window_ms > 0 && options_.current_window_ms > 0);
  BALLAST_ASSERT(options_.fee_floor_start > 0 && options_.relax_steps > 0);
  BALLAST_ASSERT(options_.quiet_gap_ms >= 0 && options_.backlog_grace_ms >= 0);
}

double IngressBreaker::rate_of(std::uint64_t arrivals, std::int64_t window_ms) const {
  return static_cast<double>(arrivals) * 1'000.0 / static_cast<double>(window_ms);
}

double IngressBreaker::current_rate() const {
  return rate_of(window_arrivals(), slot_ms_ * kBreakerSlots);
}

// The weight of one slot in the baseline's moving average.
double IngressBreaker::baseline_weight() const {
  return std::min(1.0,
                  static_cast<double>(slot_ms_) / static_cast<double>(options_.baseline_window_ms));
}

std::uint64_t IngressBreaker::last_second_arrivals(std::int64_t now_ms) const {
  const std::int64_t oldest = now_ms / kSecondSlotMs - (kBreakerSlots - 1);
  std::uint64_t arrivals = 0;
  for (const SecondSlot& slot : last_second_) arrivals += slot.number >= oldest ? slot.arrivals : 0;
  return arrivals;
}

bool IngressBreaker::confirmed_over_last_second(std::int64_t now_ms) const {
  if (options_.confirm_multiple == 0) return true;
  return static_cast<double>(last_second_arrivals(now_ms)) >=
         static_cast<double>(options_.confirm_multiple) * effective_baseline_per_s();
}

std::uint64_t IngressBreaker::window_arrivals() const {
  std::uint64_t total = 0;
  for (std::uint64_t count : slots_) total += count;
  return total;
}

// The moving average starts from zero, so early on it is that zero's weight too low: divided by
// the weight its history has, it is the mean rate of what it has seen so far. Without this a
// fresh node's baseline stays under the minimum for about half a window (10 s by default)
// whatever its traffic, and a stall's lump there looked like a flood.
double IngressBreaker::baseline_rate() const {
  return history_weight_ > 0 ? baseline_per_s_ / history_weight_ : 0.0;
}

double IngressBreaker::effective_baseline_per_s() const {
  return std::max(baseline_rate(), static_cast<double>(options_.min_baseline_per_s));
}

double IngressBreaker::threshold_per_s() const {
  return static_cast<double>(options_.multiple) * effective_baseline_per_s();
}

// Replays the slot boundaries between the last call and now, so that lazy time (nothing
// arrives, nobody asks) reaches the same state as a clock that ticked every slot.
void IngressBreaker::advance(std::int64_t now_ms) {
  BALLAST_ASSERT(now_ms >= 0);
  const std::int64_t slot = now_ms / slot_ms_;
  if (!slot_) slot_ = slot;
  while (*slot_ < slot) {
    if (!tripped() && window_arrivals() == 0) {
      // Quiet and closed: only the baseline changes, decaying towards zero, in closed form.
      const double kept = std::pow(1.0 - baseline_weight(), static_cast<double>(slot - *slot_));
      baseline_per_s_ *= kept;
      if (history_weight_ > 0) history_weight_ = 1.0 - (1.0 - history_weight_) * kept;
      slot_ = slot;
      return;
    }
    finish_slot();
  }
}

// The baseline is fed the slot that leaves the current window, never one still in it: it is the
// rate before the last window, so a flood that builds up over the window cannot lift the
// threshold out of its own reach before the window has seen it whole.
void IngressBreaker::finish_slot() {
  slot_ = *slot_ + 1;
  std::uint64_t& leaving = slots_[*slot_ % kBreakerSlots];
  // History starts with the first slot that held a counted arrival, not with the node.
  if (!tripped() && (history_weight_ > 0 || leaving > 0)) {
    baseline_per_s_ += (rate_of(leaving, slot_ms_) - baseline_per_s_) * baseline_weight();
    history_weight_ += (1.0 - history_weight_) * baseline_weight();
  }
  leaving = 0;
  std::fill(std::begin(fee_classes_[*slot_ % kBreakerSlots]),
            std::end(fee_classes_[*slot_ % kBreakerSlots]), 0u);
  if (tripped()) on_slot_while_tripped();
}

void IngressBreaker::on_slot_while_tripped() {
  const std::int64_t since_trip = *slot_ - tripped_at_slot_;
  if (options_.max_trip_ms > 0 && since_trip * slot_ms_ >= options_.max_trip_ms) {
    relearn_baseline();
    return;
  }
  const double current = current_rate();
  if (current >= threshold_per_s()) {
    calm_steps_ = 0;
    if (since_trip % slots_per_rise_ != 0) {
      // The trip's clearing floor comes from the few arrivals of one short window; every slot
      // after it sees more of the flood, so the floor catches up with what it pays at once.
      fee_floor_ = std::max(fee_floor_, clearing_floor());
      return;
    }
    const std::uint64_t doubled =
        fee_floor_ <= std::numeric_limits<std::uint64_t>::max() / 2 ? fee_floor_ * 2 : fee_floor_;
    fee_floor_ = std::max(doubled, clearing_floor());
    return;
  }
  if (since_trip % slots_per_step_ != 0) return;
  calm_steps_ += 1;
  if (calm_steps_ >= options_.relax_steps) {
    fee_floor_ = 0;
    calm_steps_ = 0;
    return;
  }
  fee_floor_ = std::max(fee_floor_ / 2, options_.fee_floor_start);
}

// Ends a trip that lasted max_trip_ms: what it has been refusing is the traffic now. The last
// second counts every arrival, refused or not, so it is the rate offered.
void IngressBreaker::relearn_baseline() {
  // The ten whole 100 ms slots before the one that has just begun.
  const double last_second = static_cast<double>(last_second_arrivals(*slot_ * slot_ms_ - 1));
  baseline_per_s_ = std::max(baseline_rate(), last_second);
  history_weight_ = 1.0;
  fee_floor_ = 0;
  calm_steps_ = 0;
  relearned_ += 1;
}

// The least start x 2^n that the window's non-cancels paying it would have fitted in the
// baseline: n is one past the highest class in use when even that class alone is too many (or
// the largest such floor a fee can reach).
std::uint64_t IngressBreaker::clearing_floor() const {
  const double budget =
      effective_baseline_per_s() * static_cast<double>(slot_ms_ * kBreakerSlots) / 1'000.0;
  std::uint64_t paying = 0;  // non-cancels of the window paying at least start x 2^n
  std::size_t n = kFeeClasses;
  while (n > 0) {
    std::uint64_t in_class = 0;
    for (const auto& slot : fee_classes_) in_class += slot[n - 1];
    if (static_cast<double>(paying + in_class) > budget) break;
    paying += in_class;
    n -= 1;
  }
  const std::uint64_t start = options_.fee_floor_start;
  return start << std::min(n, static_cast<std::size_t>(std::countl_zero(start)));
}

bool IngressBreaker::admit(bool is_cancel, std::uint64_t fee, std::int64_t now_ms) {
  if (options_.multiple == 0) return true;
  advance(now_ms);
  const bool after_silence =
      !last_arrival_ms_ || now_ms - *last_arrival_ms_ >= options_.quiet_gap_ms;
  last_arrival_ms_ = now_ms;
  if (!tripped() && options_.quiet_gap_ms > 0 && after_silence) {
    grace_until_ms_ = now_ms + options_.backlog_grace_ms;
  }
  if (!tripped() && now_ms < grace_until_ms_) return true;  // backlog: passes, counts nowhere
  slots_[*slot_ % kBreakerSlots] += 1;
  const std::int64_t second_slot = now_ms / kSecondSlotMs;
  SecondSlot& second = last_second_[second_slot % kBreakerSlots];
  if (second.number != second_slot) second = {second_slot, 0};
  second.arrivals += 1;
  if (!is_cancel && fee >= options_.fee_floor_start) {
    const auto fee_class =
        static_cast<std::size_t>(std::bit_width(fee / options_.fee_floor_start)) - 1;
    fee_classes_[*slot_ % kBreakerSlots][fee_class] += 1;
  }
  if (!tripped() && warmed_up() && current_rate() >= threshold_per_s() &&
      confirmed_over_last_second(now_ms)) {
    tripped_at_slot_ = *slot_;
    fee_floor_ = clearing_floor();
    calm_steps_ = 0;
    trips_ += 1;
  }
  return passes(is_cancel, fee);
}

bool IngressBreaker::still_passes(bool is_cancel, std::uint64_t fee, std::int64_t now_ms) {
  if (options_.multiple == 0) return true;
  advance(now_ms);
  return passes(is_cancel, fee);
}

bool IngressBreaker::passes(bool is_cancel, std::uint64_t fee) const {
  return !tripped() || is_cancel || fee >= fee_floor_;
}

BreakerState IngressBreaker::state(std::int64_t now_ms) {
  if (options_.multiple > 0) advance(now_ms);
  BreakerState state;
  state.tripped = tripped();
  state.fee_floor = fee_floor_;
  state.arrival_per_s = current_rate();
  state.baseline_per_s = baseline_rate();
  state.threshold_per_s = threshold_per_s();
  state.trips = trips_;
  state.relearned = relearned_;
  return state;
}

// --- IngressGuard -------------------------------------------------------------------------------

IngressGuard::IngressGuard(IngressOptions options)
    : options_(options),
      breaker_(options.breaker),
      connections_(options.connection, options.max_connections_tracked),
      connection_cancels_(options.connection_cancel, options.max_connections_tracked),
      accounts_(options.account, options.max_accounts_tracked) {}

IngressVerdict IngressGuard::admit_arrival(std::uint64_t connection, const IngressClaim& claim,
                                           std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  // The breaker first: what it refuses costs the connection nothing.
  if (!breaker_.admit(claim.is_cancel, claim.fee, now_ms)) return breaker_refusal(claim);
  const std::uint64_t floor = breaker_.fee_floor();
  BucketTable<std::uint64_t>& table = claim.is_cancel ? connection_cancels_ : connections_;
  if (!table.take(connection, now_ms)) {
    refused_connection_ += 1;
    const BucketLimits& limits = claim.is_cancel ? options_.connection_cancel : options_.connection;
    return {
        exhausted(std::string("rate limited: this connection sent more ") +
                      (claim.is_cancel ? "cancels" : "transactions") + " than " + describe(limits),
                  "rate_limited"),
        floor};
  }
  return {Status::ok(), floor};
}

IngressVerdict IngressGuard::admit_waiting(const IngressClaim& claim,
                                           std::uint64_t floor_at_arrival, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (floor_at_arrival == 0 && !breaker_.still_passes(claim.is_cancel, claim.fee, now_ms)) {
    return breaker_refusal(claim);
  }
  return {Status::ok(), breaker_.fee_floor()};
}

IngressVerdict IngressGuard::breaker_refusal(const IngressClaim& claim) {
  refused_breaker_ += 1;
  const std::uint64_t floor = breaker_.fee_floor();
  return {exhausted(fmt::format("ingress breaker tripped ({}x the trailing rate): fee {} is "
                                "below the floor {}; cancels always pass",
                                options_.breaker.multiple, claim.fee, floor),
                    "ingress_breaker"),
          floor};
}

IngressVerdict IngressGuard::admit_verified(const PublicKey& account, bool is_cancel,
                                            std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const std::uint64_t floor = breaker_.fee_floor();
  if (is_cancel || accounts_.take(account, now_ms)) return {Status::ok(), floor};
  refused_account_ += 1;
  return {exhausted("rate limited: this account sent more transactions than " +
                        describe(options_.account),
                    "rate_limited"),
          floor};
}

std::uint64_t IngressGuard::fee_floor() {
  std::lock_guard lock(mutex_);
  return breaker_.fee_floor();
}

IngressStats IngressGuard::stats(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  IngressStats stats;
  stats.breaker = breaker_.state(now_ms);
  stats.refused_connection = refused_connection_;
  stats.refused_account = refused_account_;
  stats.refused_breaker = refused_breaker_;
  stats.connections_tracked = connections_.size();
  stats.accounts_tracked = accounts_.size();
  stats.bucket_evictions =
      connections_.evictions() + connection_cancels_.evictions() + accounts_.evictions();
  return stats;
}

}  // namespace ballast::node
