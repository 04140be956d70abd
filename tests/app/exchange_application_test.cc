// The exchange application in front of its mempool: submissions refused with reasons (bad
// signature, low fee, stale nonce, full pool), payloads that its own verify_payload accepts
// (pending blocks, byte limit, nonce order), execution that empties the pool of what it
// included and of what it made stale, gossip of client transactions only, and holds behind a
// peer's transaction that found no place here.
#include <gtest/gtest.h>

#include "app/exchange_application.h"
#include "exchange/test_world.h"

namespace ballast::app {
namespace {

using exchange::CancelAll;
using exchange::CancelOrder;
using exchange::OrderRef;
using exchange::PlaceOrder;
using exchange::Transaction;
using exchange::TransactionBody;
using exchange::Transfer;
using exchange::testing::kMarket;
using exchange::testing::kQuote;
using exchange::testing::make_genesis;

constexpr exchange::Amount kMinFee = 2;

class ExchangeApplicationTest : public ::testing::Test {
 protected:
  exchange::Genesis genesis_ = make_genesis({"alice", "bob", "carol"}, 1'000'000, {}, kMinFee);

  Transaction make(const std::string& sender, std::uint64_t nonce,
                   exchange::Amount fee = kMinFee) const {
    Transaction tx;
    tx.sender = SecretKey::insecure_from_seed(sender).public_key();
    tx.nonce = nonce;
    tx.fee = fee;
    tx.expiry_height = 100;
    tx.body = Transfer{SecretKey::insecure_from_seed("carol").public_key(), kQuote, 1};
    tx.sign(SecretKey::insecure_from_seed(sender), genesis_.chain_id);
    return tx;
  }
  Bytes signed_bytes(const std::string& sender, std::uint64_t nonce,
                     exchange::Amount fee = kMinFee) const {
    return make(sender, nonce, fee).encode();
  }
  Bytes signed_body(const std::string& sender, std::uint64_t nonce, TransactionBody body) const {
    Transaction tx = make(sender, nonce);
    tx.body = std::move(body);
    tx.sign(SecretKey::insecure_from_seed(sender), genesis_.chain_id);
    return tx.encode();
  }
  static PlaceOrder resting_sell(exchange::ClientOrderId client_order_id) {
    return PlaceOrder{.market = kMarket,
                      .side = exchange::Side::kSell,
                      .price = 9'000,
                      .quantity = 10,
                      .client_order_id = client_order_id};
  }
  static CancelOrder cancel_by_client_id(std::uint64_t id) {
    return CancelOrder{OrderRef{true, id}};
  }
  static CancelOrder cancel_by_order_id(std::uint64_t id) {
    return CancelOrder{OrderRef{false, id}};
  }

