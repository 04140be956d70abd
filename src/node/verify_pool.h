// Signature verification off the core thread. Client and gossiped transactions are decoded and
// their signatures checked by a few worker threads before the core sees them; the ids of
// transactions already verified are cached (bounded), so each is checked once per node.
#pragma once

#include <functional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "app/exchange_application.h"
#include "node/bounded_queue.h"

namespace ballast::node {

struct VerifiedTransaction {
  Hash256 id;
  Bytes bytes;
};

class VerifyPool {
 public:
  // Called on a worker thread with the verdict for each transaction of a job.
  using Done = std::function<void(std::vector<Result<VerifiedTransaction>>)>;

  VerifyPool(std::string chain_id, std::size_t threads, std::size_t queue_capacity,
             std::size_t cache_entries);
  ~VerifyPool();
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  // False when the queue is full: the caller reports overload, nothing was queued. Urgent jobs
  // (cancels) are verified before every ordinary one queued, and have a bound of their own.
  bool submit(std::vector<Bytes> transactions, Done done, bool urgent = false);
  std::size_t queued() const { return jobs_.size(); }
  // Signatures checked (cache hits excluded), and transactions found in the cache.
  std::uint64_t verifications() const { return verifications_.load(std::memory_order_relaxed); }
  std::uint64_t cache_hits() const { return cache_hits_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    std::vector<Bytes> transactions;
    Done done;
  };
  void work();
  Result<VerifiedTransaction> verify(Bytes bytes);
  bool cached(const Hash256& id);
  void remember(const Hash256& id);

  std::string chain_id_;
  std::size_t cache_entries_;
  BoundedQueue<Job> jobs_;
  std::mutex cache_mutex_;
  std::unordered_set<Hash256, app::Hash256Hasher> verified_;
  std::atomic<std::uint64_t> verifications_{0};
  std::atomic<std::uint64_t> cache_hits_{0};
  std::vector<std::thread> workers_;
};

}  // namespace ballast::node
