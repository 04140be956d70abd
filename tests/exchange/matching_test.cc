// Order types and their edges, one behaviour per test.
#include <gtest/gtest.h>

#include "test_world.h"

namespace ballast::exchange::testing {
namespace {

constexpr auto kGtc = TimeInForce::kGoodTillCancel;
constexpr auto kIoc = TimeInForce::kImmediateOrCancel;
constexpr auto kFok = TimeInForce::kFillOrKill;

class MatchingTest : public ::testing::Test {
 protected:
  void expect_invariants() { EXPECT_TRUE(world.exchange().check_invariants().is_ok()); }
  std::vector<OpenOrder> bids() { return world.exchange().resting_orders(kMarket, Side::kBuy); }
  std::vector<OpenOrder> asks() { return world.exchange().resting_orders(kMarket, Side::kSell); }

  TestWorld world;
};

TEST_F(MatchingTest, GtcLimitRestsAndLocksFunds) {
  TxResult result = world.limit("alice", Side::kBuy, 100, 5);
  ASSERT_TRUE(result.accepted()) << result.message;
  ASSERT_EQ(bids().size(), 1u);
  EXPECT_EQ(bids()[0].price, 100);
  EXPECT_EQ(bids()[0].remaining, 5);
  EXPECT_EQ(world.balance("alice", kQuote).locked, 500);
  EXPECT_EQ(world.balance("alice", kQuote).available, 1'000'000'000 - 500);
  ASSERT_EQ(events_of<OrderRested>(result).size(), 1u);
  expect_invariants();
}

TEST_F(MatchingTest, PartialFillLeavesRestAtMakerPriceAndRefundsImprovement) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 3).accepted());
  TxResult result = world.limit("bob", Side::kBuy, 105, 5);
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].price, 100);  // the maker's price
  EXPECT_EQ(fills[0].quantity, 3);
  ASSERT_EQ(bids().size(), 1u);
  EXPECT_EQ(bids()[0].remaining, 2);
  EXPECT_EQ(bids()[0].price, 105);
  // bob paid 300 for 3 units and keeps 2 x 105 locked for the rest.
  EXPECT_EQ(world.balance("bob", kQuote).locked, 210);
  EXPECT_EQ(world.balance("bob", kQuote).available, 1'000'000'000 - 300 - 210);
  EXPECT_EQ(world.balance("bob", kBase).available, 1'000'000'000 + 3);
  EXPECT_TRUE(asks().empty());
  expect_invariants();
}

TEST_F(MatchingTest, PriceTimePriority) {
  ASSERT_TRUE(world.limit("bob", Side::kSell, 101, 1).accepted());
  ASSERT_TRUE(world.limit("carol", Side::kSell, 100, 1).accepted());
  ASSERT_TRUE(world.limit("bob", Side::kSell, 100, 1).accepted());
  TxResult result = world.limit("alice", Side::kBuy, 101, 3);
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 3u);
  EXPECT_EQ(fills[0].maker, world.id("carol"));  // best price, earliest
  EXPECT_EQ(fills[1].maker, world.id("bob"));
  EXPECT_EQ(fills[1].price, 100);
  EXPECT_EQ(fills[2].price, 101);
  expect_invariants();
}

TEST_F(MatchingTest, IocCancelsTheRest) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  TxResult result = world.limit("bob", Side::kBuy, 100, 5, kIoc);
  ASSERT_TRUE(result.accepted());
  EXPECT_EQ(events_of<OrderFilled>(result).size(), 1u);
  auto cancels = events_of<OrderCancelled>(result);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].remaining, 3);
  EXPECT_EQ(cancels[0].reason, CancelReason::kImmediateOrCancel);
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(world.balance("bob", kQuote).locked, 0);
  expect_invariants();
}

