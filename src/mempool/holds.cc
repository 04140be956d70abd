#include "mempool/holds.h"

#include <algorithm>

#include "base/assert.h"

namespace ballast::mempool {

Holds::Holds(std::size_t max_holds, std::uint64_t hold_heights)
    : max_holds_(max_holds), hold_heights_(hold_heights) {
  BALLAST_ASSERT(max_holds_ > 0 && hold_heights_ > 0);
}

void Holds::hold_behind(const EntryKey& missing, std::uint64_t height) {
  height_ = std::max(height_, height);
  const std::uint64_t until = std::min(missing.expiry_height, height + hold_heights_);
  if (until <= height_) return;  // it could not be included any more
  auto sender = by_sender_.find(missing.sender);
  if (sender != by_sender_.end()) {
    auto held = sender->second.find(missing.nonce);
    if (held != sender->second.end()) {
      held->second = std::max(held->second, until);
      return;
    }
  }
  if (count_ >= max_holds_) {
    overflows_ += 1;
    hold_everything(height);
    return;
  }
  by_sender_[missing.sender].emplace(missing.nonce, until);
  count_ += 1;
}

void Holds::hold_everything(std::uint64_t height) {
  height_ = std::max(height_, height);
  everything_until_ = std::max(everything_until_, height + hold_heights_);
}

void Holds::arrived(const PublicKey& sender, std::uint64_t nonce) {
  auto held = by_sender_.find(sender);
  if (held == by_sender_.end() || held->second.erase(nonce) == 0) return;
  count_ -= 1;
  if (held->second.empty()) by_sender_.erase(held);
}

bool Holds::holds(const PublicKey& sender, std::uint64_t nonce) const {
  if (holds_everything()) return true;
  auto held = by_sender_.find(sender);
  return held != by_sender_.end() && held->second.begin()->first < nonce;
}

void Holds::release(std::uint64_t height,
                    const std::function<std::uint64_t(const PublicKey&)>& last_nonce) {
  height_ = std::max(height_, height);
  for (auto sender = by_sender_.begin(); sender != by_sender_.end();) {
    const std::uint64_t last = last_nonce(sender->first);
    std::erase_if(sender->second, [&](const auto& hold) {
      const auto& [nonce, until] = hold;
      const bool over = nonce <= last || until <= height_;
      if (over) count_ -= 1;
      return over;
    });
    sender = sender->second.empty() ? by_sender_.erase(sender) : std::next(sender);
  }
}

}  // namespace ballast::mempool
