// Admission rules, block phases, transfers, determinism, state root and snapshots.
#include <gtest/gtest.h>

#include "test_world.h"

namespace ballast::exchange::testing {
namespace {

TEST(AdmissionTest, BadSignatureChangesNothing) {
  TestWorld world;
  Transaction tx = world.make("alice", Transfer{world.id("bob"), kQuote, 10});
  tx.signature.bytes[0] ^= 1;
  Hash256 root = world.exchange().state_root();
  TxResult result = world.run_block({tx}).results[0];
  EXPECT_EQ(result.reject, RejectCode::kBadSignature);
  EXPECT_EQ(world.nonce("alice"), 0u);
  EXPECT_EQ(world.balance("bob", kQuote).available, 1'000'000'000);
  // Only the height moved.
  EXPECT_NE(world.exchange().state_root(), root);
}

TEST(AdmissionTest, SignatureFromAnotherChainIsRejected) {
  TestWorld world;
  Transaction tx = world.make("alice", Transfer{world.id("bob"), kQuote, 10});
  tx.sign(world.key("alice"), "some-other-chain");
  EXPECT_EQ(world.run_block({tx}).results[0].reject, RejectCode::kBadSignature);
}

TEST(AdmissionTest, ReplayedAndStaleNoncesAreRejected) {
  TestWorld world;
  Transaction first = world.make("alice", Transfer{world.id("bob"), kQuote, 10});
  ASSERT_TRUE(world.run_block({first}).results[0].accepted());
  EXPECT_EQ(world.run_block({first}).results[0].reject, RejectCode::kStaleNonce);
  EXPECT_EQ(world.balance("bob", kQuote).available, 1'000'000'010);
  // A later nonce may skip numbers; anything not above the last used one is stale.
  Transaction skipping = world.make("alice", Transfer{world.id("bob"), kQuote, 1});
  skipping.nonce = 10;
  skipping.sign(world.key("alice"), world.genesis().chain_id);
  EXPECT_TRUE(world.run_block({skipping}).results[0].accepted());
  Transaction stale = world.make("alice", Transfer{world.id("bob"), kQuote, 1});
  stale.nonce = 9;
  stale.sign(world.key("alice"), world.genesis().chain_id);
  EXPECT_EQ(world.run_block({stale}).results[0].reject, RejectCode::kStaleNonce);
}

TEST(AdmissionTest, ExpiredTransactionIsRejected) {
  TestWorld world;
  Transaction tx = world.make("alice", Transfer{world.id("bob"), kQuote, 10});
  tx.expiry_height = world.exchange().height();  // the next block is past it
  tx.sign(world.key("alice"), world.genesis().chain_id);
  EXPECT_EQ(world.run_block({tx}).results[0].reject, RejectCode::kExpired);
  EXPECT_EQ(world.nonce("alice"), 0u);
}

TEST(AdmissionTest, UnknownSenderIsRejected) {
  TestWorld world;
  EXPECT_EQ(world.run("stranger", Transfer{world.id("bob"), kQuote, 1}).reject,
            RejectCode::kUnknownAccount);
}

TEST(AdmissionTest, FeeBelowMinimumOrUnaffordableIsRejectedWithoutEffect) {
  TestWorld world({"alice", "bob"}, 100, {}, /*min_tx_fee=*/5);
  EXPECT_EQ(world.run("alice", Transfer{world.id("bob"), kBase, 1}, 4).reject,
            RejectCode::kFeeTooLow);
  EXPECT_EQ(world.run("alice", Transfer{world.id("bob"), kBase, 1}, 101).reject,
            RejectCode::kInsufficientFeeBalance);
  EXPECT_EQ(world.balance("alice", kQuote).available, 100);
  EXPECT_EQ(world.nonce("alice"), 0u);
}

TEST(AdmissionTest, ExecutionRejectUsesNonceAndPaysFee) {
  TestWorld world({"alice", "bob"}, 100, {}, /*min_tx_fee=*/5);
  TxResult result = world.run("alice", Transfer{world.id("bob"), kBase, 1'000}, 5);
  EXPECT_EQ(result.reject, RejectCode::kInsufficientBalance);
  EXPECT_EQ(world.nonce("alice"), 1u);
  EXPECT_EQ(world.balance("alice", kQuote).available, 95);
  EXPECT_EQ(world.balance("alice", kBase).available, 100);
  auto fees = world.exchange().account(world.genesis().fee_account);
  EXPECT_EQ(fees->balances[kQuote].available, 5);
}

TEST(TransferTest, MovesFundsAndCreatesTheRecipient) {
  TestWorld world;
  AccountId newcomer = SecretKey::insecure_from_seed("newcomer").public_key();
  TxResult result = world.run("alice", Transfer{newcomer, kBase, 250});
  ASSERT_TRUE(result.accepted()) << result.message;
  EXPECT_EQ(world.exchange().account(newcomer)->balances[kBase].available, 250);
  EXPECT_EQ(world.balance("alice", kBase).available, 1'000'000'000 - 250);
  // The new account can now trade.
  EXPECT_TRUE(world.limit("newcomer", Side::kSell, 10, 250).accepted());
}

TEST(TransferTest, InvalidTransfersAreRejected) {
  TestWorld world;
  EXPECT_EQ(world.run("alice", Transfer{world.id("bob"), kBase, 0}).reject,
            RejectCode::kInvalidTransfer);
  EXPECT_EQ(world.run("alice", Transfer{world.id("alice"), kBase, 1}).reject,
            RejectCode::kInvalidTransfer);
  EXPECT_EQ(world.run("alice", Transfer{world.id("bob"), AssetId{7}, 1}).reject,
            RejectCode::kUnknownAsset);
  AccountId off_curve;
  off_curve.bytes.fill(0xff);
  EXPECT_EQ(world.run("alice", Transfer{off_curve, kBase, 1}).reject, RejectCode::kInvalidTransfer);
}

TEST(BlockTest, CancelsRunFirstThenPostOnlyThenTheRest) {
  TestWorld world;
  TxResult placed = world.limit("alice", Side::kSell, 100, 1, TimeInForce::kGoodTillCancel, 9);
  ASSERT_TRUE(placed.accepted());
  // In proposer order a taker comes first, but alice's cancel executes before it, and bob's
  // post-only bid (which would cross alice's ask) executes after the cancel, so it rests.
  Transaction taker = world.make(
      "carol", PlaceOrder{.market = kMarket, .side = Side::kBuy, .price = 100, .quantity = 1});
  Transaction post_only = world.make(
      "bob",
      PlaceOrder{
          .market = kMarket, .side = Side::kBuy, .post_only = true, .price = 100, .quantity = 1});
  Transaction cancel = world.make("alice", CancelOrder{OrderRef{true, 9}});
  BlockResult block = world.run_block({taker, post_only, cancel});
  ASSERT_TRUE(block.results[2].accepted());
  ASSERT_TRUE(block.results[1].accepted()) << block.results[1].message;
  EXPECT_EQ(events_of<OrderRested>(block.results[1]).size(), 1u);
  EXPECT_TRUE(events_of<OrderFilled>(block.results[0]).empty());
  // The taker rested behind the post-only bid, as the later-executed order.
  auto bids = world.exchange().resting_orders(kMarket, Side::kBuy);
  ASSERT_EQ(bids.size(), 2u);
  EXPECT_EQ(bids[0].id + 1, bids[1].id);
  EXPECT_EQ(events_of<OrderAccepted>(block.results[1]).at(0).order_id, bids[0].id);
}

TEST(BlockTest, ResultsComeBackInGivenOrderWithTransactionIds) {
  TestWorld world;
  Transaction a = world.make("alice", Transfer{world.id("bob"), kBase, 1});
  Transaction b = world.make("bob", CancelAll{});
  BlockResult block = world.run_block({a, b});
  ASSERT_EQ(block.results.size(), 2u);
  EXPECT_EQ(block.results[0].tx_id, a.id());
  EXPECT_EQ(block.results[1].tx_id, b.id());
  EXPECT_EQ(block.height, 1u);
  EXPECT_EQ(block.state_root, world.exchange().state_root());
}

std::vector<std::vector<Transaction>> scripted_blocks(TestWorld& world) {
  std::vector<std::vector<Transaction>> blocks;
  for (int round = 0; round < 20; ++round) {
    Price price = 100 + (round % 7);
    blocks.push_back(
        {world.make("alice", PlaceOrder{.market = kMarket,
                                        .side = Side::kSell,
                                        .price = price,
                                        .quantity = 3,
                                        .client_order_id = 0}),
         world.make("bob",
                    PlaceOrder{.market = kMarket, .side = Side::kBuy, .price = 103, .quantity = 2}),
         world.make("carol", Transfer{world.id("alice"), kQuote, 5})});
  }
  return blocks;
}

TEST(DeterminismTest, TwoInstancesAgreeOnEveryRoot) {
  TestWorld world;
  auto blocks = scripted_blocks(world);
  Exchange first(world.genesis());
  Exchange second(world.genesis());
  EXPECT_EQ(first.state_root(), second.state_root());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    BlockResult a = first.execute_block({i + 1, 0}, blocks[i]);
    BlockResult b = second.execute_block({i + 1, 0}, blocks[i]);
    ASSERT_EQ(a.state_root, b.state_root) << "height " << i + 1;
  }
}

TEST(DeterminismTest, RootDependsOnState) {
  TestWorld world;
  Exchange first(world.genesis());
  Exchange second(world.genesis());
  Transaction tx = world.make("alice", Transfer{world.id("bob"), kQuote, 1});
  BlockResult with_tx = first.execute_block({1, 0}, std::vector{tx});
  BlockResult empty = second.execute_block({1, 0}, {});
  EXPECT_NE(with_tx.state_root, empty.state_root);
}

TEST(SnapshotTest, RestoreYieldsSameRootAndContinuesIdentically) {
  TestWorld world;
  auto blocks = scripted_blocks(world);
  Exchange original(world.genesis());
  std::unique_ptr<Exchange> restored;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    BlockResult a = original.execute_block({i + 1, 0}, blocks[i]);
    if (restored) {
      BlockResult b = restored->execute_block({i + 1, 0}, blocks[i]);
      ASSERT_EQ(a.state_root, b.state_root) << "height " << i + 1;
    }
    if (i == 9) {
      auto copy = Exchange::restore(original.snapshot());
      ASSERT_TRUE(copy.is_ok()) << copy.status().to_string();
      restored = std::move(copy).value();
      EXPECT_EQ(restored->state_root(), original.state_root());
      EXPECT_EQ(restored->height(), original.height());
      EXPECT_EQ(restored->snapshot(), original.snapshot());
    }
  }
  EXPECT_GT(original.resting_order_count(), 0u);
  EXPECT_TRUE(restored->check_invariants().is_ok());
}

TEST(SnapshotTest, CorruptSnapshotsAreRejected) {
  TestWorld world;
  auto blocks = scripted_blocks(world);
  Exchange original(world.genesis());
  for (std::size_t i = 0; i < 5; ++i) original.execute_block({i + 1, 0}, blocks[i]);
  Bytes snapshot = original.snapshot();
  for (std::size_t cut :
       {std::size_t{0}, std::size_t{1}, snapshot.size() / 2, snapshot.size() - 1}) {
    Bytes truncated(snapshot.begin(), snapshot.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(Exchange::restore(truncated).is_ok()) << "cut at " << cut;
  }
  Bytes trailing = snapshot;
  trailing.push_back(0);
  EXPECT_FALSE(Exchange::restore(trailing).is_ok());
}

TEST(InvariantTest, TotalsAreConservedAcrossTrading) {
  TestWorld world({"alice", "bob", "carol"}, 1'000'000'000,
                  MarketParams{.maker_fee_bps = 7, .taker_fee_bps = 13});
  std::vector<Amount> genesis_totals = world.exchange().asset_totals();
  auto blocks = scripted_blocks(world);
  for (const auto& block : blocks) {
    world.run_block(block);
    ASSERT_EQ(world.exchange().asset_totals(), genesis_totals);
    ASSERT_TRUE(world.exchange().check_invariants().is_ok());
  }
}

}  // namespace
}  // namespace ballast::exchange::testing
