// The canonical binary codec for everything that is signed, hashed or stored.
//
// Every value has exactly one encoding: fixed-width little-endian integers, minimal LEB128
// varints, length-prefixed byte strings with a caller-given bound, and a version byte in front
// of every top-level message. Decoding rejects truncated input, trailing bytes, non-minimal
// varints, over-long lengths and out-of-range values, so two replicas that accept the same bytes
// always see the same value. The decoder never allocates more than its input could justify.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace ballast {

class Encoder {
 public:
  Encoder() = default;
  explicit Encoder(std::size_t reserve_bytes) { buffer_.reserve(reserve_bytes); }

  void u8(std::uint8_t value) { buffer_.push_back(value); }
  void boolean(bool value) { u8(value ? 1 : 0); }
  void u16(std::uint16_t value) { fixed_le(value, 2); }
  void u32(std::uint32_t value) { fixed_le(value, 4); }
  void u64(std::uint64_t value) { fixed_le(value, 8); }
  void i64(std::int64_t value) { fixed_le(static_cast<std::uint64_t>(value), 8); }
  void varint(std::uint64_t value);
  // A varint length, then the bytes.
  void bytes(ByteView value);
  void string(std::string_view value) { bytes(as_bytes(value)); }
  // Bytes whose length both sides know (keys, hashes, signatures): no prefix.
  void raw(ByteView value) { buffer_.insert(buffer_.end(), value.begin(), value.end()); }

  const Bytes& buffer() const { return buffer_; }
  Bytes take() { return std::move(buffer_); }
  std::size_t size() const { return buffer_.size(); }

 private:
  void fixed_le(std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) buffer_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  Bytes buffer_;
};

// A decoder with a sticky error: after the first failure every read returns a zero value and
// the first error is kept. Callers read all fields, then must call finish(), which reports that
// error or any trailing bytes.
class Decoder {
 public:
  explicit Decoder(ByteView input) : input_(input) {}

  std::uint8_t u8();
  bool boolean();
  std::uint16_t u16() { return static_cast<std::uint16_t>(fixed_le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed_le(4)); }
  std::uint64_t u64() { return fixed_le(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed_le(8)); }
  std::uint64_t varint();
  // A varint no larger than max_value.
  std::uint64_t varint_at_most(std::uint64_t max_value, const char* what);
  Bytes bytes(std::size_t max_length, const char* what);
  std::string string(std::size_t max_length, const char* what);
  void raw(std::span<std::uint8_t> out);
  // Reads the version byte and fails unless it equals `expected`.
  void expect_version(std::uint8_t expected, const char* what);

  // Records a semantic error (out-of-range field); the first error wins.
  void fail(std::string message);
  bool ok() const { return error_.is_ok(); }
  std::size_t remaining() const { return ok() ? input_.size() - position_ : 0; }
  // The final verdict: the first error, or trailing bytes after the message.
  Status finish() const;

 private:
  bool need(std::size_t count);
  std::uint64_t fixed_le(int width);

  ByteView input_;
  std::size_t position_ = 0;
  Status error_;
};

}  // namespace ballast
