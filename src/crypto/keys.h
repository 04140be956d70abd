// secp256k1 BIP-340 Schnorr keys: signing and verification through libsecp256k1, and key
// files on disk. Public keys are 32-byte x-only keys; signatures are 64 bytes.
//
// Key files hold one line: the 64-digit hex secret key. They must be mode 0600 (readable by
// the owner alone); anything else, or malformed content, is a clear error.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace ballast {

struct PublicKey {
  std::array<std::uint8_t, 32> bytes{};

  auto operator<=>(const PublicKey&) const = default;
  std::string hex() const { return to_hex(bytes); }
  // Fails unless the text is 64 hex digits naming a point on the curve.
  static Result<PublicKey> from_hex(std::string_view text);
  // Fails unless the bytes are a valid x-only public key.
  static Result<PublicKey> from_bytes(ByteView bytes);
};

struct Signature {
  std::array<std::uint8_t, 64> bytes{};

  auto operator<=>(const Signature&) const = default;
  std::string hex() const { return to_hex(bytes); }
};

class SecretKey {
 public:
  // Fails unless the bytes are a valid secp256k1 secret (non-zero, below the group order).
  static Result<SecretKey> from_bytes(ByteView bytes);
  static Result<SecretKey> from_hex(std::string_view text);
  // A fresh key from the operating system's random source.
  static SecretKey generate();
  // A key derived from a name: for examples and tests only, never for real funds.
  static SecretKey insecure_from_seed(std::string_view seed);

  const PublicKey& public_key() const { return public_key_; }
  // BIP-340 signature over a 32-byte message digest.
  Signature sign(const Hash256& message) const;
  std::string hex() const { return to_hex(secret_); }

 private:
  SecretKey() = default;
  std::array<std::uint8_t, 32> secret_{};
  std::array<std::uint8_t, 96> keypair_{};  // secp256k1_keypair, opaque
  PublicKey public_key_;
};

// BIP-340 verification of `signature` over the 32-byte digest `message` by `key`.
bool verify(const PublicKey& key, const Hash256& message, const Signature& signature);

// A public key decoded into a curve point once. Decoding (a square root in the field) is about 8%
// of a verification, so a key that checks many signatures (a validator's, an active
// trader's) is worth keeping in this form.
class VerifyingKey {
 public:
  // Fails unless the bytes are a valid x-only public key.
  static Result<VerifyingKey> decode(const PublicKey& key);
  // The same check as verify() above.
  bool verify(const Hash256& message, const Signature& signature) const;

 private:
  VerifyingKey() = default;
  std::array<std::uint8_t, 64> point_{};  // secp256k1_xonly_pubkey, opaque
};

Result<SecretKey> read_key_file(const std::string& path);
// Writes a new key file with mode 0600; refuses to overwrite an existing file.
Status write_key_file(const std::string& path, const SecretKey& key);

}  // namespace ballast
