// The read endpoints of docs/API.md against real validators while traders trade: status,
// markets, books, trades, accounts and /metrics say what a trader or an operator relies on, and
// every bad read gets its documented error.
#include <gtest/gtest.h>

#include <algorithm>
#include "api_client.h"
#include "localnet.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using exchange::Side;
using nlohmann::json;

// The balances `localnet init` gives every trader.
constexpr exchange::Amount kBtc = 1'000'000'000;
constexpr exchange::Amount kEth = 10'000'000'000;
constexpr exchange::Amount kUsd = 100'000'000;
constexpr exchange::Amount kTxFee = 1;  // the localnet's min_tx_fee, in USD

json level(exchange::Price price, exchange::Quantity quantity, int orders) {
  return json::array({price, quantity, orders});
}

json balance(exchange::Amount available, exchange::Amount locked) {
  return {{"available", available}, {"locked", locked}};
}

json accepted(const exchange::Transaction& tx) {
  return {{"status", "accepted"}, {"hash", tx.id().hex()}};
}

enum class Form { kEach, kJsonBatch, kBinaryBatch };

// Submits every transaction to `validator` (one request each, or one batch of POST /v1/txs),
// then waits for the last: a sender's transactions are included in nonce order, so all are
// settled then. Returns the records, in order.
std::vector<json> submit_all(const Localnet& net, std::size_t validator,
                             const std::vector<exchange::Transaction>& txs,
                             Form form = Form::kEach) {
  const std::uint16_t port = net.api_port(validator);
  if (form == Form::kEach) {
    for (const exchange::Transaction& tx : txs) {
      HttpReply reply = submit(port, tx);
      EXPECT_EQ(reply.status, 202u) << reply.text;
    }
  } else {
    json array = json::array();
    json results = json::array();
    for (const exchange::Transaction& tx : txs) {
      array.push_back(transaction_json(tx, net.genesis()));
      results.push_back(accepted(tx));
    }
    HttpReply reply = form == Form::kJsonBatch
                          ? http_request(port, "POST", "/v1/txs", array.dump(), "application/json")
                          : http_request(port, "POST", "/v1/txs", length_prefixed(txs));
    EXPECT_EQ(reply.status, 200u) << reply.text;
    EXPECT_EQ(reply.body, json({{"results", results}}));
  }
  HttpReply last = submit(port, txs.back(), "?wait=finalized&timeout_ms=30000");
  EXPECT_EQ(last.status, 200u) << last.text << "\n" << net.describe();
  std::vector<json> records;
  for (const exchange::Transaction& tx : txs) {
    records.push_back(get(port, "/v1/tx/" + tx.id().hex()).body);
    EXPECT_EQ(string_field(records.back(), "status"), "finalized") << records.back().dump();
    EXPECT_EQ(records.back()["result"]["accepted"], true) << records.back().dump();
  }
  return records;
}

// The exchange order id an accepted order got.
exchange::OrderId order_id(const json& record) {
  return record.at("result").at("events").at(0).at("order_id").get<exchange::OrderId>();
}

std::uint64_t height_of(const std::vector<json>& records) {
  std::uint64_t height = 0;
  for (const json& record : records)
    height = std::max(height, record.is_object() ? record.value("height", 0ul) : 0ul);
  return height;
}

PrometheusSamples metrics_of(const Localnet& net, std::size_t validator) {
  HttpReply reply = get(net.api_port(validator), "/metrics");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_TRUE(reply.content_type.starts_with("text/plain; version=0.0.4")) << reply.content_type;
  Result<PrometheusSamples> parsed = parse_prometheus(reply.text);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string() << "\n" << reply.text;
  return parsed.is_ok() ? std::move(parsed).value() : PrometheusSamples{};
}

double sample(const PrometheusSamples& metrics, const std::string& series) {
  std::optional<double> value = metrics.value(series);
  EXPECT_TRUE(value.has_value()) << "no series " << series;
  return value.value_or(-1);
}

