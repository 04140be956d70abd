// The transaction index: pending, finalized and dropped records, bounded memory, and clients
// waiting for finality answered exactly once (settled, or at their deadline).
#include "node/tx_tracker.h"

#include <gtest/gtest.h>

namespace ballast::node {
namespace {

Hash256 id_of(int n) {
  return sha256(as_bytes("tx " + std::to_string(n)));
}

std::shared_ptr<const exchange::TxResult> accepted_result(const Hash256& id) {
  auto result = std::make_shared<exchange::TxResult>();
  result->tx_id = id;
  return result;
}

struct Answers {
  std::vector<std::optional<TxRecord>> received;
  TxTracker::WaiterReply reply() {
    return [this](const std::optional<TxRecord>& record) { received.push_back(record); };
  }
};

TEST(TxTrackerTest, PendingThenFinalizedWithItsResult) {
  TxTracker tracker;
  tracker.on_pending(id_of(1));
  ASSERT_TRUE(tracker.find(id_of(1)).has_value());
  EXPECT_EQ(tracker.find(id_of(1))->state, TxState::kPending);
  tracker.on_finalized(id_of(1), 7, 1'000, 3, accepted_result(id_of(1)));
  TxRecord record = *tracker.find(id_of(1));
  EXPECT_EQ(record.state, TxState::kFinalized);
  EXPECT_EQ(record.height, 7u);
  EXPECT_EQ(record.position, 3u);
  EXPECT_EQ(record.result->tx_id, id_of(1));
  EXPECT_FALSE(tracker.find(id_of(2)).has_value());
}

TEST(TxTrackerTest, ADropNeverOverridesAFinalization) {
  TxTracker tracker;
  tracker.on_pending(id_of(1));
  tracker.on_finalized(id_of(1), 7, 1'000, 0, accepted_result(id_of(1)));
  tracker.on_dropped(id_of(1), "made stale");
  EXPECT_EQ(tracker.find(id_of(1))->state, TxState::kFinalized);
  tracker.on_pending(id_of(2));
  tracker.on_dropped(id_of(2), "evicted from the full mempool");
  EXPECT_EQ(tracker.find(id_of(2))->state, TxState::kDropped);
  EXPECT_EQ(tracker.find(id_of(2))->drop_reason, "evicted from the full mempool");
  tracker.on_pending(id_of(2));
  EXPECT_EQ(tracker.find(id_of(2))->state, TxState::kDropped) << "a settled record stays settled";
}

TEST(TxTrackerTest, RemembersAtMostTheLimitForgettingTheOldestSettled) {
  TxTracker tracker({.max_records = 10, .max_waiters = 10});
  tracker.on_pending(id_of(0));  // pending: never forgotten for room
  for (int n = 1; n <= 30; ++n) tracker.on_finalized(id_of(n), n, n, 0, accepted_result(id_of(n)));
  EXPECT_EQ(tracker.records(), 10u);
  EXPECT_TRUE(tracker.find(id_of(0)).has_value());
  EXPECT_TRUE(tracker.find(id_of(30)).has_value());
  EXPECT_FALSE(tracker.find(id_of(1)).has_value());
}

TEST(TxTrackerTest, WaitersAreAnsweredOnceWhenTheTransactionSettles) {
  TxTracker tracker;
  Answers first;
  Answers second;
  tracker.on_pending(id_of(1));
  ASSERT_TRUE(tracker.wait(id_of(1), 5'000, first.reply()).is_ok());
  ASSERT_TRUE(tracker.wait(id_of(1), 9'000, second.reply()).is_ok());
  EXPECT_EQ(tracker.waiters(), 2u);
  tracker.on_finalized(id_of(1), 4, 100, 0, accepted_result(id_of(1)));
  ASSERT_EQ(first.received.size(), 1u);
  ASSERT_EQ(second.received.size(), 1u);
  EXPECT_EQ(first.received[0]->height, 4u);
  EXPECT_EQ(tracker.waiters(), 0u);
  tracker.expire_waiters(10'000);  // their deadlines went with them
  EXPECT_EQ(first.received.size(), 1u);
}

TEST(TxTrackerTest, WaitOnASettledTransactionAnswersAtOnce) {
  TxTracker tracker;
  tracker.on_dropped(id_of(1), "expired");
  Answers answers;
  ASSERT_TRUE(tracker.wait(id_of(1), 5'000, answers.reply()).is_ok());
  ASSERT_EQ(answers.received.size(), 1u);
  EXPECT_EQ(answers.received[0]->state, TxState::kDropped);
  EXPECT_EQ(tracker.waiters(), 0u);
}

TEST(TxTrackerTest, WaitersTimeOutWithNothingAtTheirDeadline) {
  TxTracker tracker;
  Answers early;
  Answers late;
  tracker.on_pending(id_of(1));
  ASSERT_TRUE(tracker.wait(id_of(1), 1'000, early.reply()).is_ok());
  ASSERT_TRUE(tracker.wait(id_of(1), 2'000, late.reply()).is_ok());
  tracker.expire_waiters(999);
  EXPECT_TRUE(early.received.empty());
  tracker.expire_waiters(1'000);
  ASSERT_EQ(early.received.size(), 1u);
  EXPECT_FALSE(early.received[0].has_value());
  EXPECT_TRUE(late.received.empty());
  tracker.on_finalized(id_of(1), 2, 0, 0, accepted_result(id_of(1)));
  ASSERT_EQ(late.received.size(), 1u);
  EXPECT_TRUE(late.received[0].has_value());
  EXPECT_EQ(early.received.size(), 1u) << "answered once";
}

TEST(TxTrackerTest, TooManyWaitersIsRefusedWithAReason) {
  TxTracker tracker({.max_records = 100, .max_waiters = 2});
  Answers answers;
  for (int n = 0; n < 2; ++n) ASSERT_TRUE(tracker.wait(id_of(n), 1'000, answers.reply()).is_ok());
  Status refused = tracker.wait(id_of(9), 1'000, answers.reply());
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.reason(), "too_many_waiters");
  tracker.expire_waiters(1'000);
  EXPECT_EQ(answers.received.size(), 2u);
  EXPECT_TRUE(tracker.wait(id_of(9), 2'000, answers.reply()).is_ok()) << "room again";
}

}  // namespace
}  // namespace ballast::node
