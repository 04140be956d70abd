#include "api_client.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <sstream>

namespace ballast::e2e {

namespace {

// Far beyond any height a test reaches.
constexpr std::uint64_t kNeverExpires = 1'000'000'000;

std::string market_symbol(const exchange::Genesis& genesis, exchange::MarketId market) {
  return genesis.markets.at(market).symbol;
}

nlohmann::json order_ref_json(const exchange::OrderRef& ref) {
  return {{ref.by_client_order_id ? "client_order_id" : "order_id", ref.id}};
}

nlohmann::json body_json(const exchange::TransactionBody& body, const exchange::Genesis& genesis) {
  using nlohmann::json;
  if (const auto* place = std::get_if<exchange::PlaceOrder>(&body)) {
    bool market_order = place->type == exchange::OrderType::kMarket;
    return {{"action", "place"},
            {"market", market_symbol(genesis, place->market)},
            {"side", exchange::side_name(place->side)},
            {"type", exchange::order_type_name(place->type)},
            {"time_in_force", exchange::time_in_force_name(place->time_in_force)},
            {"post_only", place->post_only},
            {"self_trade_prevention",
             exchange::self_trade_prevention_name(place->self_trade_prevention)},
            {market_order ? "protection_price" : "price", place->price},
            {"quantity", place->quantity},
            {"client_order_id", place->client_order_id}};
  }
  if (const auto* cancel = std::get_if<exchange::CancelOrder>(&body)) {
    json out = order_ref_json(cancel->order);
    out["action"] = "cancel";
    return out;
  }
  if (const auto* cancel_all = std::get_if<exchange::CancelAll>(&body)) {
    json out = {{"action", "cancel_all"}};
    if (cancel_all->market) out["market"] = market_symbol(genesis, *cancel_all->market);
    return out;
  }
  if (const auto* replace = std::get_if<exchange::ReplaceOrder>(&body)) {
    json out = order_ref_json(replace->order);
    out["action"] = "replace";
    out["price"] = replace->new_price;
    out["quantity"] = replace->new_quantity;
    return out;
  }
  const auto& transfer = std::get<exchange::Transfer>(body);
  return {{"action", "transfer"},
          {"to", transfer.recipient.hex()},
          {"asset", genesis.assets.at(transfer.asset).symbol},
          {"amount", transfer.amount}};
}

}  // namespace

exchange::Transaction signed_transaction(const SecretKey& key, const std::string& chain_id,
                                         std::uint64_t nonce, exchange::Amount fee,
                                         exchange::TransactionBody body) {
  exchange::Transaction tx;
  tx.sender = key.public_key();
  tx.nonce = nonce;
  tx.fee = fee;
  tx.expiry_height = kNeverExpires;
  tx.body = std::move(body);
  tx.sign(key, chain_id);
  return tx;
}

OrderSigner::OrderSigner(const Localnet& net) : net_(net), nonces_(net.traders(), 0) {}

exchange::Transaction OrderSigner::sign(std::size_t trader, exchange::TransactionBody body) {
  std::uint64_t nonce = ++nonces_.at(trader);
  return signed_transaction(net_.trader(trader), net_.genesis().chain_id, nonce,
                            net_.genesis().min_tx_fee, std::move(body));
}

exchange::PlaceOrder OrderSigner::order(const std::string& market, exchange::Side side,
                                        exchange::Price price, exchange::Quantity quantity,
                                        const OrderOptions& options) const {
  std::optional<exchange::MarketId> id = net_.genesis().find_market(market);
  BALLAST_ASSERT_MSG(id.has_value(), "a test names a market the localnet does not have");
  exchange::PlaceOrder order;
  order.market = *id;
  order.side = side;
  order.type = options.type;
  order.time_in_force = options.time_in_force;
  order.post_only = options.post_only;
  order.price = price;
  order.quantity = quantity;
  order.client_order_id = options.client_order_id;
  return order;
}

exchange::Transaction OrderSigner::place(std::size_t trader, const std::string& market,
                                         exchange::Side side, exchange::Price price,
                                         exchange::Quantity quantity, const OrderOptions& options) {
  return sign(trader, order(market, side, price, quantity, options));
}

exchange::Transaction OrderSigner::cancel(std::size_t trader, exchange::OrderRef order) {
  return sign(trader, exchange::CancelOrder{order});
}

exchange::Transaction OrderSigner::replace(std::size_t trader, exchange::OrderRef order,
                                           exchange::Price new_price,
                                           exchange::Quantity new_quantity) {
  return sign(trader, exchange::ReplaceOrder{order, new_price, new_quantity});
}

exchange::Transaction OrderSigner::transfer(std::size_t from, std::size_t to,
                                            const std::string& asset, exchange::Amount amount) {
  std::optional<exchange::AssetId> id = net_.genesis().find_asset(asset);
  BALLAST_ASSERT_MSG(id.has_value(), "a test names an asset the localnet does not have");
  return sign(from, exchange::Transfer{net_.trader(to).public_key(), *id, amount});
}

exchange::OrderRef by_client_id(exchange::ClientOrderId id) {
  return {true, id};
}

exchange::OrderRef by_order_id(exchange::OrderId id) {
  return {false, id};
}

std::string binary_body(const exchange::Transaction& tx) {
  Bytes bytes = tx.encode();
  return std::string(bytes.begin(), bytes.end());
}

nlohmann::json transaction_json(const exchange::Transaction& tx, const exchange::Genesis& genesis) {
  return {{"sender", tx.sender.hex()},
          {"nonce", tx.nonce},
          {"fee", tx.fee},
          {"expiry_height", tx.expiry_height},
          {"body", body_json(tx.body, genesis)},
          {"signature", tx.signature.hex()}};
}

std::string length_prefixed(const std::vector<exchange::Transaction>& txs) {
  std::string body;
  for (const exchange::Transaction& tx : txs) {
    std::string bytes = binary_body(tx);
    for (int shift = 0; shift < 32; shift += 8) {
      body += static_cast<char>((bytes.size() >> shift) & 0xff);
    }
    body += bytes;
  }
  return body;
}

HttpReply submit(std::uint16_t port, const exchange::Transaction& tx, const std::string& query) {
  return http_request(port, "POST", "/v1/tx" + query, binary_body(tx));
}

HttpReply submit_json(std::uint16_t port, const nlohmann::json& tx, const std::string& query) {
  return http_request(port, "POST", "/v1/tx" + query, tx.dump(), "application/json");
}

HttpReply get(std::uint16_t port, const std::string& target) {
  return http_request(port, "GET", target);
}

std::string string_field(const nlohmann::json& object, const std::string& name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

::testing::AssertionResult is_error(const HttpReply& reply, unsigned status,
                                    const std::string& code, const std::string& reason) {
  auto failure = [&](const std::string& what) {
    return ::testing::AssertionFailure()
           << what << " (expected " << status << " " << code << "/" << reason << "; got "
           << reply.status << " " << reply.text << ")";
  };
  if (reply.status != status) return failure("wrong HTTP status");
  const nlohmann::json& body = reply.body;
  if (body.is_discarded() || !body.is_object()) return failure("the body is not a JSON object");
  for (const char* field : {"status", "code", "reason", "message"}) {
    if (!body.contains(field) || !body[field].is_string()) {
      return failure(std::string("no string field \"") + field + "\"");
    }
  }
  if (body["status"] != "rejected") return failure("status is not \"rejected\"");
  if (body["code"] != code) return failure("wrong code");
  if (body["reason"] != reason) return failure("wrong reason");
  if (body["message"].get<std::string>().empty()) return failure("empty message");
  return ::testing::AssertionSuccess();
}

std::uint64_t test_seed() {
  if (const char* given = std::getenv("BALLAST_E2E_SEED")) return std::stoull(given);
  return std::random_device{}();
}

// --- Prometheus text ----------------------------------------------------------------------------

std::optional<double> PrometheusSamples::value(const std::string& series) const {
  auto it = samples.find(series);
  if (it == samples.end()) return std::nullopt;
  return it->second;
}

namespace {

std::optional<double> parse_sample_value(const std::string& text) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The family a sample belongs to: histogram series carry a suffix.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.contains(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string_view view(name);
    if (view.ends_with(suffix)) {
      std::string base(view.substr(0, view.size() - std::strlen(suffix)));
      auto type = types.find(base);
      if (type != types.end() && type->second == "histogram") return base;
    }
  }
  return {};
}

// Buckets must be cumulative (never falling as the bound rises), end with +Inf and agree with
// the count.
Status check_histograms(const PrometheusSamples& parsed) {
  static const std::regex kBound(R"re(le="([^"]*)")re");
  for (const auto& [family, type] : parsed.types) {
    if (type != "histogram") continue;
    std::map<double, double> buckets;  // bound -> cumulative count
    for (const auto& [series, value] : parsed.samples) {
      std::smatch bound;
      if (!series.starts_with(family + "_bucket{")) continue;
      std::optional<double> le;
      if (std::regex_search(series, bound, kBound)) le = parse_sample_value(bound[1]);
      if (!le) return invalid_argument("bucket without a valid bound: " + series);
      buckets[*le] = value;
    }
    std::optional<double> count = parsed.value(family + "_count");
    if (buckets.empty() || !std::isinf(buckets.rbegin()->first) || !count ||
        !parsed.value(family + "_sum")) {
      return invalid_argument("histogram " + family + " lacks its +Inf bucket, sum or count");
    }
    double previous = 0;
    for (const auto& [bound, cumulative] : buckets) {
      if (cumulative < previous) return invalid_argument(family + " buckets are not cumulative");
      previous = cumulative;
    }
    if (previous != *count) return invalid_argument(family + " +Inf bucket differs from count");
  }
  return Status::ok();
}

}  // namespace

Result<PrometheusSamples> parse_prometheus(const std::string& text) {
  static const std::regex kComment(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (\S+))");
  static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                               "untyped"};
  PrometheusSamples parsed;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    auto bad = [&](const std::string& why) {
      return invalid_argument("line " + std::to_string(number) + " (" + line + "): " + why);
    };
    std::smatch match;
    if (line.empty()) continue;
    if (line.starts_with("#")) {
      if (!std::regex_match(line, match, kComment)) return bad("malformed comment");
      if (match[1] == "TYPE") {
        if (!kTypes.contains(match[3])) return bad("unknown type");
        if (!parsed.types.emplace(match[2], match[3]).second) return bad("second TYPE");
      }
      continue;
    }
    if (!std::regex_match(line, match, kSample)) return bad("malformed sample");
    std::string name = match[1];
    std::string family = family_of(name, parsed.types);
    if (family.empty()) return bad("a sample of a family without a TYPE line before it");
    std::optional<double> value = parse_sample_value(match[5]);
    if (!value) return bad("malformed value");
    if (parsed.types[family] == "counter" && *value < 0) return bad("a negative counter");
    std::string series = name + std::string(match[2]);
    if (!parsed.samples.emplace(series, *value).second) return bad("the series is repeated");
  }
  if (!text.empty() && text.back() != '\n') return invalid_argument("no final newline");
  BALLAST_RETURN_IF_ERROR(check_histograms(parsed));
  return parsed;
}

}  // namespace ballast::e2e
