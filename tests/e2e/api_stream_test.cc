// The WebSocket stream of docs/API.md against real validators: a client subscribed to one
// node's blocks, trades, book and account channels while several traders rest, cross, cancel
// and replace orders sees every block once and in order, every trade, its own results and its
// fills as maker, and a book that, rebuilt from the snapshot and the deltas, equals what
// GET /v1/book says at the same height.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <random>
#include <set>

#include "api_client.h"
#include "localnet.h"
#include "stream_client.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using exchange::Side;
using nlohmann::json;

constexpr std::size_t kWatched = 1;  // the node the subscriber listens to
constexpr std::size_t kMaker = 0;    // the trader whose account channel is watched

// One side of a book rebuilt from stream messages: price -> [price, quantity, orders].
class BookSide {
 public:
  explicit BookSide(bool bids) : bids_(bids) {}
  void apply(const json& levels) {
    for (const json& level : levels) {
      auto price = level[0].get<exchange::Price>();
      if (level[1] == 0) {
        levels_.erase(price);
      } else {
        levels_[price] = level;
      }
    }
  }
  json best_first() const {
    json out = json::array();
    for (const auto& [price, level] : levels_) out.push_back(level);
    if (bids_) std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  bool bids_;
  std::map<exchange::Price, json> levels_;
};

// Every message the subscriber received, by channel.
struct StreamLog {
  std::vector<json> replies;  // subscribed, unsubscribed, error
  std::vector<json> blocks;
  std::vector<json> trades;
  std::vector<json> books;  // the snapshot, then deltas
  std::vector<json> accounts;
  std::vector<json> markets;  // market state changes (none expected at these prices)

  void take(const json& message) {
    std::string channel = string_field(message, "channel");
    if (message.contains("type") && message["type"] != "snapshot" && message["type"] != "delta") {
      replies.push_back(message);
    } else if (channel == "blocks") {
      blocks.push_back(message);
    } else if (channel == "trades") {
      trades.push_back(message);
    } else if (channel == "book") {
      books.push_back(message);
    } else if (channel == "account") {
      accounts.push_back(message);
    } else if (channel == "markets") {
      markets.push_back(message);
    } else {
      ADD_FAILURE() << "a message of no channel: " << message.dump();
    }
  }
  std::uint64_t last_height() const {
    return blocks.empty() ? 0 : blocks.back()["height"].get<std::uint64_t>();
  }
};

// Reads into `log` until `done` holds; false when the stream ends or stays silent too long.
bool read_until(StreamClient& stream, StreamLog& log, const std::function<bool()>& done,
                std::chrono::seconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    std::optional<json> message = stream.receive(left);
    if (!message) return false;
    if (message->is_discarded()) {
      ADD_FAILURE() << "a message that is not JSON";
      continue;
    }
    log.take(*message);
  }
  return true;
}

void subscribe(StreamClient& stream, StreamLog& log, json request, int id) {
  request["op"] = "subscribe";
  request["id"] = id;
  ASSERT_TRUE(stream.send(request)) << stream.error();
  ASSERT_TRUE(read_until(stream, log, [&] {
    return !log.replies.empty() && log.replies.back().contains("id") &&
           log.replies.back()["id"] == id;
  })) << stream.error();
  json expected = request;
  expected.erase("op");
  expected["type"] = "subscribed";
  EXPECT_EQ(log.replies.back(), expected);
}