  static consensus::Block block_of(const ExchangeApplication& app, std::vector<Bytes> txs) {
    consensus::Block block;
    block.view = app.executed_height() + 1;
    block.height = app.executed_height() + 1;
    block.timestamp_ms = 1'000 * static_cast<std::int64_t>(block.height);
    block.transactions = std::move(txs);
    return block;
  }
};

TEST_F(ExchangeApplicationTest, RefusesABadSignature) {
  ExchangeApplication app(genesis_);
  Transaction tx = make("alice", 1);
  tx.fee += 1;  // changes what was signed
  Status status = app.submit(tx.encode());
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(), "signature does not verify");
  EXPECT_EQ(app.mempool_size(), 0u);
}

TEST_F(ExchangeApplicationTest, TrustsASignatureTheNodeAlreadyVerified) {
  ExchangeApplication app(genesis_);
  Transaction tx = make("alice", 1);
  tx.signature = make("bob", 1).signature;
  Bytes bytes = tx.encode();
  EXPECT_FALSE(app.submit(bytes).is_ok());
  app.note_signature_verified(sha256(bytes));  // the node's verifier vouches for it
  EXPECT_TRUE(app.submit(bytes).is_ok());
}

// A proposal can outrun the gossip of its transactions: the application checks those
// signatures itself, once each, and counts them (the node's block_transaction metric).
TEST_F(ExchangeApplicationTest, ChecksAndCountsOnlySignaturesNobodyVerifiedBefore) {
  ExchangeApplication app(genesis_);
  std::vector<Hash256> reported;  // what the node's verification workers would learn
  app.share_signatures({.checked_here = [&](const Hash256& id) { reported.push_back(id); }});
  Bytes vouched = signed_bytes("alice", 1);
  Bytes unseen = signed_bytes("bob", 1);
  app.note_signature_verified(sha256(vouched));
  std::vector<Bytes> payload{vouched, unseen};
  ASSERT_TRUE(app.verify_payload(1, payload, {}).is_ok());
  EXPECT_EQ(app.signatures_checked(), 1u);
  EXPECT_EQ(reported, std::vector<Hash256>{sha256(unseen)});
  app.execute(block_of(app, payload));  // both already checked: no second verification
  EXPECT_EQ(app.signatures_checked(), 1u);
  EXPECT_EQ(reported.size(), 1u);
  for (const auto& result : app.last_block_result().results) EXPECT_TRUE(result.accepted());
}

// The node's workers may have checked a transaction whose verdict has not reached the core
// thread yet, when a proposal carrying it arrives.
TEST_F(ExchangeApplicationTest, AsksTheNodesWorkersBeforeCheckingASignature) {
  ExchangeApplication app(genesis_);
  Bytes checked_by_workers = signed_bytes("alice", 1);
  Bytes unseen = signed_bytes("bob", 1);
  std::vector<Hash256> asked;
  app.share_signatures({.checked_elsewhere = [&](const Hash256& id) {
    asked.push_back(id);
    return id == sha256(checked_by_workers);
  }});
  std::vector<Bytes> payload{checked_by_workers, unseen};
  ASSERT_TRUE(app.verify_payload(1, payload, {}).is_ok());
  EXPECT_EQ(app.signatures_checked(), 1u);  // `unseen` only
  EXPECT_EQ(asked, (std::vector<Hash256>{sha256(checked_by_workers), sha256(unseen)}));
  app.execute(block_of(app, payload));  // both remembered: nobody asked again
  EXPECT_EQ(asked.size(), 2u);
  EXPECT_EQ(app.signatures_checked(), 1u);
}

TEST_F(ExchangeApplicationTest, ReportsNoSignatureThatFailedItsCheck) {
  ExchangeApplication app(genesis_);
  std::vector<Hash256> reported;
  app.share_signatures({.checked_here = [&](const Hash256& id) { reported.push_back(id); }});
  Transaction forged = make("alice", 1);
  forged.signature = make("bob", 1).signature;
  std::vector<Bytes> payload{forged.encode()};
  EXPECT_FALSE(app.verify_payload(1, payload, {}).is_ok());
  EXPECT_TRUE(reported.empty());
}

TEST_F(ExchangeApplicationTest, RefusesAFeeBelowTheGenesisMinimum) {
  ExchangeApplication app(genesis_);
  Status status = app.submit(signed_bytes("alice", 1, kMinFee - 1));
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "fee 1 is below the minimum transaction fee 2");
  EXPECT_TRUE(app.submit(signed_bytes("alice", 1, kMinFee)).is_ok());
}

TEST_F(ExchangeApplicationTest, RefusesAStaleNonceAndADuplicate) {
  ExchangeApplication app(genesis_);
  Bytes first = signed_bytes("alice", 1);
  ASSERT_TRUE(app.submit(first).is_ok());
  EXPECT_EQ(app.submit(first).code(), StatusCode::kAlreadyExists);
  app.execute(block_of(app, {first}));
  Status stale = app.submit(signed_bytes("alice", 1, kMinFee + 1));
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(stale.message(), "nonce 1 is already used (last 1)");
}

