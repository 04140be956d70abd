// The canonical codec: every value has exactly one encoding, and everything else is rejected
// with a clear invalid_argument.
#include "base/codec.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace ballast {
namespace {

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Bytes repeat(std::uint8_t byte, std::size_t count) {
  return Bytes(count, byte);
}

Bytes concat(Bytes first, const Bytes& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

Bytes encode_varint(std::uint64_t value) {
  Encoder encoder;
  encoder.varint(value);
  return encoder.take();
}

// Decodes one varint that must fill the whole input.
Result<std::uint64_t> decode_varint(const Bytes& input) {
  Decoder decoder(input);
  std::uint64_t value = decoder.varint();
  BALLAST_RETURN_IF_ERROR(decoder.finish());
  return value;
}

// ---------------------------------------------------------------------------------------------
// Fixed-width integers and booleans.

TEST(CodecFixedTest, IntegersAreLittleEndian) {
  Encoder encoder;
  encoder.u8(0x01);
  encoder.u16(0x0203);
  encoder.u32(0x04050607);
  encoder.u64(0x08090a0b0c0d0e0fULL);
  EXPECT_EQ(encoder.buffer(), (Bytes{0x01, 0x03, 0x02, 0x07, 0x06, 0x05, 0x04, 0x0f, 0x0e, 0x0d,
                                     0x0c, 0x0b, 0x0a, 0x09, 0x08}));
}

TEST(CodecFixedTest, SignedIntegersAreTwosComplement) {
  Encoder encoder;
  encoder.i64(-1);
  encoder.i64(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(encoder.buffer(),
            concat(repeat(0xff, 8), Bytes{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80}));
}

TEST(CodecFixedTest, EdgeValuesRoundTrip) {
  const std::vector<std::uint64_t> u64_values = {0, 1, 0xff, 0x100, 0xffffffffULL, kMax64};
  const std::vector<std::int64_t> i64_values = {0, 1, -1, std::numeric_limits<std::int64_t>::min(),
                                                std::numeric_limits<std::int64_t>::max()};
  Encoder encoder;
  for (int value : {0, 1, 0x7f, 0x80, 0xff}) encoder.u8(static_cast<std::uint8_t>(value));
  for (int value : {0, 1, 0x7fff, 0xffff}) encoder.u16(static_cast<std::uint16_t>(value));
  for (std::uint32_t value : {0u, 1u, 0x7fffffffu, 0xffffffffu}) encoder.u32(value);
  for (std::uint64_t value : u64_values) encoder.u64(value);
  for (std::int64_t value : i64_values) encoder.i64(value);
  encoder.boolean(false);
  encoder.boolean(true);
  EXPECT_EQ(encoder.size(), 5u + 4 * 2 + 4 * 4 + 6 * 8 + 5 * 8 + 2);

  Bytes encoded = encoder.take();
  Decoder decoder(encoded);
  for (int value : {0, 1, 0x7f, 0x80, 0xff}) EXPECT_EQ(decoder.u8(), value);
  for (int value : {0, 1, 0x7fff, 0xffff}) EXPECT_EQ(decoder.u16(), value);
  for (std::uint32_t value : {0u, 1u, 0x7fffffffu, 0xffffffffu}) EXPECT_EQ(decoder.u32(), value);
  for (std::uint64_t value : u64_values) EXPECT_EQ(decoder.u64(), value);
  for (std::int64_t value : i64_values) EXPECT_EQ(decoder.i64(), value);
  EXPECT_FALSE(decoder.boolean());
  EXPECT_TRUE(decoder.boolean());
  EXPECT_TRUE(decoder.finish().is_ok()) << decoder.finish().to_string();
}

TEST(CodecFixedTest, BooleanIsOneByteZeroOrOne) {
  Encoder encoder;
  encoder.boolean(true);
  encoder.boolean(false);
  EXPECT_EQ(encoder.buffer(), (Bytes{0x01, 0x00}));
}

TEST(CodecFixedTest, BooleanByteTwoIsRejected) {
  for (std::uint8_t byte : Bytes{0x02, 0x80, 0xff}) {
    Bytes input = {byte};
    Decoder decoder(input);
    EXPECT_FALSE(decoder.boolean());
    Status status = decoder.finish();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(status.message(), "boolean")) << status.message();
  }
}

// ---------------------------------------------------------------------------------------------
// Varints.

TEST(CodecVarintTest, EdgeValuesHaveTheirCanonicalBytes) {
  struct Case {
    std::uint64_t value;
    Bytes bytes;
  };
  const std::vector<Case> cases = {
      {0, {0x00}},
      {1, {0x01}},
      {127, {0x7f}},
      {128, {0x80, 0x01}},
      {300, {0xac, 0x02}},
      {16383, {0xff, 0x7f}},
      {16384, {0x80, 0x80, 0x01}},
      {(std::uint64_t{1} << 63) - 1, concat(repeat(0xff, 8), {0x7f})},
      {std::uint64_t{1} << 63, concat(repeat(0x80, 9), {0x01})},
      {kMax64, concat(repeat(0xff, 9), {0x01})},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(encode_varint(c.value), c.bytes) << c.value;
    auto decoded = decode_varint(c.bytes);
    ASSERT_TRUE(decoded.is_ok()) << c.value << ": " << decoded.status().to_string();
    EXPECT_EQ(*decoded, c.value);
  }
}

TEST(CodecVarintTest, EveryPowerOfTwoBoundaryRoundTripsWithMinimalLength) {
  for (int bit = 0; bit < 64; ++bit) {
    std::uint64_t power = std::uint64_t{1} << bit;
    for (std::uint64_t value : {power - 1, power, power + 1}) {
      Bytes encoded = encode_varint(value);
      std::size_t significant_bits =
          value == 0 ? 1 : static_cast<std::size_t>(std::bit_width(value));
      EXPECT_EQ(encoded.size(), (significant_bits + 6) / 7) << value;
      auto decoded = decode_varint(encoded);
      ASSERT_TRUE(decoded.is_ok()) << value << ": " << decoded.status().to_string();
      EXPECT_EQ(*decoded, value);
    }
  }
}

TEST(CodecVarintTest, NonMinimalEncodingsAreRejected) {
  const std::vector<Bytes> inputs = {
      {0x80, 0x00},                     // zero in two bytes
      {0x81, 0x00},                     // one with a trailing zero group
      {0xff, 0x00},                     // 127 in two bytes
      {0x80, 0x80, 0x00},               // zero in three bytes
      {0x80, 0x81, 0x00},               // 128 in three bytes
      concat(repeat(0xff, 9), {0x00}),  // 2^63 - 1 in ten bytes
  };
  for (const Bytes& input : inputs) {
    auto decoded = decode_varint(input);
    ASSERT_FALSE(decoded.is_ok()) << to_hex(input);
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(decoded.status().message(), "not minimally encoded"))
        << to_hex(input) << ": " << decoded.status().message();
  }
}

TEST(CodecVarintTest, OverflowingTenthByteIsRejected) {
  for (std::uint8_t last : Bytes{0x02, 0x03, 0x40, 0x7f}) {
    for (std::uint8_t fill : Bytes{0x80, 0xff}) {
      Bytes input = concat(repeat(fill, 9), {last});
      auto decoded = decode_varint(input);
      ASSERT_FALSE(decoded.is_ok()) << to_hex(input);
      EXPECT_TRUE(contains(decoded.status().message(), "overflows 64 bits"))
          << to_hex(input) << ": " << decoded.status().message();
    }
  }
}

TEST(CodecVarintTest, MoreThanTenBytesIsRejected) {
  const std::vector<Bytes> inputs = {
      concat(repeat(0x80, 10), {0x00}),
      concat(repeat(0x80, 10), {0x01}),
      concat(repeat(0xff, 9), {0x81, 0x00}),
      concat(repeat(0xff, 9), {0x81, 0x01}),
      repeat(0x80, 32),
  };
  for (const Bytes& input : inputs) {
    auto decoded = decode_varint(input);
    ASSERT_FALSE(decoded.is_ok()) << to_hex(input);
    EXPECT_TRUE(contains(decoded.status().message(), "longer than 10 bytes"))
        << to_hex(input) << ": " << decoded.status().message();
  }
}

TEST(CodecVarintTest, TruncatedVarintIsRejected) {
  for (const Bytes& input : {Bytes{}, Bytes{0x80}, Bytes{0xff, 0xff}, repeat(0xff, 9)}) {
    auto decoded = decode_varint(input);
    ASSERT_FALSE(decoded.is_ok()) << to_hex(input);
    EXPECT_TRUE(contains(decoded.status().message(), "truncated")) << decoded.status().message();
  }
}

TEST(CodecVarintTest, AtMostAcceptsTheLimitAndRejectsAbove) {
  Bytes input = concat(encode_varint(1000), encode_varint(1001));
  Decoder decoder(input);
  EXPECT_EQ(decoder.varint_at_most(1000, "order count"), 1000u);
  EXPECT_TRUE(decoder.ok());
  EXPECT_EQ(decoder.varint_at_most(1000, "order count"), 0u);
  Status status = decoder.finish();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "order count is 1001, above the limit 1000");
}