// Bad requests get an error naming the class and the precise cause; the id is echoed.
void expect_request_errors(StreamClient& stream, StreamLog& log) {
  auto error_for = [&](const std::string& text) -> json {
    std::size_t before = log.replies.size();
    EXPECT_TRUE(stream.send_text(text)) << stream.error();
    EXPECT_TRUE(read_until(stream, log, [&] { return log.replies.size() > before; }));
    return log.replies.size() > before ? log.replies.back() : json();
  };
  auto expect_error = [&](const std::string& text, const std::string& code,
                          const std::string& reason, const json& id) {
    json reply = error_for(text);
    EXPECT_EQ(string_field(reply, "type"), "error") << text;
    EXPECT_EQ(string_field(reply, "code"), code) << text << " -> " << reply.dump();
    EXPECT_EQ(string_field(reply, "reason"), reason) << text << " -> " << reply.dump();
    EXPECT_FALSE(string_field(reply, "message").empty()) << text << " -> " << reply.dump();
    EXPECT_EQ(reply.contains("id") ? reply["id"] : json(), id) << text;
  };
  expect_error("not json", "invalid_argument", "malformed_request", json());
  expect_error(R"({"op":"watch","channel":"blocks","id":"a"})", "invalid_argument", "bad_parameter",
               "a");
  expect_error(R"({"op":"subscribe","channel":"weather","id":11})", "invalid_argument",
               "bad_parameter", 11);
  expect_error(R"({"op":"subscribe","channel":"book","id":12})", "invalid_argument",
               "bad_parameter", 12);
  expect_error(R"({"op":"subscribe","channel":"book","market":"DOGE-USD","id":13})", "not_found",
               "unknown_market", 13);
  expect_error(R"({"op":"subscribe","channel":"account","account":"xyz","id":14})",
               "invalid_argument", "bad_parameter", 14);
  json unsubscribed = error_for(R"({"op":"unsubscribe","channel":"trades","market":"ETH-USD"})");
  EXPECT_EQ(unsubscribed,
            json({{"type", "unsubscribed"}, {"channel", "trades"}, {"market", "ETH-USD"}}));
}

// A connection holds at most 64 subscriptions: `held` are already there; accounts that never
// trade fill the rest, and one more is refused.
void expect_subscription_limit(StreamClient& stream, StreamLog& log, std::size_t held) {
  constexpr std::size_t kMaxSubscriptions = 64;
  for (std::size_t i = held; i < kMaxSubscriptions; ++i) {
    std::string key = SecretKey::insecure_from_seed("idle-" + std::to_string(i)).public_key().hex();
    subscribe(stream, log, {{"channel", "account"}, {"account", key}}, static_cast<int>(100 + i));
  }
  std::string key = SecretKey::insecure_from_seed("one-too-many").public_key().hex();
  ASSERT_TRUE(
      stream.send({{"op", "subscribe"}, {"channel", "account"}, {"account", key}, {"id", 99}}));
  std::size_t before = log.replies.size();
  ASSERT_TRUE(read_until(stream, log, [&] { return log.replies.size() > before; }));
  json reply = log.replies.back();
  EXPECT_EQ(string_field(reply, "type"), "error") << reply.dump();
  EXPECT_EQ(string_field(reply, "code"), "resource_exhausted") << reply.dump();
  EXPECT_EQ(string_field(reply, "reason"), "too_many_subscriptions") << reply.dump();
  EXPECT_EQ(reply["id"], 99) << reply.dump();
}

// Submits each trader's transactions to its own node (so a sender's nonces arrive in order),
// then waits until the last of each is final.
void submit_batch(const Localnet& net, const std::vector<std::vector<exchange::Transaction>>& txs) {
  for (std::size_t trader = 0; trader < txs.size(); ++trader) {
    for (const exchange::Transaction& tx : txs[trader]) {
      HttpReply reply = submit(net.api_port(trader), tx);
      EXPECT_EQ(reply.status, 202u) << reply.text;
    }
  }
  for (std::size_t trader = 0; trader < txs.size(); ++trader) {
    if (txs[trader].empty()) continue;
    HttpReply last =
        submit(net.api_port(trader), txs[trader].back(), "?wait=finalized&timeout_ms=30000");
    EXPECT_EQ(last.status, 200u) << last.text << "\n" << net.describe();
  }
}

// A seeded mix of resting orders, crosses, cancels and replaces around one price, by client
// order id (some name orders already filled: their rejections are part of the stream too).
class OrderFlow {
 public:
  OrderFlow(OrderSigner& signer, std::size_t traders, std::uint64_t seed)
      : signer_(signer), placed_(traders), random_(seed) {}

  exchange::Transaction next(std::size_t trader) {
    std::vector<exchange::ClientOrderId>& placed = placed_[trader];
    int action = pick(0, 9);
    Side side = pick(0, 1) == 0 ? Side::kBuy : Side::kSell;
    if (action < 5 || placed.empty()) {
      placed.push_back(++next_client_id_);
      return signer_.place(trader, kMarket, side, pick(4'990, 5'010), pick(1, 3) * kLot,
                           {.post_only = pick(0, 4) == 0, .client_order_id = placed.back()});
    }
    exchange::OrderRef order = by_client_id(placed[pick(0, static_cast<int>(placed.size()) - 1)]);
    if (action < 7) return signer_.cancel(trader, order);
    if (action < 9) return signer_.replace(trader, order, pick(4'990, 5'010), pick(0, 3) * kLot);
    exchange::Price through = side == Side::kBuy ? 5'020 : 4'980;
    return signer_.place(trader, kMarket, side, through, pick(1, 2) * kLot,
                         {.time_in_force = exchange::TimeInForce::kImmediateOrCancel});
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }

