#include "node/bounded_queue.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace ballast::node {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kPatience = 20s;

// Deadlines that have already passed: pop_until must not wait for them.
Clock::time_point now() {
  return Clock::now();
}
Clock::time_point past() {
  return Clock::now() - 1s;
}

TEST(NodeBoundedQueueTest, RefusesAtCapacityAndLeavesTheItemWithTheCaller) {
  BoundedQueue<std::unique_ptr<int>> queue(2);
  EXPECT_EQ(queue.capacity(), 2u);
  auto first = std::make_unique<int>(1);
  auto second = std::make_unique<int>(2);
  auto third = std::make_unique<int>(3);
  EXPECT_TRUE(queue.try_push(first));
  EXPECT_TRUE(queue.try_push(second));
  EXPECT_EQ(queue.size(), 2u);

  EXPECT_FALSE(queue.try_push(third));
  ASSERT_NE(third, nullptr) << "a refused item must not be moved from";
  EXPECT_EQ(*third, 3);
  EXPECT_EQ(queue.size(), 2u);

  // Room again once an item leaves.
  ASSERT_TRUE(queue.pop_until(now()).has_value());
  EXPECT_TRUE(queue.try_push(third));
  EXPECT_EQ(third, nullptr);
}

TEST(NodeBoundedQueueTest, PopsInArrivalOrder) {
  BoundedQueue<int> queue(8);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(queue.try_push(i));
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(queue.pop_until(now()), i);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(NodeBoundedQueueTest, PopReturnsNothingWhenTheDeadlineHasPassed) {
  BoundedQueue<int> queue(1);
  EXPECT_EQ(queue.pop_until(past()), std::nullopt);
  EXPECT_EQ(queue.pop_until(now()), std::nullopt);

  int item = 7;
  ASSERT_TRUE(queue.try_push(item));
  EXPECT_EQ(queue.pop_until(past()), 7) << "a queued item is returned even past the deadline";
}

TEST(NodeBoundedQueueTest, CloseWakesAWaitingConsumer) {
  BoundedQueue<int> queue(1);
  auto consumer = std::async(std::launch::async, [&] { return queue.pop_until(now() + 1h); });
  queue.close();
  ASSERT_EQ(consumer.wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(consumer.get(), std::nullopt);
}

TEST(NodeBoundedQueueTest, CloseRefusesPushesButQueuedItemsStillPop) {
  BoundedQueue<int> queue(4);
  for (int i = 1; i <= 2; ++i) ASSERT_TRUE(queue.try_push(i));
  queue.close();

  int late = 3;
  EXPECT_FALSE(queue.try_push(late));
  EXPECT_EQ(late, 3);

  const auto far = now() + 1h;  // a closed queue never waits
  EXPECT_EQ(queue.pop_until(far), 1);
  EXPECT_EQ(queue.pop_until(far), 2);
  EXPECT_EQ(queue.pop_until(far), std::nullopt);
}

TEST(NodeBoundedQueueTest, ManyProducersWithoutAConsumerFillItExactly) {
  constexpr std::size_t kCapacity = 16;
  constexpr int kProducers = 4;
  constexpr int kAttempts = 100;
  BoundedQueue<int> queue(kCapacity);
  std::vector<std::future<std::size_t>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(std::async(std::launch::async, [&] {
      std::size_t accepted = 0;
      for (int i = 0; i < kAttempts; ++i) {
        int item = i;
        if (queue.try_push(item)) ++accepted;
        EXPECT_LE(queue.size(), kCapacity);
      }
      return accepted;
    }));
  }
  std::size_t accepted = 0;
  for (auto& producer : producers) accepted += producer.get();
  EXPECT_EQ(accepted, kCapacity);
  EXPECT_EQ(queue.size(), kCapacity);
}

// Producers race a consumer: every accepted item comes out exactly once, each producer's items
// in the order it pushed them, and the queue never holds more than its capacity.
TEST(NodeBoundedQueueTest, ManyProducersAndAConsumerLoseNothing) {
  constexpr std::size_t kCapacity = 4;
  constexpr int kProducers = 4;
  constexpr int kAttempts = 2'000;
  BoundedQueue<std::pair<int, int>> queue(kCapacity);
  std::vector<std::future<int>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(std::async(std::launch::async, [&, p] {
      int accepted = 0;
      for (int i = 0; i < kAttempts; ++i) {
        std::pair<int, int> item{p, i};
        if (queue.try_push(item)) ++accepted;
        EXPECT_LE(queue.size(), kCapacity);
      }
      return accepted;
    }));
  }
  auto consumer = std::async(std::launch::async, [&] {
    std::vector<int> last_seen(kProducers, -1);
    int popped = 0;
    while (auto item = queue.pop_until(Clock::time_point::max())) {
      auto [producer, sequence] = *item;
      EXPECT_GT(sequence, last_seen[static_cast<std::size_t>(producer)]);
      last_seen[static_cast<std::size_t>(producer)] = sequence;
      ++popped;
    }
    return popped;
  });

  int accepted = 0;
  for (auto& producer : producers) accepted += producer.get();
  queue.close();  // the consumer drains what is left, then stops
  ASSERT_EQ(consumer.wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(consumer.get(), accepted);
  EXPECT_GE(accepted, static_cast<int>(kCapacity));
}

}  // namespace
}  // namespace ballast::node
