#include "net/frame_cipher.h"

#include <sodium.h>

#include <limits>

#include "base/assert.h"

namespace ballast::net {
namespace {

static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kSessionKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kFrameTagBytes);

using Nonce = std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES>;

Nonce counter_nonce(std::uint64_t counter) {
  Nonce nonce{};
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<std::uint8_t>(counter >> (8 * i));
  return nonce;
}

}  // namespace

void put_length_prefix(std::uint32_t value, std::uint8_t* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

std::uint32_t read_length_prefix(const std::uint8_t* in) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  return value;
}

FrameSealer::~FrameSealer() {
  sodium_memzero(key_.data(), key_.size());
}

FrameSealer::FrameSealer(FrameSealer&& other) noexcept
    : key_(other.key_), counter_(other.counter_) {
  sodium_memzero(other.key_.data(), other.key_.size());
}

FrameSealer& FrameSealer::operator=(FrameSealer&& other) noexcept {
  if (this == &other) return *this;
  key_ = other.key_;
  counter_ = other.counter_;
  sodium_memzero(other.key_.data(), other.key_.size());
  return *this;
}

void FrameSealer::seal(ByteView plaintext, Bytes& out) {
  BALLAST_ASSERT_MSG(counter_ != std::numeric_limits<std::uint64_t>::max(), "nonce exhausted");
  const std::size_t ciphertext_bytes = plaintext.size() + kFrameTagBytes;
  BALLAST_ASSERT(ciphertext_bytes <= std::numeric_limits<std::uint32_t>::max());
  const std::size_t start = out.size();
  out.resize(start + kLengthPrefixBytes + ciphertext_bytes);
  put_length_prefix(static_cast<std::uint32_t>(ciphertext_bytes), out.data() + start);
  const Nonce nonce = counter_nonce(counter_++);
  unsigned long long written = 0;
  BALLAST_ASSERT(crypto_aead_xchacha20poly1305_ietf_encrypt(
                     out.data() + start + kLengthPrefixBytes, &written, plaintext.data(),
                     plaintext.size(), nullptr, 0, nullptr, nonce.data(), key_.data()) == 0);
  BALLAST_ASSERT(written == ciphertext_bytes);
}

FrameOpener::~FrameOpener() {
  sodium_memzero(key_.data(), key_.size());
}

FrameOpener::FrameOpener(FrameOpener&& other) noexcept
    : key_(other.key_), counter_(other.counter_) {
  sodium_memzero(other.key_.data(), other.key_.size());
}

FrameOpener& FrameOpener::operator=(FrameOpener&& other) noexcept {
  if (this == &other) return *this;
  key_ = other.key_;
  counter_ = other.counter_;
  sodium_memzero(other.key_.data(), other.key_.size());
  return *this;
}

Result<Bytes> FrameOpener::open(ByteView ciphertext) {
  if (ciphertext.size() < kFrameTagBytes) {
    return corruption("frame of " + std::to_string(ciphertext.size()) +
                      " bytes is shorter than its authentication tag");
  }
  BALLAST_ASSERT_MSG(counter_ != std::numeric_limits<std::uint64_t>::max(), "nonce exhausted");
  Bytes plaintext(ciphertext.size() - kFrameTagBytes);
  const Nonce nonce = counter_nonce(counter_);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plaintext.data(), &written, nullptr,
                                                 ciphertext.data(), ciphertext.size(), nullptr, 0,
                                                 nonce.data(), key_.data()) != 0) {
    return corruption("frame " + std::to_string(counter_) +
                      " fails authentication (tampered, replayed, reordered or truncated)");
  }
  BALLAST_ASSERT(written == plaintext.size());
  ++counter_;
  return plaintext;
}

}  // namespace ballast::net
