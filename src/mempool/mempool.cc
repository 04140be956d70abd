#include "mempool/mempool.h"

#include <iterator>

namespace ballast::mempool {

namespace {

Status resource_exhausted(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message));
}

std::string describe_fee(const Entry& entry) {
  return (entry.is_cancel ? "cancel, fee " : "fee ") + std::to_string(entry.fee);
}

// Whether `newcomer` ranks strictly above `incumbent` on what it offers (arrival aside): a
// cancel beats any non-cancel, otherwise the higher fee wins.
bool outbids(const Entry& newcomer, const Entry& incumbent) {
  if (newcomer.is_cancel != incumbent.is_cancel) return newcomer.is_cancel;
  return newcomer.fee > incumbent.fee;
}

}  // namespace

bool Mempool::Priority::operator<(const Priority& other) const {
  if (is_cancel != other.is_cancel) return is_cancel;
  if (fee != other.fee) return fee > other.fee;
  return arrival < other.arrival;
}

Mempool::Mempool(MempoolLimits limits)
    : limits_(limits), holds_(limits.max_holds, limits.hold_heights) {
  BALLAST_ASSERT(limits_.max_transactions > 0 && limits_.max_bytes > 0);
  BALLAST_ASSERT(limits_.max_per_sender > 0 && limits_.max_nonce_ahead > 0);
  BALLAST_ASSERT(limits_.max_eviction_reports > 0);
}

Status Mempool::add(Entry entry, std::uint64_t sender_last_nonce, std::uint64_t height,
                    bool gossip) {
  if (contains(entry.id)) {
    return Status(StatusCode::kAlreadyExists, "transaction is already in the mempool")
        .with_reason("duplicate");
  }
  if (entry.bytes.size() > limits_.max_bytes) {
    return resource_exhausted("transaction of " + std::to_string(entry.bytes.size()) +
                              " bytes exceeds the mempool's " + std::to_string(limits_.max_bytes) +
                              " bytes")
        .with_reason("oversize");
  }
  if (entry.expiry_height <= height) {
    return failed_precondition("transaction expired at height " +
                               std::to_string(entry.expiry_height) + " (current height " +
                               std::to_string(height) + ")")
        .with_reason("expired");
  }
  BALLAST_RETURN_IF_ERROR(check_nonce(entry, sender_last_nonce));
  BALLAST_ASSIGN_OR_RETURN(const Entry* replaced, find_replaced(entry));
  if (replaced == nullptr) {
    auto sender = by_sender_.find(entry.sender);
    if (sender != by_sender_.end() && sender->second.size() >= limits_.max_per_sender) {
      return resource_exhausted("sender already has " + std::to_string(sender->second.size()) +
                                " transactions in the mempool (the limit)")
          .with_reason("sender_limit");
    }
  }
  BALLAST_ASSIGN_OR_RETURN(std::vector<Hash256> victims, plan_evictions(entry, replaced));
  if (replaced != nullptr) {
    erase(Hash256(replaced->id),
          "replaced by a transaction with the same nonce and a higher " + describe_fee(entry));
  }
  for (const Hash256& victim : victims) {
    // Other validators may still hold it: this one must not include its successors first.
    const Entry& evicted = entries_.at(victim);
    const EntryKey missing{evicted.sender, evicted.nonce, evicted.expiry_height, kFromAnywhere};
    erase(victim, "evicted from the full mempool by a transaction paying " + describe_fee(entry));
    holds_.hold_behind(missing, height);
  }
  holds_.arrived(entry.sender, entry.nonce);
  insert(std::move(entry), gossip);
  BALLAST_ASSERT(size() <= limits_.max_transactions && bytes_ <= limits_.max_bytes);
  return Status::ok();
}

void Mempool::hold_behind(const EntryKey& missing, std::uint64_t height) {
  auto queue = by_sender_.find(missing.sender);
  if (queue != by_sender_.end() && queue->second.contains(missing.nonce)) return;
  holds_.hold_behind(missing, height);
}

std::vector<const Entry*> Mempool::entries_of(const PublicKey& sender) const {
  std::vector<const Entry*> entries;
  auto queue = by_sender_.find(sender);
  if (queue == by_sender_.end()) return entries;
  entries.reserve(queue->second.size());
  for (const auto& [nonce, id] : queue->second) entries.push_back(&entries_.at(id));
  return entries;
}

void Mempool::for_each_by_sender(const std::function<void(const Entry&)>& visit) const {
  for (const auto& [sender, queue] : by_sender_) {
    for (const auto& [nonce, id] : queue) visit(entries_.at(id));
  }
}