TEST_F(MatchingTest, FillOrKillThatCannotFillIsRejectedAndChangesNothingButNonceAndFee) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  Balance bob_quote = world.balance("bob", kQuote);
  TxResult result = world.limit("bob", Side::kBuy, 100, 3, kFok);
  EXPECT_EQ(result.reject, RejectCode::kFillOrKillNotFilled);
  EXPECT_TRUE(result.events.empty());
  EXPECT_EQ(asks().size(), 1u);
  EXPECT_EQ(asks()[0].remaining, 2);
  EXPECT_EQ(world.balance("bob", kQuote), bob_quote);
  EXPECT_EQ(world.nonce("bob"), 1u);  // the nonce is used: documented rule
}

TEST_F(MatchingTest, FillOrKillThatCanFillTradesCompletely) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  ASSERT_TRUE(world.limit("carol", Side::kSell, 101, 2).accepted());
  TxResult result = world.limit("bob", Side::kBuy, 101, 3, kFok);
  ASSERT_TRUE(result.accepted());
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 2u);
  EXPECT_EQ(fills[0].quantity + fills[1].quantity, 3);
  EXPECT_TRUE(events_of<OrderCancelled>(result).empty());
  expect_invariants();
}

TEST_F(MatchingTest, FillOrKillDoesNotCountOwnOrdersItWouldStopAt) {
  ASSERT_TRUE(world.limit("bob", Side::kSell, 100, 5).accepted());
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 5).accepted());
  TxResult result = world.limit("bob", Side::kBuy, 100, 5, kFok);
  EXPECT_EQ(result.reject, RejectCode::kFillOrKillNotFilled);
}

TEST_F(MatchingTest, PostOnlyThatWouldCrossIsRejected) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  TxResult result =
      world.limit("bob", Side::kBuy, 100, 1, kGtc, 0, SelfTradePrevention::kCancelNewest, true);
  EXPECT_EQ(result.reject, RejectCode::kWouldCross);
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(world.balance("bob", kQuote).locked, 0);
}

TEST_F(MatchingTest, PostOnlyThatDoesNotCrossRests) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  TxResult result =
      world.limit("bob", Side::kBuy, 99, 1, kGtc, 0, SelfTradePrevention::kCancelNewest, true);
  ASSERT_TRUE(result.accepted());
  EXPECT_EQ(bids().size(), 1u);
}

TEST_F(MatchingTest, MarketOrderStopsAtProtectionPriceAndCancelsRest) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  ASSERT_TRUE(world.limit("alice", Side::kSell, 110, 2).accepted());
  PlaceOrder market{.market = kMarket,
                    .side = Side::kBuy,
                    .type = OrderType::kMarket,
                    .time_in_force = kIoc,
                    .price = 105,
                    .quantity = 4};
  TxResult result = world.run("bob", market);
  ASSERT_TRUE(result.accepted()) << result.message;
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].price, 100);
  auto cancels = events_of<OrderCancelled>(result);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].remaining, 2);
  EXPECT_EQ(asks().size(), 1u);
  EXPECT_EQ(world.balance("bob", kQuote).locked, 0);
  expect_invariants();
}

TEST_F(MatchingTest, MarketOrderMustNotRest) {
  PlaceOrder market{.market = kMarket,
                    .side = Side::kBuy,
                    .type = OrderType::kMarket,
                    .time_in_force = kGtc,
                    .price = 105,
                    .quantity = 1};
  EXPECT_EQ(world.run("bob", market).reject, RejectCode::kInvalidOrder);
}

TEST_F(MatchingTest, SelfTradeCancelNewestCancelsIncoming) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  TxResult result =
      world.limit("alice", Side::kBuy, 100, 3, kGtc, 0, SelfTradePrevention::kCancelNewest);
  ASSERT_TRUE(result.accepted());
  EXPECT_TRUE(events_of<OrderFilled>(result).empty());
  auto cancels = events_of<OrderCancelled>(result);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].reason, CancelReason::kSelfTradePrevention);
  EXPECT_EQ(asks().size(), 1u);  // the resting order stays
  EXPECT_TRUE(bids().empty());
  expect_invariants();
}

