// Fuzzes the canonical codec. Arbitrary bytes are decoded as a small tagged message that uses
// every Decoder method; whatever the decoder accepts must re-encode to exactly the input bytes
// (one value, one encoding), and whatever it rejects must leave the decoder in its sticky error
// state. Any violation aborts, which libFuzzer reports as a crash.
//
// Message layout: version byte 1, a varint field count (at most 64), then per field a tag byte
// and the field's encoding.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "base/codec.h"

namespace ballast {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::uint64_t kMaxFields = 64;
constexpr std::uint64_t kMaxBoundedVarint = 1'000'000;
constexpr std::size_t kMaxBytes = 64;
constexpr std::size_t kMaxString = 32;
constexpr std::size_t kRawLength = 16;

enum Tag : std::uint8_t {
  kU8,
  kBoolean,
  kU16,
  kU32,
  kU64,
  kI64,
  kVarint,
  kVarintAtMost,
  kBytes,
  kString,
  kRaw,
};

struct Field {
  std::uint8_t tag = 0;
  std::uint64_t number = 0;  // every numeric field, widened (i64 as its two's complement)
  Bytes data;                // bytes, string and raw fields
};

Field decode_field(Decoder& decoder) {
  Field field;
  field.tag = decoder.u8();
  switch (field.tag) {
    case kU8:
      field.number = decoder.u8();
      break;
    case kBoolean:
      field.number = decoder.boolean() ? 1 : 0;
      break;
    case kU16:
      field.number = decoder.u16();
      break;
    case kU32:
      field.number = decoder.u32();
      break;
    case kU64:
      field.number = decoder.u64();
      break;
    case kI64:
      field.number = static_cast<std::uint64_t>(decoder.i64());
      break;
    case kVarint:
      field.number = decoder.varint();
      break;
    case kVarintAtMost:
      field.number = decoder.varint_at_most(kMaxBoundedVarint, "bounded varint");
      break;
    case kBytes:
      field.data = decoder.bytes(kMaxBytes, "bytes field");
      break;
    case kString: {
      std::string text = decoder.string(kMaxString, "string field");
      field.data.assign(text.begin(), text.end());
      break;
    }
    case kRaw: {
      std::array<std::uint8_t, kRawLength> raw;
      decoder.raw(raw);
      field.data.assign(raw.begin(), raw.end());
      break;
    }
    default:
      decoder.fail("unknown field tag " + std::to_string(field.tag));
      break;
  }
  return field;
}

void encode_field(Encoder& encoder, const Field& field) {
  encoder.u8(field.tag);
  switch (field.tag) {
    case kU8:
      encoder.u8(static_cast<std::uint8_t>(field.number));
      break;
    case kBoolean:
      encoder.boolean(field.number != 0);
      break;
    case kU16:
      encoder.u16(static_cast<std::uint16_t>(field.number));
      break;
    case kU32:
      encoder.u32(static_cast<std::uint32_t>(field.number));
      break;
    case kU64:
      encoder.u64(field.number);
      break;
    case kI64:
      encoder.i64(static_cast<std::int64_t>(field.number));
      break;
    case kVarint:
    case kVarintAtMost:
      encoder.varint(field.number);
      break;
    case kBytes:
      encoder.bytes(field.data);
      break;
    case kString:
      encoder.string(
          std::string_view(reinterpret_cast<const char*>(field.data.data()), field.data.size()));
      break;
    case kRaw:
      encoder.raw(field.data);
      break;
    default:
      BALLAST_ASSERT_MSG(false, "an accepted message holds an unknown tag");
  }
}

// Once failed, a decoder reads nothing more and reports its first error.
void check_failed_decoder(Decoder& decoder) {
  BALLAST_ASSERT(!decoder.ok());
  BALLAST_ASSERT(decoder.remaining() == 0);
  BALLAST_ASSERT(decoder.u8() == 0);
  BALLAST_ASSERT(decoder.u64() == 0);
  BALLAST_ASSERT(decoder.varint() == 0);
  BALLAST_ASSERT(decoder.bytes(kMaxBytes, "after failure").empty());
  Status status = decoder.finish();
  BALLAST_ASSERT(status.code() == StatusCode::kInvalidArgument);
  BALLAST_ASSERT(!status.message().empty());
}

void fuzz_one(ByteView input) {
  Decoder decoder(input);
  decoder.expect_version(kVersion, "fuzz message");
  std::uint64_t count = decoder.varint_at_most(kMaxFields, "field count");
  std::vector<Field> fields;
  for (std::uint64_t i = 0; i < count && decoder.ok(); ++i) fields.push_back(decode_field(decoder));
  if (!decoder.finish().is_ok()) {
    if (!decoder.ok()) check_failed_decoder(decoder);
    return;
  }

  Encoder encoder(input.size());
  encoder.u8(kVersion);
  encoder.varint(fields.size());
  for (const Field& field : fields) encode_field(encoder, field);
  const Bytes& reencoded = encoder.buffer();
  BALLAST_ASSERT_MSG(reencoded.size() == input.size() &&
                         std::equal(reencoded.begin(), reencoded.end(), input.begin()),
                     "an accepted message does not re-encode to its own bytes");
}

}  // namespace
}  // namespace ballast

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ballast::fuzz_one(ballast::ByteView(data, size));
  return 0;
}
