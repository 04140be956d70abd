#include "exchange/json_codec.h"

namespace ballast::exchange {
namespace {

using Json = nlohmann::json;

Result<std::int64_t> integer(const Json& object, const char* name, bool required,
                             std::int64_t fallback = 0) {
  auto it = object.find(name);
  if (it == object.end()) {
    if (required) return invalid_argument(std::string("missing field \"") + name + "\"");
    return fallback;
  }
  // Every integer of a transaction body is a non-negative int64 (prices, sizes, ids, amounts):
  // anything else could not be encoded, so it is refused here with the field's name.
  std::optional<std::int64_t> value;
  if (it->is_number_unsigned() && it->get<std::uint64_t>() <= INT64_MAX) {
    value = static_cast<std::int64_t>(it->get<std::uint64_t>());
  } else if (it->is_string()) {
    const auto& digits = it->get_ref<const std::string&>();
    try {
      std::size_t used = 0;
      long long parsed = std::stoll(digits, &used, 10);
      if (used == digits.size() && parsed >= 0) value = static_cast<std::int64_t>(parsed);
    } catch (const std::exception&) {
    }
  }
  if (value) return *value;
  if (it->is_number_integer() || it->is_string()) {
    return invalid_argument(std::string("field \"") + name + "\" must be an integer from 0 to " +
                            std::to_string(INT64_MAX));
  }
  return invalid_argument(std::string("field \"") + name + "\" must be an integer");
}

Result<std::string> text(const Json& object, const char* name, bool required,
                         std::string fallback = {}) {
  auto it = object.find(name);
  if (it == object.end()) {
    if (required) return invalid_argument(std::string("missing field \"") + name + "\"");
    return fallback;
  }
  if (!it->is_string()) return invalid_argument(std::string("field \"") + name + "\" must be text");
  return it->get<std::string>();
}

template <typename Parsed>
Result<Parsed> choice(const Json& object, const char* name, const char* fallback,
                      std::optional<Parsed> (*parse)(std::string_view)) {
  BALLAST_ASSIGN_OR_RETURN(std::string value, text(object, name, false, fallback));
  auto parsed = parse(value);
  if (!parsed) return invalid_argument(std::string("unknown ") + name + " \"" + value + "\"");
  return *parsed;
}

Result<MarketId> market_field(const Json& object, const Genesis& genesis) {
  BALLAST_ASSIGN_OR_RETURN(std::string symbol, text(object, "market", true));
  auto market = genesis.find_market(symbol);
  if (!market) return invalid_argument("unknown market \"" + symbol + "\"");
  return *market;
}

Result<OrderRef> order_ref(const Json& object) {
  bool by_id = object.contains("order_id");
  bool by_client = object.contains("client_order_id");
  if (by_id == by_client) {
    return invalid_argument("give exactly one of \"order_id\" and \"client_order_id\"");
  }
  BALLAST_ASSIGN_OR_RETURN(std::int64_t id,
                           integer(object, by_id ? "order_id" : "client_order_id", true));
  if (id <= 0) return invalid_argument("order reference must be positive");
  return OrderRef{by_client, static_cast<std::uint64_t>(id)};
}

Result<TransactionBody> place_from_json(const Json& object, const Genesis& genesis) {
  PlaceOrder order;
  BALLAST_ASSIGN_OR_RETURN(order.market, market_field(object, genesis));
  BALLAST_ASSIGN_OR_RETURN(order.side, choice<Side>(object, "side", "", parse_side));
  BALLAST_ASSIGN_OR_RETURN(order.type,
                           choice<OrderType>(object, "type", "limit", parse_order_type));
  const char* default_tif = order.type == OrderType::kMarket ? "ioc" : "gtc";
  BALLAST_ASSIGN_OR_RETURN(
      order.time_in_force,
      choice<TimeInForce>(object, "time_in_force", default_tif, parse_time_in_force));
  BALLAST_ASSIGN_OR_RETURN(
      order.self_trade_prevention,
      choice<SelfTradePrevention>(object, "self_trade_prevention", "cancel_newest",
                                  parse_self_trade_prevention));
  if (object.contains("post_only")) {
    if (!object["post_only"].is_boolean()) return invalid_argument("post_only must be true/false");
    order.post_only = object["post_only"].get<bool>();
  }
  const char* price_field = order.type == OrderType::kMarket ? "protection_price" : "price";
  BALLAST_ASSIGN_OR_RETURN(order.price, integer(object, price_field, true));
  BALLAST_ASSIGN_OR_RETURN(order.quantity, integer(object, "quantity", true));
  BALLAST_ASSIGN_OR_RETURN(std::int64_t client_id, integer(object, "client_order_id", false));
  if (client_id < 0) return invalid_argument("client_order_id must not be negative");
  order.client_order_id = static_cast<ClientOrderId>(client_id);
  return TransactionBody{order};
}

}  // namespace

Result<TransactionBody> body_from_json(
    const Json& object, const Genesis& genesis,
    const std::function<Result<AccountId>(const std::string&)>& resolve_account) {
  if (!object.is_object()) return invalid_argument("a transaction must be a JSON object");
  BALLAST_ASSIGN_OR_RETURN(std::string action, text(object, "action", true));
  if (action == "place") return place_from_json(object, genesis);
  if (action == "cancel") {
    BALLAST_ASSIGN_OR_RETURN(OrderRef ref, order_ref(object));
    return TransactionBody{CancelOrder{ref}};
  }
  if (action == "cancel_all") {
    CancelAll cancel;
    if (object.contains("market")) {
      BALLAST_ASSIGN_OR_RETURN(cancel.market, market_field(object, genesis));
    }
    return TransactionBody{cancel};
  }
  if (action == "replace") {
    ReplaceOrder replace;
    BALLAST_ASSIGN_OR_RETURN(replace.order, order_ref(object));
    BALLAST_ASSIGN_OR_RETURN(replace.new_price, integer(object, "price", false));
    BALLAST_ASSIGN_OR_RETURN(replace.new_quantity, integer(object, "quantity", false));
    return TransactionBody{replace};
  }
  if (action == "transfer") {
    Transfer transfer;
    BALLAST_ASSIGN_OR_RETURN(std::string to, text(object, "to", true));
    BALLAST_ASSIGN_OR_RETURN(transfer.recipient, resolve_account(to));
    BALLAST_ASSIGN_OR_RETURN(std::string asset, text(object, "asset", true));
    auto asset_id = genesis.find_asset(asset);
    if (!asset_id) return invalid_argument("unknown asset \"" + asset + "\"");
    transfer.asset = *asset_id;
    BALLAST_ASSIGN_OR_RETURN(transfer.amount, integer(object, "amount", true));
    return TransactionBody{transfer};
  }
  return invalid_argument("unknown action \"" + action +
                          "\" (place, cancel, cancel_all, replace, transfer)");
}

Result<std::optional<std::int64_t>> optional_integer_field(const Json& object, const char* name) {
  if (!object.is_object() || !object.contains(name)) return std::optional<std::int64_t>();
  BALLAST_ASSIGN_OR_RETURN(std::int64_t value, integer(object, name, true));
  return std::optional<std::int64_t>(value);
}

Json event_to_json(const Event& event, const Genesis& genesis) {
  return std::visit(
      [&](const auto& e) -> Json {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, OrderAccepted>) {
          return {{"event", "accepted"},
                  {"order_id", e.order_id},
                  {"client_order_id", e.client_order_id},
                  {"market", genesis.markets[e.market].symbol},
                  {"side", side_name(e.side)},
                  {"type", order_type_name(e.type)},
                  {"time_in_force", time_in_force_name(e.time_in_force)},
                  {"price", e.price},
                  {"quantity", e.quantity}};
        } else if constexpr (std::is_same_v<E, OrderFilled>) {
          return {{"event", "fill"},
                  {"market", genesis.markets[e.market].symbol},
                  {"maker_order_id", e.maker_order_id},
                  {"taker_order_id", e.taker_order_id},
                  {"maker", e.maker.hex()},
                  {"taker", e.taker.hex()},
                  {"taker_side", side_name(e.taker_side)},
                  {"price", e.price},
                  {"quantity", e.quantity},
                  {"maker_fee", e.maker_fee},
                  {"taker_fee", e.taker_fee}};
        } else if constexpr (std::is_same_v<E, OrderRested>) {
          return {{"event", "rested"},
                  {"order_id", e.order_id},
                  {"price", e.price},
                  {"quantity", e.quantity}};
        } else if constexpr (std::is_same_v<E, OrderCancelled>) {
          return {{"event", "cancelled"},
                  {"order_id", e.order_id},
                  {"owner", e.owner.hex()},
                  {"remaining", e.remaining},
                  {"reason", cancel_reason_name(e.reason)}};
        } else if constexpr (std::is_same_v<E, OrderReplaced>) {
          return {{"event", "replaced"},
                  {"order_id", e.order_id},
                  {"old_price", e.old_price},
                  {"old_quantity", e.old_quantity},
                  {"new_price", e.new_price},
                  {"new_quantity", e.new_quantity},
                  {"kept_priority", e.kept_priority}};
        } else {
          return {{"event", "transfer"},
                  {"from", e.from.hex()},
                  {"to", e.to.hex()},
                  {"asset", genesis.assets[e.asset].symbol},
                  {"amount", e.amount}};
        }
      },
      event);
}

