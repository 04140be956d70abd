// The synced sender: a round that wrote to storage leaves only after a sync that began after it,
// rounds keep their order whether or not they wait, rounds waiting together share one sync, the
// wait is bounded, lazy writes (finalized blocks) hold nothing back yet are synced all the same,
// and nothing handed over is lost at shutdown.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "node/synced_sender.h"

namespace ballast::node {
namespace {

using namespace std::chrono_literals;

OutgoingFrame frame(std::uint8_t id) {
  return {std::nullopt, std::make_shared<const Bytes>(Bytes{id})};
}

// A disk whose syncs wait until the test opens the gate, and a transport that records what
// went out and how many syncs had completed when it did.
class Harness {
 public:
  explicit Harness(bool gate_open = true) : gate_open_(gate_open) {}

  Status sync() {
    std::unique_lock lock(mutex_);
    syncs_started_ += 1;
    changed_.notify_all();
    changed_.wait(lock, [this] { return gate_open_ || sync_error_; });
    if (sync_error_) return io_error("the disk refused the sync");
    syncs_done_ += 1;
    return Status::ok();
  }
  void send(const OutgoingFrame& sent) {
    std::lock_guard lock(mutex_);
    sent_.push_back({sent.frame->at(0), syncs_done_});
    changed_.notify_all();
  }
  void open_gate() {
    std::lock_guard lock(mutex_);
    gate_open_ = true;
    changed_.notify_all();
  }
  void fail_syncs() {
    std::lock_guard lock(mutex_);
    sync_error_ = true;
    changed_.notify_all();
  }
  void wait_for_syncs_started(int count) {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(changed_.wait_for(lock, 10s, [&] { return syncs_started_ >= count; }));
  }
  // The frame ids sent, in order, once `count` have been sent.
  std::vector<std::uint8_t> wait_for_sent(std::size_t count) {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(changed_.wait_for(lock, 10s, [&] { return sent_.size() >= count; }));
    std::vector<std::uint8_t> ids;
    for (const auto& [id, syncs] : sent_) ids.push_back(id);
    return ids;
  }
  std::vector<std::uint8_t> sent_now() { return wait_for_sent(0); }
  // How many syncs had completed when frame `id` went out.
  int syncs_before(std::uint8_t id) {
    std::lock_guard lock(mutex_);
    for (const auto& [sent_id, syncs] : sent_) {
      if (sent_id == id) return syncs;
    }
    ADD_FAILURE() << "frame " << int(id) << " was not sent";
    return -1;
  }
  int syncs_done() {
    std::lock_guard lock(mutex_);
    return syncs_done_;
  }