TEST_F(ExchangeApplicationTest, ASheddingNodeRefusesCancelsOfOrdersNeitherOpenNorPooledBefore) {
  ExchangeApplication app(genesis_);
  constexpr CancelCheck kShed = CancelCheck::kRefuseFutile;
  ASSERT_TRUE(app.submit(signed_body("alice", 1, resting_sell(7))).is_ok());
  EXPECT_TRUE(
      app.submit(signed_body("alice", 2, cancel_by_client_id(7)), Origin::client(), kShed).is_ok())
      << "the order it names is pooled before it";
  Status futile =
      app.submit(signed_body("alice", 3, cancel_by_client_id(8)), Origin::client(), kShed);
  EXPECT_EQ(futile.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(futile.reason(), "order_not_found");
  EXPECT_EQ(app.mempool_size(), 2u) << "a refusal changes nothing";
  // The order placed only after the cancel cannot help it either.
  ASSERT_TRUE(app.submit(signed_body("bob", 2, resting_sell(9))).is_ok());
  EXPECT_EQ(
      app.submit(signed_body("bob", 1, cancel_by_client_id(9)), Origin::client(), kShed).reason(),
      "order_not_found");
  EXPECT_TRUE(app.submit(signed_body("alice", 3, cancel_by_client_id(8))).is_ok())
      << "a node that is not shedding admits it, and execution refuses it";
}

TEST_F(ExchangeApplicationTest, ASheddingNodeJudgesCancelsByOrderIdAndCancelAllsByOpenOrders) {
  ExchangeApplication app(genesis_);
  constexpr CancelCheck kShed = CancelCheck::kRefuseFutile;
  auto shed = [&](const Bytes& tx) { return app.submit(tx, Origin::client(), kShed); };
  EXPECT_EQ(shed(signed_body("alice", 1, CancelAll{})).reason(), "order_not_found")
      << "nothing open, nothing pooled";
  Bytes place = signed_body("alice", 1, resting_sell(7));
  ASSERT_TRUE(app.submit(place).is_ok());
  EXPECT_TRUE(shed(signed_body("alice", 2, CancelAll{kMarket})).is_ok()) << "an order is pooled";
  app.execute(block_of(app, {place}));  // order 1 rests; the pooled cancel-all is still pending
  ASSERT_EQ(app.exchange().open_orders(SecretKey::insecure_from_seed("alice").public_key()).size(),
            1u);
  EXPECT_TRUE(shed(signed_body("alice", 3, cancel_by_order_id(1))).is_ok()) << "open";
  EXPECT_TRUE(shed(signed_body("alice", 4, cancel_by_order_id(2))).is_ok())
      << "an id not assigned yet may name an order still to come";
  EXPECT_EQ(shed(signed_body("bob", 1, cancel_by_order_id(1))).reason(), "order_not_found")
      << "another account's order";
  EXPECT_TRUE(shed(signed_body("bob", 1, CancelAll{})).reason() == "order_not_found");
  app.execute(block_of(app, {signed_body("alice", 2, CancelAll{kMarket})}));
  EXPECT_EQ(shed(signed_body("alice", 5, cancel_by_order_id(1))).reason(), "order_not_found")
      << "an assigned id that is no longer open never will be again";
}

TEST_F(ExchangeApplicationTest, FullPoolAdmitsOnlyANewcomerThatOutbidsTheCheapest) {
  ApplicationLimits limits;
  limits.mempool.max_transactions = 2;
  ExchangeApplication app(genesis_, limits);
  ASSERT_TRUE(app.submit(signed_bytes("alice", 1)).is_ok());
  ASSERT_TRUE(app.submit(signed_bytes("alice", 2)).is_ok());
  Status full = app.submit(signed_bytes("bob", 1));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(), "mempool full: fee 2 does not outbid the cheapest (fee 2)");

  Transaction cancel = make("bob", 1);
  cancel.body = CancelAll{};
  cancel.sign(SecretKey::insecure_from_seed("bob"), genesis_.chain_id);
  EXPECT_TRUE(app.submit(cancel.encode()).is_ok());
  EXPECT_EQ(app.mempool_size(), 2u);
  EXPECT_EQ(app.take_evicted().size(), 1u);
}

TEST_F(ExchangeApplicationTest, BuiltPayloadsPassVerificationInNonceAndPriorityOrder) {
  ExchangeApplication app(genesis_);
  Bytes alice2 = signed_bytes("alice", 2, 50);
  Bytes alice1 = signed_bytes("alice", 1, kMinFee);
  Bytes bob1 = signed_bytes("bob", 1, 10);
  for (const Bytes& tx : {alice2, alice1, bob1}) ASSERT_TRUE(app.submit(tx).is_ok());

  std::vector<Bytes> payload = app.build_payload(1, {}, 100);
  // Alice's fee-50 transaction waits for her nonce 1, which ranks below bob's fee 10.
  EXPECT_EQ(payload, (std::vector<Bytes>{bob1, alice1, alice2}));
  EXPECT_TRUE(app.verify_payload(1, payload, {}).is_ok());
  app.execute(block_of(app, payload));
  ASSERT_EQ(app.last_block_result().results.size(), 3u);
  for (const auto& result : app.last_block_result().results) {
    EXPECT_TRUE(result.accepted()) << result.message;
  }
  EXPECT_EQ(app.mempool_size(), 0u);
}