// ---------------------------------------------------------------------------------------------
// Byte strings, strings and raw bytes.

TEST(CodecBytesTest, LengthPrefixedRoundTrip) {
  Bytes empty;
  Bytes small = {0x00, 0xff, 0x10};
  Bytes large = repeat(0x5a, 300);  // a two-byte length prefix
  Encoder encoder;
  encoder.bytes(empty);
  encoder.bytes(small);
  encoder.bytes(large);
  encoder.string("");
  encoder.string("BTC/USD");
  EXPECT_EQ(encoder.size(), 1u + (1 + 3) + (2 + 300) + 1 + (1 + 7));

  Bytes encoded = encoder.take();
  EXPECT_EQ(encoded[0], 0x00);
  EXPECT_EQ(encoded[1], 0x03);
  Decoder decoder(encoded);
  EXPECT_EQ(decoder.bytes(0, "empty"), empty);
  EXPECT_EQ(decoder.bytes(3, "small"), small);
  EXPECT_EQ(decoder.bytes(300, "large"), large);
  EXPECT_EQ(decoder.string(0, "empty text"), "");
  EXPECT_EQ(decoder.string(16, "market"), "BTC/USD");
  EXPECT_TRUE(decoder.finish().is_ok()) << decoder.finish().to_string();
}

