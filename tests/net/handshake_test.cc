#include <gtest/gtest.h>

#include "net/frame_cipher.h"
#include "net/handshake.h"

namespace ballast::net {
namespace {

const std::string kChain = "ballast-net-test";

SessionKey key_of(std::uint8_t fill) {
  SessionKey key;
  key.fill(fill);
  return key;
}

Bytes bytes_of(std::string_view text) {
  const ByteView view = as_bytes(text);
  return Bytes(view.begin(), view.end());
}

// Strips the length prefix of one sealed frame, checking it.
ByteView ciphertext_of(const Bytes& wire) {
  EXPECT_GE(wire.size(), kLengthPrefixBytes);
  EXPECT_EQ(read_length_prefix(wire.data()), wire.size() - kLengthPrefixBytes);
  return ByteView(wire).subspan(kLengthPrefixBytes);
}

TEST(FrameCipher, FramesOpenInOrderAndEmptyFramesWork) {
  FrameSealer sealer(key_of(7));
  FrameOpener opener(key_of(7));
  for (const std::string text : {"first", "", "third"}) {
    Bytes wire;
    sealer.seal(as_bytes(text), wire);
    EXPECT_EQ(wire.size(), kLengthPrefixBytes + text.size() + kFrameTagBytes);
    Result<Bytes> opened = opener.open(ciphertext_of(wire));
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    EXPECT_EQ(std::string(opened->begin(), opened->end()), text);
  }
}

TEST(FrameCipher, ReplayedReorderedTamperedOrTruncatedFramesFail) {
  FrameSealer sealer(key_of(1));
  Bytes first, second;
  sealer.seal(as_bytes("one"), first);
  sealer.seal(as_bytes("two"), second);

  FrameOpener reordered(key_of(1));
  EXPECT_FALSE(reordered.open(ciphertext_of(second)).is_ok());

  FrameOpener replayed(key_of(1));
  ASSERT_TRUE(replayed.open(ciphertext_of(first)).is_ok());
  EXPECT_FALSE(replayed.open(ciphertext_of(first)).is_ok());

  Bytes altered = first;
  altered.back() ^= 0x01;
  FrameOpener tampered(key_of(1));
  EXPECT_FALSE(tampered.open(ciphertext_of(altered)).is_ok());

  FrameOpener truncated(key_of(1));
  EXPECT_FALSE(truncated.open(ciphertext_of(first).first(kFrameTagBytes - 1)).is_ok());

  FrameOpener wrong_key(key_of(2));
  EXPECT_FALSE(wrong_key.open(ciphertext_of(first)).is_ok());
}

TEST(Hello, RoundTripsAndRejectsMalformedBodies) {
  Hello hello{kChain, 42, {}, {}};
  hello.ephemeral_key.fill(3);
  hello.nonce.fill(9);
  const Bytes body = encode_hello(hello);
  Result<Hello> decoded = decode_hello(body);
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded->chain_id, kChain);
  EXPECT_EQ(decoded->index, 42u);
  EXPECT_EQ(decoded->ephemeral_key, hello.ephemeral_key);
  EXPECT_EQ(decoded->nonce, hello.nonce);