  std::unique_ptr<SyncedSender> make_sender(std::size_t capacity = 16,
                                            std::chrono::milliseconds lazy_sync_after = 1h) {
    return std::make_unique<SyncedSender>([this] { return sync(); },
                                          [this](const OutgoingFrame& sent) { send(sent); },
                                          capacity, lazy_sync_after);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool gate_open_;
  bool sync_error_ = false;
  int syncs_started_ = 0;
  int syncs_done_ = 0;
  std::vector<std::pair<std::uint8_t, int>> sent_;
};

TEST(SyncedSenderTest, ARoundWithoutWritesGoesOutAtOnceWithoutASync) {
  Harness harness;
  auto sender = harness.make_sender();
  sender->send({frame(1), frame(2)}, /*after_writes=*/false);
  EXPECT_EQ(harness.sent_now(), (std::vector<std::uint8_t>{1, 2}));  // before send() returned
  EXPECT_EQ(harness.syncs_done(), 0);
}

TEST(SyncedSenderTest, ARoundAfterWritesLeavesOnlyOnceTheSyncIsDone) {
  Harness harness(/*gate_open=*/false);
  auto sender = harness.make_sender();
  sender->send({frame(1)}, /*after_writes=*/true);
  harness.wait_for_syncs_started(1);
  EXPECT_TRUE(harness.sent_now().empty());  // the sync has not returned
  EXPECT_EQ(sender->waiting(), 1u);
  harness.open_gate();
  EXPECT_EQ(harness.wait_for_sent(1), (std::vector<std::uint8_t>{1}));
  EXPECT_EQ(harness.syncs_before(1), 1);
}

TEST(SyncedSenderTest, ARoundWithoutWritesWaitsBehindEarlierOnesSoPeersSeeTheReplicasOrder) {
  Harness harness(/*gate_open=*/false);
  auto sender = harness.make_sender();
  sender->send({frame(1)}, /*after_writes=*/true);
  harness.wait_for_syncs_started(1);
  sender->send({frame(2)}, /*after_writes=*/false);
  EXPECT_TRUE(harness.sent_now().empty());
  harness.open_gate();
  EXPECT_EQ(harness.wait_for_sent(2), (std::vector<std::uint8_t>{1, 2}));
}

TEST(SyncedSenderTest, RoundsQueuedDuringASyncShareTheNextOne) {
  Harness harness(/*gate_open=*/false);
  auto sender = harness.make_sender();
  sender->send({frame(1)}, /*after_writes=*/true);
  harness.wait_for_syncs_started(1);
  for (std::uint8_t id = 2; id <= 5; ++id) sender->send({frame(id)}, /*after_writes=*/true);
  harness.open_gate();
  EXPECT_EQ(harness.wait_for_sent(5), (std::vector<std::uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(harness.syncs_before(1), 1);
  for (std::uint8_t id = 2; id <= 5; ++id) EXPECT_EQ(harness.syncs_before(id), 2);
  EXPECT_EQ(harness.syncs_done(), 2);  // five rounds of writes, two syncs
}

TEST(SyncedSenderTest, AFullQueueHoldsTheCoreUntilTheSenderTakesIt) {
  Harness harness(/*gate_open=*/false);
  auto sender = harness.make_sender(/*capacity=*/2);
  sender->send({frame(1)}, /*after_writes=*/true);
  harness.wait_for_syncs_started(1);  // round 1 is being synced; the queue is empty again
  sender->send({frame(2)}, /*after_writes=*/true);
  sender->send({frame(3)}, /*after_writes=*/true);
  EXPECT_EQ(sender->waiting(), 3u);
  auto third =
      std::async(std::launch::async, [&] { sender->send({frame(4)}, /*after_writes=*/true); });
  EXPECT_EQ(third.wait_for(50ms), std::future_status::timeout);  // full: the core waits
  EXPECT_LE(sender->waiting(), 3u);
  harness.open_gate();
  ASSERT_EQ(third.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(harness.wait_for_sent(4), (std::vector<std::uint8_t>{1, 2, 3, 4}));
}

TEST(SyncedSenderTest, StoppingSyncsAndSendsEverythingHandedOver) {
  Harness harness(/*gate_open=*/false);
  auto sender = harness.make_sender();
  sender->send({frame(1)}, /*after_writes=*/true);
  harness.wait_for_syncs_started(1);
  sender->send({frame(2)}, /*after_writes=*/true);
  sender->send({frame(3)}, /*after_writes=*/false);
  auto stopped = std::async(std::launch::async, [&] { sender.reset(); });
  harness.open_gate();
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(harness.sent_now(), (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(harness.syncs_before(2), 2);
}

TEST(SyncedSenderTest, WritesWithNothingToSendAreSyncedToo) {
  Harness harness;
  auto sender = harness.make_sender();
  sender->send({}, /*after_writes=*/true);
  sender.reset();
  EXPECT_EQ(harness.syncs_done(), 1);
}

// A finalized block's write must not make the next vote wait for a sync that was not for it.
TEST(SyncedSenderTest, LazyWritesHoldNothingBack) {
  Harness harness(/*gate_open=*/false);
  auto sender = harness.make_sender();
  sender->send({frame(1)}, /*after_writes=*/false, /*lazy_writes=*/true);
  EXPECT_EQ(harness.sent_now(), (std::vector<std::uint8_t>{1}));  // before send() returned
  EXPECT_EQ(harness.syncs_done(), 0);
  harness.open_gate();
}

TEST(SyncedSenderTest, LazyWritesRideWithTheNextSync) {
  Harness harness;
  auto sender = harness.make_sender();
  sender->send({}, /*after_writes=*/false, /*lazy_writes=*/true);
  sender->send({frame(1)}, /*after_writes=*/true);
  EXPECT_EQ(harness.wait_for_sent(1), (std::vector<std::uint8_t>{1}));
  sender.reset();  // nothing lazy is left to sync at the stop
  EXPECT_EQ(harness.syncs_done(), 1);
}

TEST(SyncedSenderTest, LazyWritesGetASyncOfTheirOwnWhenNoneComes) {
  Harness harness;
  auto sender = harness.make_sender(16, /*lazy_sync_after=*/1ms);
  sender->send({}, /*after_writes=*/false, /*lazy_writes=*/true);
  harness.wait_for_syncs_started(1);
  sender.reset();
  EXPECT_EQ(harness.syncs_done(), 1);
}

TEST(SyncedSenderTest, StoppingSyncsLazyWrites) {
  Harness harness;
  auto sender = harness.make_sender();
  sender->send({}, /*after_writes=*/false, /*lazy_writes=*/true);
  sender.reset();
  EXPECT_EQ(harness.syncs_done(), 1);
}

TEST(SyncedSenderDeathTest, ASyncTheDiskRefusesAbortsBeforeAnythingIsSent) {
  EXPECT_DEATH(
      {
        Harness harness(/*gate_open=*/false);
        auto sender = harness.make_sender();
        sender->send({frame(1)}, /*after_writes=*/true);
        harness.wait_for_syncs_started(1);
        harness.fail_syncs();
        harness.wait_for_sent(1);
      },
      "votes could not be made durable");
}

}  // namespace
}  // namespace ballast::node