TEST(CodecBytesTest, LengthOverTheBoundIsRejected) {
  Encoder encoder;
  encoder.bytes(Bytes(5, 0x01));
  Bytes encoded = encoder.take();
  Decoder decoder(encoded);
  EXPECT_TRUE(decoder.bytes(4, "client order id").empty());
  Status status = decoder.finish();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "client order id length 5 exceeds the limit 4");
}

TEST(CodecBytesTest, StringLengthOverTheBoundIsRejected) {
  Encoder encoder;
  encoder.string("too long");
  Bytes encoded = encoder.take();
  Decoder decoder(encoded);
  EXPECT_EQ(decoder.string(7, "memo"), "");
  EXPECT_TRUE(contains(decoder.finish().message(), "memo length 8 exceeds the limit 7"));
}

TEST(CodecBytesTest, LengthPrefixLyingAboutAvailableBytesIsRejected) {
  // Claims 100 bytes, carries 3.
  Bytes input = concat(encode_varint(100), {0x01, 0x02, 0x03});
  Decoder decoder(input);
  EXPECT_TRUE(decoder.bytes(1000, "payload").empty());
  EXPECT_TRUE(contains(decoder.finish().message(), "truncated")) << decoder.finish().message();
}

TEST(CodecBytesTest, HugeLyingLengthDoesNotAllocate) {
  // A prefix of 2^64 - 1 under an unlimited bound must fail on the input size, not try to
  // allocate (which would throw or abort, and under ASan report an allocation failure).
  for (std::uint64_t length : {kMax64, kMax64 / 2, std::uint64_t{1} << 40}) {
    Bytes input = concat(encode_varint(length), {0x01});
    Decoder decoder(input);
    EXPECT_TRUE(decoder.bytes(std::numeric_limits<std::size_t>::max(), "payload").empty());
    EXPECT_TRUE(contains(decoder.finish().message(), "truncated")) << decoder.finish().message();

    Decoder text_decoder(input);
    EXPECT_EQ(text_decoder.string(std::numeric_limits<std::size_t>::max(), "text"), "");
    EXPECT_FALSE(text_decoder.finish().is_ok());
  }
}

TEST(CodecRawTest, RawHasNoPrefix) {
  Bytes key = {0xde, 0xad, 0xbe, 0xef};
  Encoder encoder;
  encoder.raw(key);
  EXPECT_EQ(encoder.buffer(), key);

  Bytes encoded = encoder.take();
  Decoder decoder(encoded);
  std::array<std::uint8_t, 4> out{};
  decoder.raw(out);
  EXPECT_EQ(Bytes(out.begin(), out.end()), key);
  EXPECT_TRUE(decoder.finish().is_ok());
}

