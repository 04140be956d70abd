// A lattice-based homomorphic multiset hash (LtHash, Bellare-Micciancio; 1024 lanes of 16 bits
// as in Facebook's LtHash16). The hash of a set is the lane-wise sum, modulo 2^16, of each
// element's 2048-byte expansion, so adding or removing one element costs one expansion whatever
// the size of the set, and the result does not depend on insertion order.
//
// Elements are given as 32-byte digests; each is expanded with the ChaCha20 stream keyed by the
// digest (RFC 8439 ChaCha20, all-zero 96-bit nonce, block counter 0), computed by OpenSSL 3.
// The expansion is what an update costs (~0.5 us); the lane arithmetic is cheap beside it.
#pragma once

#include <array>
#include <cstdint>

#include "crypto/hash.h"

namespace ballast {

class LtHash {
 public:
  static constexpr std::size_t kLanes = 1024;

  void add(const Hash256& element);
  void remove(const Hash256& element);
  // remove(old_element) and add(new_element) in one pass over the lanes; nothing at all when
  // the two are equal.
  void update(const Hash256& old_element, const Hash256& new_element);

  // A 32-byte summary of the whole multiset.
  Hash256 digest() const;
  ByteView bytes() const;
  bool operator==(const LtHash&) const = default;

 private:
  std::array<std::uint16_t, kLanes> lanes_{};
};

}  // namespace ballast
