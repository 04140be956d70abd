// The node's ingress defenses (docs/API.md "Ingress defenses"): token buckets per API connection
// and per account, and the ingress breaker that, when arrivals jump to a multiple of their
// trailing rate, admits only cancels and transactions paying at least a rising fee floor.
//
// Sans-IO: no clock, socket or thread of its own. Time comes in as `now_ms` (any monotonic
// millisecond clock), so every rule is testable step by step. IngressGuard is the one object
// the API shares between its I/O and verification threads; it takes a mutex, the parts below
// it do not. Every table is bounded; what happens at the bound is defined below.
//
// It must never refuse a cancel for lack of the ordinary budget: cancels let market makers pull
// quotes during the very flood these defenses are for.
#pragma once

#include <cstdint>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "base/assert.h"
#include "base/status.h"
#include "crypto/keys.h"

namespace ballast::node {

struct BucketLimits {
  std::uint64_t rate_per_s = 0;  // tokens added per second
  std::uint64_t burst = 0;       // capacity; a new bucket starts full

  bool operator==(const BucketLimits&) const = default;
};

// A token bucket in integer milli-tokens: one transaction costs one token.
class TokenBucket {
 public:
  TokenBucket(BucketLimits limits, std::int64_t now_ms);
  // Takes a token if there is one; false (and nothing taken) otherwise.
  bool take(std::int64_t now_ms);
  std::uint64_t tokens(std::int64_t now_ms);  // whole tokens available

 private:
  void refill(std::int64_t now_ms);

  BucketLimits limits_;
  std::uint64_t milli_tokens_;
  std::int64_t refilled_at_ms_;
};

// One bucket per key, at most `capacity` keys. A new key beyond the bound evicts the least
// recently used one. That entry had been idle longest, so it has most likely refilled (and
// forgetting a full bucket loses nothing); if it had not, its owner starts over with a full
// bucket: the bound can only make the limit more lenient for someone, never refuse anyone.
template <typename Key>
class BucketTable {
 public:
  BucketTable(BucketLimits limits, std::size_t capacity) : limits_(limits), capacity_(capacity) {
    BALLAST_ASSERT(capacity_ > 0);
  }

  bool take(const Key& key, std::int64_t now_ms) { return bucket(key, now_ms).take(now_ms); }
  std::size_t size() const { return entries_.size(); }
  std::uint64_t evictions() const { return evictions_; }
  bool contains(const Key& key) const { return entries_.contains(key); }

 private:
  using Recency = std::list<Key>;  // most recently used first
  struct Entry {
    TokenBucket bucket;
    typename Recency::iterator position;
  };

  TokenBucket& bucket(const Key& key, std::int64_t now_ms) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      recency_.splice(recency_.begin(), recency_, it->second.position);
      return it->second.bucket;
    }
    if (entries_.size() >= capacity_) {
      entries_.erase(recency_.back());
      recency_.pop_back();
      evictions_ += 1;
    }
    recency_.push_front(key);
    auto [inserted, fresh] =
        entries_.emplace(key, Entry{TokenBucket(limits_, now_ms), recency_.begin()});
    BALLAST_ASSERT(fresh && entries_.size() <= capacity_ && recency_.size() == entries_.size());
    return inserted->second.bucket;
  }

  BucketLimits limits_;
  std::size_t capacity_;
  std::map<Key, Entry> entries_;
  Recency recency_;
  std::uint64_t evictions_ = 0;
};

struct BreakerOptions {
  std::uint64_t multiple = 10;  // trips at this multiple of the baseline; 0 disables the breaker
  std::uint64_t min_baseline_per_s = 50;     // the baseline is never taken as lower than this
  std::int64_t baseline_window_ms = 20'000;  // time constant of the trailing (baseline) rate
  std::int64_t current_window_ms = 100;      // the window of the current rate
  std::uint64_t fee_floor_start = 2;         // the least floor: every floor is this x 2^n
  std::int64_t floor_rise_ms = 100;          // while hot, the floor doubles this often
  std::int64_t floor_step_ms = 1'000;        // while calm, the floor halves this often
  std::uint64_t relax_steps = 3;             // calm steps in a row that close the breaker
  std::int64_t quiet_gap_ms = 500;           // a silence this long starts a backlog grace; 0: never
  std::int64_t backlog_grace_ms = 300;       // how long that grace lasts
  std::uint64_t confirm_multiple = 2;  // the last second's rate must reach this x the baseline
  std::int64_t max_trip_ms = 30'000;   // a trip this old ends, its rate the new baseline; 0: never

  bool operator==(const BreakerOptions&) const = default;
};

// The history a breaker needs before it may trip: with less, it has no rate to judge a jump
// against, and one that tripped would freeze its baseline near zero and stay tripped for as long
// as the traffic lasts (a validator restarted into a busy network refused every order).
inline constexpr std::int64_t kBreakerWarmUpMs = 1'000;
// Slots of the current window: the rate's resolution.
inline constexpr std::int64_t kBreakerSlots = 10;
// Fee classes of the breaker's histogram: class n holds fees in [start x 2^n, start x 2^(n+1)),
// `start` being the floor's start; the floor is always start x 2^n.
inline constexpr std::size_t kFeeClasses = 64;

