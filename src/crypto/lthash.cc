#include "crypto/lthash.h"

#include <sodium.h>

#include <bit>
#include <cstring>

#include "base/assert.h"

namespace ballast {
namespace {

using Lanes = std::array<std::uint16_t, LtHash::kLanes>;

void expand(const Hash256& element, Lanes& out) {
  static_assert(std::endian::native == std::endian::little,
                "lanes are read as little-endian 16-bit integers");
  static const bool initialized = sodium_init() >= 0;
  BALLAST_ASSERT(initialized);
  std::array<std::uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
  crypto_stream_chacha20_ietf(reinterpret_cast<std::uint8_t*>(out.data()), sizeof(Lanes),
                              nonce.data(), element.bytes.data());
}

}  // namespace

void LtHash::add(const Hash256& element) {
  Lanes expansion;
  expand(element, expansion);
  for (std::size_t i = 0; i < kLanes; ++i) {
    lanes_[i] = static_cast<std::uint16_t>(lanes_[i] + expansion[i]);
  }
}

void LtHash::remove(const Hash256& element) {
  Lanes expansion;
  expand(element, expansion);
  for (std::size_t i = 0; i < kLanes; ++i) {
    lanes_[i] = static_cast<std::uint16_t>(lanes_[i] - expansion[i]);
  }
}

ByteView LtHash::bytes() const {
  return {reinterpret_cast<const std::uint8_t*>(lanes_.data()), sizeof(lanes_)};
}

Hash256 LtHash::digest() const {
  return sha256(bytes());
}

}  // namespace ballast