TEST(CodecRawTest, TruncatedRawZeroFillsTheOutput) {
  Bytes input = {0x01, 0x02, 0x03};
  Decoder decoder(input);
  std::array<std::uint8_t, 4> out;
  out.fill(0xee);
  decoder.raw(out);
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{}));
  EXPECT_TRUE(contains(decoder.finish().message(), "truncated"));
}

// ---------------------------------------------------------------------------------------------
// Versions, whole messages, trailing bytes, the sticky error.

constexpr std::uint8_t kVersion = 3;

// One field of every kind, behind a version byte.
struct Message {
  std::uint8_t tag = 0;
  bool flag = false;
  std::uint16_t port = 0;
  std::uint32_t height = 0;
  std::uint64_t nonce = 0;
  std::int64_t price = 0;
  std::uint64_t small = 0;
  std::uint64_t large = 0;
  std::uint64_t bounded = 0;
  Bytes payload;
  std::string market;
  std::array<std::uint8_t, 8> digest{};

  bool operator==(const Message&) const = default;
};

Message sample_message() {
  return Message{0xab,
                 true,
                 0xbeef,
                 0xdeadbeef,
                 0x0123456789abcdefULL,
                 -1234567,
                 127,
                 kMax64,
                 50,
                 {0x00, 0x01, 0x02},
                 "ETH/USDC",
                 {1, 2, 3, 4, 5, 6, 7, 8}};
}

Bytes encode_message(const Message& message) {
  Encoder encoder;
  encoder.u8(kVersion);
  encoder.u8(message.tag);
  encoder.boolean(message.flag);
  encoder.u16(message.port);
  encoder.u32(message.height);
  encoder.u64(message.nonce);
  encoder.i64(message.price);
  encoder.varint(message.small);
  encoder.varint(message.large);
  encoder.varint(message.bounded);
  encoder.bytes(message.payload);
  encoder.string(message.market);
  encoder.raw(message.digest);
  return encoder.take();
}

Result<Message> decode_message(ByteView input) {
  Decoder decoder(input);
  Message message;
  decoder.expect_version(kVersion, "message");
  message.tag = decoder.u8();
  message.flag = decoder.boolean();
  message.port = decoder.u16();
  message.height = decoder.u32();
  message.nonce = decoder.u64();
  message.price = decoder.i64();
  message.small = decoder.varint();
  message.large = decoder.varint();
  message.bounded = decoder.varint_at_most(100, "bounded");
  message.payload = decoder.bytes(16, "payload");
  message.market = decoder.string(16, "market");
  decoder.raw(message.digest);
  BALLAST_RETURN_IF_ERROR(decoder.finish());
  return message;
}

TEST(CodecMessageTest, EveryTypeRoundTrips) {
  Bytes encoded = encode_message(sample_message());
  auto decoded = decode_message(encoded);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, sample_message());
  EXPECT_EQ(encode_message(*decoded), encoded);
}

TEST(CodecMessageTest, TruncationAtEveryBytePositionIsRejected) {
  Bytes encoded = encode_message(sample_message());
  for (std::size_t length = 0; length < encoded.size(); ++length) {
    auto decoded = decode_message(ByteView(encoded).first(length));
    ASSERT_FALSE(decoded.is_ok()) << "accepted a prefix of " << length << " bytes";
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(decoded.status().message(), "truncated"))
        << length << ": " << decoded.status().message();
  }
}

TEST(CodecMessageTest, TrailingBytesAreRejected) {
  Bytes encoded = encode_message(sample_message());
  for (std::size_t extra : {1u, 2u, 100u}) {
    auto decoded = decode_message(concat(encoded, Bytes(extra, 0x00)));
    ASSERT_FALSE(decoded.is_ok());
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(decoded.status().message(),
              std::to_string(extra) + " trailing bytes after the message");
  }
}

TEST(CodecMessageTest, RemainingCountsUnreadBytes) {
  Bytes input = {0x01, 0x02, 0x03};
  Decoder decoder(input);
  EXPECT_EQ(decoder.remaining(), 3u);
  decoder.u8();
  EXPECT_EQ(decoder.remaining(), 2u);
  decoder.u16();
  EXPECT_EQ(decoder.remaining(), 0u);
  EXPECT_TRUE(decoder.finish().is_ok());
}