struct BreakerState {
  bool tripped = false;
  std::uint64_t fee_floor = 0;  // while tripped: the least fee admitted (cancels aside)
  double arrival_per_s = 0;     // over the current window
  double baseline_per_s = 0;    // trailing, frozen while tripped
  double threshold_per_s = 0;   // arrivals at which it trips (multiple x the effective baseline)
  std::uint64_t trips = 0;      // since start
  std::uint64_t relearned = 0;  // trips that reached max_trip_ms (see the rules)
};

// The ingress breaker. Rules (docs/API.md):
// - Every transaction offered counts as an arrival, admitted or not, so a flood that is being
//   refused still holds the breaker open.
// - The current rate is the arrivals of the last `current_window_ms` (in kBreakerSlots slots).
//   The baseline is an exponentially weighted rate with time constant `baseline_window_ms`,
//   fed each slot as it leaves the current window (so it is the rate before the window), and
//   only while the breaker is closed. It starts with the first counted arrival and is corrected
//   for that start: until it has a whole window of history it is the mean rate since then, not
//   that mean pulled towards zero. It never trips before it has kBreakerWarmUpMs of history.
// - It trips when the current rate reaches `multiple` x max(baseline, min_baseline_per_s), and
//   the rate over the last second (counted apart, in ten 100 ms slots) reaches
//   `confirm_multiple` x the same (0: no such check). A short current window catches a flood
//   within milliseconds; the second confirms it. Without it a short window also trips on what
//   only looks like a jump at that scale: a client's burst of a few dozen transactions, or an
//   overloaded node that reads its arrivals in lumps (its I/O thread waits for a core, then
//   takes what queued), where the offered rate rose by less than 2x.
// - Tripped, it admits cancels always and others only with fee >= the floor. The floor is
//   always `fee_floor_start` x 2^n. At the trip it is the *clearing floor*: the least such fee
//   at which the non-cancels of the current window that pay it would have fitted in the
//   baseline (max(baseline, min_baseline_per_s) x the window). A flood is thus priced out at
//   once, whatever it pays, while whoever outbids it still gets in. It rises fast and falls
//   slowly: at every slot that the current rate is still at or above the threshold it rises to
//   the clearing floor if that is higher (the trip saw only the flood's first few arrivals, and
//   may have priced too low), and every `floor_rise_ms` after the trip it also doubles; at every
//   `floor_step_ms` after the trip that finds the rate below the threshold it halves (not below
//   the start); `relax_steps` such calm steps in a row close the breaker, and any hot slot
//   starts the count again.
// - A trip lasts at most `max_trip_ms`. One that lasts that long was no passing flood but a new
//   level of traffic (an idle network put to work, a market opening): it ends, and the breaker
//   takes the higher of its frozen baseline and the last second's rate as its baseline. Without
//   this a jump that stays would refuse every order but cancels for as long as it stays.
// - Backlog: the first arrival after a silence of `quiet_gap_ms` (or the first ever) opens a
//   grace of `backlog_grace_ms` while the breaker is closed. What arrives in it is a backlog,
//   not a jump in the rate: requests that queued while this node was not taking any (it was
//   starting, or stopped, or unreachable) and come in at once, or as fast as the node catches
//   up with them. They pass, and they neither count towards the current rate nor feed the
//   baseline. A node that has been taking traffic has no silence, so a flood there is judged
//   from its first arrival; one that begins after a silence, only once the grace is over.
class IngressBreaker {
 public:
  explicit IngressBreaker(BreakerOptions options);
  // Counts an arrival; whether it may pass (it says nothing about buckets).
  bool admit(bool is_cancel, std::uint64_t fee, std::int64_t now_ms);
  // Whether a transaction that arrived earlier may still pass now, without counting it again.
  bool still_passes(bool is_cancel, std::uint64_t fee, std::int64_t now_ms);
  BreakerState state(std::int64_t now_ms);
  // As of the last call that took a time: 0 while closed.
  std::uint64_t fee_floor() const { return fee_floor_; }

 private:
  void advance(std::int64_t now_ms);
  void finish_slot();
  void on_slot_while_tripped();
  bool tripped() const { return fee_floor_ > 0; }
  // The history's weight says how long the baseline has been fed (the tolerance absorbs the
  // rounding of its step-by-step updates).
  bool warmed_up() const { return history_weight_ >= warm_history_weight_ * (1.0 - 1e-9); }
  bool passes(bool is_cancel, std::uint64_t fee) const;  // by the breaker as it stands
  std::uint64_t window_arrivals() const;
  std::uint64_t last_second_arrivals(std::int64_t now_ms) const;
  bool confirmed_over_last_second(std::int64_t now_ms) const;
  void relearn_baseline();
  double current_rate() const;
  double baseline_weight() const;
  double rate_of(std::uint64_t arrivals, std::int64_t window_ms) const;
  double baseline_rate() const;             // the moving average, corrected for its start
  double effective_baseline_per_s() const;  // the baseline, never below the minimum
  double threshold_per_s() const;
  std::uint64_t clearing_floor() const;