TEST_F(ExchangeApplicationTest, PayloadLeavesOutWhatPendingBlocksHoldAndKeepsToTheByteLimit) {
  ApplicationLimits limits;
  Bytes alice1 = signed_bytes("alice", 1);
  limits.max_block_bytes = 2 * alice1.size();
  ExchangeApplication app(genesis_, limits);
  Bytes bob1 = signed_bytes("bob", 1);
  Bytes carol1 = signed_bytes("carol", 1);
  for (const Bytes& tx : {alice1, bob1, carol1}) ASSERT_TRUE(app.submit(tx).is_ok());

  consensus::Block pending = block_of(app, {bob1});
  const consensus::Block* chain[] = {&pending};
  std::vector<Bytes> payload = app.build_payload(2, chain, 100);
  EXPECT_EQ(payload, (std::vector<Bytes>{alice1, carol1}));
  EXPECT_TRUE(app.verify_payload(2, payload, chain).is_ok());
  EXPECT_EQ(app.build_payload(1, {}, 100).size(), 2u);  // the byte limit, not the count
}

TEST_F(ExchangeApplicationTest, ExecutedBlockRemovesItsTransactionsAndWhatItMadeStale) {
  ExchangeApplication app(genesis_);
  Bytes alice1 = signed_bytes("alice", 1);
  Bytes bob1 = signed_bytes("bob", 1);
  Bytes bob3 = signed_bytes("bob", 3);
  for (const Bytes& tx : {alice1, bob1, bob3}) ASSERT_TRUE(app.submit(tx).is_ok());
  ASSERT_EQ(app.mempool_size(), 3u);
  (void)app.take_evicted();

  // Another proposer included alice's and a different nonce-2 transaction of bob's: bob's
  // nonce 1 can never execute now.
  app.execute(block_of(app, {alice1, signed_bytes("bob", 2)}));
  EXPECT_EQ(app.mempool_size(), 1u);
  EXPECT_TRUE(app.mempool().contains(sha256(bob3)));
  auto evicted = app.take_evicted();
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].first, sha256(bob1));
  EXPECT_EQ(app.mempool_bytes(), bob3.size());
}

TEST_F(ExchangeApplicationTest, GossipsClientTransactionsButNotPeerOnes) {
  ExchangeApplication app(genesis_);
  Bytes from_client = signed_bytes("alice", 1);
  Bytes from_peer = signed_bytes("bob", 1);
  ASSERT_TRUE(app.submit(from_client, Origin::client()).is_ok());
  ASSERT_TRUE(app.submit(from_peer, Origin::peer(1)).is_ok());
  EXPECT_EQ(app.take_gossip(1 << 20), std::vector<Bytes>{from_client});
  EXPECT_TRUE(app.take_gossip(1 << 20).empty());
  EXPECT_EQ(app.mempool_size(), 2u);
}

// Another validator admitted alice's nonce 2, but it found no room here: if this node included
// her nonce 3 first, nonce 2 would be stale everywhere and an acknowledged order lost.
TEST_F(ExchangeApplicationTest, APeersTransactionRefusedForRoomHoldsItsSendersLaterOnesBack) {
  ApplicationLimits limits;
  limits.mempool.max_per_sender = 1;
  ExchangeApplication app(genesis_, limits);
  Bytes alice1 = signed_bytes("alice", 1);
  Bytes alice2 = signed_bytes("alice", 2);
  Bytes alice3 = signed_bytes("alice", 3);
  ASSERT_TRUE(app.submit(alice1, Origin::peer(1)).is_ok());
  EXPECT_EQ(app.submit(alice2, Origin::peer(1)).reason(), "sender_limit");
  EXPECT_EQ(app.mempool().holds().size(), 1u);
  app.execute(block_of(app, {alice1}));
  ASSERT_TRUE(app.submit(alice3, Origin::peer(2)).is_ok());
  EXPECT_TRUE(app.build_payload(2, {}, 100).empty())
      << "nonce 3 waits for nonce 2, whichever peer it came through";

  app.execute(block_of(app, {alice2}));  // another validator's block carried it
  EXPECT_EQ(app.mempool().holds().size(), 0u);
  EXPECT_EQ(app.build_payload(3, {}, 100), std::vector<Bytes>{alice3});
}

