// Signature verification off the core thread. Client and gossiped transactions are decoded and
// their signatures checked by a few worker threads before the core sees them; the ids of
// transactions already verified are cached (bounded), so each is checked once per node.
//
// Jobs wait by source (a client connection, or a peer) and the workers serve the sources in
// turn, a chunk of transactions at a time, urgent jobs (cancels) before ordinary ones: a client
// that sends thousands of cancels delays another client's cancel by about one chunk, not by its
// whole backlog. A source's jobs of one lane finish in the order it submitted them, so each
// client's own order holds (node/verify_lanes.h); across sources nothing was ordered anyway.
//
// A job may carry a screen, which each of its transactions meets on the worker just before its
// check: the API's ordinary jobs meet the ingress breaker again there, so that what waited
// while the breaker tripped is refused unchecked (node/ingress_guard.h).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "app/exchange_application.h"
#include "crypto/key_cache.h"

namespace ballast::node {

struct VerifiedTransaction {
  Hash256 id;
  Bytes bytes;
};

class VerifyPool {
 public:
  // Called on a worker thread with the verdict for each transaction of a job.
  using Done = std::function<void(std::vector<Result<VerifiedTransaction>>)>;
  // Whose transactions a job holds: a client connection's id, or peer_source(index).
  using Source = std::uint64_t;
  static Source peer_source(std::uint32_t peer) { return (Source{1} << 63) | peer; }
  // Transactions a worker verifies before it looks for another source's work.
  static constexpr std::size_t kChunk = 16;
  // The most of a lane one source may fill: capacity / kSharesPerLane jobs (at least one).
  static constexpr std::size_t kSharesPerLane = 4;

  // Judges a job's transaction (by its index in the job) on the worker, just before its check:
  // a refusal becomes its verdict, and the check is spared.
  using Screen = std::function<Status(std::size_t index)>;

  // At most `queue_capacity` jobs wait in each lane, and at most a kSharesPerLane-th of them
  // (at least one) are one source's: a source that floods (a Byzantine validator's gossip, one
  // client connection) fills only its share and leaves room for the others.
  VerifyPool(std::string chain_id, std::size_t threads, std::size_t queue_capacity,
             std::size_t cache_entries);
  ~VerifyPool();
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  // False when the lane is full: the caller reports overload, nothing was queued.
  bool submit(Source source, std::vector<Bytes> transactions, Done done, bool urgent = false,
              Screen screen = {});
  // Thread-safe: transaction `id`'s signature was checked elsewhere (the core thread, for a
  // proposal that outran the gossip of its transactions), so its gossip is not checked again.
  void note_verified(const Hash256& id);
  // Thread-safe: whether transaction `id`'s signature is known to be good here.
  bool has_verified(const Hash256& id);
  // Jobs waiting or under way.
  std::size_t queued() const;
  // Signatures checked (cache hits excluded), and transactions found in the cache.
  std::uint64_t verifications() const { return verifications_.load(std::memory_order_relaxed); }
  std::uint64_t cache_hits() const { return cache_hits_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    std::vector<Bytes> transactions;
    Done done;
    Screen screen;                                      // may be empty
    std::vector<Result<VerifiedTransaction>> verdicts;  // of the transactions verified so far
  };
  // One lane's waiting jobs by source, and the sources whose turn is coming (a source a worker
  // is serving is in neither until the worker puts it back).
  struct Lane {
    std::map<Source, std::deque<Job>> jobs;
    std::deque<Source> turns;
    std::size_t count = 0;
  };
  void work();
  // Verifies the next chunk of the source's first job; true once the job is complete.
  bool verify_chunk(Job& job, VerifyingKeyCache& keys);
  Result<VerifiedTransaction> verify(Bytes bytes, VerifyingKeyCache& keys);

  std::string chain_id_;
  const std::size_t capacity_;
  const std::size_t share_;  // of a lane, per source
  std::size_t cache_entries_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  Lane urgent_;
  Lane ordinary_;
  bool closed_ = false;
  std::mutex cache_mutex_;
  std::unordered_set<Hash256, app::Hash256Hasher> verified_;
  std::atomic<std::uint64_t> verifications_{0};
  std::atomic<std::uint64_t> cache_hits_{0};
  std::vector<std::thread> workers_;
};

}  // namespace ballast::node
