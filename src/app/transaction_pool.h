// A bounded, de-duplicated FIFO of transactions waiting for a block. Full means full: a
// newcomer is refused with a reason, nothing already accepted is dropped silently.
// (The fee-priority mempool with eviction, gossip and per-sender limits replaces this in the
// node; the simulator and the single-process paths use this one.)
#pragma once

#include <cstring>
#include <deque>
#include <unordered_map>

#include "base/status.h"
#include "exchange/transaction.h"

namespace ballast::app {

struct PooledTransaction {
  Hash256 id;
  Bytes bytes;
  exchange::Transaction transaction;
  std::uint64_t sequence = 0;  // set by the pool: which queue entry is the live one
};

struct Hash256Hasher {
  std::size_t operator()(const Hash256& hash) const {
    std::size_t word;
    std::memcpy(&word, hash.bytes.data(), sizeof word);
    return word;
  }
};

class TransactionPool {
 public:
  TransactionPool(std::size_t max_transactions, std::size_t max_bytes);

  // Refuses duplicates (already_exists) and, when full, the newcomer (resource_exhausted).
  Status add(PooledTransaction transaction);
  void remove(const Hash256& id);
  bool contains(const Hash256& id) const { return live_.contains(id); }
  std::size_t size() const { return live_.size(); }
  std::size_t bytes() const { return bytes_; }
  // Oldest first. Entries removed since they were queued are skipped.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const PooledTransaction& entry : queue_) {
      if (is_live(entry)) visit(entry);
    }
  }

 private:
  struct Live {
    std::uint64_t sequence;
    std::size_t bytes;
  };
  bool is_live(const PooledTransaction& entry) const {
    auto it = live_.find(entry.id);
    return it != live_.end() && it->second.sequence == entry.sequence;
  }
  void compact();

  std::size_t max_transactions_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::deque<PooledTransaction> queue_;
  std::unordered_map<Hash256, Live, Hash256Hasher> live_;  // the live entries of queue_
};

}  // namespace ballast::app
