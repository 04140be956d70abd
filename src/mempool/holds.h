// Holds: senders whose later transactions this node must not put in a block yet, because an
// earlier one of theirs that other validators may hold is missing here (dropped before it
// reached this pool, refused by it, or evicted from it). Included here first, a later nonce
// would make the missing one stale everywhere, and an order another validator acknowledged
// would be lost. docs/MEMPOOL.md "Holds" states the rules.
//
// Bounded: past `max_holds` a new hold holds every sender for `hold_heights`, which costs this
// node's blocks their transactions for a while but never loses one. Sans-IO.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "crypto/keys.h"

namespace ballast::mempool {

// A transaction by what a hold needs of it.
struct EntryKey {
  PublicKey sender;
  std::uint64_t nonce = 0;
  std::uint64_t expiry_height = 0;  // the last height that may include it
};

class Holds {
 public:
  Holds(std::size_t max_holds, std::uint64_t hold_heights);

  // Holds `missing.sender`'s nonces above `missing.nonce` until that nonce is used, the missing
  // transaction expires, or `hold_heights` pass after `height`, whichever comes first.
  void hold_behind(const EntryKey& missing, std::uint64_t height);
  // Holds every sender until `hold_heights` pass after `height`: for losses too many to track.
  void hold_everything(std::uint64_t height);
  // The missing transaction arrived after all: the pool's nonce order now keeps its sender's
  // later ones behind it.
  void arrived(const PublicKey& sender, std::uint64_t nonce);
  // Whether a transaction of `sender` with `nonce` must wait.
  bool holds(const PublicKey& sender, std::uint64_t nonce) const;
  bool holds_everything() const { return everything_until_ > height_; }
  // After a block at `height` (`last_nonce` gives each sender's last used nonce): ends the holds
  // that are over.
  void release(std::uint64_t height,
               const std::function<std::uint64_t(const PublicKey&)>& last_nonce);

  std::size_t size() const { return count_; }
  // Holds that found the table full and held everything instead.
  std::uint64_t overflows() const { return overflows_; }

 private:
  const std::size_t max_holds_;
  const std::uint64_t hold_heights_;
  std::map<PublicKey, std::map<std::uint64_t, std::uint64_t>> by_sender_;  // nonce -> until
  std::size_t count_ = 0;
  std::uint64_t height_ = 0;  // the highest height seen
  std::uint64_t everything_until_ = 0;
  std::uint64_t overflows_ = 0;
};

}  // namespace ballast::mempool
