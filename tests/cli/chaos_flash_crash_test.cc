// The flash-crash scenario's measure: the largest price move between two trades less than a
// window of block time apart, the later against the earlier, compared exactly; and the window
// within which the circuit breakers bound every move by their velocity limit.
#include "cli/chaos_flash_crash.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace ballast::cli {
namespace {

using exchange::Price;

std::vector<TradePrint> series(std::initializer_list<std::pair<std::int64_t, Price>> points) {
  std::vector<TradePrint> trades;
  for (const auto& [time_ms, price] : points) {
    trades.push_back({trades.size() + 1, time_ms, price});
  }
  return trades;
}

TEST(LargestMoveTest, FewerThanTwoTradesWithinAWindowAreNoMove) {
  EXPECT_EQ(largest_move({}, 1'000).from, 0);
  EXPECT_EQ(largest_move(series({{0, 6'000}}), 1'000).from, 0);
  PriceMove apart = largest_move(series({{0, 6'000}, {1'000, 3'000}}), 1'000);
  EXPECT_EQ(apart.from, 0) << "exactly one window apart is outside it";
  EXPECT_EQ(apart.percent(), 0);
  EXPECT_TRUE(apart.within_bps(1));
}

TEST(LargestMoveTest, TheLaterTradeIsMeasuredAgainstTheEarlier) {
  PriceMove drop = largest_move(series({{0, 100}, {999, 90}}), 1'000);
  EXPECT_EQ(drop.from, 100);
  EXPECT_EQ(drop.to, 90);
  EXPECT_EQ(drop.from_time_ms, 0);
  EXPECT_EQ(drop.to_time_ms, 999);
  EXPECT_DOUBLE_EQ(drop.percent(), 10.0);
  // Back up from 90 to 100 is a move of 11.1%, larger than the 10% drop.
  PriceMove rebound = largest_move(series({{0, 100}, {10, 90}, {20, 100}}), 1'000);
  EXPECT_EQ(rebound.from, 90);
  EXPECT_EQ(rebound.to, 100);
  EXPECT_NEAR(rebound.percent(), 11.111, 0.001);
  PriceMove only_drops =
      largest_move(series({{0, 100}, {10, 90}, {20, 100}}), 1'000, MoveDirection::kDown);
  EXPECT_EQ(only_drops.from, 100);
  EXPECT_EQ(only_drops.to, 90);
  EXPECT_EQ(largest_move(series({{0, 90}, {10, 100}}), 1'000, MoveDirection::kDown).from, 0)
      << "a rise is no drop";
}

TEST(LargestMoveTest, TradesOfOneBlockCountInExecutionOrder) {
  PriceMove move = largest_move(series({{500, 6'000}, {500, 5'400}, {500, 6'000}}), 1'000);
  EXPECT_EQ(move.from, 5'400);
  EXPECT_EQ(move.to, 6'000);
}

TEST(LargestMoveTest, EarlierPricesLeaveTheWindowAsItSlides) {
  // 50 -> 100 doubles within the window; by 1,200 ms the 50 has left it and 100 -> 101 is 1%.
  PriceMove move = largest_move(series({{0, 50}, {600, 100}, {1'200, 101}}), 1'000);
  EXPECT_EQ(move.from, 50);
  EXPECT_EQ(move.to, 100);
  PriceMove later = largest_move(series({{0, 100}, {600, 100}, {1'200, 50}, {1'700, 51}}), 1'000);
  EXPECT_EQ(later.from, 100) << "the 100 of 600 ms is within 1,000 ms of the 50 of 1,200 ms";
  EXPECT_EQ(later.to, 50);
  EXPECT_EQ(later.from_time_ms, 600);
}

TEST(LargestMoveTest, WithinIsExactInBasisPoints) {
  PriceMove move{10'000, 9'700, 0, 1};
  EXPECT_TRUE(move.within_bps(300)) << "exactly 3%";
  EXPECT_FALSE(move.within_bps(299));
  PriceMove up{9'700, 10'000, 0, 1};  // 3.09% of 9,700
  EXPECT_FALSE(up.within_bps(300));
  EXPECT_TRUE(up.within_bps(310));
  EXPECT_TRUE(up.larger_than(move));
  EXPECT_FALSE(move.larger_than(up));
}

// Every pair of trades less than the window apart, the slow way.
PriceMove largest_by_every_pair(const std::vector<TradePrint>& trades, std::int64_t window_ms,
                                MoveDirection direction) {
  PriceMove largest;
  for (std::size_t later = 0; later < trades.size(); ++later) {
    for (std::size_t earlier = 0; earlier < later; ++earlier) {
      if (trades[later].time_ms - trades[earlier].time_ms >= window_ms) continue;
      if (direction == MoveDirection::kDown && trades[later].price >= trades[earlier].price) {
        continue;
      }
      PriceMove move{trades[earlier].price, trades[later].price, trades[earlier].time_ms,
                     trades[later].time_ms};
      if (move.larger_than(largest)) largest = move;
    }
  }
  return largest;
}

TEST(LargestMoveTest, AgreesWithComparingEveryPairOnRandomSeries) {
  std::mt19937_64 random(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<TradePrint> trades;
    std::int64_t time_ms = 0;
    Price price = 6'000;
    const std::size_t count = random() % 60;
    for (std::size_t i = 0; i < count; ++i) {
      time_ms += static_cast<std::int64_t>(random() % 400);  // several trades share a block
      price = std::max<Price>(1, price + static_cast<Price>(random() % 601) - 300);
      trades.push_back({i + 1, time_ms, price});
    }
    for (MoveDirection direction : {MoveDirection::kEither, MoveDirection::kDown}) {
      PriceMove fast = largest_move(trades, 1'000, direction);
      PriceMove slow = largest_by_every_pair(trades, 1'000, direction);
      ASSERT_FALSE(fast.larger_than(slow)) << "round " << round;
      ASSERT_FALSE(slow.larger_than(fast)) << "round " << round;
      ASSERT_EQ(fast.from == 0, slow.from == 0) << "round " << round;
    }
  }
}

TEST(VelocityBoundWindowTest, NinetyPercentOfTheVelocityWindowUnlessAHaltIsShorter) {
  exchange::BreakerSpec defaults;
  EXPECT_EQ(velocity_bound_window_ms(defaults), 1'800) << "2,000 ms of ten 200 ms buckets";
  exchange::BreakerSpec short_halt;
  short_halt.velocity_pause_ms = 300;
  short_halt.auction_ms = 200;
  EXPECT_EQ(velocity_bound_window_ms(short_halt), 500)
      << "trades before and after a 500 ms halt are not in one velocity range";
  exchange::BreakerSpec off;
  off.enabled = false;
  EXPECT_EQ(velocity_bound_window_ms(off), 0);
  exchange::BreakerSpec no_velocity;
  no_velocity.velocity_bps = 0;
  EXPECT_EQ(velocity_bound_window_ms(no_velocity), 0);
}

}  // namespace
}  // namespace ballast::cli
