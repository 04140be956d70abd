// Frame sealing for an established peer session: XChaCha20-Poly1305-IETF with a per-direction
// 64-bit counter as the nonce. The counter is never sent; both sides advance it in step, so a
// replayed, reordered, dropped or altered frame fails authentication. A sealer or opener must
// never be used for more than one direction of one session.
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.h"
#include "base/status.h"

namespace ballast::net {

inline constexpr std::size_t kSessionKeyBytes = 32;
inline constexpr std::size_t kFrameTagBytes = 16;     // Poly1305 tag appended to each frame
inline constexpr std::size_t kLengthPrefixBytes = 4;  // little-endian ciphertext length

using SessionKey = std::array<std::uint8_t, kSessionKeyBytes>;

// Writes `value` as the 4-byte little-endian length prefix at `out`.
void put_length_prefix(std::uint32_t value, std::uint8_t* out);
std::uint32_t read_length_prefix(const std::uint8_t* in);

class FrameSealer {
 public:
  FrameSealer() = default;
  explicit FrameSealer(const SessionKey& key) : key_(key) {}
  ~FrameSealer();
  FrameSealer(const FrameSealer&) = delete;
  FrameSealer& operator=(const FrameSealer&) = delete;
  FrameSealer(FrameSealer&& other) noexcept;
  FrameSealer& operator=(FrameSealer&& other) noexcept;

  // Appends one wire frame (length prefix, then ciphertext and tag) for `plaintext` to `out`.
  void seal(ByteView plaintext, Bytes& out);
  std::uint64_t frames_sealed() const { return counter_; }

 private:
  SessionKey key_{};
  std::uint64_t counter_ = 0;
};

class FrameOpener {
 public:
  FrameOpener() = default;
  explicit FrameOpener(const SessionKey& key) : key_(key) {}
  ~FrameOpener();
  FrameOpener(const FrameOpener&) = delete;
  FrameOpener& operator=(const FrameOpener&) = delete;
  FrameOpener(FrameOpener&& other) noexcept;
  FrameOpener& operator=(FrameOpener&& other) noexcept;

  // Authenticates and decrypts the ciphertext of the next frame (without its length prefix).
  // A failure is final: the session must be closed, as the counters are no longer in step.
  Result<Bytes> open(ByteView ciphertext);
  std::uint64_t frames_opened() const { return counter_; }

 private:
  SessionKey key_{};
  std::uint64_t counter_ = 0;
};

}  // namespace ballast::net
