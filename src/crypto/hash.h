// SHA-256 digests. Every hash that replicas must agree on goes through here.
//
// Computed by OpenSSL 3 (EVP, SHA-256 fetched once), which uses the SHA extensions (SHA-NI) of
// the CPU when it has them.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "base/bytes.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace ballast {

struct Hash256 {
  std::array<std::uint8_t, 32> bytes{};

  auto operator<=>(const Hash256&) const = default;
  std::string hex() const { return to_hex(bytes); }
  ByteView view() const { return bytes; }
  // Fails unless the text is exactly 64 hex digits.
  static Result<Hash256> from_hex(std::string_view text);
};

Hash256 sha256(ByteView data);

// Incremental hashing for data assembled from several pieces. Copying forks the running state.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256& other);
  Sha256& operator=(const Sha256& other);
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;

  Sha256& update(ByteView data);
  Hash256 finish();

 private:
  evp_md_ctx_st* context_ = nullptr;  // owned; null only once moved from
  bool finished_ = false;
};

}  // namespace ballast
