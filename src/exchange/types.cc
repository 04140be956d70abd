#include "exchange/types.h"

namespace ballast::exchange {

std::string_view side_name(Side side) {
  return side == Side::kBuy ? "buy" : "sell";
}

std::string_view order_type_name(OrderType type) {
  return type == OrderType::kLimit ? "limit" : "market";
}

std::string_view time_in_force_name(TimeInForce tif) {
  switch (tif) {
    case TimeInForce::kGoodTillCancel:
      return "gtc";
    case TimeInForce::kImmediateOrCancel:
      return "ioc";
    case TimeInForce::kFillOrKill:
      return "fok";
  }
  return "unknown";
}

std::string_view self_trade_prevention_name(SelfTradePrevention mode) {
  switch (mode) {
    case SelfTradePrevention::kCancelNewest:
      return "cancel_newest";
    case SelfTradePrevention::kCancelOldest:
      return "cancel_oldest";
    case SelfTradePrevention::kCancelBoth:
      return "cancel_both";
  }
  return "unknown";
}

std::optional<Side> parse_side(std::string_view text) {
  if (text == "buy") return Side::kBuy;
  if (text == "sell") return Side::kSell;
  return std::nullopt;
}

std::optional<OrderType> parse_order_type(std::string_view text) {
  if (text == "limit") return OrderType::kLimit;
  if (text == "market") return OrderType::kMarket;
  return std::nullopt;
}

std::optional<TimeInForce> parse_time_in_force(std::string_view text) {
  if (text == "gtc") return TimeInForce::kGoodTillCancel;
  if (text == "ioc") return TimeInForce::kImmediateOrCancel;
  if (text == "fok") return TimeInForce::kFillOrKill;
  return std::nullopt;
}

std::optional<SelfTradePrevention> parse_self_trade_prevention(std::string_view text) {
  if (text == "cancel_newest") return SelfTradePrevention::kCancelNewest;
  if (text == "cancel_oldest") return SelfTradePrevention::kCancelOldest;
  if (text == "cancel_both") return SelfTradePrevention::kCancelBoth;
  return std::nullopt;
}

}  // namespace ballast::exchange
