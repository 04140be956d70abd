// What this node knows about each recent transaction, by id: pending in its mempool,
// finalized at a height with its result and events, or dropped from the mempool with a reason;
// and the clients waiting for a transaction to be finalized. Owned by the core thread; no
// locks, no I/O, no clock (times are given).
//
// Bounded: at most `max_records` transactions are remembered (the oldest settled ones are
// forgotten first; pending ones are bounded by the mempool) and at most `max_waiters` clients
// wait at once. It never forgets a waiter without answering it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "app/exchange_application.h"
#include "base/status.h"
#include "exchange/events.h"

namespace ballast::node {

enum class TxState { kPending, kFinalized, kDropped };
std::string_view tx_state_name(TxState state);

struct TxRecord {
  TxState state = TxState::kPending;
  std::uint64_t height = 0;                          // finalized: the block's height
  std::int64_t block_time_ms = 0;                    // finalized: the block's timestamp
  std::uint32_t position = 0;                        // finalized: index in the block
  std::shared_ptr<const exchange::TxResult> result;  // finalized: accepted or rejected, events
  std::string drop_reason;                           // dropped: why it left the mempool
};

struct TxTrackerLimits {
  std::size_t max_records = 200'000;
  std::size_t max_waiters = 10'000;
};

class TxTracker {
 public:
  // Answers a waiter once: the record when the transaction settled, nothing on timeout.
  using WaiterReply = std::function<void(const std::optional<TxRecord>&)>;

  explicit TxTracker(TxTrackerLimits limits = {});

  // Admitted to the mempool (by a client or by gossip). A settled record is not reopened.
  void on_pending(const Hash256& id);
  // Included in a finalized block; answers its waiters.
  void on_finalized(const Hash256& id, std::uint64_t height, std::int64_t block_time_ms,
                    std::uint32_t position, std::shared_ptr<const exchange::TxResult> result);
  // Left the mempool without being included; answers its waiters. Ignored if already final.
  void on_dropped(const Hash256& id, std::string reason);

  std::optional<TxRecord> find(const Hash256& id) const;

  // Registers a client that waits until `id` settles or `deadline_ms` passes. Answers at once
  // if it has settled; resource_exhausted when max_waiters are already waiting.
  Status wait(const Hash256& id, std::int64_t deadline_ms, WaiterReply reply);
  // Answers (with nothing) every waiter whose deadline is at or before `now_ms`.
  void expire_waiters(std::int64_t now_ms);
  std::size_t waiters() const { return waiter_count_; }
  std::size_t records() const { return records_.size(); }

 private:
  using Deadlines = std::multimap<std::int64_t, std::pair<Hash256, std::uint64_t>>;
  struct Waiter {
    std::uint64_t serial;
    Deadlines::iterator deadline;
    WaiterReply reply;
  };
  void settle(const Hash256& id, TxRecord record);
  void answer_waiters(const Hash256& id, const TxRecord& record);
  void forget_oldest_settled();

  TxTrackerLimits limits_;
  std::unordered_map<Hash256, TxRecord, app::Hash256Hasher> records_;
  std::deque<Hash256> settled_order_;  // settled ids, oldest first (may hold stale entries)
  std::unordered_map<Hash256, std::vector<Waiter>, app::Hash256Hasher> waiting_;
  Deadlines deadlines_;  // (deadline, (id, waiter serial)), one per waiter
  std::size_t waiter_count_ = 0;
  std::uint64_t next_serial_ = 1;
};

}  // namespace ballast::node