  OrderSigner& signer_;
  std::vector<std::vector<exchange::ClientOrderId>> placed_;
  std::mt19937_64 random_;
  exchange::ClientOrderId next_client_id_ = 1'000;
};

// The snapshot and every delta, in consecutive sequence, rebuild the book GET /v1/book shows at
// `book`'s height (the log holds every message up to a later block).
void expect_book_rebuilt(const StreamLog& log, const json& book) {
  ASSERT_FALSE(log.books.empty());
  json snapshot = log.books.front();
  ASSERT_EQ(snapshot["type"], "snapshot");
  EXPECT_EQ(snapshot["market"], kMarket);
  BookSide bids(true);
  BookSide asks(false);
  bids.apply(snapshot["bids"]);
  asks.apply(snapshot["asks"]);
  std::uint64_t sequence = snapshot["sequence"];
  std::uint64_t height = snapshot["height"];
  std::size_t applied = 0;
  for (std::size_t i = 1; i < log.books.size(); ++i) {
    json delta = log.books[i];
    ASSERT_EQ(delta["type"], "delta") << delta.dump();
    ASSERT_EQ(delta["sequence"], sequence + 1) << "a delta skipped or repeated";
    ASSERT_GT(delta["height"].get<std::uint64_t>(), height);
    sequence = delta["sequence"];
    height = delta["height"];
    if (height > book.at("height").get<std::uint64_t>()) break;
    bids.apply(delta["bids"]);
    asks.apply(delta["asks"]);
    applied += 1;
  }
  EXPECT_GE(applied, 3u) << "the flow changed the book in several blocks";
  EXPECT_EQ(bids.best_first(), book.at("bids"));
  EXPECT_EQ(asks.best_first(), book.at("asks"));
}

// Every block once, in order; every submitted transaction in one, as accepted or not as its
// record says.
void expect_blocks(const Localnet& net, const StreamLog& log,
                   const std::vector<exchange::Transaction>& submitted) {
  ASSERT_FALSE(log.blocks.empty());
  std::map<std::string, bool> listed;  // hash -> accepted
  std::uint64_t height = log.blocks.front()["height"];
  for (json block : log.blocks) {
    EXPECT_EQ(block["height"], height++) << "a block skipped or repeated";
    for (json tx : block["transactions"]) {
      bool first = listed.emplace(tx["hash"].get<std::string>(), tx["accepted"].get<bool>()).second;
      EXPECT_TRUE(first) << "twice: " << tx;
    }
  }
  for (const exchange::Transaction& tx : submitted) {
    json record = get(net.api_port(kWatched), "/v1/tx/" + tx.id().hex()).body;
    auto found = listed.find(tx.id().hex());
    ASSERT_NE(found, listed.end()) << "not streamed: " << record.dump();
    EXPECT_EQ(found->second, record["result"]["accepted"]) << record.dump();
  }
}

// The trades channel carried every trade of the node's GET /v1/trades (all made after the
// subscription), in execution order, one message per block, up to `height` (the log holds
// every message of the blocks up to it; the node may have gone further since).
void expect_trades(const Localnet& net, const StreamLog& log, std::uint64_t height) {
  json streamed = json::array();
  for (json message : log.trades) {
    EXPECT_EQ(message["market"], kMarket);
    if (message["height"].get<std::uint64_t>() > height) continue;
    for (json trade : message["trades"]) {
      EXPECT_EQ(trade["height"], message["height"]);
      streamed.push_back(trade);
    }
  }
  json recent = json::array();
  HttpReply listed = get(net.api_port(kWatched), "/v1/trades/BTC-USD?limit=1000");
  for (const json& trade : listed.body["trades"]) {
    if (trade["height"].get<std::uint64_t>() <= height) recent.push_back(trade);
  }
  std::reverse(recent.begin(), recent.end());
  EXPECT_GE(streamed.size(), 2u) << "the flow crossed the book";
  EXPECT_EQ(streamed, recent);
}

