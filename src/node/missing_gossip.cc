#include "node/missing_gossip.h"

#include "base/assert.h"

namespace ballast::node {

MissingGossip::MissingGossip(std::size_t capacity_per_peer)
    : capacity_per_peer_(capacity_per_peer) {
  BALLAST_ASSERT(capacity_per_peer_ > 0);
}

void MissingGossip::record(std::uint32_t peer, std::span<const mempool::EntryKey> missing,
                           bool verified) {
  if (missing.empty()) return;
  recorded_.fetch_add(missing.size(), std::memory_order_relaxed);
  const mempool::Source source = mempool::from_peer(peer);
  std::lock_guard lock(mutex_);
  std::vector<mempool::EntryKey>& named = missing_[source];
  for (const mempool::EntryKey& key : missing) {
    if (named.size() >= capacity_per_peer_) {
      overflowed_.insert(source);
      break;
    }
    named.push_back(key);
    named.back().holds_from = verified ? mempool::kFromAnywhere : source;
  }
  pending_.store(true, std::memory_order_release);
}

MissingGossip::Taken MissingGossip::take() {
  Taken taken;
  if (!pending_.load(std::memory_order_acquire)) return taken;
  std::lock_guard lock(mutex_);
  for (auto& [source, named] : missing_) {
    taken.missing.insert(taken.missing.end(), named.begin(), named.end());
  }
  missing_.clear();
  taken.overflowed.swap(overflowed_);
  pending_.store(false, std::memory_order_relaxed);
  return taken;
}

}  // namespace ballast::node
