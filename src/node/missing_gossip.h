// Peer transactions this node received but dropped before its core saw them (a full
// verification lane or core inbox). The I/O and verification threads record them; the core
// takes them and its mempool holds their senders' later transactions back, so this node never
// includes a later nonce ahead of one it dropped (docs/MEMPOOL.md "Holds").
//
// Bounded: past `capacity` unread records, further ones are kept only as the fact that some
// were lost, and the core then holds every sender for a while.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "mempool/holds.h"

namespace ballast::node {

class MissingGossip {
 public:
  explicit MissingGossip(std::size_t capacity);

  // Thread-safe.
  void record(std::span<const mempool::EntryKey> missing);

  struct Taken {
    std::vector<mempool::EntryKey> missing;
    bool overflowed = false;  // more were lost than `missing` names
  };
  // Thread-safe; cheap when nothing was recorded since the last call.
  Taken take();
  // Every transaction recorded, named or not.
  std::uint64_t recorded() const { return recorded_.load(std::memory_order_relaxed); }

 private:
  const std::size_t capacity_;
  std::atomic<bool> pending_{false};
  std::atomic<std::uint64_t> recorded_{0};
  std::mutex mutex_;
  std::vector<mempool::EntryKey> missing_;
  bool overflowed_ = false;
};

}  // namespace ballast::node
