#include "node/verify_pool.h"

#include "exchange/transaction.h"
#include "node/thread_name.h"

namespace ballast::node {

VerifyPool::VerifyPool(std::string chain_id, std::size_t threads, std::size_t queue_capacity,
                       std::size_t cache_entries)
    : chain_id_(std::move(chain_id)), cache_entries_(cache_entries), jobs_(queue_capacity) {
  BALLAST_ASSERT(threads > 0);
  for (std::size_t i = 0; i < threads; ++i) {
    workers_.emplace_back([this, i] {
      name_this_thread("verify-" + std::to_string(i));
      work();
    });
  }
}

VerifyPool::~VerifyPool() {
  jobs_.close();
  for (std::thread& worker : workers_) worker.join();
}

bool VerifyPool::submit(std::vector<Bytes> transactions, Done done, bool urgent) {
  Job job{std::move(transactions), std::move(done)};
  return urgent ? jobs_.try_push_urgent(job) : jobs_.try_push(job);
}

void VerifyPool::work() {
  for (;;) {
    auto job = jobs_.pop_until(std::chrono::steady_clock::time_point::max());
    if (!job) return;  // closed and drained
    std::vector<Result<VerifiedTransaction>> verdicts;
    verdicts.reserve(job->transactions.size());
    for (Bytes& bytes : job->transactions) verdicts.push_back(verify(std::move(bytes)));
    job->done(std::move(verdicts));
  }
}

Result<VerifiedTransaction> VerifyPool::verify(Bytes bytes) {
  Hash256 id = sha256(bytes);
  if (cached(id)) {
    cache_hits_.fetch_add(1, std::memory_order_relaxed);
    return VerifiedTransaction{id, std::move(bytes)};
  }
  auto tx = exchange::Transaction::decode(bytes);
  if (!tx.is_ok()) return Status(tx.status()).with_reason("malformed");
  verifications_.fetch_add(1, std::memory_order_relaxed);
  if (!tx->signature_valid(chain_id_)) {
    return permission_denied("signature does not verify").with_reason("bad_signature");
  }
  remember(id);
  return VerifiedTransaction{id, std::move(bytes)};
}

bool VerifyPool::cached(const Hash256& id) {
  std::lock_guard lock(cache_mutex_);
  return verified_.contains(id);
}

void VerifyPool::remember(const Hash256& id) {
  std::lock_guard lock(cache_mutex_);
  // A full cache starts over rather than grow: re-verifying is the only cost.
  if (verified_.size() >= cache_entries_) verified_.clear();
  verified_.insert(id);
}

}  // namespace ballast::node
