#include "crypto/key_cache.h"

#include <bit>
#include <cstring>

#include "base/assert.h"

namespace ballast {

VerifyingKeyCache::VerifyingKeyCache(std::size_t slots) : slots_(std::bit_ceil(slots)) {
  BALLAST_ASSERT(slots > 0);
}

Result<VerifyingKey> VerifyingKeyCache::get(const PublicKey& key) {
  // An x-only key is a field element: its bytes are already spread evenly.
  std::uint64_t leading;
  std::memcpy(&leading, key.bytes.data(), sizeof leading);
  Slot& slot = slots_[leading & (slots_.size() - 1)];
  if (slot.decoded && slot.key == key) return *slot.decoded;
  BALLAST_ASSIGN_OR_RETURN(VerifyingKey decoded, VerifyingKey::decode(key));
  slot.key = key;
  slot.decoded = decoded;
  return decoded;
}

}  // namespace ballast