TEST(CodecMessageTest, VersionMismatchIsRejected) {
  Bytes encoded = encode_message(sample_message());
  encoded[0] = static_cast<std::uint8_t>(kVersion + 1);
  auto decoded = decode_message(encoded);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decoded.status().message(), "message has version 4, expected 3");
}

TEST(CodecMessageTest, MissingVersionIsTruncation) {
  auto decoded = decode_message(Bytes{});
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_TRUE(contains(decoded.status().message(), "truncated"));
}

TEST(CodecMessageTest, ErrorIsStickyAndTheFirstOneWins) {
  // A bad boolean, followed by plenty of bytes that would decode fine on their own.
  Bytes input = concat({0x02}, repeat(0x01, 64));
  Decoder decoder(input);
  EXPECT_FALSE(decoder.boolean());
  EXPECT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.remaining(), 0u);

  EXPECT_EQ(decoder.u8(), 0);
  EXPECT_FALSE(decoder.boolean());
  EXPECT_EQ(decoder.u16(), 0);
  EXPECT_EQ(decoder.u32(), 0u);
  EXPECT_EQ(decoder.u64(), 0u);
  EXPECT_EQ(decoder.i64(), 0);
  EXPECT_EQ(decoder.varint(), 0u);
  EXPECT_EQ(decoder.varint_at_most(5, "count"), 0u);
  EXPECT_TRUE(decoder.bytes(64, "payload").empty());
  EXPECT_EQ(decoder.string(64, "text"), "");
  std::array<std::uint8_t, 4> out;
  out.fill(0xee);
  decoder.raw(out);
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{}));
  decoder.expect_version(1, "message");
  decoder.fail("a later semantic error");

  Status status = decoder.finish();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "boolean byte is neither 0 nor 1");
}

TEST(CodecMessageTest, SemanticFailureIsReportedByFinish) {
  Bytes input = {0x07};
  Decoder decoder(input);
  EXPECT_EQ(decoder.u8(), 7);
  decoder.fail("side 7 is neither buy nor sell");
  EXPECT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.finish().message(), "side 7 is neither buy nor sell");
}

TEST(CodecEncoderTest, TakeMovesTheBufferOut) {
  Encoder encoder(64);
  encoder.u32(7);
  EXPECT_EQ(encoder.size(), 4u);
  Bytes taken = encoder.take();
  EXPECT_EQ(taken, (Bytes{0x07, 0x00, 0x00, 0x00}));
}

// ---------------------------------------------------------------------------------------------
// Properties.

RC_GTEST_PROP(CodecProperty, VarintRoundTrips, (std::uint64_t value)) {
  auto decoded = decode_varint(encode_varint(value));
  RC_ASSERT(decoded.is_ok());
  RC_ASSERT(*decoded == value);
}

RC_GTEST_PROP(CodecProperty, AcceptedVarintReencodesToTheSameBytes,
              (std::vector<std::uint8_t> input)) {
  auto decoded = decode_varint(input);
  if (decoded.is_ok()) RC_ASSERT(encode_varint(*decoded) == input);
}

RC_GTEST_PROP(CodecProperty, BytesAndStringsRoundTrip,
              (std::vector<std::uint8_t> payload, std::string text, std::int64_t price)) {
  Encoder encoder;
  encoder.bytes(payload);
  encoder.string(text);
  encoder.i64(price);
  Bytes encoded = encoder.take();
  Decoder decoder(encoded);
  RC_ASSERT(decoder.bytes(payload.size(), "payload") == payload);
  RC_ASSERT(decoder.string(text.size(), "text") == text);
  RC_ASSERT(decoder.i64() == price);
  RC_ASSERT(decoder.finish().is_ok());
}

RC_GTEST_PROP(CodecProperty, AcceptedMessageReencodesToTheSameBytes, ()) {
  Bytes encoded = encode_message(sample_message());
  const auto position = *rc::gen::inRange<std::size_t>(0, encoded.size());
  const auto byte = *rc::gen::arbitrary<std::uint8_t>();
  encoded[position] = byte;
  auto decoded = decode_message(encoded);
  if (decoded.is_ok()) RC_ASSERT(encode_message(*decoded) == encoded);
}

}  // namespace
}  // namespace ballast
