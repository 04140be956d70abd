// Market data from executed blocks: trades with ids that are the same on every node, and book
// deltas that, applied to the snapshot a subscriber started from, reproduce the exchange's book
// after every block.
#include "node/market_feed.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "test_world.h"

namespace ballast::node {
namespace {

using exchange::BookLevel;
using exchange::Side;
using exchange::testing::kMarket;
using exchange::testing::TestWorld;

// A client's copy of one side of a book, kept by applying deltas.
using Mirror = std::map<exchange::Price, BookLevel>;

void apply(Mirror& mirror, const std::vector<BookLevel>& changes) {
  for (const BookLevel& level : changes) {
    if (level.quantity == 0) {
      mirror.erase(level.price);
    } else {
      mirror[level.price] = level;
    }
  }
}

Mirror mirror_of(const std::vector<BookLevel>& levels) {
  Mirror mirror;
  apply(mirror, levels);
  return mirror;
}

TEST(DiffSideTest, ReportsChangedNewAndVanishedLevelsInSideOrder) {
  std::vector<BookLevel> before = {{105, 10, 1}, {104, 5, 2}, {102, 7, 1}};
  std::vector<BookLevel> after = {{106, 1, 1}, {104, 6, 3}, {102, 7, 1}, {101, 2, 1}};
  std::vector<BookLevel> changed = diff_side(before, after, Side::kBuy);
  std::vector<BookLevel> expected = {{106, 1, 1}, {105, 0, 0}, {104, 6, 3}, {101, 2, 1}};
  EXPECT_EQ(changed, expected);
  EXPECT_TRUE(diff_side(after, after, Side::kBuy).empty());
  EXPECT_EQ(diff_side({{100, 1, 1}}, {}, Side::kSell), (std::vector<BookLevel>{{100, 0, 0}}));
}

TEST(MarketFeedTest, TradesCarryDeterministicIdsAndAreKeptBounded) {
  TestWorld world;
  MarketFeed feed(1, /*max_trades_per_market=*/3);
  for (int i = 0; i < 4; ++i) {
    (void)world.limit("alice", Side::kSell, 100 + i, 1);
    exchange::BlockResult result = world.run_block({world.make(
        "bob", exchange::PlaceOrder{.market = kMarket,
                                    .side = Side::kBuy,
                                    .type = exchange::OrderType::kLimit,
                                    .time_in_force = exchange::TimeInForce::kImmediateOrCancel,
                                    .price = 200,
                                    .quantity = 1})});
    std::vector<std::vector<Trade>> trades = feed.on_block(result, 1'000 + i);
    ASSERT_EQ(trades[kMarket].size(), 1u);
    EXPECT_EQ(trades[kMarket][0].trade_id, (result.height << 24) | 0);
    EXPECT_EQ(trades[kMarket][0].price, 100 + i);
    EXPECT_EQ(trades[kMarket][0].taker_side, Side::kBuy);
    EXPECT_EQ(trades[kMarket][0].time_ms, 1'000 + i);
  }
  std::vector<Trade> recent = feed.recent_trades(kMarket, 10);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0].price, 103) << "newest first";
  EXPECT_EQ(recent[2].price, 101);
  EXPECT_EQ(feed.trade_count(kMarket), 4u);
}

TEST(MarketFeedTest, AuctionFillsAtBlockStartAreTradesBeforeTheTransactions) {
  MarketFeed feed(1);
  exchange::BlockResult result;
  result.height = 7;
  exchange::OrderFilled auction_fill;
  auction_fill.market = kMarket;
  auction_fill.price = 150;
  auction_fill.quantity = 4;
  result.block_events.push_back(auction_fill);
  exchange::TxResult tx;
  exchange::OrderFilled continuous_fill = auction_fill;
  continuous_fill.price = 151;
  tx.events.push_back(continuous_fill);
  result.results.push_back(tx);
  std::vector<std::vector<Trade>> trades = feed.on_block(result, 5'000);
  ASSERT_EQ(trades[kMarket].size(), 2u);
  EXPECT_EQ(trades[kMarket][0].price, 150) << "the reopening auction comes first";
  EXPECT_EQ(trades[kMarket][0].trade_id, (7u << 24) | 0);
  EXPECT_EQ(trades[kMarket][1].trade_id, (7u << 24) | 1);
  EXPECT_EQ(feed.trade_count(kMarket), 2u);
}

// Random order flow: after every block, a subscriber that started from a snapshot and applied
// every delta holds exactly the exchange's book, and sequences advance by one per change.
TEST(MarketFeedTest, SnapshotPlusDeltasReproduceTheBookAfterEveryBlock) {
  TestWorld world({"alice", "bob", "carol", "dave"});
  MarketFeed feed(1);
  std::mt19937_64 random(42);
  const std::vector<std::string> traders = {"alice", "bob", "carol", "dave"};
  // Some resting orders before anyone subscribes.
  for (int i = 0; i < 20; ++i) {
    (void)world.limit(traders[i % 4], i % 2 ? Side::kSell : Side::kBuy, i % 2 ? 110 + i : 90 - i,
                      1 + i % 3);
  }
  feed.activate_books(world.exchange());
  BookSnapshot snapshot = feed.book_snapshot(kMarket);
  Mirror bids = mirror_of(snapshot.book.bids);
  Mirror asks = mirror_of(snapshot.book.asks);
  std::uint64_t sequence = snapshot.sequence;
  for (int block = 0; block < 300; ++block) {
    std::vector<exchange::Transaction> txs;
    for (int n = 0; n < 5; ++n) {
      const std::string& who = traders[random() % traders.size()];
      Side side = random() % 2 ? Side::kBuy : Side::kSell;
      exchange::Price price = 90 + static_cast<exchange::Price>(random() % 21);
      if (random() % 4 == 0) {
        txs.push_back(world.make(who, exchange::CancelAll{}));
      } else {
        txs.push_back(world.make(
            who,
            exchange::PlaceOrder{.market = kMarket,
                                 .side = side,
                                 .type = exchange::OrderType::kLimit,
                                 .time_in_force = exchange::TimeInForce::kGoodTillCancel,
                                 .price = price,
                                 .quantity = 1 + static_cast<exchange::Quantity>(random() % 4)}));
      }
    }
    exchange::BlockResult result = world.run_block(txs);
    (void)feed.on_block(result, block);
    for (const BookDelta& delta : feed.diff_books(world.exchange())) {
      ASSERT_EQ(delta.sequence, sequence + 1) << "no gaps";
      sequence = delta.sequence;
      EXPECT_EQ(delta.height, result.height);
      apply(bids, delta.changed.bids);
      apply(asks, delta.changed.asks);
    }
    ASSERT_EQ(bids, mirror_of(world.exchange().book(kMarket, Side::kBuy, 1'000'000)))
        << "block " << block;
    ASSERT_EQ(asks, mirror_of(world.exchange().book(kMarket, Side::kSell, 1'000'000)))
        << "block " << block;
  }
  EXPECT_GT(sequence, snapshot.sequence + 100) << "the flow should have changed the book often";
}

TEST(MarketFeedTest, InactiveBooksProduceNoDeltasAndResetAdvancesTheSequence) {
  TestWorld world;
  MarketFeed feed(1);
  (void)world.limit("alice", Side::kBuy, 100, 1);
  EXPECT_TRUE(feed.diff_books(world.exchange()).empty());
  feed.activate_books(world.exchange());
  std::uint64_t before = feed.book_snapshot(kMarket).sequence;
  feed.reset(world.exchange());
  BookSnapshot after = feed.book_snapshot(kMarket);
  EXPECT_GT(after.sequence, before) << "deltas from before a reset must never apply after it";
  EXPECT_EQ(after.book.bids, world.exchange().book(kMarket, Side::kBuy, 100));
}

}  // namespace
}  // namespace ballast::node
