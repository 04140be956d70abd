// The ingress defenses on a hand-driven clock: token buckets and their bounded tables, the
// breaker's trip, cancel bypass, rising floor and relaxation, and the guard that combines them.
#include "node/ingress_guard.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>

namespace ballast::node {
namespace {

PublicKey key_of(std::uint8_t n) {
  PublicKey key;
  key.bytes[0] = n;
  return key;
}

// Offers `count` transactions spread evenly over [from_ms, from_ms + duration_ms); returns how
// many the breaker let through.
std::size_t offer(IngressBreaker& breaker, std::size_t count, std::int64_t from_ms,
                  std::int64_t duration_ms, bool is_cancel = false, std::uint64_t fee = 1) {
  std::size_t passed = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::int64_t at =
        from_ms + static_cast<std::int64_t>(i) * duration_ms / static_cast<std::int64_t>(count);
    passed += breaker.admit(is_cancel, fee, at) ? 1 : 0;
  }
  return passed;
}

// A steady 100/s for `seconds` from `from_ms`: the baseline the floods below jump from.
void steady(IngressBreaker& breaker, std::int64_t from_ms, std::int64_t seconds) {
  for (std::int64_t s = 0; s < seconds; ++s) offer(breaker, 100, from_ms + s * 1'000, 1'000);
}

BreakerOptions breaker_options() {
  BreakerOptions options;
  options.multiple = 10;
  options.min_baseline_per_s = 20;
  options.baseline_window_ms = 10'000;
  options.current_window_ms = 1'000;
  options.fee_floor_start = 4;
  options.floor_rise_ms = 100;
  options.floor_step_ms = 1'000;
  options.relax_steps = 3;
  options.quiet_gap_ms = 500;
  options.backlog_grace_ms = 1'000;
  return options;
}

TEST(TokenBucketTest, StartsFullRefusesWhenEmptyAndRefillsAtItsRate) {
  TokenBucket bucket({.rate_per_s = 10, .burst = 5}, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.take(0)) << i;
  EXPECT_FALSE(bucket.take(0)) << "the burst is spent";
  EXPECT_FALSE(bucket.take(99)) << "10/s: a token every 100 ms";
  EXPECT_TRUE(bucket.take(100));
  EXPECT_FALSE(bucket.take(100));
  EXPECT_EQ(bucket.tokens(1'000'000'000), 5u) << "a long idle refills to the burst, no more";
}

TEST(TokenBucketTest, AClockThatStepsBackAddsNothing) {
  TokenBucket bucket({.rate_per_s = 1, .burst = 1}, 5'000);
  EXPECT_TRUE(bucket.take(5'000));
  EXPECT_FALSE(bucket.take(1'000));
  EXPECT_FALSE(bucket.take(5'999));
  EXPECT_TRUE(bucket.take(6'000));
}

TEST(BucketTableTest, EachKeyHasItsOwnBucket) {
  BucketTable<int> table({.rate_per_s = 1, .burst = 2}, 16);
  EXPECT_TRUE(table.take(1, 0));
  EXPECT_TRUE(table.take(1, 0));
  EXPECT_FALSE(table.take(1, 0));
  EXPECT_TRUE(table.take(2, 0)) << "another key is not charged for the first";
}

TEST(BucketTableTest, BeyondItsCapacityTheLeastRecentlyUsedKeyIsForgotten) {
  BucketTable<int> table({.rate_per_s = 1, .burst = 1}, 3);
  for (int key = 1; key <= 3; ++key) EXPECT_TRUE(table.take(key, 0));
  EXPECT_FALSE(table.take(1, 0)) << "key 1 is spent, and now the most recently used";
  EXPECT_TRUE(table.take(4, 0)) << "a new key beyond the bound";
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.evictions(), 1u);
  EXPECT_FALSE(table.contains(2)) << "2 was the least recently used";
  EXPECT_TRUE(table.contains(1));
  EXPECT_TRUE(table.contains(3));
  EXPECT_FALSE(table.take(1, 0)) << "a tracked key keeps its state";
  // The overflow behaviour: a forgotten key starts over with a full bucket (more lenient, never
  // a refusal of anyone).
  EXPECT_TRUE(table.take(2, 0));
  EXPECT_EQ(table.size(), 3u);
}

TEST(IngressBreakerTest, SteadyLoadAndItsGradualRiseNeverTrip) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 30);
  for (std::int64_t s = 0; s < 30; ++s) {
    // Doubling over 30 s is growth, not a flood.
    offer(breaker, static_cast<std::size_t>(100 + 4 * s), 30'000 + s * 1'000, 1'000);
  }
  BreakerState state = breaker.state(60'000);
  EXPECT_FALSE(state.tripped);
  EXPECT_EQ(state.trips, 0u);
  EXPECT_GT(state.baseline_per_s, 100.0) << "the baseline followed the rise";
}

TEST(IngressBreakerTest, AnIdleNodeIsNotTrippedByABurstBelowTheMinimumBaseline) {
  IngressBreaker breaker(breaker_options());
  // A trickle (no silence of 500 ms, so only its first second is backlog), then a burst.
  for (std::int64_t at = 0; at < 4'000; at += 400) EXPECT_TRUE(breaker.admit(false, 1, at));
  // min_baseline 20/s x 10 = 200/s: a burst of 150 at once is allowed.
  EXPECT_EQ(offer(breaker, 150, 4'000, 10), 150u);
  EXPECT_FALSE(breaker.state(4'010).tripped);
  // One of 250 is not: with the trickle's last two, it trips at the 200th arrival in the window.
  EXPECT_EQ(offer(breaker, 100, 4'020, 10), 47u);
  EXPECT_TRUE(breaker.state(4'030).tripped);
}

// What queued while the node took nothing (it was starting, stopped or unreachable) arrives at
// once when it takes traffic again: a backlog, which must not shut out the steady flow.
TEST(IngressBreakerTest, ABacklogAfterASilenceOrAtStartIsNotAFlood) {
  IngressBreaker first_start(breaker_options());
  EXPECT_EQ(offer(first_start, 2'000, 0, 50), 2'000u) << "the first arrivals ever are backlog";
  steady(first_start, 1'000, 5);
  EXPECT_EQ(first_start.state(6'000).trips, 0u);

  IngressBreaker resumed(breaker_options());
  steady(resumed, 0, 10);  // 100/s, then a 2 s silence
  EXPECT_EQ(offer(resumed, 2'000, 12'000, 50), 2'000u) << "40,000/s, but after a silence";
  steady(resumed, 12'100, 5);
  BreakerState state = resumed.state(17'100);
  EXPECT_EQ(state.trips, 0u);
  EXPECT_LT(state.baseline_per_s, 150.0) << "the backlog did not feed the baseline";
}

TEST(IngressBreakerTest, AFloodAfterASilenceTripsOnceTheGraceIsOver) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 10);
  // 2,000/s from 12 s: the grace (1 s here) passes it as backlog, then it is a flood.
  EXPECT_EQ(offer(breaker, 2'000, 12'000, 1'000), 2'000u);
  EXPECT_FALSE(breaker.state(12'999).tripped);
  EXPECT_LT(offer(breaker, 4'000, 13'000, 2'000), 1'100u);
  EXPECT_TRUE(breaker.state(15'000).tripped);
}

// The defaults' short window: 100 ms, confirmed over the last second.
BreakerOptions short_window_options() {
  BreakerOptions options = breaker_options();
  options.current_window_ms = 100;
  options.confirm_multiple = 2;
  return options;
}

TEST(IngressBreakerTest, AShortWindowTripsWithinMillisecondsOfAFlood) {
  IngressBreaker breaker(short_window_options());
  steady(breaker, 0, 30);  // 100/s: 10x is 100 arrivals within 100 ms, 2x is 200 within 1 s
  // 20,000/s: the 100 ms window and the second both see it after about 100 flood arrivals.
  std::size_t passed = offer(breaker, 2'000, 30'000, 100);
  EXPECT_TRUE(breaker.state(30'100).tripped);
  EXPECT_LT(passed, 150u) << "a one-second window would have let about 1,000 in";
}

// Regression test: the clearing floor was worked out only at the trip and at each rise, 100 ms
// apart. A trip on the flood's first few arrivals, too few of its 10x-fee part among them to
// overrun the budget, left the floor at its start, and that part got in until the first rise:
// about a hundred orders per `flood-100x` run.
TEST(IngressBreakerTest, AFloorTooLowAtTheTripCatchesUpWithTheFloodWithinASlot) {
  IngressBreaker breaker(short_window_options());
  steady(breaker, 0, 30);
  offer(breaker, 200, 30'000, 10);  // fee 1: trips with no fee class in use, the floor at 4
  ASSERT_TRUE(breaker.state(30'009).tripped);
  ASSERT_EQ(breaker.state(30'009).fee_floor, 4u);
  EXPECT_EQ(offer(breaker, 200, 30'010, 10, false, 40), 200u) << "at or above the floor";
  // The next slot (not a rise, which is 100 ms after the trip) prices the fee-40 part out.
  EXPECT_EQ(breaker.state(30'020).fee_floor, 64u);
  EXPECT_FALSE(breaker.admit(false, 40, 30'020));
  EXPECT_TRUE(breaker.admit(false, 64, 30'020));
}

// An overloaded node reads what queued for it in lumps: 1.5x its baseline, taken in at once
// every second, is 15x within 100 ms but not a flood. (No backlog grace here, which would
// excuse the lumps after a long enough stall for another reason.)
TEST(IngressBreakerTest, ShortWindowLumpsAreConfirmedOverTheLastSecond) {
  BreakerOptions options = short_window_options();
  options.quiet_gap_ms = 0;
  IngressBreaker breaker(options);
  steady(breaker, 0, 30);
  for (std::int64_t s = 1; s <= 10; ++s) {
    EXPECT_EQ(offer(breaker, 150, 30'000 + s * 1'000, 5), 150u) << "second " << s;
  }
  EXPECT_EQ(breaker.state(41'000).trips, 0u);

  options.confirm_multiple = 0;
  IngressBreaker unconfirmed(options);
  steady(unconfirmed, 0, 30);
  EXPECT_LT(offer(unconfirmed, 150, 31'000, 5), 150u) << "an unconfirmed window trips on it";
}

// Regression test: the baseline, a moving average over 20 s that started from zero, stayed under
// the minimum (50/s) for the first ten seconds or so of a fresh network whatever its traffic. At
// `make demo`'s 125/s per validator a stall's lump of half a second's arrivals then tripped it,
// and it refused the demo's orders for seconds.
TEST(IngressBreakerTest, AFreshNodesBaselineIsTheRateItHasSeenSoFar) {
  IngressBreaker breaker(BreakerOptions{});
  offer(breaker, 500, 0, 4'000);  // 125/s for 4 s, the first 300 ms of it backlog
  EXPECT_NEAR(breaker.state(4'000).baseline_per_s, 125.0, 5.0);
  // A 450 ms stall (short of the quiet gap), then what queued in it, in one lump.
  EXPECT_EQ(offer(breaker, 60, 4'450, 5), 60u);
  offer(breaker, 125, 4'455, 1'000);
  EXPECT_EQ(breaker.state(5'455).trips, 0u);
  // Ten times the rate seen so far is still a flood.
  EXPECT_LT(offer(breaker, 2'000, 5'455, 100), 1'000u);
  EXPECT_TRUE(breaker.state(5'555).tripped);
}

// Regression test: a breaker with no history took the minimum (50/s) as its baseline, so a
// validator restarted into a network busier than 10x that tripped at once, froze that baseline
// and stayed tripped for as long as the traffic lasted, refusing every order but cancels.
TEST(IngressBreakerTest, AValidatorRestartedIntoHeavyTrafficLearnsItInsteadOfTripping) {
  for (std::size_t per_s : {600u, 1'000u, 5'000u}) {
    IngressBreaker breaker(BreakerOptions{});
    EXPECT_EQ(offer(breaker, per_s * 30, 0, 30'000), per_s * 30) << per_s << "/s";
    BreakerState state = breaker.state(30'000);
    EXPECT_EQ(state.trips, 0u) << per_s << "/s";
    EXPECT_NEAR(state.baseline_per_s, static_cast<double>(per_s),
                0.05 * static_cast<double>(per_s));
    // A flood after the first second of history is judged against it.
    EXPECT_LT(offer(breaker, per_s * 2, 30'000, 100), per_s * 2) << per_s << "/s";
    EXPECT_TRUE(breaker.state(30'100).tripped) << per_s << "/s";
  }
}

TEST(IngressBreakerTest, AQuietGapOfZeroTakesNothingAsBacklog) {
  BreakerOptions options = breaker_options();
  options.quiet_gap_ms = 0;
  IngressBreaker breaker(options);
  steady(breaker, 0, 10);
  EXPECT_LT(offer(breaker, 2'000, 12'000, 50), 1'100u);
  EXPECT_TRUE(breaker.state(12'050).tripped);
}

TEST(IngressBreakerTest, AJumpToTheMultipleTripsAndOnlyCancelsAndTheFloorPass) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 30);
  const BreakerState before = breaker.state(30'000);
  ASSERT_FALSE(before.tripped);
  ASSERT_NEAR(before.baseline_per_s, 100.0, 15.0);
  // 3,000 in 100 ms: the current rate reaches 10 x ~100/s within the flood's first slot.
  std::size_t passed = offer(breaker, 3'000, 30'000, 100);
  BreakerState state = breaker.state(30'099);
  ASSERT_TRUE(state.tripped);
  EXPECT_EQ(state.trips, 1u);
  EXPECT_EQ(state.fee_floor, 4u);
  EXPECT_LT(passed, 1'100u) << "once tripped, fee 1 no longer passes";
  EXPECT_NEAR(state.baseline_per_s, before.baseline_per_s, 10.0) << "the flood is no baseline";
  EXPECT_TRUE(breaker.admit(/*is_cancel=*/true, 1, 30'099)) << "a cancel always passes";
  EXPECT_FALSE(breaker.admit(false, 3, 30'099)) << "below the floor";
  EXPECT_TRUE(breaker.admit(false, 4, 30'099)) << "at the floor";
}

// A flood of `count` non-cancels in [from_ms, from_ms + duration_ms): of every 50, 40 pay 4
// (the floor's start), 9 pay 40 and 1 pays 1,000. Returns how many of each fee passed.
std::map<std::uint64_t, std::size_t> offer_fee_mix(IngressBreaker& breaker, std::size_t count,
                                                   std::int64_t from_ms, std::int64_t duration_ms) {
  std::map<std::uint64_t, std::size_t> passed;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t fee = i % 50 == 0 ? 1'000 : i % 50 < 10 ? 40 : 4;
    std::int64_t at =
        from_ms + static_cast<std::int64_t>(i) * duration_ms / static_cast<std::int64_t>(count);
    passed[fee] += breaker.admit(false, fee, at) ? 1 : 0;
  }
  return passed;
}

// Regression test: the floor used to start at its start and double every 100 ms, so a flood
// paying 10x the start kept coming in for the first 300 ms after the trip.
TEST(IngressBreakerTest, AtTheTripTheFloorPricesOutTheFloodAtOnceButNotWhoOutbidsIt) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 30);  // fee 1, below the start: priced out by any floor
  const double baseline = breaker.state(30'000).baseline_per_s;
  ASSERT_NEAR(baseline, 100.0, 15.0);
  // 20,000/s: the current window reaches 10 x ~100/s after about 900 flood arrivals, of which
  // about 18 pay 1,000 and 162 pay 40. Fitting ~100 in the baseline's budget means refusing
  // fee 40: the clearing floor is 64 (4 x 2^4), the least that only the fee-1,000 ones reach.
  auto passed = offer_fee_mix(breaker, 2'000, 30'000, 100);
  BreakerState state = breaker.state(30'099);
  ASSERT_TRUE(state.tripped);
  EXPECT_EQ(state.fee_floor, 64u);
  EXPECT_FALSE(breaker.admit(false, 63, 30'099));
  EXPECT_TRUE(breaker.admit(false, 1'000, 30'099)) << "outbidding the flood still gets in";
  EXPECT_EQ(passed[1'000], 40u) << "every one of them";
  // Before the trip everything passed; after it, none of the fee-40 or fee-4 ones.
  const std::size_t before_trip = passed[40] + passed[4] + passed[1'000];
  EXPECT_LT(before_trip, 1'000u);
  auto later = offer_fee_mix(breaker, 2'000, 30'100, 100);
  EXPECT_EQ(later[40] + later[4], 0u) << "not one slot of the flood at 40 gets in";
  EXPECT_EQ(later[1'000], 40u);
}

TEST(IngressBreakerTest, AFloodThatRaisesItsFeeIsPricedOutAtTheNextRise) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 30);
  offer(breaker, 2'000, 30'000, 100, false, 4);
  ASSERT_EQ(breaker.state(30'099).fee_floor, 8u);  // the flood pays 4: one class above it
  // It comes back paying 10,000 (class 11: 8,192 to 16,383): doubling would take 11 rises.
  EXPECT_GT(offer(breaker, 2'000, 30'100, 100, false, 10'000), 0u);
  EXPECT_EQ(breaker.state(30'200).fee_floor, 16'384u) << "the clearing floor, at the first rise";
  EXPECT_FALSE(breaker.admit(false, 10'000, 30'200));
}

TEST(IngressBreakerTest, TheClearingFloorSaturatesInsteadOfOverflowing) {
  BreakerOptions options = breaker_options();
  options.fee_floor_start = 3;
  IngressBreaker breaker(options);
  steady(breaker, 0, 30);
  offer(breaker, 2'000, 30'000, 100, false, std::numeric_limits<std::uint64_t>::max());
  BreakerState state = breaker.state(30'099);
  ASSERT_TRUE(state.tripped);
  EXPECT_EQ(state.fee_floor, std::uint64_t{3} << 62) << "the largest floor of the form 3 x 2^n";
}

TEST(IngressBreakerTest, TheFloorDoublesEverySlotOfTheFloodThenHalvesEachCalmStepAndCloses) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 30);
  // A flood of 20,000/s for 1 s trips it in its first 100 ms slot (at 30 s) with the floor at 4.
  offer(breaker, 2'000, 30'000, 100);
  ASSERT_TRUE(breaker.state(30'099).tripped);
  EXPECT_EQ(breaker.state(30'099).fee_floor, 4u);
  offer(breaker, 2'000, 30'100, 100);
  EXPECT_EQ(breaker.state(30'199).fee_floor, 8u) << "doubled when its first slot ended";
  EXPECT_FALSE(breaker.admit(false, 7, 30'199));
  EXPECT_TRUE(breaker.admit(true, 0, 30'199)) << "cancels pass whatever the floor";
  offer(breaker, 16'000, 30'200, 800);
  EXPECT_EQ(breaker.state(30'999).fee_floor, 4u << 9) << "once per slot: a short flood pays too";
  // The flood stops at 31 s, but the current window holds it until 31.9 s: 18 doublings in
  // all. Then calm: steps at 32 and 33 s halve the floor, the third (34 s) closes the breaker.
  EXPECT_EQ(breaker.state(31'899).fee_floor, 4u << 18);
  EXPECT_EQ(breaker.state(32'000).fee_floor, 4u << 17);
  EXPECT_EQ(breaker.state(33'000).fee_floor, 4u << 16);
  EXPECT_TRUE(breaker.state(33'999).tripped);
  BreakerState relaxed = breaker.state(34'000);
  EXPECT_FALSE(relaxed.tripped);
  EXPECT_EQ(relaxed.fee_floor, 0u);
  EXPECT_TRUE(breaker.admit(false, 1, 34'000)) << "everything passes again";
  EXPECT_EQ(relaxed.trips, 1u);
}

TEST(IngressBreakerTest, AHotSlotDuringTheCalmStepsStartsTheCountAgain) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 30);
  offer(breaker, 2'000, 30'000, 100);
  ASSERT_TRUE(breaker.state(30'100).tripped);
  // The window holds the burst until 30.9 s: the steps at 31 and 32 s are calm. A second burst
  // at 32.5 s is hot until 33.4 s, so the count starts again at the step at 34 s.
  ASSERT_TRUE(breaker.state(32'400).tripped);
  offer(breaker, 2'000, 32'500, 100);
  EXPECT_TRUE(breaker.state(35'999).tripped) << "calm steps at 34 and 35 s only";
  EXPECT_FALSE(breaker.state(36'000).tripped) << "the third calm step in a row";
}

TEST(IngressBreakerTest, RelaxesByItselfWithNoArrivalsAndNobodyAsking) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 30);
  offer(breaker, 3'000, 30'000, 100);
  ASSERT_TRUE(breaker.state(30'100).tripped);
  // The next call comes an hour later: the same state as a clock that ticked all along.
  BreakerState later = breaker.state(3'630'000);
  EXPECT_FALSE(later.tripped);
  EXPECT_EQ(later.fee_floor, 0u);
  EXPECT_LT(later.baseline_per_s, 1.0) << "an hour of silence is the new baseline";
  EXPECT_EQ(later.threshold_per_s, 200.0) << "then the minimum baseline holds";
}

// Also a regression test: a baseline fed from the slots still in the current window rose with a
// 15x flood as it filled the window, and the flood never tripped it.
TEST(IngressBreakerTest, WithNoLimitOnATripAFloodThatPersistsKeepsItTripped) {
  BreakerOptions options = breaker_options();
  options.max_trip_ms = 0;
  IngressBreaker breaker(options);
  steady(breaker, 0, 30);
  for (std::int64_t s = 0; s < 80; ++s) offer(breaker, 1'500, 30'000 + s * 1'000, 1'000);
  BreakerState state = breaker.state(110'000);
  EXPECT_TRUE(state.tripped);
  EXPECT_EQ(state.trips, 1u);
  EXPECT_GE(state.fee_floor, std::numeric_limits<std::uint64_t>::max() / 2)
      << "doubling saturates instead of wrapping";
  EXPECT_TRUE(breaker.admit(true, 0, 110'000));
}

// A jump that stays is a new level of traffic, not a flood that passes: the trip ends after
// max_trip_ms and the breaker takes the rate it has been seeing as its baseline.
TEST(IngressBreakerTest, ATripEndsAfterItsLongestWithTheRateItSawAsTheBaseline) {
  BreakerOptions options = breaker_options();
  options.max_trip_ms = 20'000;
  IngressBreaker breaker(options);
  steady(breaker, 0, 30);
  std::size_t passed = 0;
  for (std::int64_t s = 0; s < 19; ++s) passed += offer(breaker, 1'500, 30'000 + s * 1'000, 1'000);
  EXPECT_LT(passed, 19u * 300u) << "a jump is refused at first";
  EXPECT_TRUE(breaker.state(49'000).tripped);
  for (std::int64_t s = 19; s < 22; ++s) offer(breaker, 1'500, 30'000 + s * 1'000, 1'000);
  BreakerState state = breaker.state(52'000);
  EXPECT_FALSE(state.tripped);
  EXPECT_EQ(state.relearned, 1u);
  EXPECT_NEAR(state.baseline_per_s, 1'500.0, 100.0);
  EXPECT_EQ(offer(breaker, 15'000, 52'000, 10'000), 15'000u) << "the new level passes";
  EXPECT_EQ(breaker.state(62'000).trips, 1u);
  // And a flood on top of it is judged against it.
  EXPECT_LT(offer(breaker, 30'000, 62'000, 2'000), 30'000u);
  EXPECT_TRUE(breaker.state(64'000).tripped);
}

TEST(IngressBreakerTest, AWaitingTransactionIsJudgedAgainWithoutCountingAsAnArrival) {
  IngressBreaker breaker(breaker_options());
  steady(breaker, 0, 30);
  // Judging again never counts: far more re-judgements than a flood's arrivals trip nothing.
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(breaker.still_passes(false, 1, 30'000));
  EXPECT_FALSE(breaker.state(30'000).tripped);
  // Admitted as the flood begins, before the trip; by the time its check starts, it is tripped.
  ASSERT_TRUE(breaker.admit(false, 1, 30'000));
  offer(breaker, 3'000, 30'000, 100);
  ASSERT_TRUE(breaker.state(30'099).tripped);
  const std::uint64_t arrivals_per_s =
      static_cast<std::uint64_t>(breaker.state(30'099).arrival_per_s);
  EXPECT_FALSE(breaker.still_passes(false, 1, 30'099)) << "below the floor now";
  EXPECT_TRUE(breaker.still_passes(false, 4, 30'099)) << "at the floor";
  EXPECT_TRUE(breaker.still_passes(true, 0, 30'099)) << "a cancel";
  EXPECT_EQ(static_cast<std::uint64_t>(breaker.state(30'099).arrival_per_s), arrivals_per_s);
}

TEST(IngressBreakerTest, MultipleZeroDisablesIt) {
  BreakerOptions options = breaker_options();
  options.multiple = 0;
  IngressBreaker breaker(options);
  EXPECT_EQ(offer(breaker, 100'000, 0, 100), 100'000u);
  EXPECT_FALSE(breaker.state(100).tripped);
  EXPECT_TRUE(breaker.still_passes(false, 0, 100));
}

IngressOptions guard_options() {
  IngressOptions options;
  options.connection = {.rate_per_s = 10, .burst = 3};
  options.connection_cancel = {.rate_per_s = 100, .burst = 6};
  options.account = {.rate_per_s = 10, .burst = 2};
  options.max_connections_tracked = 8;
  options.max_accounts_tracked = 8;
  options.breaker = breaker_options();
  return options;
}

TEST(IngressGuardTest, AConnectionsBudgetIsItsOwnAndCancelsHaveASeparateLargerOne) {
  IngressGuard guard(guard_options());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(guard.admit_arrival(1, {false, 1}, 0).status.is_ok());
  IngressVerdict refused = guard.admit_arrival(1, {false, 1}, 0);
  EXPECT_EQ(refused.status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status.reason(), "rate_limited");
  EXPECT_EQ(refused.fee_floor, 0u) << "the breaker is closed";
  EXPECT_TRUE(guard.admit_arrival(2, {false, 1}, 0).status.is_ok()) << "another connection";
  // The spent connection still has its cancel budget, and it is larger.
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(guard.admit_arrival(1, {true, 1}, 0).status.is_ok()) << i;
  }
  EXPECT_EQ(guard.admit_arrival(1, {true, 1}, 0).status.reason(), "rate_limited")
      << "an unverified cancel is a claim: it has a budget too";
  EXPECT_EQ(guard.stats(0).refused_connection, 2u);
}

TEST(IngressGuardTest, AccountsAreChargedOnlyForVerifiedNonCancels) {
  IngressGuard guard(guard_options());
  const PublicKey trader = key_of(1);
  EXPECT_TRUE(guard.admit_verified(trader, false, 0).status.is_ok());
  EXPECT_TRUE(guard.admit_verified(trader, false, 0).status.is_ok());
  IngressVerdict refused = guard.admit_verified(trader, false, 0);
  EXPECT_EQ(refused.status.reason(), "rate_limited");
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(guard.admit_verified(trader, true, 0).status.is_ok())
        << "cancels are never refused for lack of the account's budget";
  }
  EXPECT_TRUE(guard.admit_verified(key_of(2), false, 0).status.is_ok());
  EXPECT_TRUE(guard.admit_verified(trader, false, 100).status.is_ok()) << "refilled";
  EXPECT_EQ(guard.stats(100).refused_account, 1u);
}

TEST(IngressGuardTest, TrackedConnectionsAndAccountsStayWithinTheirBounds) {
  IngressGuard guard(guard_options());
  for (std::uint64_t connection = 0; connection < 100; ++connection) {
    EXPECT_TRUE(guard.admit_arrival(connection, {false, 1}, 0).status.is_ok());
  }
  for (std::uint8_t account = 0; account < 100; ++account) {
    EXPECT_TRUE(guard.admit_verified(key_of(account), false, 0).status.is_ok());
  }
  IngressStats stats = guard.stats(0);
  EXPECT_EQ(stats.connections_tracked, 8u);
  EXPECT_EQ(stats.accounts_tracked, 8u);
  EXPECT_EQ(stats.bucket_evictions, 92u + 92u);
}

// The guard's options with no limit per connection: only the breaker refuses.
IngressOptions breaker_only_options() {
  IngressOptions options = guard_options();
  options.connection = {.rate_per_s = 1'000'000, .burst = 1'000'000};
  return options;
}

// The node's first second of arrivals on connection 7, all backlog (which counts nowhere), then a
// trickle every 400 ms that gives the breaker the history it needs before it may trip. From
// 4'000 on, a flood is held to the minimum baseline (20/s) x 10: with the trickle's last two in
// the window, it trips at its 198th arrival.
void warm_up(IngressGuard& guard) {
  for (std::int64_t at = 0; at < 4'000; at += 400) {
    ASSERT_TRUE(guard.admit_arrival(7, {false, 1}, at).status.is_ok());
  }
}

TEST(IngressGuardTest, ATrippedBreakerRefusesWithTheFloorWithoutChargingTheConnection) {
  IngressGuard guard(breaker_only_options());
  warm_up(guard);
  std::size_t admitted = 0;
  for (int i = 0; i < 500; ++i) {
    admitted += guard.admit_arrival(7, {false, 1}, 4'000).status.is_ok() ? 1 : 0;
  }
  EXPECT_EQ(admitted, 197u);
  IngressVerdict refused = guard.admit_arrival(7, {false, 1}, 4'000);
  EXPECT_EQ(refused.status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status.reason(), "ingress_breaker");
  EXPECT_EQ(refused.fee_floor, 4u);
  EXPECT_TRUE(guard.admit_arrival(7, {true, 0}, 4'000).status.is_ok()) << "a cancel";
  EXPECT_TRUE(guard.admit_arrival(7, {false, 4}, 4'000).status.is_ok()) << "at the floor";
  IngressStats stats = guard.stats(4'000);
  EXPECT_TRUE(stats.breaker.tripped);
  EXPECT_EQ(stats.refused_breaker, 304u);
  EXPECT_EQ(stats.refused_connection, 0u);
}

// A transaction admitted at arrival just before the trip meets the breaker again when its
// signature check is about to start: refused with the floor, counted as the breaker's, and not
// charged to its connection or counted as a second arrival.
TEST(IngressGuardTest, AWaitingTransactionMeetsTheBreakerAsItStandsWhenItsCheckStarts) {
  IngressGuard guard(breaker_only_options());
  warm_up(guard);
  const IngressClaim waiting{false, 1};
  ASSERT_TRUE(guard.admit_arrival(7, waiting, 4'000).status.is_ok());
  EXPECT_TRUE(guard.admit_waiting(waiting, 0, 4'000).status.is_ok()) << "closed: it goes on";
  for (int i = 0; i < 500; ++i) guard.admit_arrival(7, {false, 1}, 4'000);  // the flood
  ASSERT_TRUE(guard.stats(4'000).breaker.tripped);
  const std::uint64_t refused_before = guard.stats(4'000).refused_breaker;

  IngressVerdict refused = guard.admit_waiting(waiting, 0, 4'000);
  EXPECT_EQ(refused.status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status.reason(), "ingress_breaker");
  EXPECT_EQ(refused.fee_floor, 4u);
  EXPECT_EQ(guard.fee_floor(), 4u);
  EXPECT_TRUE(guard.admit_waiting({true, 0}, 0, 4'000).status.is_ok()) << "a cancel";
  EXPECT_TRUE(guard.admit_waiting({false, 4}, 0, 4'000).status.is_ok()) << "at the floor";
  IngressStats stats = guard.stats(4'000);
  EXPECT_EQ(stats.refused_breaker, refused_before + 1);
  EXPECT_EQ(stats.refused_connection, 0u);
}

// Regression test: what passed the breaker already tripped (it outbid the floor) was judged
// again as its check started, against a floor its own fee may have lifted since: with a small
// baseline a few payers were enough to price themselves out (ApiIngressTest failed so, now and
// then). Only what passed a closed breaker is judged again.
TEST(IngressGuardTest, WhatPassedTheTrippedBreakerIsNotJudgedAgain) {
  IngressOptions options = breaker_only_options();
  options.breaker.min_baseline_per_s = 1;
  IngressGuard guard(options);
  warm_up(guard);  // a baseline of 2.5/s: the clearing budget is 2.5 non-cancels per window
  for (int i = 0; i < 500; ++i) guard.admit_arrival(7, {false, 1}, 4'000);  // the flood, fee 1
  ASSERT_EQ(guard.stats(4'000).breaker.fee_floor, 4u);
  const IngressClaim payer{false, 1'000'000};
  IngressVerdict first = guard.admit_arrival(8, payer, 4'050);
  ASSERT_TRUE(first.status.is_ok());
  ASSERT_EQ(first.fee_floor, 4u);
  for (std::uint64_t connection : {9, 10}) {
    ASSERT_TRUE(guard.admit_arrival(connection, payer, 4'050).status.is_ok());
  }
  // The next slot is still hot: the three payers overrun the budget and lift the floor past them.
  ASSERT_GT(guard.stats(4'100).breaker.fee_floor, payer.fee);
  EXPECT_TRUE(guard.admit_waiting(payer, first.fee_floor, 4'100).status.is_ok())
      << "it paid what the tripped breaker asked when it arrived";
  EXPECT_EQ(guard.admit_waiting(payer, 0, 4'100).status.reason(), "ingress_breaker")
      << "had it arrived before the trip, it would meet the floor of now";
}

}  // namespace
}  // namespace ballast::node