  BreakerOptions options_;
  std::int64_t slot_ms_;
  std::int64_t slots_per_rise_;
  std::int64_t slots_per_step_;
  double warm_history_weight_;  // history_weight_ after kBreakerWarmUpMs of history
  std::uint64_t slots_[kBreakerSlots] = {};
  // Non-cancel arrivals paying at least the floor's start, per slot and fee class.
  std::uint32_t fee_classes_[kBreakerSlots][kFeeClasses] = {};
  std::optional<std::int64_t> slot_;  // the current slot number (now_ms / slot_ms_)
  double baseline_per_s_ = 0;         // the moving average, from 0 at the first counted arrival
  double history_weight_ = 0;         // the weight in it of what was fed, against that starting 0
  std::int64_t tripped_at_slot_ = 0;
  std::uint64_t fee_floor_ = 0;  // never below fee_floor_start (> 0) while tripped, 0 while closed
  std::uint64_t calm_steps_ = 0;
  std::uint64_t trips_ = 0;
  std::uint64_t relearned_ = 0;
  // The last second's counted arrivals, in 100 ms slots; a slot whose number is old is empty.
  struct SecondSlot {
    std::int64_t number = -1;
    std::uint64_t arrivals = 0;
  };
  SecondSlot last_second_[kBreakerSlots];
  std::optional<std::int64_t> last_arrival_ms_;
  std::int64_t grace_until_ms_ = 0;  // arrivals before this are backlog (see above)
};

struct IngressOptions {
  BucketLimits connection{2'000, 4'000};
  BucketLimits connection_cancel{20'000, 40'000};  // cancels' own, larger, per-connection budget
  BucketLimits account{200, 400};
  std::size_t max_connections_tracked = 4'096;
  std::size_t max_accounts_tracked = 65'536;
  BreakerOptions breaker;
};

// What a transaction claims before its signature is checked (a claim only: see the buckets).
struct IngressClaim {
  bool is_cancel = false;
  std::uint64_t fee = 0;
};

// An admission decision, and the fee floor at that moment (0 while the breaker is closed), which
// every refusal reports so a client knows what would pass.
struct IngressVerdict {
  Status status;
  std::uint64_t fee_floor = 0;
};

struct IngressStats {
  BreakerState breaker;
  std::uint64_t refused_connection = 0;  // per-connection bucket empty
  std::uint64_t refused_account = 0;     // per-account bucket empty
  std::uint64_t refused_breaker = 0;     // below the fee floor while tripped (either check)
  std::size_t connections_tracked = 0;
  std::size_t accounts_tracked = 0;
  std::uint64_t bucket_evictions = 0;
};

// Thread-safe. Three checks, in the order the API meets a transaction:
// - admit_arrival, before the signature check (cheap, so a flood is refused before it costs a
//   verification): the breaker, and the connection's bucket (cancels use their own bucket
//   there, because an unverified "cancel" is only a claim and must not be a free pass).
// - admit_waiting, when its signature check is about to start: if the breaker was closed when
//   the transaction arrived (`floor_at_arrival` 0), the breaker again, as it stands now. A
//   flood's first transactions arrive before it trips and queue for verification; judged again
//   they are refused, not checked, gossiped and checked again on every other validator. What
//   passed the breaker already tripped paid the floor it asked and is not judged again: the
//   floor may since have risen because of that very fee (the clearing floor counts it).
// - admit_verified, once the signature proves the sender: the account's bucket. Charging an
//   account only after that means nobody can drain someone else's budget. Cancels are exempt
//   (they are signed, pay a fee, and the mempool bounds each sender's pending ones).
// A refusal is resource_exhausted with reason `rate_limited` or `ingress_breaker`.
class IngressGuard {
 public:
  explicit IngressGuard(IngressOptions options);
  IngressVerdict admit_arrival(std::uint64_t connection, const IngressClaim& claim,
                               std::int64_t now_ms);
  IngressVerdict admit_waiting(const IngressClaim& claim, std::uint64_t floor_at_arrival,
                               std::int64_t now_ms);
  IngressVerdict admit_verified(const PublicKey& account, bool is_cancel, std::int64_t now_ms);
  IngressStats stats(std::int64_t now_ms);
  std::uint64_t fee_floor();  // as of the last check: 0 while the breaker is closed

 private:
  IngressVerdict breaker_refusal(const IngressClaim& claim);  // with mutex_ held

  std::mutex mutex_;
  IngressOptions options_;
  IngressBreaker breaker_;
  BucketTable<std::uint64_t> connections_;
  BucketTable<std::uint64_t> connection_cancels_;
  BucketTable<PublicKey> accounts_;
  std::uint64_t refused_connection_ = 0;
  std::uint64_t refused_account_ = 0;
  std::uint64_t refused_breaker_ = 0;
};

}  // namespace ballast::node
