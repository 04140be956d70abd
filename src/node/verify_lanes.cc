#include "node/verify_lanes.h"

#include "app/exchange_application.h"
#include "base/assert.h"
#include "exchange/transaction.h"

namespace ballast::node {

bool VerifyLanes::choose_urgent(const std::optional<PublicKey>& sender, bool is_cancel) {
  if (!sender) return false;
  std::lock_guard lock(mutex_);
  if (is_cancel && !waiting_.contains(*sender)) return true;
  waiting_[*sender] += 1;
  return false;
}

void VerifyLanes::release(const std::vector<PublicKey>& senders) {
  std::lock_guard lock(mutex_);
  for (const PublicKey& sender : senders) {
    auto it = waiting_.find(sender);
    BALLAST_ASSERT_MSG(it != waiting_.end() && it->second > 0, "released a sender not waiting");
    if (--it->second == 0) waiting_.erase(it);
  }
}

std::size_t VerifyLanes::waiting_senders() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

VerifyLanes::Split VerifyLanes::split(std::vector<Bytes> batch) {
  Split split;
  for (Bytes& bytes : batch) {
    auto tx = exchange::Transaction::decode(bytes);
    std::optional<PublicKey> sender = tx.is_ok() ? std::optional(tx->sender) : std::nullopt;
    const bool urgent = choose_urgent(sender, tx.is_ok() && tx->is_cancel());
    if (tx.is_ok()) {
      (urgent ? split.urgent_keys : split.ordinary_keys).push_back(app::missing_key(*tx));
    }
    if (urgent) {
      split.urgent.push_back(std::move(bytes));
      continue;
    }
    if (sender) split.waiting.push_back(*sender);
    split.ordinary.push_back(std::move(bytes));
  }
  return split;
}

}  // namespace ballast::node