Status Mempool::check_nonce(const Entry& entry, std::uint64_t sender_last_nonce) const {
  if (entry.nonce <= sender_last_nonce) {
    return failed_precondition("nonce " + std::to_string(entry.nonce) + " is already used (last " +
                               std::to_string(sender_last_nonce) + ")")
        .with_reason("stale_nonce");
  }
  if (entry.nonce - sender_last_nonce > limits_.max_nonce_ahead) {
    return failed_precondition("nonce " + std::to_string(entry.nonce) +
                               " is too far ahead of the last used nonce " +
                               std::to_string(sender_last_nonce) + " (at most " +
                               std::to_string(limits_.max_nonce_ahead) + " ahead)")
        .with_reason("nonce_too_far_ahead");
  }
  return Status::ok();
}

// The pooled entry with the newcomer's sender and nonce, which it replaces only by paying more.
Result<const Entry*> Mempool::find_replaced(const Entry& entry) const {
  auto sender = by_sender_.find(entry.sender);
  if (sender == by_sender_.end()) return static_cast<const Entry*>(nullptr);
  auto same_nonce = sender->second.find(entry.nonce);
  if (same_nonce == sender->second.end()) return static_cast<const Entry*>(nullptr);
  const Entry& pooled = entries_.at(same_nonce->second);
  if (entry.fee <= pooled.fee) {
    return Status(StatusCode::kAlreadyExists,
                  "nonce " + std::to_string(entry.nonce) +
                      " of this sender is already in the mempool with fee " +
                      std::to_string(pooled.fee) + "; a replacement must pay a higher fee")
        .with_reason("nonce_pending");
  }
  return &pooled;
}

// The cheapest entries the newcomer must evict to fit (after `replaced` leaves), or why it may
// not: it must outbid every one of them. Nothing changes here, so a refusal leaves the pool as
// it was.
Result<std::vector<Hash256>> Mempool::plan_evictions(const Entry& entry,
                                                     const Entry* replaced) const {
  std::size_t count = size() + 1;
  std::size_t total = bytes_ + entry.bytes.size();
  if (replaced != nullptr) {
    count -= 1;
    total -= replaced->bytes.size();
  }
  std::vector<Hash256> victims;
  auto cheapest = by_priority_.rbegin();
  while (count > limits_.max_transactions || total > limits_.max_bytes) {
    // Evicting everything else always makes room: the entry alone fits the byte limit.
    BALLAST_ASSERT(cheapest != by_priority_.rend());
    const Entry& candidate = entries_.at(cheapest->second);
    ++cheapest;
    if (&candidate == replaced) continue;
    if (!outbids(entry, candidate)) {
      return resource_exhausted("mempool full: fee " + std::to_string(entry.fee) +
                                " does not outbid the cheapest (" + describe_fee(candidate) + ")")
          .with_reason("mempool_full");
    }
    victims.push_back(candidate.id);
    count -= 1;
    total -= candidate.bytes.size();
  }
  return victims;
}

void Mempool::insert(Entry entry, bool gossip) {
  entry.arrival = next_arrival_++;
  const Hash256 id = entry.id;
  const Priority priority = priority_of(entry);
  SenderQueue& queue = by_sender_[entry.sender];
  if (!queue.empty() && entry.nonce < queue.begin()->first) {
    heads_.erase(priority_of(entries_.at(queue.begin()->second)));
  }
  const bool new_nonce = queue.emplace(entry.nonce, id).second;
  BALLAST_ASSERT(new_nonce);
  if (queue.begin()->second == id) heads_.emplace(priority, id);
  by_priority_.emplace(priority, id);
  by_expiry_.emplace(std::pair(entry.expiry_height, entry.arrival), id);
  if (gossip) gossip_.emplace(entry.arrival, id);
  bytes_ += entry.bytes.size();
  const bool new_id = entries_.emplace(id, std::move(entry)).second;
  BALLAST_ASSERT(new_id);
  BALLAST_ASSERT(by_priority_.size() == entries_.size() && by_expiry_.size() == entries_.size());
}

void Mempool::erase(const Hash256& id, std::string reason) {
  report(id, std::move(reason));
  erase_silently(id);
}

void Mempool::erase_silently(const Hash256& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  const Entry& entry = it->second;
  const Priority priority = priority_of(entry);
  BALLAST_ASSERT(by_priority_.erase(priority) == 1);
  BALLAST_ASSERT(by_expiry_.erase(std::pair(entry.expiry_height, entry.arrival)) == 1);
  gossip_.erase(entry.arrival);
  auto sender = by_sender_.find(entry.sender);
  BALLAST_ASSERT(sender != by_sender_.end());
  SenderQueue& queue = sender->second;
  const bool was_head = queue.begin()->first == entry.nonce;
  BALLAST_ASSERT(queue.erase(entry.nonce) == 1);
  if (was_head) {
    BALLAST_ASSERT(heads_.erase(priority) == 1);
    if (!queue.empty()) {
      heads_.emplace(priority_of(entries_.at(queue.begin()->second)), queue.begin()->second);
    }
  }
  if (queue.empty()) by_sender_.erase(sender);
  bytes_ -= entry.bytes.size();
  entries_.erase(it);
  BALLAST_ASSERT(heads_.size() == by_sender_.size());
}

