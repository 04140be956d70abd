#include "crypto/lthash.h"

#include <openssl/evp.h>

#include <bit>

#include "base/assert.h"

namespace ballast {
namespace {

using Lanes = std::array<std::uint16_t, LtHash::kLanes>;
constexpr int kExpansionBytes = static_cast<int>(sizeof(Lanes));

const EVP_CIPHER* chacha20() {
  static const EVP_CIPHER* cipher = [] {
    EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "ChaCha20", nullptr);
    BALLAST_ASSERT_MSG(fetched != nullptr, "OpenSSL has no ChaCha20");
    return fetched;
  }();
  return cipher;
}

// One cipher context per thread, set up once and re-keyed for every expansion (re-keying
// allocates nothing).
class Expander {
 public:
  Expander() : context_(EVP_CIPHER_CTX_new()) {
    BALLAST_ASSERT(context_ != nullptr);
    BALLAST_ASSERT(EVP_EncryptInit_ex2(context_, chacha20(), nullptr, nullptr, nullptr) == 1);
  }
  Expander(const Expander&) = delete;
  Expander& operator=(const Expander&) = delete;
  ~Expander() { EVP_CIPHER_CTX_free(context_); }

  // The first 2048 bytes of the ChaCha20 key stream under `key`: the encryption of zeros.
  void expand(const Hash256& key, Lanes& out) {
    static_assert(std::endian::native == std::endian::little,
                  "lanes are read as little-endian 16-bit integers");
    // OpenSSL's 16-byte ChaCha20 IV is the 32-bit little-endian block counter followed by the
    // 96-bit nonce; all zero is libsodium's crypto_stream_chacha20_ietf with a zero nonce.
    static constexpr std::array<std::uint8_t, 16> kIv{};
    static constexpr std::array<std::uint8_t, sizeof(Lanes)> kZeros{};
    BALLAST_ASSERT(EVP_EncryptInit_ex2(context_, nullptr, key.bytes.data(), kIv.data(), nullptr) ==
                   1);
    int written = 0;
    BALLAST_ASSERT(EVP_EncryptUpdate(context_, reinterpret_cast<std::uint8_t*>(out.data()),
                                     &written, kZeros.data(), kExpansionBytes) == 1);
    BALLAST_ASSERT(written == kExpansionBytes);
  }

 private:
  EVP_CIPHER_CTX* context_;
};

void expand(const Hash256& element, Lanes& out) {
  thread_local Expander expander;
  expander.expand(element, out);
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

void LtHash::update(const Hash256& old_element, const Hash256& new_element) {
  if (old_element == new_element) return;
  Lanes removed;
  Lanes added;
  expand(old_element, removed);
  expand(new_element, added);
  for (std::size_t i = 0; i < kLanes; ++i) {
    lanes_[i] = static_cast<std::uint16_t>(lanes_[i] + added[i] - removed[i]);
  }
}

ByteView LtHash::bytes() const {
  return {reinterpret_cast<const std::uint8_t*>(lanes_.data()), sizeof(lanes_)};
}

Hash256 LtHash::digest() const {
  return sha256(bytes());
}

}  // namespace ballast
