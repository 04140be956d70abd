#include "node/gossip_lanes.h"

#include <optional>

#include "base/assert.h"
#include "exchange/transaction.h"

namespace ballast::node {

namespace {

struct Claim {
  std::optional<PublicKey> sender;
  bool is_cancel = false;
};

Claim claim_of(const Bytes& bytes) {
  auto tx = exchange::Transaction::decode(bytes);
  if (!tx.is_ok()) return {};
  return {tx->sender, tx->is_cancel()};
}

}  // namespace

GossipLanes::Split GossipLanes::split(std::vector<Bytes> batch) {
  Split split;
  std::lock_guard lock(mutex_);
  for (Bytes& bytes : batch) {
    const Claim claim = claim_of(bytes);
    if (claim.sender && claim.is_cancel && !waiting_.contains(*claim.sender)) {
      split.urgent.push_back(std::move(bytes));
      continue;
    }
    if (claim.sender) {
      waiting_[*claim.sender] += 1;
      split.waiting.push_back(*claim.sender);
    }
    split.ordinary.push_back(std::move(bytes));
  }
  return split;
}

void GossipLanes::release(const std::vector<PublicKey>& senders) {
  std::lock_guard lock(mutex_);
  for (const PublicKey& sender : senders) {
    auto it = waiting_.find(sender);
    BALLAST_ASSERT_MSG(it != waiting_.end() && it->second > 0, "released a sender not waiting");
    if (--it->second == 0) waiting_.erase(it);
  }
}

std::size_t GossipLanes::waiting_senders() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

}  // namespace ballast::node
