#include "net/handshake.h"

#include <sodium.h>

#include "base/assert.h"
#include "base/codec.h"

namespace ballast::net {
namespace {

static_assert(crypto_kx_PUBLICKEYBYTES == 32 && crypto_kx_SECRETKEYBYTES == 32);
static_assert(crypto_kx_SESSIONKEYBYTES == kSessionKeyBytes);

}  // namespace

Bytes encode_hello(const Hello& hello) {
  Encoder encoder(128);
  encoder.u8(kProtocolVersion);
  encoder.string(hello.chain_id);
  encoder.u32(hello.index);
  encoder.raw(hello.ephemeral_key);
  encoder.raw(hello.nonce);
  return encoder.take();
}

Result<Hello> decode_hello(ByteView body) {
  Decoder decoder(body);
  Hello hello;
  decoder.expect_version(kProtocolVersion, "hello");
  hello.chain_id = decoder.string(kMaxChainIdBytes, "hello chain id");
  hello.index = decoder.u32();
  decoder.raw(hello.ephemeral_key);
  decoder.raw(hello.nonce);
  BALLAST_RETURN_IF_ERROR(decoder.finish());
  return hello;
}

Hash256 transcript_digest(std::string_view chain_id, ByteView dialer_hello, ByteView acceptor_hello,
                          Role signer) {
  Encoder encoder(256);
  encoder.string(kTranscriptTag);
  encoder.string(chain_id);
  encoder.bytes(dialer_hello);
  encoder.bytes(acceptor_hello);
  encoder.u8(static_cast<std::uint8_t>(signer));
  return sha256(encoder.buffer());
}

Handshake::Handshake(Role role, std::string chain_id, std::uint32_t self_index)
    : role_(role), chain_id_(std::move(chain_id)), self_index_(self_index) {
  BALLAST_ASSERT(sodium_init() >= 0);
  BALLAST_ASSERT(crypto_kx_keypair(public_key_.data(), secret_key_.data()) == 0);
  Hello hello{chain_id_, self_index_, public_key_, {}};
  randombytes_buf(hello.nonce.data(), hello.nonce.size());
  own_hello_ = encode_hello(hello);
  BALLAST_ASSERT(own_hello_.size() <= kMaxHelloBytes);
  hello_message_.resize(kLengthPrefixBytes);
  put_length_prefix(static_cast<std::uint32_t>(own_hello_.size()), hello_message_.data());
  hello_message_.insert(hello_message_.end(), own_hello_.begin(), own_hello_.end());
}

Handshake::~Handshake() {
  sodium_memzero(secret_key_.data(), secret_key_.size());
}

Result<std::uint32_t> Handshake::read_hello(ByteView body) {
  BALLAST_ASSERT_MSG(!keys_ready_, "peer hello read twice");
  BALLAST_ASSIGN_OR_RETURN(Hello hello, decode_hello(body));
  if (hello.chain_id != chain_id_) {
    return permission_denied("peer is on chain '" + hello.chain_id + "', not '" + chain_id_ + "'");
  }
  if (hello.index == self_index_) {
    return permission_denied("peer claims our own validator index " + std::to_string(self_index_));
  }
  SessionKey receive{};
  SessionKey transmit{};
  const int derived =
      role_ == Role::kDialer
          ? crypto_kx_client_session_keys(receive.data(), transmit.data(), public_key_.data(),
                                          secret_key_.data(), hello.ephemeral_key.data())
          : crypto_kx_server_session_keys(receive.data(), transmit.data(), public_key_.data(),
                                          secret_key_.data(), hello.ephemeral_key.data());
  sodium_memzero(secret_key_.data(), secret_key_.size());  // forward secrecy: needed no more
  if (derived != 0) return permission_denied("peer's ephemeral key is unusable");
  sealer_ = FrameSealer(transmit);
  opener_ = FrameOpener(receive);
  sodium_memzero(receive.data(), receive.size());
  sodium_memzero(transmit.data(), transmit.size());
  peer_hello_.assign(body.begin(), body.end());
  keys_ready_ = true;
  return hello.index;
}

Hash256 Handshake::digest_for(Role signer) const {
  const bool dialer = role_ == Role::kDialer;
  return transcript_digest(chain_id_, dialer ? own_hello_ : peer_hello_,
                           dialer ? peer_hello_ : own_hello_, signer);
}

Bytes Handshake::auth_message(const SecretKey& identity) {
  BALLAST_ASSERT_MSG(keys_ready_ && sealer_.frames_sealed() == 0, "auth before hello");
  const Signature signature = identity.sign(digest_for(role_));
  Bytes message;
  sealer_.seal(signature.bytes, message);
  BALLAST_ASSERT(message.size() == kLengthPrefixBytes + kAuthFrameBytes);
  return message;
}

Status Handshake::read_auth(ByteView ciphertext, const PublicKey& configured_key) {
  BALLAST_ASSERT_MSG(keys_ready_ && opener_.frames_opened() == 0, "auth read out of order");
  Result<Bytes> plaintext = opener_.open(ciphertext);
  if (!plaintext.is_ok())
    return permission_denied("handshake signature frame fails authentication");
  Signature signature;
  if (plaintext->size() != signature.bytes.size()) {
    return permission_denied("handshake signature has " + std::to_string(plaintext->size()) +
                             " bytes, not 64");
  }
  std::copy(plaintext->begin(), plaintext->end(), signature.bytes.begin());
  const Role peer_role = role_ == Role::kDialer ? Role::kAcceptor : Role::kDialer;
  if (!verify(configured_key, digest_for(peer_role), signature)) {
    return permission_denied("handshake signature does not verify with the configured key " +
                             configured_key.hex());
  }
  return Status::ok();
}

FrameSealer Handshake::take_sealer() {
  BALLAST_ASSERT_MSG(sealer_.frames_sealed() == 1, "sealer taken before the auth frame");
  return std::move(sealer_);
}

FrameOpener Handshake::take_opener() {
  BALLAST_ASSERT_MSG(opener_.frames_opened() == 1, "opener taken before the peer's auth frame");
  return std::move(opener_);
}

}  // namespace ballast::net
