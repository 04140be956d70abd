#include "crypto/hash.h"

#include <sodium.h>

#include "base/assert.h"

namespace ballast {
namespace {

crypto_hash_sha256_state* as_state(std::array<std::uint8_t, 128>& storage) {
  static_assert(sizeof(crypto_hash_sha256_state) <= 128);
  return reinterpret_cast<crypto_hash_sha256_state*>(storage.data());
}

}  // namespace

Hash256 sha256(ByteView data) {
  Hash256 digest;
  crypto_hash_sha256(digest.bytes.data(), data.data(), data.size());
  return digest;
}

Sha256::Sha256() {
  crypto_hash_sha256_init(as_state(state_));
}

Sha256& Sha256::update(ByteView data) {
  BALLAST_ASSERT(!finished_);
  crypto_hash_sha256_update(as_state(state_), data.data(), data.size());
  return *this;
}

Hash256 Sha256::finish() {
  BALLAST_ASSERT(!finished_);
  finished_ = true;
  Hash256 digest;
  crypto_hash_sha256_final(as_state(state_), digest.bytes.data());
  return digest;
}

}  // namespace ballast
