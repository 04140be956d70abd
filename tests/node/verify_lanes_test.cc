// Cancels, from clients and from peers, go to the urgent verification lane only where that keeps
// each sender's order: never ahead of a transaction of the same sender still waiting in the
// ordinary lane.
#include "node/verify_lanes.h"

#include <gtest/gtest.h>

#include "exchange/transaction.h"

namespace ballast::node {
namespace {

const std::string kChain = "ballast-gossip-lanes-test";

Bytes signed_by(const std::string& trader, std::uint64_t nonce, exchange::TransactionBody body) {
  SecretKey key = SecretKey::insecure_from_seed(trader);
  exchange::Transaction tx;
  tx.sender = key.public_key();
  tx.nonce = nonce;
  tx.fee = 10;
  tx.expiry_height = 1'000;
  tx.body = std::move(body);
  tx.sign(key, kChain);
  return tx.encode();
}

Bytes order(const std::string& trader, std::uint64_t nonce) {
  exchange::PlaceOrder place;
  place.price = 5'000;
  place.quantity = 10;
  return signed_by(trader, nonce, place);
}

Bytes cancel(const std::string& trader, std::uint64_t nonce) {
  return signed_by(trader, nonce, exchange::CancelOrder{exchange::OrderRef{true, 1}});
}

PublicKey key_of(const std::string& trader) {
  return SecretKey::insecure_from_seed(trader).public_key();
}

TEST(VerifyLanesTest, CancelsGoUrgentUnlessTheirSenderHasSomethingEarlierInTheOrdinaryLane) {
  VerifyLanes lanes;
  Bytes alice_order = order("alice", 1);
  Bytes alice_cancel = cancel("alice", 2);
  Bytes bob_cancel = cancel("bob", 1);
  Bytes carol_cancel = cancel("carol", 1);
  Bytes carol_order = order("carol", 2);
  VerifyLanes::Split split =
      lanes.split({alice_order, alice_cancel, bob_cancel, carol_cancel, carol_order});
  EXPECT_EQ(split.urgent, (std::vector<Bytes>{bob_cancel, carol_cancel}));
  EXPECT_EQ(split.ordinary, (std::vector<Bytes>{alice_order, alice_cancel, carol_order}))
      << "alice's cancel stays behind her order, in arrival order";
  EXPECT_EQ(split.waiting,
            (std::vector<PublicKey>{key_of("alice"), key_of("alice"), key_of("carol")}));
  EXPECT_EQ(lanes.waiting_senders(), 2u);
}

// Should a lane refuse its part, the node names what it dropped (node/missing_gossip.h).
TEST(VerifyLanesTest, EachLaneNamesItsTransactionsBySenderNonceAndExpiry) {
  VerifyLanes lanes;
  VerifyLanes::Split split = lanes.split({order("alice", 4), cancel("bob", 7), Bytes{1, 2, 3}});
  ASSERT_EQ(split.urgent_keys.size(), 1u);
  EXPECT_EQ(split.urgent_keys[0].sender, key_of("bob"));
  EXPECT_EQ(split.urgent_keys[0].nonce, 7u);
  EXPECT_EQ(split.urgent_keys[0].expiry_height, 1'000u);
  ASSERT_EQ(split.ordinary_keys.size(), 1u) << "what does not decode names nobody";
  EXPECT_EQ(split.ordinary_keys[0].sender, key_of("alice"));
  EXPECT_EQ(split.ordinary_keys[0].nonce, 4u);
  EXPECT_EQ(split.ordinary.size(), 2u);
}

TEST(VerifyLanesTest, ASenderWaitsUntilItsOrdinaryPartIsReleased) {
  VerifyLanes lanes;
  VerifyLanes::Split first = lanes.split({order("alice", 1)});
  // The next batch arrives while the first is still being verified.
  VerifyLanes::Split second = lanes.split({cancel("alice", 2), cancel("bob", 1)});
  EXPECT_EQ(second.urgent.size(), 1u) << "bob's only";
  EXPECT_EQ(second.ordinary.size(), 1u) << "alice's cancel queues behind her order";
  lanes.release(first.waiting);
  EXPECT_EQ(lanes.waiting_senders(), 1u) << "alice's cancel itself still waits";
  lanes.release(second.waiting);
  EXPECT_EQ(lanes.waiting_senders(), 0u);
  VerifyLanes::Split third = lanes.split({cancel("alice", 3)});
  EXPECT_EQ(third.urgent.size(), 1u) << "nothing of alice's is waiting any more";
}

// Regression: a client's cancel in a later request was verified in the urgent lane while the
// same sender's orders from an earlier request were still queued in the ordinary one; admitted
// first, it made them stale (crash-f dropped 27 acknowledged orders when a restarted validator
// received its backlog).
TEST(VerifyLanesTest, AClientCancelWaitsWhileItsSendersEarlierOrderIsBeingVerified) {
  VerifyLanes lanes;
  const PublicKey alice = key_of("alice");
  EXPECT_FALSE(lanes.choose_urgent(alice, /*is_cancel=*/false)) << "an order is ordinary";
  EXPECT_FALSE(lanes.choose_urgent(alice, /*is_cancel=*/true)) << "behind alice's order";
  EXPECT_TRUE(lanes.choose_urgent(key_of("bob"), /*is_cancel=*/true));
  lanes.release({alice, alice});
  EXPECT_TRUE(lanes.choose_urgent(alice, /*is_cancel=*/true));
  EXPECT_FALSE(lanes.choose_urgent(std::nullopt, /*is_cancel=*/true)) << "no sender: ordinary";
  EXPECT_EQ(lanes.waiting_senders(), 0u);
}

TEST(VerifyLanesTest, BytesThatDoNotDecodeTakeTheOrdinaryLaneWithoutASender) {
  VerifyLanes lanes;
  VerifyLanes::Split split = lanes.split({Bytes{0x01, 0x02, 0x03}});
  EXPECT_TRUE(split.urgent.empty());
  EXPECT_EQ(split.ordinary.size(), 1u);
  EXPECT_TRUE(split.waiting.empty());
  EXPECT_EQ(lanes.waiting_senders(), 0u);
}

}  // namespace
}  // namespace ballast::node