  EXPECT_FALSE(decode_hello(ByteView(body).first(body.size() - 1)).is_ok());
  Bytes trailing = body;
  trailing.push_back(0);
  EXPECT_FALSE(decode_hello(trailing).is_ok());
  Bytes other_version = body;
  other_version[0] = kProtocolVersion + 1;
  EXPECT_FALSE(decode_hello(other_version).is_ok());
  Hello long_chain = hello;
  long_chain.chain_id.assign(kMaxChainIdBytes + 1, 'x');
  EXPECT_FALSE(decode_hello(encode_hello(long_chain)).is_ok());
}

TEST(Hello, TranscriptBindsRoleChainAndBothHellos) {
  const Bytes dialer = bytes_of("dialer-hello");
  const Bytes acceptor = bytes_of("acceptor-hello");
  const Hash256 base = transcript_digest(kChain, dialer, acceptor, Role::kDialer);
  EXPECT_EQ(base, transcript_digest(kChain, dialer, acceptor, Role::kDialer));
  EXPECT_NE(base, transcript_digest(kChain, dialer, acceptor, Role::kAcceptor));
  EXPECT_NE(base, transcript_digest("other-chain", dialer, acceptor, Role::kDialer));
  EXPECT_NE(base, transcript_digest(kChain, acceptor, dialer, Role::kDialer));
  EXPECT_NE(base, transcript_digest(kChain, dialer, bytes_of("acceptor-hellO"), Role::kDialer));
}

class HandshakeTest : public ::testing::Test {
 protected:
  const SecretKey dialer_key_ = SecretKey::insecure_from_seed("net-handshake-dialer");
  const SecretKey acceptor_key_ = SecretKey::insecure_from_seed("net-handshake-acceptor");
  const SecretKey stranger_key_ = SecretKey::insecure_from_seed("net-handshake-stranger");
};

Status status_of(const Result<std::uint32_t>& result) {
  return result.is_ok() ? Status::ok() : result.status();
}

// Both sides exchange hellos, then auth frames; returns the first refusal.
Status exchange(Handshake& dialer, Handshake& acceptor, const SecretKey& dialer_identity,
                const SecretKey& acceptor_identity, const PublicKey& dialer_key_at_acceptor,
                const PublicKey& acceptor_key_at_dialer) {
  const auto body = [](const Bytes& message) { return ByteView(message).subspan(4); };
  BALLAST_RETURN_IF_ERROR(status_of(dialer.read_hello(body(acceptor.hello_message()))));
  BALLAST_RETURN_IF_ERROR(status_of(acceptor.read_hello(body(dialer.hello_message()))));
  const Bytes dialer_auth = dialer.auth_message(dialer_identity);
  const Bytes acceptor_auth = acceptor.auth_message(acceptor_identity);
  BALLAST_RETURN_IF_ERROR(acceptor.read_auth(body(dialer_auth), dialer_key_at_acceptor));
  return dialer.read_auth(body(acceptor_auth), acceptor_key_at_dialer);
}

TEST_F(HandshakeTest, CompletesWithConfiguredKeysAndYieldsMatchingCiphers) {
  Handshake dialer(Role::kDialer, kChain, 0);
  Handshake acceptor(Role::kAcceptor, kChain, 1);
  ASSERT_TRUE(exchange(dialer, acceptor, dialer_key_, acceptor_key_, dialer_key_.public_key(),
                       acceptor_key_.public_key())
                  .is_ok());
  FrameSealer to_acceptor = dialer.take_sealer();
  FrameOpener at_acceptor = acceptor.take_opener();
  FrameSealer to_dialer = acceptor.take_sealer();
  FrameOpener at_dialer = dialer.take_opener();
  Bytes wire;
  to_acceptor.seal(as_bytes("ping"), wire);
  EXPECT_TRUE(at_acceptor.open(ciphertext_of(wire)).is_ok());
  wire.clear();
  to_dialer.seal(as_bytes("pong"), wire);
  EXPECT_TRUE(at_dialer.open(ciphertext_of(wire)).is_ok());
  // The two directions use different keys: a frame cannot be reflected back to its sender.
  wire.clear();
  to_acceptor.seal(as_bytes("reflect"), wire);
  EXPECT_FALSE(at_dialer.open(ciphertext_of(wire)).is_ok());
}

TEST_F(HandshakeTest, RefusesAPeerWhoseKeyIsNotTheConfiguredOne) {
  Handshake dialer(Role::kDialer, kChain, 0);
  Handshake acceptor(Role::kAcceptor, kChain, 1);
  const Status status = exchange(dialer, acceptor, stranger_key_, acceptor_key_,
                                 dialer_key_.public_key(), acceptor_key_.public_key());
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(status.message().find("does not verify"), std::string::npos) << status.message();
}

TEST_F(HandshakeTest, RefusesAnotherChainOrOurOwnIndex) {
  Handshake dialer(Role::kDialer, "other-chain", 0);
  Handshake acceptor(Role::kAcceptor, kChain, 1);
  Result<std::uint32_t> claimed = acceptor.read_hello(ByteView(dialer.hello_message()).subspan(4));
  ASSERT_FALSE(claimed.is_ok());
  EXPECT_NE(claimed.status().message().find("other-chain"), std::string::npos);

  Handshake twin(Role::kDialer, kChain, 1);
  Handshake self(Role::kAcceptor, kChain, 1);
  EXPECT_FALSE(self.read_hello(ByteView(twin.hello_message()).subspan(4)).is_ok());
}

TEST_F(HandshakeTest, AnAuthFrameFromAnotherSessionDoesNotVerify) {
  Handshake dialer(Role::kDialer, kChain, 0);
  Handshake acceptor(Role::kAcceptor, kChain, 1);
  Handshake other_dialer(Role::kDialer, kChain, 0);
  Handshake other_acceptor(Role::kAcceptor, kChain, 1);
  const auto body = [](const Bytes& message) { return ByteView(message).subspan(4); };
  ASSERT_TRUE(acceptor.read_hello(body(dialer.hello_message())).is_ok());
  ASSERT_TRUE(other_dialer.read_hello(body(other_acceptor.hello_message())).is_ok());
  const Bytes replayed = other_dialer.auth_message(dialer_key_);
  EXPECT_FALSE(acceptor.read_auth(body(replayed), dialer_key_.public_key()).is_ok());
}

}  // namespace
}  // namespace ballast::net
