#include "app/transaction_pool.h"

namespace ballast::app {

TransactionPool::TransactionPool(std::size_t max_transactions, std::size_t max_bytes)
    : max_transactions_(max_transactions), max_bytes_(max_bytes) {
  BALLAST_ASSERT(max_transactions > 0 && max_bytes > 0);
}

Status TransactionPool::add(PooledTransaction transaction) {
  if (live_.contains(transaction.id)) {
    return Status(StatusCode::kAlreadyExists, "transaction is already pending");
  }
  if (live_.size() >= max_transactions_ || bytes_ + transaction.bytes.size() > max_bytes_) {
    return Status(StatusCode::kResourceExhausted,
                  "transaction pool is full (" + std::to_string(live_.size()) + " transactions, " +
                      std::to_string(bytes_) + " bytes)");
  }
  bytes_ += transaction.bytes.size();
  transaction.sequence = next_sequence_++;
  live_.emplace(transaction.id, Live{transaction.sequence, transaction.bytes.size()});
  queue_.push_back(std::move(transaction));
  return Status::ok();
}

void TransactionPool::remove(const Hash256& id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  bytes_ -= it->second.bytes;
  live_.erase(it);
  compact();
}

// Removed entries stay in the queue until they reach its front, or until they outnumber the
// live ones, so removal stays cheap and the queue stays bounded.
void TransactionPool::compact() {
  while (!queue_.empty() && !is_live(queue_.front())) queue_.pop_front();
  if (queue_.size() > 2 * live_.size() + 64) {
    std::deque<PooledTransaction> kept;
    for (PooledTransaction& entry : queue_) {
      if (is_live(entry)) kept.push_back(std::move(entry));
    }
    queue_ = std::move(kept);
  }
}

}  // namespace ballast::app
