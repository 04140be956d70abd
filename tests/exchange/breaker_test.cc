// Circuit breakers, one rule per test: the band on market and limit orders, every market state
// transition (open -> limit state -> paused -> auction -> open, the velocity pause), orders
// during a pause, the auction's clearing price and its tie-breaks, the reference price, breakers
// turned off, determinism and snapshots in the middle of a pause.
#include <gtest/gtest.h>

#include "exchange/json_codec.h"
#include "test_world.h"

namespace ballast::exchange::testing {
namespace {

constexpr auto kGtc = TimeInForce::kGoodTillCancel;
constexpr auto kIoc = TimeInForce::kImmediateOrCancel;
constexpr auto kFok = TimeInForce::kFillOrKill;

// The defaults: band 5 %, limit state 5 s, pause 30 s, velocity 3 % in 2 s pausing 5 s, auction
// 1 s, reference window 30 s.
class BreakerTest : public ::testing::Test {
 protected:
  explicit BreakerTest(BreakerSpec breakers = {})
      : world({"alice", "bob", "carol", "dave"}, 1'000'000'000,
              MarketParams{.breakers = breakers}) {}

  // One trade of one unit at `price`, alice selling to bob; the first one sets the reference.
  void trade_at(Price price, const std::string& seller = "alice",
                const std::string& buyer = "bob") {
    ASSERT_TRUE(world.limit(seller, Side::kSell, price, 1).accepted());
    auto fills = events_of<OrderFilled>(world.limit(buyer, Side::kBuy, price, 1));
    ASSERT_EQ(fills.size(), 1u);
    ASSERT_EQ(fills[0].price, price);
  }
  TxResult market_order(const std::string& name, Side side, Price protection, Quantity quantity,
                        Amount fee = 0) {
    return world.run(name,
                     PlaceOrder{.market = kMarket,
                                .side = side,
                                .type = OrderType::kMarket,
                                .time_in_force = kIoc,
                                .price = protection,
                                .quantity = quantity},
                     fee);
  }
  // An empty block at `time_ms`.
  const BlockResult& tick(std::int64_t time_ms) {
    world.set_time(time_ms);
    world.run_block({});
    return world.last_block();
  }
  MarketStatus status() { return world.exchange().market_status(kMarket); }
  const std::vector<MarketEvent>& market_events() { return world.last_block().market_events; }
  void expect_invariants() {
    Status status = world.exchange().check_invariants();
    EXPECT_TRUE(status.is_ok()) << status.to_string();
  }
  std::vector<OpenOrder> bids() { return world.exchange().resting_orders(kMarket, Side::kBuy); }
  std::vector<OpenOrder> asks() { return world.exchange().resting_orders(kMarket, Side::kSell); }

