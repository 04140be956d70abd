// SHA-256 digests. Every hash that replicas must agree on goes through here.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "base/bytes.h"

namespace ballast {

struct Hash256 {
  std::array<std::uint8_t, 32> bytes{};

  auto operator<=>(const Hash256&) const = default;
  std::string hex() const { return to_hex(bytes); }
  ByteView view() const { return bytes; }
};

Hash256 sha256(ByteView data);

// Incremental hashing for data assembled from several pieces.
class Sha256 {
 public:
  Sha256();
  Sha256& update(ByteView data);
  Hash256 finish();

 private:
  alignas(16) std::array<std::uint8_t, 128> state_{};  // holds crypto_hash_sha256_state
  bool finished_ = false;
};

}  // namespace ballast
