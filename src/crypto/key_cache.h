// Decoded public keys kept for their next signatures: a trader's orders arrive one after the
// other, and decoding the key is about 8% of each check.
//
// Bounded and direct-mapped: a key has one slot (picked by its leading bytes) and takes it over
// from whatever was there. Keys chosen to collide only cost their decoding, as without a cache.
// Not thread-safe: one per thread.
#pragma once

#include <optional>
#include <vector>

#include "crypto/keys.h"

namespace ballast {

class VerifyingKeyCache {
 public:
  // About 100 bytes each: the default takes 400 KiB.
  static constexpr std::size_t kDefaultSlots = 4096;

  // `slots` is rounded up to a power of two.
  explicit VerifyingKeyCache(std::size_t slots = kDefaultSlots);
  // The key decoded, or an error if it is not a point on the curve (which is not kept).
  Result<VerifyingKey> get(const PublicKey& key);
  std::size_t slots() const { return slots_.size(); }

 private:
  struct Slot {
    PublicKey key;
    std::optional<VerifyingKey> decoded;
  };
  std::vector<Slot> slots_;
};

}  // namespace ballast
