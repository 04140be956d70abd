// What executing a transaction produced: accepted with events, or rejected with a reason code
// and message; and the market state changes of the circuit breakers (docs/CIRCUIT_BREAKERS.md).
// Reason codes and state names are stable names clients can match on (docs/TRANSACTIONS.md).
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
  kMarketPaused,  // an order that must trade at once, while the market is paused
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
  kMarketPaused = 3,  // the rest of an IOC or market order when its own fill paused the market
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

enum class MarketState : std::uint8_t {
  kOpen = 0,        // continuous trading inside the band
  kLimitState = 1,  // continuous trading with a quote at the band; it pauses if that lasts
  kPaused = 2,      // orders are placed, replaced and cancelled; nothing matches
  kAuction = 3,     // as paused; the reopening auction uncrosses the book when it ends
};
inline constexpr std::uint8_t kMaxMarketState = 3;
std::string_view market_state_name(MarketState state);

// Why a market entered a state.
enum class MarketTransitionReason : std::uint8_t {
  kNone = 0,               // the state the market started in
  kBidAtUpperBand = 1,     // open -> limit state
  kAskAtLowerBand = 2,     // open -> limit state
  kLimitStateCleared = 3,  // limit state -> open: no quote at the band any more
  kLimitStateTimeout = 4,  // limit state -> paused
  kVelocity = 5,           // open or limit state -> paused: a fill would have moved too fast
  kPauseEnded = 6,         // paused -> auction
  kAuctionCompleted = 7,   // auction -> open
};
inline constexpr std::uint8_t kMaxMarketTransitionReason = 7;
std::string_view market_transition_reason_name(MarketTransitionReason reason);

// When in a block a market event happened.
enum class MarketEventPhase : std::uint8_t {
  kBlockStart = 0,   // timers that expired by the block's time, before its transactions
  kTransaction = 1,  // caused by one transaction (a velocity pause)
  kBlockEnd = 2,     // the limit-state check after the block's transactions
};
std::string_view market_event_phase_name(MarketEventPhase phase);

// A market changed state. Block-level: BlockResult::market_events lists them in order.
struct MarketEvent {
  MarketId market = 0;
  MarketState from = MarketState::kOpen;
  MarketState to = MarketState::kOpen;
  MarketTransitionReason reason = MarketTransitionReason::kNone;
  MarketEventPhase phase = MarketEventPhase::kBlockStart;
  std::size_t transaction = 0;  // index into BlockResult::results, for kTransaction only
  std::int64_t time_ms = 0;     // block time of the transition
  std::int64_t ends_ms = 0;     // when the new state ends by itself; 0 for open
  Price reference_price = 0;    // in force after the transition; 0: none
  Price band_low = 0;           // the band in force after the transition; 0: none
  Price band_high = 0;
  Price clearing_price = 0;       // kAuctionCompleted: the auction price; 0 if nothing crossed
  Quantity matched_quantity = 0;  // kAuctionCompleted: what traded at it
  auto operator<=>(const MarketEvent&) const = default;
};

struct TxResult {
  Hash256 tx_id;
  RejectCode reject = RejectCode::kNone;
  std::string message;  // why it was rejected, for people
  std::vector<Event> events;

  bool accepted() const { return reject == RejectCode::kNone; }
};

}  // namespace ballast::exchange
