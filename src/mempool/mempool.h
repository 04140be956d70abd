// The mempool: transactions admitted but not yet in a finalized block, bounded by count, bytes
// and per sender, kept in priority order (cancels, then fee, then arrival) for block building,
// with per-sender nonce order preserved. docs/MEMPOOL.md states the rules.
//
// It holds generic entries the application describes and never decodes them, so it knows
// nothing of the exchange or of consensus. Sans-IO: it never reads a clock, file, socket,
// thread or random source; arrival order is a counter. Nothing admitted leaves silently: every
// eviction or prune is reported with its reason through take_evicted().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "mempool/holds.h"

namespace ballast::mempool {

struct Entry {
  Hash256 id;
  Bytes bytes;
  PublicKey sender;
  std::uint64_t nonce = 0;
  std::uint64_t fee = 0;
  bool is_cancel = false;
  std::uint64_t expiry_height = 0;  // the last height that may include it
  std::uint64_t arrival = 0;        // set by the pool: admission order
  Source source = kFromClients;     // whose holds apply to it (holds.h)
};

struct MempoolLimits {
  std::size_t max_transactions = 20'000;
  std::size_t max_bytes = 8 << 20;
  std::size_t max_per_sender = 256;
  std::uint64_t max_nonce_ahead = 1'000;     // a nonce at most this far past the sender's last
  std::size_t max_eviction_reports = 1'024;  // unread reports kept; the oldest go first
  std::size_t max_holds = 65'536;            // missing transactions tracked (holds.h)
  std::uint64_t hold_heights = 64;           // the longest a hold lasts
};

class Mempool {
 public:
  explicit Mempool(MempoolLimits limits = {});

  // Admits `entry` given its sender's last used nonce and the current (executed) height, or
  // says why not and changes nothing. A full pool admits a newcomer only by evicting cheaper
  // entries. With `gossip`, the entry is also queued for take_gossip().
  Status add(Entry entry, std::uint64_t sender_last_nonce, std::uint64_t height,
             bool gossip = false);

  // A transaction of `missing.sender` that another validator may hold is not here (it was
  // dropped on its way, or refused): until it is used, expires or the hold lasts its limit,
  // select() takes none of that sender's entries with a higher nonce that came from
  // `missing.holds_from` (holds.h). Nothing if that nonce is pooled. An entry this pool evicts
  // leaves such a hold on every source by itself.
  void hold_behind(const EntryKey& missing, std::uint64_t height);
  // Losses too many to name: select() takes nothing from `source` until `hold_heights` pass
  // after `height`.
  void hold_everything(std::uint64_t height, Source source = kFromAnywhere) {
    holds_.hold_everything(height, source);
  }
  const Holds& holds() const { return holds_; }

  // Entries for a block, best first: cancels, then higher fee, then earlier arrival, except
  // that an entry becomes eligible only after its sender's lower-nonce pooled entries, and
  // never while a hold keeps it back. Entries for which `skip` is true are passed over (and no
  // longer hold back that sender's next ones). Stops at `max_count` entries or when the next
  // would take the total past `max_bytes`. The pointers are valid until the pool next changes.
  std::vector<const Entry*> select(std::size_t max_count, std::size_t max_bytes,
                                   const std::function<bool(const Entry&)>& skip) const;

  // Forgets an entry (included in a block); unknown ids are ignored. Not reported as evicted.
  void remove(const Hash256& id);

  // After a block at `height`: drops entries that expired or whose nonce the sender has now
  // used (`last_nonce` gives each sender's last used nonce), and ends the holds that are over.
  // Returns how many entries were dropped; each is reported through take_evicted().
  std::size_t prune(std::uint64_t height,
                    const std::function<std::uint64_t(const PublicKey&)>& last_nonce);

  // Entries dropped without being included (id and reason), oldest first, since the last call.
  std::vector<std::pair<Hash256, std::string>> take_evicted();

  // Entries admitted with gossip since the last call, at most `max_bytes` in total; the rest
  // wait for the next call. Cancels first: while any queued cancel has no earlier queued entry
  // of its sender, a batch holds only such cancels (in arrival order); then the rest, in
  // arrival order. Each sender's entries thus leave in the order they arrived. The entries stay
  // pooled. An entry larger than `max_bytes` on its own could never be sent, so it is taken off
  // the gossip queue (it stays pooled and can still be included by this node).
  std::vector<Bytes> take_gossip(std::size_t max_bytes);

  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool contains(const Hash256& id) const { return entries_.contains(id); }
  // The sender's pooled entries, lowest nonce first. The pointers are valid until the pool next
  // changes.
  std::vector<const Entry*> entries_of(const PublicKey& sender) const;
  // Every entry, sender by sender, each sender's lowest nonce first.
  void for_each_by_sender(const std::function<void(const Entry&)>& visit) const;
  std::size_t gossip_pending() const { return gossip_.size(); }
  // Reports dropped unread because max_eviction_reports were already waiting.
  std::uint64_t eviction_reports_dropped() const { return eviction_reports_dropped_; }
  const MempoolLimits& limits() const { return limits_; }

 private:
  // Best first: cancels, then higher fee, then earlier arrival (unique, so keys never tie).
  struct Priority {
    bool is_cancel = false;
    std::uint64_t fee = 0;
    std::uint64_t arrival = 0;
    bool operator<(const Priority& other) const;
  };
  static Priority priority_of(const Entry& entry) {
    return {entry.is_cancel, entry.fee, entry.arrival};
  }
  using SenderQueue = std::map<std::uint64_t, Hash256>;  // nonce -> id

  Status check_nonce(const Entry& entry, std::uint64_t sender_last_nonce) const;
  Result<const Entry*> find_replaced(const Entry& entry) const;
  Result<std::vector<Hash256>> plan_evictions(const Entry& entry, const Entry* replaced) const;
  void insert(Entry entry, bool gossip);
  void erase(const Hash256& id, std::string reason);
  void erase_silently(const Hash256& id);
  void report(const Hash256& id, std::string reason);
  const Entry* successor_of(const Entry& entry) const;
  std::vector<Bytes> take_gossip_where(std::size_t max_bytes, bool only_leading_cancels);

  MempoolLimits limits_;
  Holds holds_;
  std::uint64_t next_arrival_ = 0;
  std::size_t bytes_ = 0;
  std::map<Hash256, Entry> entries_;
  std::map<Priority, Hash256> by_priority_;  // every entry
  // Each sender's lowest-nonce entry: the ones select() may take first.
  std::map<Priority, Hash256> heads_;
  std::map<PublicKey, SenderQueue> by_sender_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, Hash256> by_expiry_;  // (expiry, arrival)
  std::map<std::uint64_t, Hash256> gossip_;                               // arrival -> id
  std::deque<std::pair<Hash256, std::string>> evicted_;
  std::uint64_t eviction_reports_dropped_ = 0;
};

}  // namespace ballast::mempool
