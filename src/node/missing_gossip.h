// Peer transactions this node received but dropped before its core saw them (a full
// verification lane or core inbox). The I/O and verification threads record them; the core
// takes them and its mempool holds back those senders' later transactions, so this node never
// includes a later nonce ahead of one it dropped (docs/MEMPOOL.md "Holds").
//
// Bounded per peer: past `capacity_per_peer` unread records of one peer, further ones are kept
// only as the fact that some were lost, and the core then holds everything from that peer for
// a while. One peer's records never crowd out another's.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <vector>

#include "mempool/holds.h"

namespace ballast::node {

class MissingGossip {
 public:
  explicit MissingGossip(std::size_t capacity_per_peer);

  // Thread-safe: `peer`'s transactions `missing` were dropped. Those whose signatures were
  // checked (`verified`) hold their senders' entries from every source; the others only those
  // from `peer`, since a Byzantine peer could name anyone.
  void record(std::uint32_t peer, std::span<const mempool::EntryKey> missing, bool verified);

  struct Taken {
    std::vector<mempool::EntryKey> missing;
    std::set<mempool::Source> overflowed;  // peers that lost more than `missing` names
  };
  // Thread-safe; cheap when nothing was recorded since the last call.
  Taken take();
  // Every transaction recorded, named or not.
  std::uint64_t recorded() const { return recorded_.load(std::memory_order_relaxed); }

 private:
  const std::size_t capacity_per_peer_;
  std::atomic<bool> pending_{false};
  std::atomic<std::uint64_t> recorded_{0};
  std::mutex mutex_;
  std::map<mempool::Source, std::vector<mempool::EntryKey>> missing_;  // by peer
  std::set<mempool::Source> overflowed_;
};

}  // namespace ballast::node
