#include "base/codec.h"

#include <string>

namespace ballast {

void Encoder::varint(std::uint64_t value) {
  while (value >= 0x80) {
    buffer_.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  buffer_.push_back(static_cast<std::uint8_t>(value));
}

void Encoder::bytes(ByteView value) {
  varint(value.size());
  raw(value);
}

bool Decoder::need(std::size_t count) {
  if (!ok()) return false;
  if (input_.size() - position_ < count) {
    fail("truncated input: need " + std::to_string(count) + " more bytes at offset " +
         std::to_string(position_));
    return false;
  }
  return true;
}

std::uint64_t Decoder::fixed_le(int width) {
  if (!need(static_cast<std::size_t>(width))) return 0;
  std::uint64_t value = 0;
  for (int i = 0; i < width; ++i) {
    value |= static_cast<std::uint64_t>(input_[position_ + i]) << (8 * i);
  }
  position_ += static_cast<std::size_t>(width);
  return value;
}

std::uint8_t Decoder::u8() {
  if (!need(1)) return 0;
  return input_[position_++];
}

bool Decoder::boolean() {
  std::uint8_t value = u8();
  if (value > 1) fail("boolean byte is neither 0 nor 1");
  return value == 1;
}

std::uint64_t Decoder::varint() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (!need(1)) return 0;
    std::uint8_t byte = input_[position_++];
    std::uint64_t bits = byte & 0x7f;
    if (shift == 63 && bits > 1) {
      fail("varint overflows 64 bits");
      return 0;
    }
    value |= bits << shift;
    if ((byte & 0x80) == 0) {
      // Canonical form: no trailing zero groups (the single byte 0x00 is the only zero).
      if (byte == 0 && shift > 0) {
        fail("varint is not minimally encoded");
        return 0;
      }
      return value;
    }
  }
  fail("varint is longer than 10 bytes");
  return 0;
}

std::uint64_t Decoder::varint_at_most(std::uint64_t max_value, const char* what) {
  std::uint64_t value = varint();
  if (ok() && value > max_value) {
    fail(std::string(what) + " is " + std::to_string(value) + ", above the limit " +
         std::to_string(max_value));
    return 0;
  }
  return value;
}

Bytes Decoder::bytes(std::size_t max_length, const char* what) {
  std::uint64_t length = varint();
  if (!ok()) return {};
  if (length > max_length) {
    fail(std::string(what) + " length " + std::to_string(length) + " exceeds the limit " +
         std::to_string(max_length));
    return {};
  }
  // Checking the input holds the bytes before allocating keeps a lying prefix harmless.
  if (!need(length)) return {};
  Bytes value(input_.begin() + static_cast<std::ptrdiff_t>(position_),
              input_.begin() + static_cast<std::ptrdiff_t>(position_ + length));
  position_ += length;
  return value;
}

std::string Decoder::string(std::size_t max_length, const char* what) {
  Bytes value = bytes(max_length, what);
  return std::string(value.begin(), value.end());
}

void Decoder::raw(std::span<std::uint8_t> out) {
  if (!need(out.size())) {
    std::memset(out.data(), 0, out.size());
    return;
  }
  std::memcpy(out.data(), input_.data() + position_, out.size());
  position_ += out.size();
}

void Decoder::expect_version(std::uint8_t expected, const char* what) {
  std::uint8_t version = u8();
  if (ok() && version != expected) {
    fail(std::string(what) + " has version " + std::to_string(version) + ", expected " +
         std::to_string(expected));
  }
}

void Decoder::fail(std::string message) {
  if (ok()) error_ = invalid_argument(std::move(message));
}

Status Decoder::finish() const {
  if (!ok()) return error_;
  if (position_ != input_.size()) {
    return invalid_argument(std::to_string(input_.size() - position_) +
                            " trailing bytes after the message");
  }
  return Status::ok();
}

}  // namespace ballast
