// Vocabulary of the exchange: identifiers, integer amounts and order parameters. All amounts
// are int64 integers in an asset's smallest unit; nothing in exchange state is floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "crypto/keys.h"

namespace ballast::exchange {

using AssetId = std::uint32_t;        // index into the genesis asset list
using MarketId = std::uint32_t;       // index into the genesis market list
using OrderId = std::uint64_t;        // assigned by the exchange, from 1, never reused
using ClientOrderId = std::uint64_t;  // chosen by the trader; 0 means "none"
using Amount = std::int64_t;          // units of an asset
using Price = std::int64_t;           // quote units per lot of base
using Quantity = std::int64_t;        // base units
using AccountId = PublicKey;

inline constexpr std::int64_t kBasisPointsPerUnit = 10'000;

enum class Side : std::uint8_t { kBuy = 0, kSell = 1 };
enum class OrderType : std::uint8_t { kLimit = 0, kMarket = 1 };
enum class TimeInForce : std::uint8_t {
  kGoodTillCancel = 0,
  kImmediateOrCancel = 1,
  kFillOrKill = 2,
};
// What happens when an incoming order would trade with a resting order of the same account.
enum class SelfTradePrevention : std::uint8_t {
  kCancelNewest = 0,  // cancel the rest of the incoming order
  kCancelOldest = 1,  // cancel the resting order and keep matching
  kCancelBoth = 2,    // cancel both
};

inline Side opposite(Side side) {
  return side == Side::kBuy ? Side::kSell : Side::kBuy;
}

std::string_view side_name(Side side);
std::string_view order_type_name(OrderType type);
std::string_view time_in_force_name(TimeInForce tif);
std::string_view self_trade_prevention_name(SelfTradePrevention mode);
std::optional<Side> parse_side(std::string_view text);
std::optional<OrderType> parse_order_type(std::string_view text);
std::optional<TimeInForce> parse_time_in_force(std::string_view text);
std::optional<SelfTradePrevention> parse_self_trade_prevention(std::string_view text);

// Checked int64 arithmetic: nullopt on overflow, never undefined behaviour.
inline std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}
inline std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t product;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}
// For state updates whose overflow was excluded by an earlier check: abort if it happens.
inline std::int64_t add_or_die(std::int64_t a, std::int64_t b) {
  std::int64_t sum;
  BALLAST_ASSERT_MSG(!__builtin_add_overflow(a, b, &sum), "amount overflow");
  return sum;
}
inline std::int64_t sub_or_die(std::int64_t a, std::int64_t b) {
  std::int64_t difference;
  BALLAST_ASSERT_MSG(!__builtin_sub_overflow(a, b, &difference), "amount underflow");
  return difference;
}
// ceil(amount * basis_points / 10000) for amount >= 0 and 0 <= basis_points <= 10000, exact
// and never more than `amount`. Splitting amount into whole and fractional ten-thousandths
// keeps every intermediate within int64.
inline Amount fee_for(Amount amount, std::int64_t basis_points) {
  BALLAST_ASSERT(amount >= 0 && basis_points >= 0 && basis_points <= kBasisPointsPerUnit);
  Amount whole = amount / kBasisPointsPerUnit;
  Amount fraction = amount % kBasisPointsPerUnit;
  return whole * basis_points +
         (fraction * basis_points + kBasisPointsPerUnit - 1) / kBasisPointsPerUnit;
}

}  // namespace ballast::exchange
