// The session handshake, without I/O: both sides send a plaintext hello (protocol version,
// chain id, validator index, a fresh X25519 key and a random nonce), derive one key per
// direction with crypto_kx (the dialer is the client), then each proves its validator identity
// with a BIP-340 signature over the transcript, sent as the first sealed frame. It never trusts
// a claimed index on its own: the caller supplies the key configured for that index.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "net/frame_cipher.h"

namespace ballast::net {

inline constexpr std::uint8_t kProtocolVersion = 1;
inline constexpr std::size_t kMaxChainIdBytes = 64;
// Generous for version, chain id, index, key and nonce; a longer hello is refused unread.
inline constexpr std::size_t kMaxHelloBytes = 256;
inline constexpr std::size_t kAuthFrameBytes = 64 + kFrameTagBytes;  // sealed signature
inline constexpr std::string_view kTranscriptTag = "ballast-net-handshake-v1";

enum class Role : std::uint8_t { kDialer = 0, kAcceptor = 1 };

using X25519Key = std::array<std::uint8_t, 32>;

struct Hello {
  std::string chain_id;
  std::uint32_t index = 0;
  X25519Key ephemeral_key{};
  std::array<std::uint8_t, 32> nonce{};
};

// The hello body (without its length prefix), in the canonical codec.
Bytes encode_hello(const Hello& hello);
Result<Hello> decode_hello(ByteView body);

// What `signer` signs: SHA-256 over the tag, the chain id, both hello bodies (dialer first)
// and the signer's role, so a signature never verifies for the other side or another session.
Hash256 transcript_digest(std::string_view chain_id, ByteView dialer_hello, ByteView acceptor_hello,
                          Role signer);

class Handshake {
 public:
  Handshake(Role role, std::string chain_id, std::uint32_t self_index);
  ~Handshake();
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  Role role() const { return role_; }
  // The first message to send: length prefix and hello body.
  const Bytes& hello_message() const { return hello_message_; }

  // Checks the peer's hello body (version, chain id, not our own index) and derives the session
  // keys. Returns the validator index the peer claims; nothing is proven yet.
  Result<std::uint32_t> read_hello(ByteView body);
  // After read_hello: our signature over the transcript as a sealed frame, ready to send.
  Bytes auth_message(const SecretKey& identity);
  // Verifies the peer's sealed signature (the frame without its length prefix) against the key
  // configured for the index it claimed.
  Status read_auth(ByteView ciphertext, const PublicKey& configured_key);

  // After both read_hello and auth_message: the ciphers for the established session, whose
  // counters continue after the handshake's own frames.
  FrameSealer take_sealer();
  FrameOpener take_opener();

 private:
  Hash256 digest_for(Role signer) const;

  Role role_;
  std::string chain_id_;
  std::uint32_t self_index_;
  X25519Key public_key_{};
  std::array<std::uint8_t, 32> secret_key_{};
  Bytes own_hello_;
  Bytes peer_hello_;
  Bytes hello_message_;
  bool keys_ready_ = false;
  FrameSealer sealer_;
  FrameOpener opener_;
};

}  // namespace ballast::net
