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
    case RejectCode::kMarketPaused:
      return "market_paused";
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
    case CancelReason::kMarketPaused:
      return "market_paused";
  }
  return "unknown";
}

std::string_view market_state_name(MarketState state) {
  switch (state) {
    case MarketState::kOpen:
      return "open";
    case MarketState::kLimitState:
      return "limit_state";
    case MarketState::kPaused:
      return "paused";
    case MarketState::kAuction:
      return "auction";
  }
  return "unknown";
}

std::string_view market_transition_reason_name(MarketTransitionReason reason) {
  switch (reason) {
    case MarketTransitionReason::kNone:
      return "none";
    case MarketTransitionReason::kBidAtUpperBand:
      return "bid_at_upper_band";
    case MarketTransitionReason::kAskAtLowerBand:
      return "ask_at_lower_band";
    case MarketTransitionReason::kLimitStateCleared:
      return "limit_state_cleared";
    case MarketTransitionReason::kLimitStateTimeout:
      return "limit_state_timeout";
    case MarketTransitionReason::kVelocity:
      return "velocity";
    case MarketTransitionReason::kPauseEnded:
      return "pause_ended";
    case MarketTransitionReason::kAuctionCompleted:
      return "auction_completed";
  }
  return "unknown";
}

std::string_view market_event_phase_name(MarketEventPhase phase) {
  switch (phase) {
    case MarketEventPhase::kBlockStart:
      return "block_start";
    case MarketEventPhase::kTransaction:
      return "transaction";
    case MarketEventPhase::kBlockEnd:
      return "block_end";
  }
  return "unknown";
}

}  // namespace ballast::exchange
