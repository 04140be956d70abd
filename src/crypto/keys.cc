#include "crypto/keys.h"

#include <fcntl.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/assert.h"

namespace ballast {
namespace {

// One context for the process, created once; libsecp256k1 contexts are safe to share for
// signing and verification once randomized.
const secp256k1_context* context() {
  static const secp256k1_context* instance = [] {
    BALLAST_ASSERT(sodium_init() >= 0);
    secp256k1_context* created = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::array<std::uint8_t, 32> seed;
    randombytes_buf(seed.data(), seed.size());
    BALLAST_ASSERT(secp256k1_context_randomize(created, seed.data()) == 1);
    return created;
  }();
  return instance;
}

secp256k1_keypair* as_keypair(std::array<std::uint8_t, 96>& storage) {
  static_assert(sizeof(secp256k1_keypair) == 96);
  return reinterpret_cast<secp256k1_keypair*>(storage.data());
}
const secp256k1_keypair* as_keypair(const std::array<std::uint8_t, 96>& storage) {
  return reinterpret_cast<const secp256k1_keypair*>(storage.data());
}

secp256k1_xonly_pubkey* as_point(std::array<std::uint8_t, 64>& storage) {
  static_assert(sizeof(secp256k1_xonly_pubkey) == 64);
  return reinterpret_cast<secp256k1_xonly_pubkey*>(storage.data());
}
const secp256k1_xonly_pubkey* as_point(const std::array<std::uint8_t, 64>& storage) {
  return reinterpret_cast<const secp256k1_xonly_pubkey*>(storage.data());
}

bool verify_point(const secp256k1_xonly_pubkey* point, const Hash256& message,
                  const Signature& signature) {
  return secp256k1_schnorrsig_verify(context(), signature.bytes.data(), message.bytes.data(),
                                     message.bytes.size(), point) == 1;
}

}  // namespace

Result<PublicKey> PublicKey::from_bytes(ByteView bytes) {
  if (bytes.size() != 32) return invalid_argument("public key must be 32 bytes");
  secp256k1_xonly_pubkey parsed;
  if (secp256k1_xonly_pubkey_parse(context(), &parsed, bytes.data()) != 1) {
    return invalid_argument("public key is not a point on secp256k1");
  }
  PublicKey key;
  std::memcpy(key.bytes.data(), bytes.data(), 32);
  return key;
}

Result<PublicKey> PublicKey::from_hex(std::string_view text) {
  if (text.size() != 64) return invalid_argument("public key must be 64 hex digits");
  BALLAST_ASSIGN_OR_RETURN(Bytes bytes, ballast::from_hex(text));
  return from_bytes(bytes);
}

Result<SecretKey> SecretKey::from_bytes(ByteView bytes) {
  if (bytes.size() != 32) return invalid_argument("secret key must be 32 bytes");
  SecretKey key;
  std::memcpy(key.secret_.data(), bytes.data(), 32);
  if (secp256k1_keypair_create(context(), as_keypair(key.keypair_), key.secret_.data()) != 1) {
    return invalid_argument("secret key is zero or not below the secp256k1 group order");
  }
  secp256k1_xonly_pubkey xonly;
  BALLAST_ASSERT(
      secp256k1_keypair_xonly_pub(context(), &xonly, nullptr, as_keypair(key.keypair_)) == 1);
  BALLAST_ASSERT(
      secp256k1_xonly_pubkey_serialize(context(), key.public_key_.bytes.data(), &xonly) == 1);
  return key;
}

Result<SecretKey> SecretKey::from_hex(std::string_view text) {
  if (text.size() != 64) return invalid_argument("secret key must be 64 hex digits");
  BALLAST_ASSIGN_OR_RETURN(Bytes bytes, ballast::from_hex(text));
  return from_bytes(bytes);
}

SecretKey SecretKey::generate() {
  context();  // initializes libsodium
  for (;;) {
    std::array<std::uint8_t, 32> secret;
    randombytes_buf(secret.data(), secret.size());
    auto key = from_bytes(secret);
    if (key.is_ok()) return std::move(key).value();
  }
}

SecretKey SecretKey::insecure_from_seed(std::string_view seed) {
  Hash256 digest = sha256(as_bytes("ballast insecure seed key:" + std::string(seed)));
  for (;;) {
    auto key = from_bytes(digest.bytes);
    if (key.is_ok()) return std::move(key).value();
    digest = sha256(digest.bytes);  // astronomically unlikely: the digest was out of range
  }
}

Signature SecretKey::sign(const Hash256& message) const {
  Signature signature;
  std::array<std::uint8_t, 32> auxiliary;
  randombytes_buf(auxiliary.data(), auxiliary.size());
  BALLAST_ASSERT(secp256k1_schnorrsig_sign32(context(), signature.bytes.data(),
                                             message.bytes.data(), as_keypair(keypair_),
                                             auxiliary.data()) == 1);
  return signature;
}

bool verify(const PublicKey& key, const Hash256& message, const Signature& signature) {
  secp256k1_xonly_pubkey parsed;
  if (secp256k1_xonly_pubkey_parse(context(), &parsed, key.bytes.data()) != 1) return false;
  return verify_point(&parsed, message, signature);
}

Result<VerifyingKey> VerifyingKey::decode(const PublicKey& key) {
  VerifyingKey decoded;
  if (secp256k1_xonly_pubkey_parse(context(), as_point(decoded.point_), key.bytes.data()) != 1) {
    return invalid_argument("public key " + key.hex() + " is not a point on the curve");
  }
  return decoded;
}

bool VerifyingKey::verify(const Hash256& message, const Signature& signature) const {
  return verify_point(as_point(point_), message, signature);
}

Result<SecretKey> read_key_file(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    return io_error("cannot read key file " + path + ": " + std::strerror(errno));
  }
  if ((info.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", info.st_mode & 07777);
    return permission_denied("key file " + path + " has mode " + mode +
                             "; it must be readable by its owner only (chmod 600)");
  }
  std::ifstream file(path);
  if (!file) return io_error("cannot open key file " + path);
  std::stringstream content;
  content << file.rdbuf();
  std::string text = content.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  auto key = SecretKey::from_hex(text);
  if (!key.is_ok()) {
    return invalid_argument("key file " + path + " is malformed: " + key.status().message());
  }
  return key;
}

Status write_key_file(const std::string& path, const SecretKey& key) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create key file " + path + ": " + std::strerror(errno));
  std::string line = key.hex() + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return io_error("cannot write key file " + path);
  return Status::ok();
}

}  // namespace ballast
