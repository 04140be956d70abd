// The record of peer transactions dropped before the core saw them: the core takes each once,
// unchecked ones holding only that peer's entries, and beyond a peer's share the record keeps
// only the fact that more of that peer's were lost.
#include "node/missing_gossip.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ballast::node {
namespace {

mempool::EntryKey missing(std::uint8_t sender, std::uint64_t nonce) {
  mempool::EntryKey key;
  key.sender.bytes.fill(sender);
  key.nonce = nonce;
  key.expiry_height = 100;
  return key;
}

TEST(MissingGossipTest, TheCoreTakesEachRecordOnce) {
  MissingGossip record(8);
  EXPECT_TRUE(record.take().missing.empty());
  const mempool::EntryKey dropped[] = {missing(1, 5), missing(2, 9)};
  record.record(3, dropped, /*verified=*/false);
  MissingGossip::Taken taken = record.take();
  ASSERT_EQ(taken.missing.size(), 2u);
  EXPECT_EQ(taken.missing[1].sender, missing(2, 9).sender);
  EXPECT_EQ(taken.missing[1].nonce, 9u);
  EXPECT_EQ(taken.missing[1].holds_from, mempool::from_peer(3))
      << "unchecked names hold only what that peer sends";
  EXPECT_TRUE(taken.overflowed.empty());
  EXPECT_TRUE(record.take().missing.empty());
  EXPECT_EQ(record.recorded(), 2u);
  record.record(3, dropped, /*verified=*/true);
  EXPECT_EQ(record.take().missing[0].holds_from, mempool::kFromAnywhere)
      << "a checked signature names a real transaction: its hold applies to every source";
}

TEST(MissingGossipTest, BeyondAPeersShareItKeepsOnlyTheFactThatMoreWereLost) {
  MissingGossip record(3);
  const mempool::EntryKey dropped[] = {missing(1, 1), missing(2, 1), missing(3, 1), missing(4, 1),
                                       missing(5, 1)};
  record.record(0, dropped, false);
  record.record(1, std::span(dropped, 2), false);  // another peer's share is its own
  MissingGossip::Taken taken = record.take();
  EXPECT_EQ(taken.missing.size(), 5u);
  EXPECT_EQ(taken.overflowed, std::set<mempool::Source>{mempool::from_peer(0)});
  EXPECT_EQ(record.recorded(), 7u);
  // Taking makes room again and clears the overflow.
  record.record(0, std::span(dropped, 1), false);
  taken = record.take();
  EXPECT_EQ(taken.missing.size(), 1u);
  EXPECT_TRUE(taken.overflowed.empty());
}

// Threads record while the core takes: nothing is lost or taken twice.
TEST(MissingGossipTest, RecordsFromManyThreadsWhileTheCoreTakesAreEachTakenOnce) {
  MissingGossip record(1'000'000);
  std::atomic<int> producing{4};
  std::vector<std::thread> threads;
  for (std::uint8_t t = 0; t < 4; ++t) {
    threads.emplace_back([&record, &producing, t] {
      for (std::uint64_t nonce = 1; nonce <= 1'000; ++nonce) {
        const mempool::EntryKey one[] = {missing(t, nonce)};
        record.record(t, one, false);
      }
      producing.fetch_sub(1);
    });
  }
  std::size_t taken = 0;
  while (producing.load() > 0) taken += record.take().missing.size();
  for (std::thread& thread : threads) thread.join();
  taken += record.take().missing.size();
  EXPECT_EQ(taken, 4'000u);
  EXPECT_EQ(record.recorded(), 4'000u);
}

}  // namespace
}  // namespace ballast::node
