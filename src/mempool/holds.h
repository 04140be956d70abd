// Holds: senders whose later transactions this node must not put in a block yet, because an
// earlier one of theirs that other validators may hold is missing here (dropped before it
// reached this pool, refused by it, or evicted from it). Included here first, a later nonce
// would make the missing one stale everywhere, and an order another validator acknowledged
// would be lost. docs/MEMPOOL.md "Holds" states the rules.
//
// A hold applies to the sender's entries from every source, except one placed on a peer's
// unchecked claim (a name dropped before its signature check): that applies only to entries
// from that peer, so a Byzantine peer's invented names hold back only what it sends itself,
// which it could withhold anyway. Bounded per scope: past `max_holds`, a new hold holds
// everything from its source for `hold_heights`, which costs this node's blocks those
// transactions for a while but never loses one. Sans-IO.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "crypto/keys.h"

namespace ballast::mempool {

// Where a pooled entry came from, and whose entries a hold applies to.
using Source = std::uint32_t;
constexpr Source kFromClients = 0;                // this node's own clients
constexpr Source kFromAnywhere = 0xFFFF'FFFFu;    // a hold on every source's entries
constexpr Source from_peer(std::uint32_t peer) {  // a peer's gossip, by validator index
  return peer + 1;
}

// A missing transaction, and whose later entries its hold applies to.
struct EntryKey {
  PublicKey sender;
  std::uint64_t nonce = 0;
  std::uint64_t expiry_height = 0;  // the last height that may include it
  Source holds_from = kFromAnywhere;
};

class Holds {
 public:
  Holds(std::size_t max_holds, std::uint64_t hold_heights);

  // Holds `missing.sender`'s nonces above `missing.nonce` (from `missing.holds_from`) until
  // that nonce is used, the missing transaction expires, or `hold_heights` pass after `height`,
  // whichever comes first.
  void hold_behind(const EntryKey& missing, std::uint64_t height);
  // Holds everything from `source` until `hold_heights` pass after `height`: for losses too
  // many to name.
  void hold_everything(std::uint64_t height, Source source = kFromAnywhere);
  // The missing transaction arrived after all: the pool's nonce order now keeps its sender's
  // later ones behind it, whatever their source.
  void arrived(const PublicKey& sender, std::uint64_t nonce);
  // Whether an entry of `sender` with `nonce` that came from `source` must wait.
  bool holds(const PublicKey& sender, std::uint64_t nonce, Source source) const;
  // Whether every source's entries wait.
  bool holds_everything() const { return holds_everything_from(kFromAnywhere); }
  // After a block at `height` (`last_nonce` gives each sender's last used nonce): ends the holds
  // that are over.
  void release(std::uint64_t height,
               const std::function<std::uint64_t(const PublicKey&)>& last_nonce);

  std::size_t size() const;
  // Holds that found their source's share full and held everything from it instead.
  std::uint64_t overflows() const { return overflows_; }

 private:
  using Key = std::pair<Source, PublicKey>;
  bool holds_everything_from(Source source) const;
  bool held_in(const Key& key, std::uint64_t nonce) const;

  const std::size_t max_holds_;
  const std::uint64_t hold_heights_;
  std::map<Key, std::map<std::uint64_t, std::uint64_t>> held_;  // nonce -> the height it ends
  std::map<Source, std::size_t> count_by_source_;     // holds per scope, bounded by max_holds
  std::uint64_t height_ = 0;                          // the highest height seen
  std::map<Source, std::uint64_t> everything_until_;  // bounded by the sources there are
  std::uint64_t overflows_ = 0;
};

}  // namespace ballast::mempool