// The account channel carried the watched trader's own results, as GET /v1/tx tells them, and
// the fill of its resting order by another trader.
void expect_account(const Localnet& net, const StreamLog& log,
                    const std::vector<exchange::Transaction>& own, const json& maker_fill) {
  std::map<std::string, json> results;
  bool filled_as_maker = false;
  for (json message : log.accounts) {
    EXPECT_EQ(message["account"], net.trader(kMaker).public_key().hex());
    for (json result : message["transactions"]) results[result["tx_id"]] = result;
    for (const json& event : message["events"]) filled_as_maker |= event == maker_fill;
  }
  EXPECT_TRUE(filled_as_maker) << "expected " << maker_fill.dump();
  EXPECT_EQ(results.size(), own.size());
  for (const exchange::Transaction& tx : own) {
    json record = get(net.api_port(kWatched), "/v1/tx/" + tx.id().hex()).body;
    EXPECT_EQ(results[tx.id().hex()], record["result"]);
  }
}

TEST(ApiStreamTest, ASubscriberSeesEveryBlockTradeFillAndBookChangeAsTheApiDoes) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kValidators, 2, 60s)) << net.describe();
  StreamClient stream(net.api_port(kWatched));
  ASSERT_TRUE(stream.connected()) << stream.error();
  StreamLog log;
  const std::string maker_key = net.trader(kMaker).public_key().hex();
  subscribe(stream, log, {{"channel", "blocks"}}, 1);
  subscribe(stream, log, {{"channel", "trades"}, {"market", kMarket}}, 2);
  subscribe(stream, log, {{"channel", "book"}, {"market", kMarket}}, 3);
  subscribe(stream, log, {{"channel", "account"}, {"account", maker_key}}, 4);
  subscribe(stream, log, {{"channel", "markets"}}, 5);
  expect_request_errors(stream, log);
  expect_subscription_limit(stream, log, 5);

  // The watched trader rests a sell that another trader then takes.
  OrderSigner signer(net);
  std::vector<std::vector<exchange::Transaction>> sent(net.traders());
  sent[kMaker].push_back(signer.place(kMaker, kMarket, Side::kSell, 5'100, kLot,
                                      {.post_only = true, .client_order_id = 1}));
  submit_batch(net, {sent[kMaker]});
  sent[2].push_back(signer.place(2, kMarket, Side::kBuy, 5'100, kLot,
                                 {.time_in_force = exchange::TimeInForce::kImmediateOrCancel}));
  submit_batch(net, {{}, {}, {sent[2].back()}});
  json taker = get(net.api_port(2), "/v1/tx/" + sent[2].back().id().hex()).body;
  json maker_fill = taker["result"]["events"][1];
  ASSERT_EQ(string_field(maker_fill, "maker"), maker_key) << taker.dump();

  const std::uint64_t seed = test_seed();
  std::cout << "order flow seed " << seed << " (BALLAST_E2E_SEED=" << seed << " repeats it)\n";
  SCOPED_TRACE("order flow seed " + std::to_string(seed));
  OrderFlow flow(signer, net.traders(), seed);
  for (int batch = 0; batch < 6; ++batch) {
    std::vector<std::vector<exchange::Transaction>> txs(net.traders());
    for (std::size_t trader = 0; trader < net.traders(); ++trader) {
      for (int i = 0; i < 5; ++i) txs[trader].push_back(flow.next(trader));
      sent[trader].insert(sent[trader].end(), txs[trader].begin(), txs[trader].end());
    }
    submit_batch(net, txs);
  }

  // Every transaction is final on the node that took it; the watched node gets there too.
  std::uint64_t settled = 0;
  for (std::size_t validator : kValidators) settled = std::max(settled, net.height(validator));
  ASSERT_TRUE(net.wait_for_height({kWatched}, settled, 60s)) << net.describe();
  HttpReply book = get(net.api_port(kWatched), "/v1/book/BTC-USD?depth=1000");
  ASSERT_EQ(book.status, 200u);
  const std::uint64_t height = book.body["height"];
  ASSERT_TRUE(read_until(stream, log, [&] { return log.last_height() > height; }))
      << stream.error();
  expect_book_rebuilt(log, book.body);
  std::vector<exchange::Transaction> all;
  for (const auto& txs : sent) all.insert(all.end(), txs.begin(), txs.end());
  expect_blocks(net, log, all);
  expect_trades(net, log, height);
  expect_account(net, log, sent[kMaker], maker_fill);
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kValidators); }, 30s)) << net.describe();
}

}  // namespace
}  // namespace ballast::e2e
