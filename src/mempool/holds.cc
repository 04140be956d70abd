#include "mempool/holds.h"

#include <algorithm>
#include <iterator>

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
  const Key key{missing.holds_from, missing.sender};
  auto held = held_.find(key);
  if (held != held_.end()) {
    auto nonce = held->second.find(missing.nonce);
    if (nonce != held->second.end()) {
      nonce->second = std::max(nonce->second, until);
      return;
    }
  }
  std::size_t& share = count_by_source_[missing.holds_from];
  if (share >= max_holds_) {
    overflows_ += 1;
    hold_everything(height, missing.holds_from);
    return;
  }
  held_[key].emplace(missing.nonce, until);
  share += 1;
}

void Holds::hold_everything(std::uint64_t height, Source source) {
  height_ = std::max(height_, height);
  std::uint64_t& until = everything_until_[source];
  until = std::max(until, height + hold_heights_);
}

void Holds::arrived(const PublicKey& sender, std::uint64_t nonce) {
  if (held_.empty()) return;  // the usual case, on every admission
  for (auto source = count_by_source_.begin(); source != count_by_source_.end(); ++source) {
    auto held = held_.find(Key{source->first, sender});
    if (held == held_.end() || held->second.erase(nonce) == 0) continue;
    source->second -= 1;
    if (held->second.empty()) held_.erase(held);
  }
}

std::size_t Holds::size() const {
  std::size_t total = 0;
  for (const auto& [source, count] : count_by_source_) total += count;
  return total;
}

bool Holds::holds_everything_from(Source source) const {
  auto until = everything_until_.find(source);
  return until != everything_until_.end() && until->second > height_;
}

bool Holds::held_in(const Key& key, std::uint64_t nonce) const {
  auto held = held_.find(key);
  return held != held_.end() && held->second.begin()->first < nonce;
}

bool Holds::holds(const PublicKey& sender, std::uint64_t nonce, Source source) const {
  if (held_.empty() && everything_until_.empty()) return false;  // the usual case
  if (holds_everything() || holds_everything_from(source)) return true;
  return held_in(Key{kFromAnywhere, sender}, nonce) || held_in(Key{source, sender}, nonce);
}

void Holds::release(std::uint64_t height,
                    const std::function<std::uint64_t(const PublicKey&)>& last_nonce) {
  height_ = std::max(height_, height);
  std::erase_if(everything_until_, [&](const auto& until) { return until.second <= height_; });
  for (auto held = held_.begin(); held != held_.end();) {
    const std::uint64_t last = last_nonce(held->first.second);
    std::size_t& share = count_by_source_.at(held->first.first);
    std::erase_if(held->second, [&](const auto& hold) {
      const auto& [nonce, until] = hold;
      const bool over = nonce <= last || until <= height_;
      if (over) share -= 1;
      return over;
    });
    held = held->second.empty() ? held_.erase(held) : std::next(held);
  }
}

}  // namespace ballast::mempool