TEST_F(ExchangeApplicationTest, AClientsRefusedTransactionHoldsNothing) {
  ApplicationLimits limits;
  limits.mempool.max_per_sender = 1;
  ExchangeApplication app(genesis_, limits);
  ASSERT_TRUE(app.submit(signed_bytes("alice", 1)).is_ok());
  // The client hears the refusal: nobody else holds this transaction.
  EXPECT_EQ(app.submit(signed_bytes("alice", 2)).reason(), "sender_limit");
  EXPECT_EQ(app.mempool().holds().size(), 0u);
}

// A peer's transaction from an account created by a block this node has not executed yet.
TEST_F(ExchangeApplicationTest, APeersTransactionFromAnAccountNotYetHereHoldsItsLaterOnes) {
  ExchangeApplication app(genesis_);
  const PublicKey dave = SecretKey::insecure_from_seed("dave").public_key();
  Bytes dave1 = signed_bytes("dave", 1);
  EXPECT_EQ(app.submit(dave1, Origin::peer(1)).reason(), "unknown_sender");
  EXPECT_EQ(app.mempool().holds().size(), 1u);

  app.execute(block_of(app, {signed_body("alice", 1, Transfer{dave, kQuote, 1'000})}));
  Bytes dave2 = signed_bytes("dave", 2);
  ASSERT_TRUE(app.submit(dave2, Origin::peer(1)).is_ok());
  EXPECT_TRUE(app.build_payload(2, {}, 100).empty());
  app.execute(block_of(app, {dave1}));
  EXPECT_EQ(app.build_payload(3, {}, 100), std::vector<Bytes>{dave2});
}

TEST_F(ExchangeApplicationTest, NoHoldForAMissingTransactionWhoseNonceIsUsed) {
  ExchangeApplication app(genesis_);
  app.execute(block_of(app, {signed_bytes("alice", 1), signed_bytes("alice", 2)}));
  app.note_missing({SecretKey::insecure_from_seed("alice").public_key(), 2, 100});
  EXPECT_EQ(app.mempool().holds().size(), 0u);
  app.note_missing({SecretKey::insecure_from_seed("alice").public_key(), 3, 100});
  EXPECT_EQ(app.mempool().holds().size(), 1u);
}

// A snapshot install replaces the application; peers will not send their pools again, so what
// the old pool held must survive, checked against the snapshot's state.
TEST_F(ExchangeApplicationTest, AnApplicationAfterASnapshotAdoptsWhatTheOldPoolStillNeeds) {
  Bytes alice1 = signed_bytes("alice", 1);
  Bytes alice2 = signed_bytes("alice", 2);
  Bytes bob1 = signed_bytes("bob", 1);
  ExchangeApplication ahead(genesis_);
  ahead.execute(block_of(ahead, {alice1}));

  ExchangeApplication behind(genesis_);
  for (const Bytes& tx : {alice1, alice2, bob1}) {
    ASSERT_TRUE(behind.submit(tx, Origin::peer(1)).is_ok());
  }
  ExchangeApplication installed(genesis_);
  ASSERT_TRUE(installed.restore(ahead.snapshot()).is_ok());
  EXPECT_EQ(installed.adopt_pool(behind), 2u) << "alice's nonce 1 is used in the snapshot";
  EXPECT_EQ(installed.build_payload(2, {}, 100), (std::vector<Bytes>{alice2, bob1}));
  EXPECT_TRUE(installed.take_gossip(1 << 20).empty()) << "a peer's are not gossiped again";
  EXPECT_EQ(
      installed.mempool().entries_of(SecretKey::insecure_from_seed("bob").public_key())[0]->source,
      mempool::from_peer(1))
      << "they still count as that peer's";
}

TEST_F(ExchangeApplicationTest, AnApplicationAfterASnapshotHoldsEverythingIfTheOldOneHeldAnyone) {
  ExchangeApplication behind(genesis_);
  ASSERT_TRUE(behind.submit(signed_bytes("bob", 3), Origin::peer(1)).is_ok());
  behind.note_missing({SecretKey::insecure_from_seed("alice").public_key(), 2, 100});
  ExchangeApplication installed(genesis_);
  EXPECT_EQ(installed.adopt_pool(behind), 1u);
  EXPECT_TRUE(installed.mempool().holds().holds_everything()) << "which holds is not carried";
  EXPECT_TRUE(installed.build_payload(1, {}, 100).empty());
}

}  // namespace
}  // namespace ballast::app