TEST_F(MatchingTest, SelfTradeCancelOldestCancelsRestingAndKeepsMatching) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  ASSERT_TRUE(world.limit("bob", Side::kSell, 100, 2).accepted());
  TxResult result =
      world.limit("alice", Side::kBuy, 100, 3, kGtc, 0, SelfTradePrevention::kCancelOldest);
  auto cancels = events_of<OrderCancelled>(result);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].owner, world.id("alice"));
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].maker, world.id("bob"));
  ASSERT_EQ(bids().size(), 1u);
  EXPECT_EQ(bids()[0].remaining, 1);
  EXPECT_TRUE(asks().empty());
  expect_invariants();
}

TEST_F(MatchingTest, SelfTradeCancelBothCancelsBoth) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 2).accepted());
  TxResult result =
      world.limit("alice", Side::kBuy, 100, 3, kGtc, 0, SelfTradePrevention::kCancelBoth);
  EXPECT_EQ(events_of<OrderCancelled>(result).size(), 2u);
  EXPECT_TRUE(asks().empty());
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(world.balance("alice", kQuote).locked, 0);
  EXPECT_EQ(world.balance("alice", kBase).locked, 0);
  expect_invariants();
}

TEST_F(MatchingTest, InsufficientBalanceIsRejected) {
  TestWorld poor({"alice", "bob"}, 1'000);
  TxResult result = poor.limit("alice", Side::kBuy, 100, 11);  // needs 1100 QUOTE
  EXPECT_EQ(result.reject, RejectCode::kInsufficientBalance);
  EXPECT_EQ(poor.limit("alice", Side::kSell, 100, 1'001).reject, RejectCode::kInsufficientBalance);
  EXPECT_EQ(poor.balance("alice", kQuote).locked, 0);
}

TEST(MarketRulesTest, TickLotAndMinimumSizeViolationsAreRejected) {
  TestWorld world({"alice"}, 1'000'000'000,
                  MarketParams{.tick_size = 5, .lot_size = 10, .min_size = 30});
  EXPECT_EQ(world.limit("alice", Side::kBuy, 102, 30).reject, RejectCode::kInvalidPrice);
  EXPECT_EQ(world.limit("alice", Side::kBuy, 0, 30).reject, RejectCode::kInvalidPrice);
  EXPECT_EQ(world.limit("alice", Side::kBuy, 100, 35).reject, RejectCode::kInvalidQuantity);
  EXPECT_EQ(world.limit("alice", Side::kBuy, 100, 20).reject, RejectCode::kBelowMinimumSize);
  EXPECT_TRUE(world.limit("alice", Side::kBuy, 100, 30).accepted());
  // price is per lot: 3 lots x 100
  EXPECT_EQ(world.balance("alice", kQuote).locked, 300);
}

TEST(MarketRulesTest, FeesGoToTheFeeAccountInTheReceivedAsset) {
  TestWorld world({"alice", "bob"}, 1'000'000'000,
                  MarketParams{.maker_fee_bps = 10, .taker_fee_bps = 20});
  ASSERT_TRUE(world.limit("alice", Side::kSell, 1'000, 1'000).accepted());
  TxResult result = world.limit("bob", Side::kBuy, 1'000, 1'000);
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 1u);
  // taker bob receives 1000 BASE and pays 20 bps = 2; maker alice receives 1,000,000 QUOTE
  // and pays 10 bps = 1000.
  EXPECT_EQ(fills[0].taker_fee, 2);
  EXPECT_EQ(fills[0].maker_fee, 1'000);
  EXPECT_EQ(world.balance("bob", kBase).available, 1'000'000'000 + 1'000 - 2);
  EXPECT_EQ(world.balance("alice", kQuote).available, 1'000'000'000 + 1'000'000 - 1'000);
  auto fees = world.exchange().account(world.genesis().fee_account);
  ASSERT_TRUE(fees.has_value());
  EXPECT_EQ(fees->balances[kBase].available, 2);
  EXPECT_EQ(fees->balances[kQuote].available, 1'000);
}

TEST_F(MatchingTest, CancelByOrderIdAndByClientOrderId) {
  TxResult first = world.limit("alice", Side::kBuy, 100, 1, kGtc, 42);
  OrderId id = events_of<OrderAccepted>(first).at(0).order_id;
  ASSERT_TRUE(world.limit("alice", Side::kBuy, 99, 1, kGtc, 43).accepted());
  TxResult by_id = world.run("alice", CancelOrder{OrderRef{false, id}});
  ASSERT_TRUE(by_id.accepted());
  EXPECT_EQ(events_of<OrderCancelled>(by_id).at(0).order_id, id);
  TxResult by_client = world.run("alice", CancelOrder{OrderRef{true, 43}});
  ASSERT_TRUE(by_client.accepted());
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(world.balance("alice", kQuote).locked, 0);
  // The client order id is free again once its order is gone.
  EXPECT_TRUE(world.limit("alice", Side::kBuy, 99, 1, kGtc, 43).accepted());
}

TEST_F(MatchingTest, CancelOfSomeoneElsesOrderIsRefused) {
  TxResult placed = world.limit("alice", Side::kBuy, 100, 1, kGtc, 7);
  OrderId id = events_of<OrderAccepted>(placed).at(0).order_id;
  EXPECT_EQ(world.run("bob", CancelOrder{OrderRef{false, id}}).reject, RejectCode::kNotOrderOwner);
  // bob's client order id 7 names nothing of his.
  EXPECT_EQ(world.run("bob", CancelOrder{OrderRef{true, 7}}).reject, RejectCode::kOrderNotFound);
  EXPECT_EQ(bids().size(), 1u);
}

TEST_F(MatchingTest, DuplicateClientOrderIdIsRejected) {
  ASSERT_TRUE(world.limit("alice", Side::kBuy, 100, 1, kGtc, 5).accepted());
  EXPECT_EQ(world.limit("alice", Side::kBuy, 99, 1, kGtc, 5).reject,
            RejectCode::kDuplicateClientOrderId);
  EXPECT_TRUE(world.limit("bob", Side::kBuy, 99, 1, kGtc, 5).accepted());  // per account
}

TEST_F(MatchingTest, CancelAllPerMarketAndEverywhere) {
  ASSERT_TRUE(world.limit("alice", Side::kBuy, 100, 1).accepted());
  ASSERT_TRUE(world.limit("alice", Side::kSell, 200, 1).accepted());
  ASSERT_TRUE(world.limit("bob", Side::kBuy, 100, 1).accepted());
  TxResult result = world.run("alice", CancelAll{kMarket});
  ASSERT_TRUE(result.accepted());
  auto cancels = events_of<OrderCancelled>(result);
  ASSERT_EQ(cancels.size(), 2u);
  EXPECT_LT(cancels[0].order_id, cancels[1].order_id);
  EXPECT_EQ(bids().size(), 1u);  // bob's remains
  EXPECT_EQ(world.run("bob", CancelAll{}).events.size(), 1u);
  EXPECT_EQ(world.run("bob", CancelAll{MarketId{9}}).reject, RejectCode::kUnknownMarket);
  expect_invariants();
}

TEST_F(MatchingTest, ReplaceSizeReductionKeepsPriority) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 5, kGtc, 1).accepted());
  ASSERT_TRUE(world.limit("bob", Side::kSell, 100, 5).accepted());
  TxResult result = world.run("alice", ReplaceOrder{OrderRef{true, 1}, 0, 2});
  ASSERT_TRUE(result.accepted());
  EXPECT_TRUE(events_of<OrderReplaced>(result).at(0).kept_priority);
  EXPECT_EQ(world.balance("alice", kBase).locked, 2);
  auto fills = events_of<OrderFilled>(world.limit("carol", Side::kBuy, 100, 1));
  EXPECT_EQ(fills.at(0).maker, world.id("alice"));  // still first in line
}

TEST_F(MatchingTest, ReplaceSizeIncreaseLosesPriority) {
  ASSERT_TRUE(world.limit("alice", Side::kSell, 100, 5, kGtc, 1).accepted());
  ASSERT_TRUE(world.limit("bob", Side::kSell, 100, 5).accepted());
  TxResult result = world.run("alice", ReplaceOrder{OrderRef{true, 1}, 0, 6});
  ASSERT_TRUE(result.accepted());
  EXPECT_FALSE(events_of<OrderReplaced>(result).at(0).kept_priority);
  auto fills = events_of<OrderFilled>(world.limit("carol", Side::kBuy, 100, 1));
  EXPECT_EQ(fills.at(0).maker, world.id("bob"));
  EXPECT_EQ(world.balance("alice", kBase).locked, 6);
  expect_invariants();
}

TEST_F(MatchingTest, ReplacePriceChangeKeepsIdAndCanTrade) {
  TxResult placed = world.limit("alice", Side::kBuy, 90, 5, kGtc, 1);
  OrderId id = events_of<OrderAccepted>(placed).at(0).order_id;
  ASSERT_TRUE(world.limit("bob", Side::kSell, 100, 2).accepted());
  TxResult result = world.run("alice", ReplaceOrder{OrderRef{false, id}, 100, 0});
  ASSERT_TRUE(result.accepted());
  auto fills = events_of<OrderFilled>(result);
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].taker_order_id, id);
  ASSERT_EQ(bids().size(), 1u);
  EXPECT_EQ(bids()[0].id, id);
  EXPECT_EQ(bids()[0].remaining, 3);
  EXPECT_EQ(world.balance("alice", kQuote).locked, 300);
  expect_invariants();
}

