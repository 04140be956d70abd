#include "node/verify_pool.h"

#include <algorithm>

#include "exchange/transaction.h"
#include "node/thread_name.h"

namespace ballast::node {

VerifyPool::VerifyPool(std::string chain_id, std::size_t threads, std::size_t queue_capacity,
                       std::size_t cache_entries)
    : chain_id_(std::move(chain_id)),
      capacity_(queue_capacity),
      share_(std::max<std::size_t>(1, queue_capacity / kSharesPerLane)),
      cache_entries_(cache_entries) {
  BALLAST_ASSERT(threads > 0 && queue_capacity > 0);
  for (std::size_t i = 0; i < threads; ++i) {
    workers_.emplace_back([this, i] {
      name_this_thread("verify-" + std::to_string(i));
      work();
    });
  }
}

VerifyPool::~VerifyPool() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

bool VerifyPool::submit(Source source, std::vector<Bytes> transactions, Done done, bool urgent,
                        Screen screen) {
  {
    std::lock_guard lock(mutex_);
    Lane& lane = urgent ? urgent_ : ordinary_;
    if (closed_ || lane.count >= capacity_) return false;
    auto queued = lane.jobs.find(source);
    if (queued != lane.jobs.end() && queued->second.size() >= share_) return false;
    auto [waiting, first] = lane.jobs.try_emplace(source);
    // A source with jobs already waiting has its turn coming, or a worker serving it.
    if (first) lane.turns.push_back(source);
    waiting->second.push_back(Job{std::move(transactions), std::move(done), std::move(screen), {}});
    lane.count += 1;
  }
  ready_.notify_one();
  return true;
}

std::size_t VerifyPool::queued() const {
  std::lock_guard lock(mutex_);
  return urgent_.count + ordinary_.count;
}

void VerifyPool::work() {
  VerifyingKeyCache keys;  // senders' keys, decoded once
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait(lock,
                [&] { return closed_ || !urgent_.turns.empty() || !ordinary_.turns.empty(); });
    Lane& lane = !urgent_.turns.empty() ? urgent_ : ordinary_;
    if (lane.turns.empty()) return;  // closed, and no job waits for a worker
    const Source source = lane.turns.front();
    lane.turns.pop_front();
    std::deque<Job>& jobs = lane.jobs.at(source);
    Job& job = jobs.front();  // stays put: only this worker takes from `jobs` until it is back
    lock.unlock();
    const bool complete = verify_chunk(job, keys);
    std::optional<Job> finished;
    lock.lock();
    if (complete) {
      finished.emplace(std::move(job));
      jobs.pop_front();
      lane.count -= 1;
      // Its next job waits until this one's verdicts are out, so a source's jobs finish in order.
      lock.unlock();
      finished->done(std::move(finished->verdicts));
      lock.lock();
    }
    if (jobs.empty()) {
      lane.jobs.erase(source);
    } else {
      lane.turns.push_back(source);
      ready_.notify_one();
    }
  }
}

bool VerifyPool::verify_chunk(Job& job, VerifyingKeyCache& keys) {
  const std::size_t from = job.verdicts.size();
  const std::size_t to = std::min(job.transactions.size(), from + kChunk);
  job.verdicts.reserve(job.transactions.size());
  for (std::size_t i = from; i < to; ++i) {
    Status screened = job.screen ? job.screen(i) : Status::ok();
    job.verdicts.push_back(screened.is_ok() ? verify(std::move(job.transactions[i]), keys)
                                            : Result<VerifiedTransaction>(std::move(screened)));
  }
  return to == job.transactions.size();
}

Result<VerifiedTransaction> VerifyPool::verify(Bytes bytes, VerifyingKeyCache& keys) {
  Hash256 id = sha256(bytes);
  if (has_verified(id)) {
    cache_hits_.fetch_add(1, std::memory_order_relaxed);
    return VerifiedTransaction{id, std::move(bytes)};
  }
  auto tx = exchange::Transaction::decode(bytes);
  if (!tx.is_ok()) return Status(tx.status()).with_reason("malformed");
  verifications_.fetch_add(1, std::memory_order_relaxed);
  if (!tx->signature_valid(chain_id_, keys)) {
    return permission_denied("signature does not verify").with_reason("bad_signature");
  }
  note_verified(id);
  return VerifiedTransaction{id, std::move(bytes)};
}

bool VerifyPool::has_verified(const Hash256& id) {
  std::lock_guard lock(cache_mutex_);
  return verified_.contains(id);
}

void VerifyPool::note_verified(const Hash256& id) {
  std::lock_guard lock(cache_mutex_);
  // A full cache starts over rather than grow: re-verifying is the only cost.
  if (verified_.size() >= cache_entries_) verified_.clear();
  verified_.insert(id);
}

}  // namespace ballast::node