void Mempool::report(const Hash256& id, std::string reason) {
  if (evicted_.size() >= limits_.max_eviction_reports) {
    evicted_.pop_front();
    ++eviction_reports_dropped_;
  }
  evicted_.emplace_back(id, std::move(reason));
}

void Mempool::remove(const Hash256& id) {
  erase_silently(id);
}

const Entry* Mempool::successor_of(const Entry& entry) const {
  const SenderQueue& queue = by_sender_.at(entry.sender);
  auto next = queue.upper_bound(entry.nonce);
  return next == queue.end() ? nullptr : &entries_.at(next->second);
}

// A merge of two ordered sources: the senders' first entries (heads_, kept up to date by every
// change), and the successors of entries already taken or skipped here. Each sender has at most
// one candidate at a time, so its entries come out in nonce order, and each step is O(log n).
std::vector<const Entry*> Mempool::select(std::size_t max_count, std::size_t max_bytes,
                                          const std::function<bool(const Entry&)>& skip) const {
  std::vector<const Entry*> chosen;
  if (holds_.holds_everything()) return chosen;
  std::size_t total = 0;
  std::map<Priority, const Entry*> successors;
  auto head = heads_.begin();
  while (chosen.size() < max_count) {
    const Entry* next = nullptr;
    if (head != heads_.end() && (successors.empty() || head->first < successors.begin()->first)) {
      next = &entries_.at(head->second);
      ++head;
    } else if (!successors.empty()) {
      next = successors.begin()->second;
      successors.erase(successors.begin());
    } else {
      break;
    }
    // Its successors are held too, or came from elsewhere and wait for it anyway.
    if (holds_.holds(next->sender, next->nonce, next->source)) continue;
    if (!skip || !skip(*next)) {
      if (next->bytes.size() > max_bytes - total) break;
      chosen.push_back(next);
      total += next->bytes.size();
    }
    if (const Entry* after = successor_of(*next)) successors.emplace(priority_of(*after), after);
  }
  return chosen;
}

std::size_t Mempool::prune(std::uint64_t height,
                           const std::function<std::uint64_t(const PublicKey&)>& last_nonce) {
  std::vector<std::pair<Hash256, std::string>> dropped;
  for (const auto& [key, id] : by_expiry_) {
    if (key.first > height) break;
    dropped.emplace_back(
        id, "expired at height " + std::to_string(key.first) + " before it was included");
  }
  for (const auto& [sender, queue] : by_sender_) {
    const std::uint64_t last = last_nonce(sender);
    for (auto it = queue.begin(); it != queue.end() && it->first <= last; ++it) {
      if (entries_.at(it->second).expiry_height <= height) continue;  // already listed
      dropped.emplace_back(it->second, "nonce " + std::to_string(it->first) +
                                           " was used by another transaction (last " +
                                           std::to_string(last) + ")");
    }
  }
  for (auto& [id, reason] : dropped) erase(id, std::move(reason));
  holds_.release(height, last_nonce);
  return dropped.size();
}

std::vector<std::pair<Hash256, std::string>> Mempool::take_evicted() {
  std::vector<std::pair<Hash256, std::string>> taken(std::make_move_iterator(evicted_.begin()),
                                                     std::make_move_iterator(evicted_.end()));
  evicted_.clear();
  return taken;
}

std::vector<Bytes> Mempool::take_gossip(std::size_t max_bytes) {
  std::vector<Bytes> cancels = take_gossip_where(max_bytes, /*only_leading_cancels=*/true);
  if (!cancels.empty()) return cancels;
  return take_gossip_where(max_bytes, /*only_leading_cancels=*/false);
}

// In arrival order, skipping (with only_leading_cancels) every entry that is not a cancel and
// every entry of a sender with an earlier entry still queued and skipped: so nothing a sender
// sent is ever taken ahead of what it sent before.
std::vector<Bytes> Mempool::take_gossip_where(std::size_t max_bytes, bool only_leading_cancels) {
  std::vector<Bytes> batch;
  std::size_t total = 0;
  std::set<PublicKey> held_back;
  for (auto next = gossip_.begin(); next != gossip_.end();) {
    const Entry& entry = entries_.at(next->second);
    if (entry.bytes.size() > max_bytes) {
      next = gossip_.erase(next);  // could never fit a batch
      continue;
    }
    if (only_leading_cancels && (!entry.is_cancel || held_back.contains(entry.sender))) {
      held_back.insert(entry.sender);
      ++next;
      continue;
    }
    if (entry.bytes.size() > max_bytes - total) break;
    total += entry.bytes.size();
    batch.push_back(entry.bytes);
    next = gossip_.erase(next);
  }
  return batch;
}

}  // namespace ballast::mempool
