#include "node/verify_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <tuple>

#include "exchange/transaction.h"

namespace ballast::node {
namespace {

using namespace std::chrono_literals;
using Verdicts = std::vector<Result<VerifiedTransaction>>;

const std::string kChain = "ballast-node-test";
constexpr auto kPatience = 20s;
constexpr VerifyPool::Source kSource = 1;

exchange::Transaction signed_order(std::uint64_t nonce, const std::string& chain = kChain) {
  SecretKey key = SecretKey::insecure_from_seed("verify-pool-trader");
  exchange::Transaction tx;
  tx.sender = key.public_key();
  tx.nonce = nonce;
  tx.fee = 10;
  tx.expiry_height = 1'000;
  exchange::PlaceOrder order;
  order.price = 5'000'000;
  order.quantity = 100'000;
  tx.body = order;
  tx.sign(key, chain);
  return tx;
}

Bytes with_bad_signature(exchange::Transaction tx) {
  tx.signature.bytes[10] ^= 0x01;
  return tx.encode();
}

// Submits one job and waits for its verdicts.
Verdicts verify(VerifyPool& pool, std::vector<Bytes> transactions) {
  auto promise = std::make_shared<std::promise<Verdicts>>();
  auto verdicts = promise->get_future();
  EXPECT_TRUE(pool.submit(kSource, std::move(transactions),
                          [promise](Verdicts result) { promise->set_value(std::move(result)); }));
  if (verdicts.wait_for(kPatience) != std::future_status::ready) {
    ADD_FAILURE() << "no verdict";
    return {};
  }
  return verdicts.get();
}

TEST(NodeVerifyPoolTest, ReturnsACorrectlySignedTransactionWithItsId) {
  VerifyPool pool(kChain, 2, 16, 64);
  exchange::Transaction tx = signed_order(1);
  Bytes bytes = tx.encode();
  Verdicts verdicts = verify(pool, {bytes});
  ASSERT_EQ(verdicts.size(), 1u);
  ASSERT_TRUE(verdicts[0].is_ok()) << verdicts[0].status().to_string();
  EXPECT_EQ(verdicts[0]->id, sha256(bytes));
  EXPECT_EQ(verdicts[0]->id, tx.id());
  EXPECT_EQ(verdicts[0]->bytes, bytes);

  // Verified again from the cache: the same verdict.
  Verdicts again = verify(pool, {bytes});
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(again[0].is_ok());
  EXPECT_EQ(again[0]->id, tx.id());
}

TEST(NodeVerifyPoolTest, RefusesABadSignature) {
  VerifyPool pool(kChain, 1, 16, 64);
  Verdicts verdicts = verify(pool, {with_bad_signature(signed_order(1))});
  ASSERT_EQ(verdicts.size(), 1u);
  ASSERT_FALSE(verdicts[0].is_ok());
  EXPECT_EQ(verdicts[0].status().code(), StatusCode::kPermissionDenied);
}

TEST(NodeVerifyPoolTest, RefusesASignatureForAnotherChain) {
  VerifyPool pool(kChain, 1, 16, 64);
  Verdicts verdicts = verify(pool, {signed_order(1, "another-chain").encode()});
  ASSERT_EQ(verdicts.size(), 1u);
  ASSERT_FALSE(verdicts[0].is_ok());
  EXPECT_EQ(verdicts[0].status().code(), StatusCode::kPermissionDenied);
}

TEST(NodeVerifyPoolTest, RefusesUndecodableBytes) {
  VerifyPool pool(kChain, 1, 16, 64);
  Bytes truncated = signed_order(1).encode();
  truncated.pop_back();
  Verdicts verdicts = verify(pool, {Bytes{1, 2, 3}, Bytes{}, truncated});
  ASSERT_EQ(verdicts.size(), 3u);
  for (const auto& verdict : verdicts) {
    ASSERT_FALSE(verdict.is_ok());
    EXPECT_EQ(verdict.status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(verdict.status().message().empty());
  }
}

TEST(NodeVerifyPoolTest, GivesOneVerdictPerTransactionInOrder) {
  VerifyPool pool(kChain, 2, 16, 64);
  exchange::Transaction first = signed_order(1);
  exchange::Transaction last = signed_order(2);
  Verdicts verdicts = verify(
      pool, {first.encode(), Bytes{0xff}, with_bad_signature(signed_order(3)), last.encode()});
  ASSERT_EQ(verdicts.size(), 4u);
  ASSERT_TRUE(verdicts[0].is_ok());
  EXPECT_EQ(verdicts[0]->id, first.id());
  EXPECT_EQ(verdicts[1].status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verdicts[2].status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(verdicts[3].is_ok());
  EXPECT_EQ(verdicts[3]->id, last.id());
}

// A proposal can outrun the gossip of its transactions; the core checks those itself and tells
// the pool, so that the gossip arriving after it costs no second check.
TEST(NodeVerifyPoolTest, DoesNotCheckAgainASignatureCheckedElsewhere) {
  VerifyPool pool(kChain, 1, 16, 64);
  exchange::Transaction tx = signed_order(1);
  pool.note_verified(tx.id());
  Verdicts verdicts = verify(pool, {tx.encode(), signed_order(2).encode()});
  ASSERT_EQ(verdicts.size(), 2u);
  ASSERT_TRUE(verdicts[0].is_ok());
  EXPECT_EQ(verdicts[0]->id, tx.id());
  EXPECT_TRUE(verdicts[1].is_ok());
  EXPECT_EQ(pool.verifications(), 1u);  // the second transaction only
  EXPECT_EQ(pool.cache_hits(), 1u);
}

// A bad signature is never cached as good, even after a good transaction filled the cache.
TEST(NodeVerifyPoolTest, ACacheThatStartsOverStillRefusesBadSignatures) {
  VerifyPool pool(kChain, 1, 16, 1);
  for (std::uint64_t nonce = 1; nonce <= 3; ++nonce) {
    Verdicts verdicts =
        verify(pool, {signed_order(nonce).encode(), with_bad_signature(signed_order(nonce))});
    ASSERT_EQ(verdicts.size(), 2u);
    EXPECT_TRUE(verdicts[0].is_ok());
    EXPECT_FALSE(verdicts[1].is_ok());
  }
}

// Holds a worker inside a job's done callback until the test releases it. Released on scope exit
// at the latest, so a failed assertion cannot leave the pool's destructor joining a stuck worker.
class Gate {
 public:
  Gate() : released_(release_.get_future().share()) {}
  ~Gate() { open(); }
  void open() {
    std::call_once(opened_, [this] { release_.set_value(); });
  }
  void wait() const { released_.wait(); }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_;
  std::once_flag opened_;
};

// Holds the pool's only worker in a job's done callback until `gate` opens; returns once it is
// held, so that the jobs submitted next wait in the queue.
void hold_the_worker(VerifyPool& pool, const Gate& gate) {
  auto started = std::make_shared<std::promise<void>>();
  ASSERT_TRUE(pool.submit(kSource, {signed_order(1).encode()}, [started, &gate](Verdicts) {
    started->set_value();
    gate.wait();
  }));
  ASSERT_EQ(started->get_future().wait_for(kPatience), std::future_status::ready);
}

TEST(NodeVerifyPoolTest, SubmitRefusesWhenTheQueueIsFull) {
  std::promise<Verdicts> second_done;
  bool third_ran = false;
  VerifyPool pool(kChain, 1, 1, 64);
  Gate gate;                    // destroyed (opened) before the pool
  hold_the_worker(pool, gate);  // the only worker holds the first job: the queue is empty again

  exchange::Transaction second_tx = signed_order(2);
  ASSERT_TRUE(pool.submit(kSource, {second_tx.encode()},
                          [&](Verdicts verdicts) { second_done.set_value(std::move(verdicts)); }));
  EXPECT_EQ(pool.queued(), 1u);
  EXPECT_FALSE(
      pool.submit(kSource, {signed_order(3).encode()}, [&](Verdicts) { third_ran = true; }));
  EXPECT_EQ(pool.queued(), 1u);

  gate.open();
  auto second = second_done.get_future();
  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready);
  Verdicts verdicts = second.get();
  ASSERT_EQ(verdicts.size(), 1u);
  ASSERT_TRUE(verdicts[0].is_ok());
  EXPECT_EQ(verdicts[0]->id, second_tx.id());
  EXPECT_FALSE(third_ran) << "a refused job must never run";
}

// A Byzantine validator flooding gossip, or one client connection, fills only its quarter of a
// lane: the others still get in.
TEST(NodeVerifyPoolTest, ASourceFillsOnlyItsQuarterOfALane) {
  VerifyPool pool(kChain, 1, 8, 64);
  Gate gate;  // destroyed (opened) before the pool
  hold_the_worker(pool, gate);
  const VerifyPool::Source flood = VerifyPool::peer_source(2);
  auto nothing = [](Verdicts) {};
  for (int job = 0; job < 2; ++job) {
    EXPECT_TRUE(pool.submit(flood, {signed_order(2).encode()}, nothing)) << job;
  }
  EXPECT_FALSE(pool.submit(flood, {signed_order(3).encode()}, nothing)) << "its share is full";
  EXPECT_TRUE(pool.submit(flood, {signed_order(3).encode()}, nothing, /*urgent=*/true))
      << "a share is per lane";
  for (VerifyPool::Source other = 10; other < 13; ++other) {
    EXPECT_TRUE(pool.submit(other, {signed_order(4).encode()}, nothing)) << other;
  }
  EXPECT_EQ(pool.queued(), 6u);
}

// Records which jobs finished, in order.
class Finishes {
 public:
  VerifyPool::Done record(std::string name) {
    return [this, name](Verdicts) {
      std::lock_guard lock(mutex_);
      order_.push_back(name);
      if (order_.size() == expected_) all_.set_value();
    };
  }
  std::vector<std::string> wait_for(std::size_t count) {
    {
      std::lock_guard lock(mutex_);
      expected_ = count;
      if (order_.size() >= count) return order_;
    }
    EXPECT_EQ(all_.get_future().wait_for(kPatience), std::future_status::ready);
    std::lock_guard lock(mutex_);
    return order_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> order_;
  std::size_t expected_ = 0;
  std::promise<void> all_;
};

std::vector<Bytes> transactions(std::size_t count) {
  return std::vector<Bytes>(count, signed_order(1).encode());
}

// While the only worker is held, queues `jobs` (source, size, urgent) in order, then lets the
// pool work and returns the order in which they finished.
std::vector<std::string> finish_order(
    const std::vector<std::tuple<std::string, VerifyPool::Source, std::size_t, bool>>& jobs) {
  Finishes finishes;
  VerifyPool pool(kChain, 1, 16, 64);
  Gate gate;  // destroyed (opened) before the pool
  hold_the_worker(pool, gate);
  for (const auto& [name, source, size, urgent] : jobs) {
    EXPECT_TRUE(pool.submit(source, transactions(size), finishes.record(name), urgent));
  }
  gate.open();
  return finishes.wait_for(jobs.size());
}

// A client flooding cancels delays another client's cancel by about a chunk, not its backlog.
TEST(NodeVerifyPoolTest, SourcesTakeTurnsAChunkAtATime) {
  const std::size_t big = 10 * VerifyPool::kChunk;
  EXPECT_EQ(finish_order(
                {{"flood", 2, big, true}, {"flood again", 2, big, true}, {"cancel", 3, 1, true}}),
            (std::vector<std::string>{"cancel", "flood", "flood again"}));
  // Gossip from a peer is a source like any other.
  EXPECT_EQ(
      finish_order({{"peer", VerifyPool::peer_source(0), big, false}, {"client", 3, 1, false}}),
      (std::vector<std::string>{"client", "peer"}));
}

TEST(NodeVerifyPoolTest, OneSourcesJobsFinishInOrderUrgentOnesFirst) {
  const std::size_t big = 10 * VerifyPool::kChunk;
  EXPECT_EQ(finish_order({{"first", 2, big, false},
                          {"second", 2, 1, false},
                          {"cancel", 2, 1, true},
                          {"other", 3, 1, false}}),
            (std::vector<std::string>{"cancel", "other", "first", "second"}));
}

// The screen runs as each transaction's check is about to start, not when the job is queued: a
// rule that changed while the job waited applies, and what it refuses is never checked.
TEST(NodeVerifyPoolTest, AScreenJudgesEachTransactionAsItsCheckStartsAndSparesTheRefused) {
  std::promise<Verdicts> screened_done;
  std::atomic<bool> closed{false};
  VerifyPool pool(kChain, 1, 16, 64);
  Gate gate;  // destroyed (opened) before the pool
  hold_the_worker(pool, gate);

  exchange::Transaction kept = signed_order(2);
  auto screen = [&closed](std::size_t index) {
    return closed && index > 0 ? resource_exhausted("closed while it waited").with_reason("closed")
                               : Status::ok();
  };
  ASSERT_TRUE(pool.submit(
      kSource, {kept.encode(), with_bad_signature(signed_order(3)), signed_order(4).encode()},
      [&](Verdicts verdicts) { screened_done.set_value(std::move(verdicts)); }, false, screen));
  closed = true;  // after the job was queued, before its checks
  gate.open();
  auto done = screened_done.get_future();
  ASSERT_EQ(done.wait_for(kPatience), std::future_status::ready);
  Verdicts verdicts = done.get();
  ASSERT_EQ(verdicts.size(), 3u);
  ASSERT_TRUE(verdicts[0].is_ok());
  EXPECT_EQ(verdicts[0]->id, kept.id());
  for (std::size_t i : {1u, 2u}) {
    ASSERT_FALSE(verdicts[i].is_ok());
    EXPECT_EQ(verdicts[i].status().reason(), "closed") << "the screen's answer, unchecked: " << i;
  }
  EXPECT_EQ(pool.verifications(), 2u) << "the held job's and the one kept";
}

}  // namespace
}  // namespace ballast::node