void expect_status(const Localnet& net) {
  for (std::size_t validator : kValidators) {
    std::optional<json> status = net.status(validator);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ((*status)["validator_index"], validator);
    EXPECT_EQ((*status)["peers_connected"], 3);
    EXPECT_EQ((*status)["sync"], "idle");
    EXPECT_TRUE((*status)["divergence"].is_null());
    // An honest network: nobody accused, nobody running the test-only Byzantine mode.
    EXPECT_EQ((*status)["evidence_against"], json::array()) << status->dump();
    EXPECT_EQ((*status)["evidence_dropped"], 0);
    EXPECT_EQ((*status)["byzantine"], false);
    for (const char* field :
         {"height", "view", "leader", "mempool_transactions", "mempool_bytes", "inbox_queued",
          "inbox_dropped", "views_nullified", "transactions_finalized", "bad_peer_messages",
          "snapshot_height", "evidence", "finality_waiters", "stream_sessions"}) {
      EXPECT_TRUE((*status)[field].is_number_unsigned()) << field << ": " << status->dump();
    }
    EXPECT_EQ((*status)["state_root"].get<std::string>().size(), 64u);
    EXPECT_EQ((*status)["block_hash"].get<std::string>().size(), 64u);
  }
  const std::uint16_t port = net.api_port(0);
  std::optional<json> at = net.status(0, 2);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ((*at)["at"]["height"], 2);
  for (std::size_t validator : kValidators) {
    EXPECT_EQ(net.root_at(validator, 2), (*at)["at"]["state_root"].get<std::string>());
  }
  std::optional<json> future = net.status(0, 1'000'000'000);
  ASSERT_TRUE(future.has_value());
  EXPECT_TRUE((*future)["at"]["state_root"].is_null()) << "not finalized yet";
  EXPECT_TRUE(is_error(get(port, "/v1/status?at=two"), 400, "invalid_argument", "bad_parameter"));
}

void expect_markets(const Localnet& net, const json& btc_best_bid, const json& btc_best_ask,
                    const json& btc_last) {
  HttpReply reply = get(net.api_port(3), "/v1/markets");
  ASSERT_EQ(reply.status, 200u);
  json markets = reply.body["markets"];
  ASSERT_EQ(markets.size(), net.genesis().markets.size());
  for (std::size_t id = 0; id < markets.size(); ++id) {
    const exchange::MarketSpec& spec = net.genesis().markets[id];
    json market = markets[id];
    EXPECT_EQ(market["symbol"], spec.symbol);
    EXPECT_EQ(market["id"], id);
    EXPECT_EQ(market["base"], net.genesis().assets[spec.base].symbol);
    EXPECT_EQ(market["quote"], net.genesis().assets[spec.quote].symbol);
    EXPECT_EQ(market["tick_size"], spec.tick_size);
    EXPECT_EQ(market["lot_size"], spec.lot_size);
    EXPECT_EQ(market["min_size"], spec.min_size);
    EXPECT_EQ(market["maker_fee_bps"], spec.maker_fee_bps);
    EXPECT_EQ(market["taker_fee_bps"], spec.taker_fee_bps);
    bool btc = spec.symbol == kMarket;
    EXPECT_EQ(market["best_bid"], btc ? btc_best_bid : json());
    EXPECT_EQ(market["best_ask"], btc ? btc_best_ask : json());
    // The trades of these tests stay inside every band: the markets remain open.
    const json& trading = market["trading"];
    EXPECT_TRUE(trading["breakers_enabled"].is_boolean()) << trading.dump();
    EXPECT_EQ(trading["state"], "open") << trading.dump();
    EXPECT_EQ(trading["reason"], "none") << trading.dump();
    EXPECT_TRUE(trading["state_entered_ms"].is_number()) << trading.dump();
    EXPECT_TRUE(trading["state_ends_ms"].is_null()) << trading.dump();
    EXPECT_EQ(trading["last_trade_price"], btc ? btc_last : json()) << trading.dump();
    EXPECT_TRUE(trading["last_auction_price"].is_null()) << trading.dump();
    for (const char* counter :
         {"last_auction_volume", "limit_states", "limit_pauses", "velocity_pauses", "auctions"}) {
      EXPECT_EQ(trading[counter], 0) << counter << ": " << trading.dump();
    }
    if (btc && !btc_last.is_null()) {
      // The first trade sets a reference (a volume-weighted price), with a band around it.
      ASSERT_TRUE(trading["reference_price"].is_number()) << trading.dump();
      EXPECT_LE(trading["band_low"], trading["reference_price"]) << trading.dump();
      EXPECT_GE(trading["band_high"], trading["reference_price"]) << trading.dump();
    }
  }
  EXPECT_TRUE(reply.body["height"].is_number_unsigned()) << reply.text;
}

void expect_book(const Localnet& net, std::size_t validator, const json& bids, const json& asks) {
  const std::uint16_t port = net.api_port(validator);
  HttpReply whole = get(port, "/v1/book/BTC-USD?depth=1000");
  ASSERT_EQ(whole.status, 200u);
  EXPECT_EQ(whole.body["market"], kMarket);
  EXPECT_EQ(whole.body["bids"], bids);
  EXPECT_EQ(whole.body["asks"], asks);
  HttpReply fallback = get(port, "/v1/book/BTC-USD");
  EXPECT_EQ(fallback.body["bids"], bids) << "the default depth of 20 holds this book";
  HttpReply top = get(port, "/v1/book/BTC-USD?depth=1");
  EXPECT_EQ(top.body["bids"], json::array({bids[0]}));
  EXPECT_EQ(top.body["asks"], json::array({asks[0]}));
  HttpReply empty = get(port, "/v1/book/ETH-USD");
  EXPECT_EQ(empty.body["bids"], json::array());
  EXPECT_EQ(empty.body["asks"], json::array());
  EXPECT_TRUE(is_error(get(port, "/v1/book/DOGE-USD"), 404, "not_found", "unknown_market"));
  for (const char* depth : {"0", "1001", "deep", "-1", ""}) {
    EXPECT_TRUE(is_error(get(port, std::string("/v1/book/BTC-USD?depth=") + depth), 400,
                         "invalid_argument", "bad_parameter"))
        << depth;
  }
}

void expect_account(const Localnet& net, std::size_t trader, std::uint64_t nonce,
                    const json& balances, const std::map<exchange::ClientOrderId, json>& open) {
  HttpReply reply = get(net.api_port(trader % net.size()),
                        "/v1/accounts/" + net.trader(trader).public_key().hex());
  ASSERT_EQ(reply.status, 200u) << reply.text;
  EXPECT_EQ(reply.body["account"], net.trader(trader).public_key().hex());
  EXPECT_EQ(reply.body["nonce"], nonce);
  EXPECT_EQ(reply.body["balances"], balances) << "trader " << trader;
  std::map<exchange::ClientOrderId, json> listed;
  for (json order : reply.body["open_orders"]) {
    EXPECT_EQ(order["market"], kMarket);
    EXPECT_EQ(order["post_only"], false);
    order.erase("market");
    order.erase("post_only");
    listed[order["client_order_id"].get<exchange::ClientOrderId>()] = order;
  }
  EXPECT_EQ(listed, open) << "trader " << trader << ": " << reply.text;
}

json open_order(exchange::OrderId id, exchange::ClientOrderId client_id, Side side,
                exchange::Price price, exchange::Quantity remaining) {
  return {{"order_id", id},
          {"client_order_id", client_id},
          {"side", exchange::side_name(side)},
          {"price", price},
          {"remaining", remaining}};
}

// A batch that does not parse is refused whole; in one that does, each transaction is answered
// as if posted alone, in order.
void expect_batch_refusals(const Localnet& net, const exchange::Transaction& settled) {
  const std::uint16_t port = net.api_port(1);
  auto malformed = [&](const std::string& body, const std::string& content_type) {
    return is_error(http_request(port, "POST", "/v1/txs", body, content_type), 400,
                    "invalid_argument", "malformed");
  };
  const std::string json_type = "application/json";
  EXPECT_TRUE(malformed("[]", json_type)) << "empty";
  EXPECT_TRUE(malformed("", "application/octet-stream")) << "empty";
  EXPECT_TRUE(malformed("[{}", json_type)) << "not JSON";
  EXPECT_TRUE(malformed(transaction_json(settled, net.genesis()).dump(), json_type))
      << "an object, not an array";
  json too_many = json::array();
  for (int i = 0; i < 1'001; ++i) too_many.push_back(transaction_json(settled, net.genesis()));
  EXPECT_TRUE(malformed(too_many.dump(), json_type)) << "more than 1,000";
  std::string binary = length_prefixed({settled});
  EXPECT_TRUE(malformed(binary.substr(0, binary.size() - 1), "application/octet-stream"))
      << "a length prefix beyond the body";
  EXPECT_TRUE(malformed(binary + "\x01\x00", "application/octet-stream"))
      << "a truncated length prefix";
  EXPECT_TRUE(is_error(get(port, "/v1/txs"), 405, "invalid_argument", "method_not_allowed"));

  exchange::Transaction forged = settled;
  forged.signature.bytes[0] ^= 0x01;
  HttpReply reply = http_request(port, "POST", "/v1/txs", length_prefixed({settled, forged}));
  ASSERT_EQ(reply.status, 200u) << reply.text;
  ASSERT_EQ(reply.body["results"].size(), 2u) << reply.text;
  const json& stale = reply.body["results"][0];
  EXPECT_EQ(stale["status"], "rejected") << reply.text;
  EXPECT_EQ(stale["code"], "failed_precondition") << reply.text;
  EXPECT_EQ(stale["reason"], "stale_nonce") << reply.text;
  EXPECT_EQ(stale["hash"], settled.id().hex()) << reply.text;
  const json& bad = reply.body["results"][1];
  EXPECT_EQ(bad["status"], "rejected") << reply.text;
  EXPECT_EQ(bad["code"], "permission_denied") << reply.text;
  EXPECT_EQ(bad["reason"], "bad_signature") << reply.text;
  EXPECT_TRUE(bad["message"].is_string()) << reply.text;
}

void expect_account_errors(const Localnet& net) {
  const std::uint16_t port = net.api_port(1);
  std::string stranger = SecretKey::insecure_from_seed("stranger").public_key().hex();
  EXPECT_TRUE(is_error(get(port, "/v1/accounts/" + stranger), 404, "not_found", "unknown_account"));
  for (const std::string& key : {std::string("xyz"), stranger.substr(1), std::string(64, 'g')}) {
    EXPECT_TRUE(
        is_error(get(port, "/v1/accounts/" + key), 400, "invalid_argument", "bad_parameter"))
        << key;
  }
}

// The trades of one block in which a taker bought two lots from two resting sells.
void expect_trades(const Localnet& net, std::size_t validator, const json& taker_record,
                   exchange::OrderId first_maker, exchange::OrderId second_maker) {
  const std::uint16_t port = net.api_port(validator);
  const auto height = taker_record.at("height").get<std::uint64_t>();
  const exchange::OrderId taker = order_id(taker_record);
  auto trade = [&](std::uint64_t index, exchange::Price price, exchange::OrderId maker) {
    return json{{"trade_id", (height << 24) | index},
                {"price", price},
                {"quantity", kLot},
                {"taker_side", "buy"},
                {"maker_order_id", maker},
                {"taker_order_id", taker},
                {"height", height},
                {"time_ms", taker_record.at("block_time_ms")}};
  };
  HttpReply reply = get(port, "/v1/trades/BTC-USD");
  ASSERT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body["market"], kMarket);
  EXPECT_EQ(reply.body["trades"],
            json::array({trade(1, 5'020, second_maker), trade(0, 5'010, first_maker)}))
      << "newest first";
  HttpReply newest = get(port, "/v1/trades/BTC-USD?limit=1");
  EXPECT_EQ(newest.body["trades"], json::array({trade(1, 5'020, second_maker)}));
  EXPECT_EQ(get(port, "/v1/trades/ETH-USD").body["trades"], json::array());
  EXPECT_TRUE(is_error(get(port, "/v1/trades/DOGE-USD"), 404, "not_found", "unknown_market"));
  for (const char* limit : {"0", "1001", "all"}) {
    EXPECT_TRUE(is_error(get(port, std::string("/v1/trades/BTC-USD?limit=") + limit), 400,
                         "invalid_argument", "bad_parameter"))
        << limit;
  }
}

void expect_metric_families(const PrometheusSamples& metrics) {
  const std::map<std::string, std::string> documented = {
      {"ballast_finalized_height", "gauge"},
      {"ballast_view", "gauge"},
      {"ballast_views_nullified_total", "counter"},
      {"ballast_blocks_finalized_total", "counter"},
      {"ballast_transactions_finalized_total", "counter"},
      {"ballast_finalization_latency_seconds", "histogram"},
      {"ballast_mempool_transactions", "gauge"},
      {"ballast_mempool_bytes", "gauge"},
      {"ballast_transactions_accepted_total", "counter"},
      {"ballast_transactions_rejected_total", "counter"},
      {"ballast_transactions_dropped_total", "counter"},
      {"ballast_chain_syncs_total", "counter"},
      {"ballast_chain_sync_seconds_total", "counter"},
      {"ballast_finality_waiters", "gauge"},
      {"ballast_peers_connected", "gauge"},
      {"ballast_peer_bytes_received_total", "counter"},
      {"ballast_peer_bytes_sent_total", "counter"},
      {"ballast_signature_verifications_total", "counter"},
      {"ballast_signature_cache_hits_total", "counter"},
      {"ballast_trades_total", "counter"},
      {"ballast_traded_quantity_total", "counter"},
      {"ballast_inbox_dropped_total", "counter"},
      {"ballast_http_requests_total", "counter"},
      {"ballast_http_errors_total", "counter"},
      {"ballast_http_connections", "gauge"},
      {"ballast_stream_sessions", "gauge"},
      {"ballast_divergence", "gauge"},
      {"ballast_evidence", "gauge"}};
  for (const auto& [family, type] : documented) {
    auto found = metrics.types.find(family);
    EXPECT_TRUE(found != metrics.types.end() && found->second == type) << family;
  }
  EXPECT_EQ(sample(metrics, "ballast_peers_connected"), 3);
  EXPECT_EQ(sample(metrics, "ballast_divergence"), 0);
  EXPECT_GT(sample(metrics, "ballast_finalization_latency_seconds_count"), 0);
  // A validator's votes leave through the chain-sync thread: it has synced by now.
  EXPECT_GT(sample(metrics, "ballast_chain_syncs_total"), 0);
  EXPECT_GT(sample(metrics, "ballast_signature_verifications_total{kind=\"consensus\"}"), 0);
  EXPECT_TRUE(metrics.value("ballast_signature_verifications_total{kind=\"block_transaction\"}")
                  .has_value());
}

// Counters that moved between two scrapes of one validator, by exactly what the test did.
void expect_metrics_moved(const PrometheusSamples& before, const PrometheusSamples& after,
                          double accepted, double stale, double trades) {
  auto moved = [&](const std::string& series) {
    return after.value(series).value_or(0) - before.value(series).value_or(0);
  };
  EXPECT_EQ(moved("ballast_transactions_accepted_total"), accepted);
  EXPECT_EQ(moved("ballast_transactions_rejected_total{reason=\"stale_nonce\"}"), stale);
  EXPECT_EQ(moved("ballast_http_errors_total{status=\"409\"}"), stale);
  EXPECT_EQ(moved("ballast_trades_total{market=\"BTC-USD\"}"), trades);
  EXPECT_EQ(moved("ballast_traded_quantity_total{market=\"BTC-USD\"}"),
            trades * static_cast<double>(kLot));
  EXPECT_EQ(moved("ballast_trades_total{market=\"ETH-USD\"}"), 0);
  EXPECT_GT(moved("ballast_blocks_finalized_total"), 0);
  EXPECT_GT(moved("ballast_http_requests_total"), 0);
  EXPECT_GE(moved("ballast_transactions_finalized_total"), accepted);
  EXPECT_GE(sample(after, "ballast_finalized_height"), sample(before, "ballast_finalized_height"));
}

TEST(ApiReadsTest, BooksTradesAccountsAndMetricsFollowTheTrading) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kValidators, 2, 60s)) << net.describe();
  ASSERT_TRUE(wait_until(
      [&] {
        for (std::size_t validator : kValidators) {
          std::optional<json> status = net.status(validator);
          if (!status || (*status)["peers_connected"] != 3) return false;
        }
        return true;
      },
      30s))
      << net.describe();
  expect_status(net);
  expect_markets(net, json(), json(), json());
  expect_account_errors(net);
  PrometheusSamples before = metrics_of(net, 0);
  expect_metric_families(before);

  // Resting bids from trader 0 (two at one price) and asks from trader 1.
  OrderSigner signer(net);
  auto limit = [&](std::size_t trader, Side side, exchange::Price price, int lots,
                   exchange::ClientOrderId client_id) {
    return signer.place(trader, kMarket, side, price, lots * kLot, {.client_order_id = client_id});
  };
  // The bids go one request each, the asks in batches of POST /v1/txs (JSON, then binary).
  std::vector<json> bids =
      submit_all(net, 0,
                 {limit(0, Side::kBuy, 5'000, 2, 1), limit(0, Side::kBuy, 5'000, 1, 2),
                  limit(0, Side::kBuy, 4'990, 1, 3), limit(0, Side::kBuy, 4'980, 1, 4)});
  exchange::Transaction first_ask = limit(1, Side::kSell, 5'010, 1, 1);
  std::vector<json> asks = submit_all(net, 1, {first_ask}, Form::kJsonBatch);
  std::vector<json> more_asks =
      submit_all(net, 1, {limit(1, Side::kSell, 5'020, 3, 2)}, Form::kBinaryBatch);
  asks.insert(asks.end(), more_asks.begin(), more_asks.end());
  expect_batch_refusals(net, first_ask);
  ASSERT_TRUE(net.wait_for_height(kValidators, std::max(height_of(bids), height_of(asks)), 60s));
  expect_book(
      net, 2,
      json::array({level(5'000, 3 * kLot, 2), level(4'990, kLot, 1), level(4'980, kLot, 1)}),
      json::array({level(5'010, kLot, 1), level(5'020, 3 * kLot, 1)}));
  expect_markets(net, 5'000, 5'010, json());
  // A buy locks price x quantity / lot of USD; every transaction pays the fee in USD.
  std::map<exchange::ClientOrderId, json> bids_open = {
      {1, open_order(order_id(bids[0]), 1, Side::kBuy, 5'000, 2 * kLot)},
      {2, open_order(order_id(bids[1]), 2, Side::kBuy, 5'000, kLot)},
      {3, open_order(order_id(bids[2]), 3, Side::kBuy, 4'990, kLot)},
      {4, open_order(order_id(bids[3]), 4, Side::kBuy, 4'980, kLot)}};
  expect_account(net, 0, 4,
                 {{"BTC", balance(kBtc, 0)},
                  {"ETH", balance(kEth, 0)},
                  {"USD", balance(kUsd - 24'970 - 4 * kTxFee, 24'970)}},
                 bids_open);
  expect_account(net, 1, 2,
                 {{"BTC", balance(kBtc - 4 * kLot, 4 * kLot)},
                  {"ETH", balance(kEth, 0)},
                  {"USD", balance(kUsd - 2 * kTxFee, 0)}},
                 {{1, open_order(order_id(asks[0]), 1, Side::kSell, 5'010, kLot)},
                  {2, open_order(order_id(asks[1]), 2, Side::kSell, 5'020, 3 * kLot)}});

  // Trader 2 buys two lots, immediate or cancel, in the JSON form: one from each ask.
  exchange::Transaction take = signer.place(
      2, kMarket, Side::kBuy, 5'020, 2 * kLot,
      {.time_in_force = exchange::TimeInForce::kImmediateOrCancel, .client_order_id = 7});
  HttpReply taken = submit_json(net.api_port(2), transaction_json(take, net.genesis()),
                                "?wait=finalized&timeout_ms=30000");
  ASSERT_EQ(taken.status, 200u) << taken.text;
  ASSERT_EQ(taken.body["hash"], take.id().hex());
  ASSERT_TRUE(net.wait_for_height(kValidators, taken.body["height"], 60s));
  expect_trades(net, 2, taken.body, order_id(asks[0]), order_id(asks[1]));
  expect_book(
      net, 3,
      json::array({level(5'000, 3 * kLot, 2), level(4'990, kLot, 1), level(4'980, kLot, 1)}),
      json::array({level(5'020, 2 * kLot, 1)}));
  expect_markets(net, 5'000, 5'020, 5'020);
  // The maker pays 2 bps of the USD it receives, the taker 5 bps of the BTC, rounded up; the
  // taker's lock at 5,020 is refunded the 10 it saved on the first lot.
  expect_account(net, 1, 2,
                 {{"BTC", balance(kBtc - 4 * kLot, 2 * kLot)},
                  {"ETH", balance(kEth, 0)},
                  {"USD", balance(kUsd - 2 * kTxFee + 5'010 - 2 + 5'020 - 2, 0)}},
                 {{2, open_order(order_id(asks[1]), 2, Side::kSell, 5'020, 2 * kLot)}});
  expect_account(net, 2, 1,
                 {{"BTC", balance(kBtc + 2 * kLot - 50 - 50, 0)},
                  {"ETH", balance(kEth, 0)},
                  {"USD", balance(kUsd - kTxFee - 5'010 - 5'020, 0)}},
                 {});

  // Trader 0 cancels one bid and moves another, by client order id.
  std::vector<json> changes = submit_all(
      net, 0, {signer.cancel(0, by_client_id(3)), signer.replace(0, by_client_id(1), 4'995, 0)});
  ASSERT_TRUE(net.wait_for_height(kValidators, height_of(changes), 60s));
  expect_book(
      net, 1,
      json::array({level(5'000, kLot, 1), level(4'995, 2 * kLot, 1), level(4'980, kLot, 1)}),
      json::array({level(5'020, 2 * kLot, 1)}));
  bids_open.erase(3);
  bids_open[1]["price"] = 4'995;
  expect_account(net, 0, 6,
                 {{"BTC", balance(kBtc, 0)},
                  {"ETH", balance(kEth, 0)},
                  {"USD", balance(kUsd - 19'970 - 6 * kTxFee, 19'970)}},
                 bids_open);

  // A settled transaction sent again is refused, and counted so.
  EXPECT_TRUE(is_error(submit(net.api_port(0), take), 409, "failed_precondition", "stale_nonce"));
  PrometheusSamples after = metrics_of(net, 0);
  expect_metric_families(after);
  expect_metrics_moved(before, after, /*accepted=*/6, /*stale=*/1, /*trades=*/2);
}

}  // namespace
}  // namespace ballast::e2e
