#include "exchange/events.h"

namespace ballast::exchange {

std::string_view reject_code_name(RejectCode code) {
  switch (code) {
    case RejectCode::kNone:
      return "none";
    case RejectCode::kBadSignature:
      return "bad_signature";
    case RejectCode::kUnknownAccount:
      return "unknown_account";
    case RejectCode::kStaleNonce:
      return "stale_nonce";
    case RejectCode::kExpired:
      return "expired";
    case RejectCode::kFeeTooLow:
      return "fee_too_low";
    case RejectCode::kInsufficientFeeBalance:
      return "insufficient_fee_balance";
    case RejectCode::kUnknownMarket:
      return "unknown_market";
    case RejectCode::kUnknownAsset:
      return "unknown_asset";
    case RejectCode::kInvalidPrice:
      return "invalid_price";
    case RejectCode::kInvalidQuantity:
      return "invalid_quantity";
    case RejectCode::kBelowMinimumSize:
      return "below_minimum_size";
    case RejectCode::kInvalidOrder:
      return "invalid_order";
    case RejectCode::kInsufficientBalance:
      return "insufficient_balance";
    case RejectCode::kWouldCross:
      return "would_cross";
    case RejectCode::kFillOrKillNotFilled:
      return "fill_or_kill_not_filled";
    case RejectCode::kOrderNotFound:
      return "order_not_found";
    case RejectCode::kNotOrderOwner:
      return "not_order_owner";
    case RejectCode::kDuplicateClientOrderId:
      return "duplicate_client_order_id";
    case RejectCode::kTooManyOpenOrders:
      return "too_many_open_orders";
    case RejectCode::kOverflow:
      return "overflow";
    case RejectCode::kInvalidTransfer:
      return "invalid_transfer";
    case RejectCode::kNoChange:
      return "no_change";
  }
  return "unknown";
}

std::string_view cancel_reason_name(CancelReason reason) {
  switch (reason) {
    case CancelReason::kRequested:
      return "requested";
    case CancelReason::kImmediateOrCancel:
      return "immediate_or_cancel";
    case CancelReason::kSelfTradePrevention:
      return "self_trade_prevention";
  }
  return "unknown";
}

}  // namespace ballast::exchange