Json result_to_json(const TxResult& result, const Genesis& genesis) {
  Json json = {{"tx_id", result.tx_id.hex()}, {"accepted", result.accepted()}};
  if (!result.accepted()) {
    json["reject"] = reject_code_name(result.reject);
    json["message"] = result.message;
  }
  Json events = Json::array();
  for (const Event& event : result.events) events.push_back(event_to_json(event, genesis));
  json["events"] = std::move(events);
  return json;
}

namespace {

// Prices that may be absent are null in JSON rather than a magic 0.
Json optional_price(Price price) {
  return price > 0 ? Json(price) : Json(nullptr);
}

Json optional_price(const std::optional<Price>& price) {
  return price ? Json(*price) : Json(nullptr);
}

}  // namespace

Json market_event_to_json(const MarketEvent& event, const Genesis& genesis) {
  Json json = {{"event", "market_state"},
               {"market", genesis.markets[event.market].symbol},
               {"from", market_state_name(event.from)},
               {"to", market_state_name(event.to)},
               {"reason", market_transition_reason_name(event.reason)},
               {"phase", market_event_phase_name(event.phase)},
               {"time_ms", event.time_ms},
               {"ends_ms", event.ends_ms > 0 ? Json(event.ends_ms) : Json(nullptr)},
               {"reference_price", optional_price(event.reference_price)},
               {"band_low", optional_price(event.band_low)},
               {"band_high", optional_price(event.band_high)}};
  if (event.phase == MarketEventPhase::kTransaction) json["transaction"] = event.transaction;
  if (event.reason == MarketTransitionReason::kAuctionCompleted) {
    json["clearing_price"] = optional_price(event.clearing_price);
    json["matched_quantity"] = event.matched_quantity;
  }
  return json;
}

Json market_status_to_json(const MarketStatus& status, const Genesis& genesis) {
  return {{"market", genesis.markets[status.market].symbol},
          {"breakers_enabled", status.breakers_enabled},
          {"state", market_state_name(status.state)},
          {"reason", market_transition_reason_name(status.reason)},
          {"state_entered_ms", status.state_entered_ms},
          {"state_ends_ms", status.state_ends_ms > 0 ? Json(status.state_ends_ms) : Json(nullptr)},
          {"reference_price", optional_price(status.reference_price)},
          {"band_low", status.band ? Json(status.band->low) : Json(nullptr)},
          {"band_high", status.band ? Json(status.band->high) : Json(nullptr)},
          {"last_trade_price", optional_price(status.last_trade_price)},
          {"last_auction_price", optional_price(status.last_auction_price)},
          {"last_auction_volume", status.last_auction_volume},
          {"limit_states", status.limit_states},
          {"limit_pauses", status.limit_pauses},
          {"velocity_pauses", status.velocity_pauses},
          {"auctions", status.auctions}};
}

}  // namespace ballast::exchange
