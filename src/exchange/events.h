// What executing a transaction produced: accepted with events, or rejected with a reason code
// and message. Reason codes are stable names clients can match on (docs/TRANSACTIONS.md).
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "crypto/hash.h"
#include "exchange/types.h"

namespace ballast::exchange {

enum class RejectCode : std::uint8_t {
  kNone = 0,
  // Admission: the transaction changes nothing at all.
  kBadSignature,
  kUnknownAccount,
  kStaleNonce,
  kExpired,
  kFeeTooLow,
  kInsufficientFeeBalance,
  // Execution: the nonce is used and the fee paid, nothing else changes.
  kUnknownMarket,
  kUnknownAsset,
  kInvalidPrice,
  kInvalidQuantity,
  kBelowMinimumSize,
  kInvalidOrder,
  kInsufficientBalance,
  kWouldCross,
  kFillOrKillNotFilled,
  kOrderNotFound,
  kNotOrderOwner,
  kDuplicateClientOrderId,
  kTooManyOpenOrders,
  kOverflow,
  kInvalidTransfer,
  kNoChange,
};

std::string_view reject_code_name(RejectCode code);
// Admission rejections leave the sender's nonce and balances untouched.
inline bool is_admission_reject(RejectCode code) {
  return code >= RejectCode::kBadSignature && code <= RejectCode::kInsufficientFeeBalance;
}

enum class CancelReason : std::uint8_t {
  kRequested = 0,            // CancelOrder or CancelAll
  kImmediateOrCancel = 1,    // the unfilled rest of an IOC or market order
  kSelfTradePrevention = 2,  // cancelled by self-trade prevention
};
std::string_view cancel_reason_name(CancelReason reason);

struct OrderAccepted {
  OrderId order_id = 0;
  ClientOrderId client_order_id = 0;
  MarketId market = 0;
  Side side = Side::kBuy;
  OrderType type = OrderType::kLimit;
  TimeInForce time_in_force = TimeInForce::kGoodTillCancel;
  Price price = 0;
  Quantity quantity = 0;
  auto operator<=>(const OrderAccepted&) const = default;
};

struct OrderFilled {
  MarketId market = 0;
  OrderId maker_order_id = 0;
  OrderId taker_order_id = 0;
  AccountId maker;
  AccountId taker;
  Side taker_side = Side::kBuy;
  Price price = 0;
  Quantity quantity = 0;
  Amount maker_fee = 0;  // in the asset the maker received
  Amount taker_fee = 0;  // in the asset the taker received
  auto operator<=>(const OrderFilled&) const = default;
};

// The order now rests in the book with this open quantity.
struct OrderRested {
  OrderId order_id = 0;
  Price price = 0;
  Quantity quantity = 0;
  auto operator<=>(const OrderRested&) const = default;
};

struct OrderCancelled {
  OrderId order_id = 0;
  AccountId owner;
  Quantity remaining = 0;
  CancelReason reason = CancelReason::kRequested;
  auto operator<=>(const OrderCancelled&) const = default;
};

struct OrderReplaced {
  OrderId order_id = 0;
  Price old_price = 0;
  Quantity old_quantity = 0;
  Price new_price = 0;
  Quantity new_quantity = 0;
  bool kept_priority = false;
  auto operator<=>(const OrderReplaced&) const = default;
};

struct Transferred {
  AccountId from;
  AccountId to;
  AssetId asset = 0;
  Amount amount = 0;
  auto operator<=>(const Transferred&) const = default;
};

using Event = std::variant<OrderAccepted, OrderFilled, OrderRested, OrderCancelled, OrderReplaced,
                           Transferred>;

struct TxResult {
  Hash256 tx_id;
  RejectCode reject = RejectCode::kNone;
  std::string message;  // why it was rejected, for people
  std::vector<Event> events;

  bool accepted() const { return reject == RejectCode::kNone; }
};

}  // namespace ballast::exchange