  // Trades at 100 at time 0; at 1000 bob bids 5 at the upper band (105): a limit state.
  void enter_limit_state() {
    trade_at(100);
    world.set_time(1'000);
    ASSERT_TRUE(world.limit("bob", Side::kBuy, 105, 5).accepted());
    ASSERT_EQ(status().state, MarketState::kLimitState);
  }
  // A trade at 100 at time 0; at 500 carol offers one unit at each of 101..104; at 1000 bob's buy
  // of 4 up to 105 fills 101..103 and would pay 104, more than 3 % above 100 within 2 s.
  TxResult trip_velocity(TimeInForce tif = kGtc) {
    trade_at(100);
    world.set_time(500);
    std::vector<Transaction> offers;
    for (Price price = 101; price <= 104; ++price) {
      offers.push_back(world.make(
          "carol",
          PlaceOrder{.market = kMarket, .side = Side::kSell, .price = price, .quantity = 1}));
    }
    world.run_block(offers);
    world.set_time(1'000);
    return world.limit("bob", Side::kBuy, 105, 4, tif);
  }

  TestWorld world;
};

PriceBand band(Price low, Price high) {
  return PriceBand{low, high};
}

// --- pure rules --------------------------------------------------------------------------------

TEST(BandTest, RoundsInwardsToTheTickAndKeepsATickEachSide) {
  EXPECT_EQ(band_around(100, 500, 1), band(95, 105));
  EXPECT_EQ(band_around(1'000, 250, 10), band(980, 1'020));  // 975 -> 980, 1025 -> 1020
  EXPECT_EQ(band_around(5, 500, 1), band(4, 6));             // 5 % of 5 is under a tick
  EXPECT_EQ(band_around(1, 500, 1), band(1, 2));             // never below one tick
  const Price top = std::numeric_limits<Price>::max() / 2 * 2;
  EXPECT_EQ(band_around(top, 500, 2).high, top);  // capped within int64
}

TEST(VelocityRangeTest, AllowsMovesUpToTheThresholdFromEitherExtreme) {
  PriceRange range;
  EXPECT_TRUE(range.within(1'000'000, 1));  // no trades: no limit
  range.add(100);
  EXPECT_TRUE(range.within(103, 300));
  EXPECT_FALSE(range.within(104, 300));
  EXPECT_TRUE(range.within(97, 300));
  EXPECT_FALSE(range.within(96, 300));
  range.add(102);  // a move down is measured from the highest price
  EXPECT_FALSE(range.within(98, 300));
}

std::vector<BookLevel> levels(std::initializer_list<std::pair<Price, Quantity>> entries) {
  std::vector<BookLevel> result;
  for (auto [price, quantity] : entries) result.push_back({price, quantity, 1});
  return result;
}

TEST(AuctionClearingTest, NothingCrossesNothingTrades) {
  EXPECT_EQ(clear_auction(levels({{99, 5}}), levels({{100, 5}}), 100, 1).volume, 0);
  EXPECT_EQ(clear_auction({}, levels({{100, 5}}), 100, 1).volume, 0);
}

TEST(AuctionClearingTest, MaximisesVolumeThenPrefersThePriceNearestTheReference) {
  auto bids = levels({{102, 3}, {101, 2}});
  auto asks = levels({{100, 4}, {102, 2}});
  // 100 and 101 both trade 4 with an imbalance of 1; 102 trades only 3.
  EXPECT_EQ(clear_auction(bids, asks, 105, 1), (AuctionClearing{101, 4, 1}));
  EXPECT_EQ(clear_auction(bids, asks, 90, 1), (AuctionClearing{100, 4, 1}));
}

TEST(AuctionClearingTest, SmallestImbalanceBreaksAVolumeTieEvenBetweenLevels) {
  auto bids = levels({{101, 5}, {99, 5}});
  auto asks = levels({{99, 5}, {101, 5}});
  // All trade 5; at 99 demand is 10, at 101 supply is 10, at 100 (no level) both are 5.
  for (Price reference : {99, 101, 150}) {
    EXPECT_EQ(clear_auction(bids, asks, reference, 1), (AuctionClearing{100, 5, 0}));
  }
  // With a tick of 2 the price between levels 100 and 104 is 102.
  EXPECT_EQ(clear_auction(levels({{104, 5}, {100, 5}}), levels({{100, 5}, {104, 5}}), 0, 2).price,
            102);
}

TEST(AuctionClearingTest, WithinAFlatRangeTheReferenceItselfOrTheNearestEnd) {
  auto bids = levels({{110, 10}});
  auto asks = levels({{90, 10}});
  EXPECT_EQ(clear_auction(bids, asks, 100, 1).price, 100);
  EXPECT_EQ(clear_auction(bids, asks, 95, 1).price, 95);
  EXPECT_EQ(clear_auction(bids, asks, 200, 1).price, 110);
  EXPECT_EQ(clear_auction(bids, asks, 0, 1).price, 90);  // no reference: the lowest
  EXPECT_EQ(clear_auction(bids, asks, 100, 1).volume, 10);
}

// --- the band ----------------------------------------------------------------------------------

TEST_F(BreakerTest, NoBandUntilTheFirstTradeWhichSetsTheReference) {
  MarketStatus before = status();
  EXPECT_TRUE(before.breakers_enabled);
  EXPECT_EQ(before.state, MarketState::kOpen);
  EXPECT_FALSE(before.reference_price.has_value());
  EXPECT_FALSE(before.band.has_value());
  trade_at(100);
  MarketStatus after = status();
  EXPECT_EQ(after.reference_price, 100);
  EXPECT_EQ(after.band, band(95, 105));
  EXPECT_EQ(after.last_trade_price, 100);
  expect_invariants();
}

class ReferenceFromGenesisTest : public BreakerTest {
 protected:
  ReferenceFromGenesisTest() : BreakerTest(BreakerSpec{.reference_price = 200}) {}
};

TEST_F(ReferenceFromGenesisTest, AGenesisReferenceSetsTheBandBeforeAnyTrade) {
  EXPECT_EQ(status().band, band(190, 210));
  ASSERT_TRUE(world.limit("alice", Side::kSell, 215, 1).accepted());
  TxResult result = market_order("bob", Side::kBuy, 300, 1);
  EXPECT_TRUE(events_of<OrderFilled>(result).empty());
  EXPECT_EQ(events_of<OrderCancelled>(result).at(0).reason, CancelReason::kImmediateOrCancel);
}

TEST_F(BreakerTest, MarketBuyProtectionIsCappedAtTheUpperBand) {
  trade_at(100);
  world.set_time(3'000);  // past the velocity window: only the band limits
  ASSERT_TRUE(world.limit("carol", Side::kSell, 104, 1).accepted());
  ASSERT_TRUE(world.limit("carol", Side::kSell, 106, 1).accepted());
  TxResult result = market_order("dave", Side::kBuy, 200, 2);
  ASSERT_TRUE(result.accepted()) << result.message;
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].price, 104);
  auto cancels = events_of<OrderCancelled>(result);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].remaining, 1);
  EXPECT_EQ(cancels[0].reason, CancelReason::kImmediateOrCancel);
  EXPECT_EQ(world.balance("dave", kQuote).locked, 0);
  EXPECT_EQ(world.balance("dave", kQuote).available, 1'000'000'000 - 104);
  EXPECT_EQ(asks().size(), 1u);
  expect_invariants();
}

TEST_F(BreakerTest, MarketSellProtectionIsCappedAtTheLowerBand) {
  trade_at(100);
  world.set_time(3'000);
  ASSERT_TRUE(world.limit("carol", Side::kBuy, 96, 1).accepted());
  ASSERT_TRUE(world.limit("carol", Side::kBuy, 94, 1).accepted());
  TxResult result = market_order("dave", Side::kSell, 1, 2);
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].price, 96);
  EXPECT_EQ(bids().size(), 1u);
  EXPECT_EQ(world.balance("dave", kBase).locked, 0);
  expect_invariants();
}

TEST_F(BreakerTest, LimitBuyBeyondTheBandTradesUpToItAndRestsAtIt) {
  trade_at(100);
  world.set_time(3'000);
  ASSERT_TRUE(world.limit("carol", Side::kSell, 104, 1).accepted());
  ASSERT_TRUE(world.limit("carol", Side::kSell, 107, 1).accepted());
  TxResult result = world.limit("dave", Side::kBuy, 110, 3);
  ASSERT_TRUE(result.accepted());
  EXPECT_EQ(events_of<OrderAccepted>(result).at(0).price, 110);
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].price, 104);
  auto rested = events_of<OrderRested>(result);
  ASSERT_EQ(rested.size(), 1u);
  EXPECT_EQ(rested[0].price, 105);  // slid down to the band
  EXPECT_EQ(rested[0].quantity, 2);
  // Locked for what rests at 105, and the rest of the 110 lock released.
  EXPECT_EQ(world.balance("dave", kQuote).locked, 2 * 105);
  EXPECT_EQ(world.balance("dave", kQuote).available, 1'000'000'000 - 104 - 2 * 105);
  // A bid at the upper band puts the market in a limit state at the end of the block.
  ASSERT_EQ(market_events().size(), 1u);
  const MarketEvent& event = market_events()[0];
  EXPECT_EQ(event.from, MarketState::kOpen);
  EXPECT_EQ(event.to, MarketState::kLimitState);
  EXPECT_EQ(event.reason, MarketTransitionReason::kBidAtUpperBand);
  EXPECT_EQ(event.phase, MarketEventPhase::kBlockEnd);
  EXPECT_EQ(event.time_ms, 3'000);
  EXPECT_EQ(event.ends_ms, 8'000);
  EXPECT_EQ(event.reference_price, 100);
  EXPECT_EQ(event.band_low, 95);
  EXPECT_EQ(event.band_high, 105);
  expect_invariants();
}

TEST_F(BreakerTest, LimitSellBeyondTheBandRestsAtTheLowerBand) {
  trade_at(100);
  world.set_time(3'000);
  ASSERT_TRUE(world.limit("carol", Side::kBuy, 93, 1).accepted());
  TxResult result = world.limit("dave", Side::kSell, 80, 2);
  EXPECT_TRUE(events_of<OrderFilled>(result).empty());
  EXPECT_EQ(events_of<OrderRested>(result).at(0).price, 95);
  EXPECT_EQ(world.balance("dave", kBase).locked, 2);
  EXPECT_EQ(status().state, MarketState::kLimitState);
  EXPECT_EQ(status().reason, MarketTransitionReason::kAskAtLowerBand);
  expect_invariants();
}

TEST_F(BreakerTest, IocBeyondTheBandCancelsWhatCouldOnlyTradeOutsideIt) {
  trade_at(100);
  world.set_time(3'000);
  ASSERT_TRUE(world.limit("carol", Side::kSell, 104, 1).accepted());
  ASSERT_TRUE(world.limit("carol", Side::kSell, 107, 1).accepted());
  TxResult result = world.limit("dave", Side::kBuy, 110, 3, kIoc);
  EXPECT_EQ(events_of<OrderFilled>(result).size(), 1u);
  EXPECT_EQ(events_of<OrderCancelled>(result).at(0).remaining, 2);
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(world.balance("dave", kQuote).locked, 0);
}

TEST_F(BreakerTest, FillOrKillCountsOnlyLiquidityInsideTheBand) {
  trade_at(100);
  world.set_time(3'000);
  ASSERT_TRUE(world.limit("carol", Side::kSell, 104, 1).accepted());
  ASSERT_TRUE(world.limit("carol", Side::kSell, 106, 5).accepted());
  EXPECT_EQ(world.limit("dave", Side::kBuy, 110, 3, kFok).reject, RejectCode::kFillOrKillNotFilled);
  TxResult fits = world.limit("dave", Side::kBuy, 110, 1, kFok);
  ASSERT_TRUE(fits.accepted());
  EXPECT_EQ(events_of<OrderFilled>(fits).at(0).price, 104);
}

TEST_F(BreakerTest, TheReferenceIsTheVolumeWeightedPriceOfTheWindowAndStaysWhenItEmpties) {
  trade_at(100);
  world.set_time(3'000);
  ASSERT_TRUE(world.limit("alice", Side::kSell, 104, 3).accepted());
  ASSERT_TRUE(world.limit("bob", Side::kBuy, 104, 3).accepted());
  tick(4'000);
  // (100 x 1 + 104 x 3) / 4 = 103
  EXPECT_EQ(status().reference_price, 103);
  EXPECT_EQ(status().band, band(98, 108));
  tick(60'000);  // no trades in the last 30 s: the reference stays
  EXPECT_EQ(status().reference_price, 103);
  expect_invariants();
}

// --- open -> limit state -> paused -> auction -> open ----------------------------------------

TEST_F(BreakerTest, FullCycleThroughLimitStatePauseAndAuction) {
  enter_limit_state();
  ASSERT_EQ(market_events().size(), 1u);
  EXPECT_EQ(market_events()[0].reason, MarketTransitionReason::kBidAtUpperBand);
  EXPECT_EQ(market_events()[0].ends_ms, 6'000);
  EXPECT_EQ(status().limit_states, 1u);

  // The pause starts at the start of the first block at or after 6000, whatever it carries.
  EXPECT_TRUE(tick(5'999).market_events.empty());
  EXPECT_EQ(status().state, MarketState::kLimitState);
  const BlockResult& paused = tick(6'000);
  ASSERT_EQ(paused.market_events.size(), 1u);
  EXPECT_EQ(paused.market_events[0].from, MarketState::kLimitState);
  EXPECT_EQ(paused.market_events[0].to, MarketState::kPaused);
  EXPECT_EQ(paused.market_events[0].reason, MarketTransitionReason::kLimitStateTimeout);
  EXPECT_EQ(paused.market_events[0].phase, MarketEventPhase::kBlockStart);
  EXPECT_EQ(paused.market_events[0].ends_ms, 36'000);
  EXPECT_EQ(status().state, MarketState::kPaused);
  EXPECT_EQ(status().limit_pauses, 1u);

  // In the pause carol's sell crosses bob's bid and rests.
  world.set_time(7'000);
  TxResult crossing = world.limit("carol", Side::kSell, 103, 3);
  ASSERT_TRUE(crossing.accepted());
  EXPECT_TRUE(events_of<OrderFilled>(crossing).empty());
  EXPECT_EQ(events_of<OrderRested>(crossing).at(0).price, 103);
  EXPECT_EQ(world.exchange().indicative_auction(kMarket), (AuctionClearing{103, 3, 2}));
  expect_invariants();

  const BlockResult& auction = tick(36'000);
  ASSERT_EQ(auction.market_events.size(), 1u);
  EXPECT_EQ(auction.market_events[0].to, MarketState::kAuction);
  EXPECT_EQ(auction.market_events[0].reason, MarketTransitionReason::kPauseEnded);
  EXPECT_EQ(auction.market_events[0].ends_ms, 37'000);
  EXPECT_TRUE(auction.block_events.empty());

  const BlockResult& reopened = tick(37'000);
  ASSERT_EQ(reopened.market_events.size(), 1u);
  const MarketEvent& event = reopened.market_events[0];
  EXPECT_EQ(event.from, MarketState::kAuction);
  EXPECT_EQ(event.to, MarketState::kOpen);
  EXPECT_EQ(event.reason, MarketTransitionReason::kAuctionCompleted);
  // 103, 104 and 105 all trade 3 with 2 left over; 103 is nearest the reference of 100.
  EXPECT_EQ(event.clearing_price, 103);
  EXPECT_EQ(event.matched_quantity, 3);
  EXPECT_EQ(event.reference_price, 103);
  EXPECT_EQ(event.band_low, 98);
  EXPECT_EQ(event.band_high, 108);
  EXPECT_EQ(event.ends_ms, 0);
  ASSERT_EQ(reopened.block_events.size(), 1u);
  const auto& fill = std::get<OrderFilled>(reopened.block_events[0]);
  EXPECT_EQ(fill.maker, world.id("bob"));  // the older order
  EXPECT_EQ(fill.taker, world.id("carol"));
  EXPECT_EQ(fill.taker_side, Side::kSell);
  EXPECT_EQ(fill.price, 103);
  EXPECT_EQ(fill.quantity, 3);
  EXPECT_EQ(fill.taker_order_id, events_of<OrderAccepted>(crossing).at(0).order_id);

  // bob paid 103 for each of 3 and keeps 2 x 105 locked for the rest of his bid.
  EXPECT_EQ(world.balance("bob", kQuote).locked, 2 * 105);
  EXPECT_EQ(world.balance("bob", kQuote).available, 1'000'000'000 - 100 - 3 * 103 - 2 * 105);
  EXPECT_EQ(world.balance("bob", kBase).available, 1'000'000'000 + 1 + 3);
  EXPECT_EQ(world.balance("carol", kQuote).available, 1'000'000'000 + 3 * 103);
  EXPECT_EQ(world.balance("carol", kBase).locked, 0);
  MarketStatus reopened_status = status();
  EXPECT_EQ(reopened_status.state, MarketState::kOpen);
  EXPECT_EQ(reopened_status.auctions, 1u);
  EXPECT_EQ(reopened_status.last_auction_price, 103);
  EXPECT_EQ(reopened_status.last_auction_volume, 3);
  EXPECT_EQ(reopened_status.last_trade_price, 103);
  ASSERT_EQ(bids().size(), 1u);
  EXPECT_EQ(bids()[0].remaining, 2);  // inside the new band: no limit state
  expect_invariants();
}

TEST_F(BreakerTest, LimitStateEndsWhenTheQuoteAtTheBandIsCancelled) {
  enter_limit_state();
  ASSERT_TRUE(world.run("bob", CancelAll{}).accepted());
  ASSERT_EQ(market_events().size(), 1u);
  EXPECT_EQ(market_events()[0].from, MarketState::kLimitState);
  EXPECT_EQ(market_events()[0].to, MarketState::kOpen);
  EXPECT_EQ(market_events()[0].reason, MarketTransitionReason::kLimitStateCleared);
  EXPECT_TRUE(tick(10'000).market_events.empty());  // no pause
  EXPECT_EQ(status().state, MarketState::kOpen);
  expect_invariants();
}

TEST_F(BreakerTest, LimitStateEndsWhenTheQuoteAtTheBandTrades) {
  enter_limit_state();
  world.set_time(5'000);
  TxResult sell = world.limit("carol", Side::kSell, 105, 5);
  EXPECT_EQ(events_of<OrderFilled>(sell).size(), 1u);
  ASSERT_EQ(market_events().size(), 1u);
  EXPECT_EQ(market_events()[0].reason, MarketTransitionReason::kLimitStateCleared);
  EXPECT_TRUE(tick(6'000).market_events.empty());
  expect_invariants();
}

TEST_F(BreakerTest, AnAskAtTheLowerBandStartsALimitState) {
  trade_at(100);
  world.set_time(1'000);
  ASSERT_TRUE(world.limit("carol", Side::kSell, 95, 1).accepted());
  ASSERT_EQ(market_events().size(), 1u);
  EXPECT_EQ(market_events()[0].reason, MarketTransitionReason::kAskAtLowerBand);
  EXPECT_EQ(status().state, MarketState::kLimitState);
}

TEST_F(BreakerTest, AnAuctionWithNothingCrossedReopensWithTheReferenceMovedIntoTheSpread) {
  enter_limit_state();
  tick(6'000);
  tick(36'000);
  const BlockResult& reopened = tick(37'000);
  ASSERT_EQ(reopened.market_events.size(), 1u);
  EXPECT_EQ(reopened.market_events[0].clearing_price, 0);
  EXPECT_EQ(reopened.market_events[0].matched_quantity, 0);
  EXPECT_TRUE(reopened.block_events.empty());
  // The reference of 100 moves up to the best bid, 105; the band follows.
  EXPECT_EQ(status().reference_price, 105);
  EXPECT_EQ(status().band, band(100, 110));
  EXPECT_EQ(status().state, MarketState::kOpen);
  EXPECT_EQ(status().auctions, 1u);
  EXPECT_FALSE(status().last_auction_price.has_value());
  expect_invariants();
}

// --- velocity ----------------------------------------------------------------------------------

TEST_F(BreakerTest, AFastMovePausesTheMarketAndTheAuctionReopensIt) {
  TxResult result = trip_velocity();
  ASSERT_TRUE(result.accepted());
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 3u);
  EXPECT_EQ(fills[2].price, 103);  // exactly 3 % is allowed; more is not
  // The rest rests at its own price in the paused book, crossing carol's 104.
  EXPECT_EQ(events_of<OrderRested>(result).at(0).price, 105);
  ASSERT_EQ(market_events().size(), 1u);
  const MarketEvent& event = market_events()[0];
  EXPECT_EQ(event.from, MarketState::kOpen);
  EXPECT_EQ(event.to, MarketState::kPaused);
  EXPECT_EQ(event.reason, MarketTransitionReason::kVelocity);
  EXPECT_EQ(event.phase, MarketEventPhase::kTransaction);
  EXPECT_EQ(event.transaction, 0u);
  EXPECT_EQ(event.ends_ms, 6'000);
  EXPECT_EQ(status().velocity_pauses, 1u);
  expect_invariants();

  EXPECT_EQ(tick(6'000).market_events.at(0).to, MarketState::kAuction);
  const BlockResult& reopened = tick(7'000);
  EXPECT_EQ(reopened.market_events.at(0).clearing_price, 104);  // 104 and 105 tie; 104 is nearer
  const auto& fill = std::get<OrderFilled>(reopened.block_events.at(0));
  EXPECT_EQ(fill.maker, world.id("carol"));
  EXPECT_EQ(fill.taker, world.id("bob"));
  EXPECT_EQ(fill.taker_side, Side::kBuy);
  EXPECT_EQ(status().reference_price, 104);
  EXPECT_EQ(status().band, band(99, 109));
  expect_invariants();
}

TEST_F(BreakerTest, AfterReopeningTheReferenceCountsOnlyTradesSinceTheAuction) {
  trip_velocity();
  tick(6'000);
  tick(7'000);
  world.set_time(8'000);
  // 107 is within 3 % of the auction's 104.
  trade_at(107, "alice", "dave");
  EXPECT_EQ(status().state, MarketState::kOpen);
  tick(9'000);
  // (104 + 107) / 2 = 105.5, to the nearest tick 106; the 100..103 before the pause do not count.
  EXPECT_EQ(status().reference_price, 106);
  EXPECT_EQ(status().band, band(101, 111));
  expect_invariants();
}

TEST_F(BreakerTest, AVelocityPauseCancelsTheRestOfAnIoc) {
  TxResult result = trip_velocity(kIoc);
  EXPECT_EQ(events_of<OrderFilled>(result).size(), 3u);
  auto cancels = events_of<OrderCancelled>(result);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].reason, CancelReason::kMarketPaused);
  EXPECT_EQ(cancels[0].remaining, 1);
  EXPECT_EQ(world.balance("bob", kQuote).locked, 0);
  EXPECT_EQ(status().state, MarketState::kPaused);
  expect_invariants();
}

TEST_F(BreakerTest, VelocityLooksBackOnlyItsWindow) {
  trade_at(100);
  world.set_time(3'000);
  ASSERT_TRUE(world.limit("carol", Side::kSell, 104, 1).accepted());
  EXPECT_EQ(events_of<OrderFilled>(world.limit("dave", Side::kBuy, 104, 1)).size(), 1u);
  EXPECT_EQ(status().state, MarketState::kOpen);
}

TEST_F(BreakerTest, FillOrKillThatWouldTripVelocityIsRejectedAndPausesNothing) {
  trade_at(100);
  world.set_time(500);
  ASSERT_TRUE(world.limit("carol", Side::kSell, 102, 1).accepted());
  ASSERT_TRUE(world.limit("carol", Side::kSell, 104, 1).accepted());
  EXPECT_EQ(world.limit("dave", Side::kBuy, 105, 2, kFok).reject, RejectCode::kFillOrKillNotFilled);
  EXPECT_EQ(status().state, MarketState::kOpen);
  EXPECT_EQ(asks().size(), 2u);
}

// --- orders during a pause -----------------------------------------------------------------------

TEST_F(BreakerTest, InAPauseOrdersArePlacedReplacedAndCancelledButNothingMatches) {
  trip_velocity();
  world.set_time(2'000);
  // A crossing sell rests.
  TxResult sell = world.limit("dave", Side::kSell, 100, 1, kGtc, 7);
  ASSERT_TRUE(sell.accepted());
  EXPECT_TRUE(events_of<OrderFilled>(sell).empty());
  EXPECT_EQ(events_of<OrderRested>(sell).at(0).price, 100);
  // Replaced to a lower price: rests again, still nothing trades.
  TxResult replaced = world.run("dave", ReplaceOrder{OrderRef{true, 7}, 99, 2});
  ASSERT_TRUE(replaced.accepted()) << replaced.message;
  EXPECT_FALSE(events_of<OrderReplaced>(replaced).at(0).kept_priority);
  EXPECT_EQ(events_of<OrderRested>(replaced).at(0).price, 99);
  EXPECT_TRUE(events_of<OrderFilled>(replaced).empty());
  expect_invariants();
  // Cancelled.
  TxResult cancelled = world.run("dave", CancelOrder{OrderRef{true, 7}});
  ASSERT_TRUE(cancelled.accepted());
  EXPECT_EQ(world.balance("dave", kBase).locked, 0);
  EXPECT_EQ(status().state, MarketState::kPaused);
  expect_invariants();
}

TEST_F(BreakerTest, InAPauseOrdersThatMustTradeAtOnceAreRejectedChangingOnlyNonceAndFee) {
  trip_velocity();
  const Balance quote = world.balance("dave", kQuote);
  const Balance base = world.balance("dave", kBase);
  const std::size_t resting = world.exchange().resting_order_count();
  std::vector<TxResult> rejected = {world.run("dave",
                                              PlaceOrder{.market = kMarket,
                                                         .side = Side::kBuy,
                                                         .time_in_force = kIoc,
                                                         .price = 104,
                                                         .quantity = 1},
                                              3),
                                    world.run("dave",
                                              PlaceOrder{.market = kMarket,
                                                         .side = Side::kSell,
                                                         .time_in_force = kFok,
                                                         .price = 90,
                                                         .quantity = 1},
                                              3),
                                    market_order("dave", Side::kBuy, 110, 1, 3)};
  for (const TxResult& result : rejected) {
    EXPECT_EQ(result.reject, RejectCode::kMarketPaused);
    EXPECT_TRUE(result.events.empty());
    EXPECT_NE(result.message.find("paused"), std::string::npos) << result.message;
  }
  EXPECT_EQ(world.nonce("dave"), 3u);
  EXPECT_EQ(world.balance("dave", kQuote).available, quote.available - 9);
  EXPECT_EQ(world.balance("dave", kQuote).locked, quote.locked);
  EXPECT_EQ(world.balance("dave", kBase), base);
  EXPECT_EQ(world.exchange().resting_order_count(), resting);
}

TEST_F(BreakerTest, InAPausePostOnlyMustNotCrossTheBook) {
  trip_velocity();  // bob bids 105, carol offers 104
  TxResult crossing =
      world.limit("dave", Side::kSell, 105, 1, kGtc, 0, SelfTradePrevention::kCancelNewest, true);
  EXPECT_EQ(crossing.reject, RejectCode::kWouldCross);
  TxResult resting =
      world.limit("dave", Side::kSell, 106, 1, kGtc, 0, SelfTradePrevention::kCancelNewest, true);
  EXPECT_TRUE(resting.accepted());
  expect_invariants();
}

TEST_F(BreakerTest, InAPauseSelfTradePreventionAppliesToTheAccountsOwnCrossingOrders) {
  trip_velocity();  // bob bids 105
  auto bob_sells = [&](SelfTradePrevention mode) {
    return world.limit("bob", Side::kSell, 103, 1, kGtc, 0, mode);
  };
  TxResult newest = bob_sells(SelfTradePrevention::kCancelNewest);
  ASSERT_TRUE(newest.accepted());
  ASSERT_EQ(events_of<OrderCancelled>(newest).size(), 1u);
  EXPECT_EQ(events_of<OrderCancelled>(newest)[0].order_id,
            events_of<OrderAccepted>(newest)[0].order_id);
  EXPECT_EQ(bids().size(), 1u);
  expect_invariants();

  TxResult oldest = bob_sells(SelfTradePrevention::kCancelOldest);
  ASSERT_EQ(events_of<OrderCancelled>(oldest).size(), 1u);
  EXPECT_EQ(events_of<OrderCancelled>(oldest)[0].reason, CancelReason::kSelfTradePrevention);
  EXPECT_TRUE(bids().empty());  // bob's bid went; his sell rests
  EXPECT_EQ(events_of<OrderRested>(oldest).size(), 1u);
  expect_invariants();

  ASSERT_TRUE(
      world.limit("bob", Side::kBuy, 104, 1, kGtc, 0, SelfTradePrevention::kCancelBoth).accepted());
  EXPECT_EQ(world.exchange().open_orders(world.id("bob")).size(), 0u);
  expect_invariants();
}

// --- long gaps and breakers off -----------------------------------------------------------------

class ZeroAuctionTest : public BreakerTest {
 protected:
  ZeroAuctionTest() : BreakerTest(BreakerSpec{.auction_ms = 0}) {}
};

TEST_F(ZeroAuctionTest, ABlockLongAfterTheDeadlineRunsEveryExpiredStepInOrder) {
  trip_velocity();
  const BlockResult& block = tick(100'000);
  ASSERT_EQ(block.market_events.size(), 2u);
  EXPECT_EQ(block.market_events[0].to, MarketState::kAuction);
  EXPECT_EQ(block.market_events[0].time_ms, 100'000);
  EXPECT_EQ(block.market_events[1].to, MarketState::kOpen);
  EXPECT_EQ(block.market_events[1].matched_quantity, 1);
  EXPECT_EQ(status().state, MarketState::kOpen);
  expect_invariants();
}

class BreakersOffTest : public BreakerTest {
 protected:
  BreakersOffTest() : BreakerTest(BreakerSpec{.enabled = false}) {}
};

TEST_F(BreakersOffTest, NothingLimitsTradingAndTheReferenceIsStillReported) {
  trade_at(100);
  ASSERT_TRUE(world.limit("carol", Side::kSell, 150, 1).accepted());
  TxResult result = market_order("dave", Side::kBuy, 200, 1);
  EXPECT_EQ(events_of<OrderFilled>(result).at(0).price, 150);
  ASSERT_TRUE(world.limit("dave", Side::kBuy, 10'000, 1).accepted());  // no slide, no limit state
  EXPECT_EQ(bids().at(0).price, 10'000);
  tick(100'000);
  MarketStatus off = status();
  EXPECT_FALSE(off.breakers_enabled);
  EXPECT_EQ(off.state, MarketState::kOpen);
  EXPECT_FALSE(off.band.has_value());
  EXPECT_EQ(off.last_trade_price, 150);
  EXPECT_TRUE(off.reference_price.has_value());
  EXPECT_EQ(off.limit_states + off.limit_pauses + off.velocity_pauses + off.auctions, 0u);
  expect_invariants();
}

// --- determinism and snapshots ------------------------------------------------------------------

struct TimedBlock {
  std::int64_t time_ms;
  std::vector<Transaction> txs;
};

// The velocity scenario, then a crossing order in the pause, the auction and trading after it.
std::vector<TimedBlock> scripted_breaker_blocks(TestWorld& world) {
  auto place = [&](const std::string& name, Side side, Price price, Quantity quantity) {
    return world.make(
        name, PlaceOrder{.market = kMarket, .side = side, .price = price, .quantity = quantity});
  };
  return {
      {0, {place("alice", Side::kSell, 100, 2), place("bob", Side::kBuy, 100, 2)}},
      {500,
       {place("carol", Side::kSell, 101, 1), place("carol", Side::kSell, 102, 1),
        place("carol", Side::kSell, 104, 2)}},
      {1'000, {place("bob", Side::kBuy, 105, 4)}},  // velocity pause
      {2'000, {place("dave", Side::kSell, 99, 3)}},
      {4'000, {}},
      {6'000, {place("alice", Side::kBuy, 103, 1)}},  // auction
      {7'000, {}},                                    // uncross
      {8'000, {place("alice", Side::kSell, 103, 1), place("dave", Side::kBuy, 110, 2)}},
      {9'000, {}},
  };
}

TEST(BreakerDeterminismTest, ReplicasAgreeAndASnapshotTakenInAPauseRestoresExactly) {
  TestWorld world({"alice", "bob", "carol", "dave"});
  std::vector<TimedBlock> blocks = scripted_breaker_blocks(world);
  Exchange first(world.genesis());
  Exchange second(world.genesis());
  std::unique_ptr<Exchange> restored;
  bool saw_pause = false;
  bool saw_auction_fill = false;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const BlockContext context{i + 1, blocks[i].time_ms};
    BlockResult a = first.execute_block(context, blocks[i].txs);
    BlockResult b = second.execute_block(context, blocks[i].txs);
    ASSERT_EQ(a.state_root, b.state_root) << "height " << i + 1;
    ASSERT_EQ(a.market_events, b.market_events);
    ASSERT_EQ(a.block_events, b.block_events);
    saw_auction_fill = saw_auction_fill || !a.block_events.empty();
    if (restored) {
      BlockResult c = restored->execute_block(context, blocks[i].txs);
      ASSERT_EQ(a.state_root, c.state_root) << "restored, height " << i + 1;
      ASSERT_EQ(a.market_events, c.market_events);
      ASSERT_EQ(a.block_events, c.block_events);
    }
    ASSERT_TRUE(first.check_invariants().is_ok()) << first.check_invariants().to_string();
    if (!restored && first.market_status(kMarket).state == MarketState::kPaused) {
      saw_pause = true;
      auto copy = Exchange::restore(first.snapshot());
      ASSERT_TRUE(copy.is_ok()) << copy.status().to_string();
      restored = std::move(copy).value();
      EXPECT_EQ(restored->state_root(), first.state_root());
      EXPECT_EQ(restored->snapshot(), first.snapshot());
      EXPECT_EQ(restored->market_status(kMarket), first.market_status(kMarket));
      EXPECT_EQ(restored->block_time_ms(), first.block_time_ms());
    }
  }
  EXPECT_TRUE(saw_pause);
  EXPECT_TRUE(saw_auction_fill);
  EXPECT_EQ(first.market_status(kMarket).auctions, 1u);
}

TEST(BreakerDeterminismTest, TheRootCommitsToTheBreakerState) {
  // Two histories that differ only in block time: one pauses and reopens, one stays paused.
  TestWorld world({"alice", "bob", "carol", "dave"});
  std::vector<TimedBlock> blocks = scripted_breaker_blocks(world);
  Exchange early(world.genesis());
  Exchange late(world.genesis());
  for (std::size_t i = 0; i < 3; ++i) {
    early.execute_block({i + 1, blocks[i].time_ms}, blocks[i].txs);
    late.execute_block({i + 1, blocks[i].time_ms}, blocks[i].txs);
  }
  BlockResult a = early.execute_block({4, 6'000}, {});
  BlockResult b = late.execute_block({4, 5'999}, {});
  EXPECT_EQ(early.market_status(kMarket).state, MarketState::kAuction);
  EXPECT_EQ(late.market_status(kMarket).state, MarketState::kPaused);
  EXPECT_NE(a.state_root, b.state_root);
}

TEST(BreakerSnapshotTest, AnInconsistentBreakerRecordIsCaught) {
  MarketSpec spec;
  spec.breakers.reference_price = 100;
  MarketBreaker breaker(spec);
  Encoder out;
  breaker.encode(out);
  Bytes record = out.take();
  {
    Decoder in(record);
    std::optional<MarketBreaker> decoded = MarketBreaker::decode(in, spec);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->inconsistency(spec, 0), "");
    EXPECT_EQ(decoded->status(0), breaker.status(0));
  }
  // The first byte is the state: "paused" for a market that never entered a pause.
  Bytes paused = record;
  paused[0] = static_cast<std::uint8_t>(MarketState::kPaused);
  Decoder in(paused);
  std::optional<MarketBreaker> decoded = MarketBreaker::decode(in, spec);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_NE(decoded->inconsistency(spec, 0), "");
  // An unknown state does not decode at all.
  Bytes unknown = record;
  unknown[0] = 9;
  Decoder bad(unknown);
  EXPECT_FALSE(MarketBreaker::decode(bad, spec).has_value());
  EXPECT_FALSE(bad.ok());
}

// --- JSON --------------------------------------------------------------------------------------

TEST_F(BreakerTest, MarketEventsAndStatusHaveJsonForms) {
  enter_limit_state();
  tick(6'000);
  nlohmann::json event = market_event_to_json(market_events().at(0), world.genesis());
  EXPECT_EQ(event["event"], "market_state");
  EXPECT_EQ(event["market"], "BASE-QUOTE");
  EXPECT_EQ(event["from"], "limit_state");
  EXPECT_EQ(event["to"], "paused");
  EXPECT_EQ(event["reason"], "limit_state_timeout");
  EXPECT_EQ(event["phase"], "block_start");
  EXPECT_EQ(event["ends_ms"], 36'000);
  EXPECT_EQ(event["band_high"], 105);
  EXPECT_FALSE(event.contains("clearing_price"));
  tick(36'000);
  tick(37'000);
  nlohmann::json reopened = market_event_to_json(market_events().at(0), world.genesis());
  EXPECT_EQ(reopened["reason"], "auction_completed");
  EXPECT_TRUE(reopened["clearing_price"].is_null());
  EXPECT_EQ(reopened["matched_quantity"], 0);
  EXPECT_TRUE(reopened["ends_ms"].is_null());

  nlohmann::json json = market_status_to_json(status(), world.genesis());
  EXPECT_EQ(json["state"], "open");
  EXPECT_EQ(json["reason"], "auction_completed");
  EXPECT_EQ(json["reference_price"], 105);
  EXPECT_EQ(json["band_low"], 100);
  EXPECT_EQ(json["limit_pauses"], 1);
  EXPECT_EQ(json["auctions"], 1);
  EXPECT_TRUE(json["last_auction_price"].is_null());
  EXPECT_EQ(reject_code_name(RejectCode::kMarketPaused), "market_paused");
  EXPECT_EQ(cancel_reason_name(CancelReason::kMarketPaused), "market_paused");
}

}  // namespace
}  // namespace ballast::exchange::testing