TEST_F(MatchingTest, FailedReplaceLeavesTheOrderUntouched) {
  TestWorld poor({"alice", "bob"}, 1'000);
  ASSERT_TRUE(poor.limit("alice", Side::kBuy, 100, 5, kGtc, 1).accepted());
  EXPECT_EQ(poor.run("alice", ReplaceOrder{OrderRef{true, 1}, 300, 0}).reject,
            RejectCode::kInsufficientBalance);
  EXPECT_EQ(poor.run("alice", ReplaceOrder{OrderRef{true, 1}, 100, 5}).reject,
            RejectCode::kNoChange);
  EXPECT_EQ(poor.run("alice", ReplaceOrder{OrderRef{true, 9}, 100, 0}).reject,
            RejectCode::kOrderNotFound);
  auto orders = poor.exchange().resting_orders(kMarket, Side::kBuy);
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].price, 100);
  EXPECT_EQ(orders[0].remaining, 5);
  EXPECT_EQ(poor.balance("alice", kQuote).locked, 500);
}

TEST_F(MatchingTest, PostOnlyReplaceThatWouldCrossIsRejected) {
  ASSERT_TRUE(world.limit("bob", Side::kSell, 100, 1).accepted());
  ASSERT_TRUE(
      world.limit("alice", Side::kBuy, 90, 1, kGtc, 1, SelfTradePrevention::kCancelNewest, true)
          .accepted());
  EXPECT_EQ(world.run("alice", ReplaceOrder{OrderRef{true, 1}, 100, 0}).reject,
            RejectCode::kWouldCross);
  EXPECT_EQ(bids().at(0).price, 90);
}

TEST(OpenOrderLimitTest, TooManyOpenOrdersIsRejected) {
  Genesis genesis = make_genesis({"alice"}, 1'000'000);
  genesis.limits.max_open_orders_per_account = 2;
  Exchange exchange(genesis);
  SecretKey key = SecretKey::insecure_from_seed("alice");
  std::vector<RejectCode> codes;
  for (std::uint64_t nonce = 1; nonce <= 3; ++nonce) {
    Transaction tx;
    tx.sender = key.public_key();
    tx.nonce = nonce;
    tx.expiry_height = 100;
    tx.body = PlaceOrder{.market = kMarket, .side = Side::kBuy, .price = 10, .quantity = 1};
    tx.sign(key, genesis.chain_id);
    codes.push_back(exchange.execute_block({nonce, 0}, std::vector{tx}).results[0].reject);
  }
  EXPECT_EQ(codes,
            (std::vector{RejectCode::kNone, RejectCode::kNone, RejectCode::kTooManyOpenOrders}));
}

}  // namespace
}  // namespace ballast::exchange::testing
