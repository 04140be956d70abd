#include "node/missing_gossip.h"

#include "base/assert.h"

namespace ballast::node {

MissingGossip::MissingGossip(std::size_t capacity) : capacity_(capacity) {
  BALLAST_ASSERT(capacity_ > 0);
}

void MissingGossip::record(std::span<const mempool::EntryKey> missing) {
  if (missing.empty()) return;
  recorded_.fetch_add(missing.size(), std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  const std::size_t room = capacity_ - missing_.size();
  const std::size_t named = std::min(room, missing.size());
  missing_.insert(missing_.end(), missing.begin(), missing.begin() + static_cast<long>(named));
  if (named < missing.size()) overflowed_ = true;
  pending_.store(true, std::memory_order_release);
}

MissingGossip::Taken MissingGossip::take() {
  Taken taken;
  if (!pending_.load(std::memory_order_acquire)) return taken;
  std::lock_guard lock(mutex_);
  taken.missing.swap(missing_);
  taken.overflowed = overflowed_;
  overflowed_ = false;
  pending_.store(false, std::memory_order_relaxed);
  return taken;
}

}  // namespace ballast::node
