// Byte containers and hex text, shared by every module that signs, hashes or stores.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ballast {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string to_hex(ByteView bytes);
// Accepts lower- or upper-case hex of even length; anything else is an invalid_argument.
Result<Bytes> from_hex(std::string_view text);

}  // namespace ballast
