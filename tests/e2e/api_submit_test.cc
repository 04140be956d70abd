// POST /v1/tx against real validators (docs/API.md): every refusal with its documented code and
// reason, admission, waiting for finality (answered, timed out, dropped, retried after the fact),
// and the records of GET /v1/tx and GET /v1/blocks that follow.
//
// Validator 0 runs alone first: without a quorum nothing it admits can be finalized, so the
// answers that depend on a transaction still being pooled are deterministic. The other
// validators then start and everything pooled is finalized.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <set>

#include "api_client.h"
#include "localnet.h"
#include "raw_http.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using exchange::Side;
using nlohmann::json;

// Small mempool bounds, so that sender_limit and mempool_full take a handful of transactions.
constexpr std::size_t kMaxPerSender = 4;
constexpr std::size_t kMaxPooled = 10;
constexpr std::size_t kMaxBodyBytes = 64 * 1024;  // api.max_body_bytes, below its default
constexpr std::size_t kMaxConnections = 8;        // api.max_connections

std::uint64_t finality_waiters(const Localnet& net, std::size_t validator) {
  std::optional<json> status = net.status(validator);
  return status ? (*status)["finality_waiters"].get<std::uint64_t>() : 0;
}

// POST ?wait=finalized in the background: the answer comes when the transaction settles.
std::future<HttpReply> submit_and_wait(std::uint16_t port, const exchange::Transaction& tx,
                                       std::chrono::seconds timeout) {
  std::string query =
      "?wait=finalized&timeout_ms=" + std::to_string(std::chrono::milliseconds(timeout).count());
  return std::async(std::launch::async, [port, body = binary_body(tx), query, timeout] {
    return http_request(port, "POST", "/v1/tx" + query, body, "application/octet-stream",
                        timeout + 10s);
  });
}

::testing::AssertionResult refused_with_hash(const HttpReply& reply, unsigned status,
                                             const std::string& code, const std::string& reason,
                                             const exchange::Transaction& tx) {
  ::testing::AssertionResult error = is_error(reply, status, code, reason);
  if (!error) return error;
  if (string_field(reply.body, "hash") != tx.id().hex()) {
    return ::testing::AssertionFailure() << "no hash of the decoded transaction: " << reply.text;
  }
  return ::testing::AssertionSuccess();
}

// A valid order of trader 0 with nonce 1, for the refusals to mutate: the very order the test
// later submits first, so its refusals are also shown to have left no trace.
exchange::Transaction sample_order(const Localnet& net) {
  OrderSigner signer(net);
  return signer.place(0, kMarket, Side::kBuy, 5'000, kLot);
}

void expect_undecodable_bodies_refused(const Localnet& net) {
  const std::uint16_t port = net.api_port(0);
  const exchange::Transaction tx = sample_order(net);
  const std::string binary = binary_body(tx);
  auto malformed = [&](const std::string& body, const std::string& content_type) {
    return is_error(http_request(port, "POST", "/v1/tx", body, content_type), 400,
                    "invalid_argument", "malformed");
  };
  const std::string octets = "application/octet-stream";
  EXPECT_TRUE(malformed("", octets));
  EXPECT_TRUE(malformed("not a transaction", octets));
  EXPECT_TRUE(malformed(binary.substr(0, binary.size() - 1), octets)) << "truncated";
  EXPECT_TRUE(malformed(binary + "x", octets)) << "a trailing byte";
  EXPECT_TRUE(malformed(binary, "application/json")) << "binary sent as JSON";
  const std::string json_type = "application/json; charset=utf-8";
  EXPECT_TRUE(malformed("{\"sender\":", json_type)) << "not JSON";
  EXPECT_TRUE(malformed("[1,2,3]", json_type)) << "not an object";
  json unknown_field = transaction_json(tx, net.genesis());
  unknown_field["memo"] = "hello";
  EXPECT_TRUE(malformed(unknown_field.dump(), json_type)) << "an unknown field";
  json negative = transaction_json(tx, net.genesis());
  negative["nonce"] = -1;
  EXPECT_TRUE(malformed(negative.dump(), json_type)) << "a negative nonce";
  json bad_action = transaction_json(tx, net.genesis());
  bad_action["body"]["action"] = "steal";
  EXPECT_TRUE(malformed(bad_action.dump(), json_type)) << "an unknown action";
  // Refused means unknown afterwards: nothing was pooled.
  EXPECT_TRUE(
      is_error(get(port, "/v1/tx/" + tx.id().hex()), 404, "not_found", "unknown_transaction"));
}

void expect_unacceptable_transactions_refused(const Localnet& net) {
  const std::uint16_t port = net.api_port(0);
  const exchange::Genesis& genesis = net.genesis();
  const exchange::Transaction tx = sample_order(net);
  exchange::Transaction forged = tx;
  forged.signature.bytes[7] ^= 0x01;
  EXPECT_TRUE(
      refused_with_hash(submit(port, forged), 400, "permission_denied", "bad_signature", forged));
  exchange::Transaction other_chain = tx;
  other_chain.sign(net.trader(0), "another-chain");
  EXPECT_TRUE(refused_with_hash(submit(port, other_chain), 400, "permission_denied",
                                "bad_signature", other_chain));
  json unsigned_json = transaction_json(tx, genesis);
  unsigned_json["signature"] = std::string(128, '0');
  EXPECT_TRUE(
      is_error(submit_json(port, unsigned_json), 400, "permission_denied", "bad_signature"));

  auto resigned = [&](auto change) {
    exchange::Transaction changed = tx;
    change(changed);
    changed.sign(net.trader(0), genesis.chain_id);
    return changed;
  };
  exchange::Transaction stranger = signed_transaction(SecretKey::insecure_from_seed("stranger"),
                                                      genesis.chain_id, 1, 1, tx.body);
  EXPECT_TRUE(
      refused_with_hash(submit(port, stranger), 404, "not_found", "unknown_sender", stranger));
  auto stale = resigned([](exchange::Transaction& t) { t.nonce = 0; });
  EXPECT_TRUE(
      refused_with_hash(submit(port, stale), 409, "failed_precondition", "stale_nonce", stale));
  auto expired = resigned([](exchange::Transaction& t) { t.expiry_height = 0; });
  EXPECT_TRUE(
      refused_with_hash(submit(port, expired), 409, "failed_precondition", "expired", expired));
  auto free = resigned([](exchange::Transaction& t) { t.fee = 0; });
  EXPECT_TRUE(
      refused_with_hash(submit(port, free), 409, "failed_precondition", "fee_too_low", free));
  auto far = resigned([](exchange::Transaction& t) { t.nonce = 1'000'000; });
  EXPECT_TRUE(
      refused_with_hash(submit(port, far), 409, "failed_precondition", "nonce_too_far_ahead", far));
  EXPECT_TRUE(
      is_error(get(port, "/v1/tx/" + tx.id().hex()), 404, "not_found", "unknown_transaction"));
}

void expect_bad_requests_refused(const Localnet& net) {
  const std::uint16_t port = net.api_port(0);
  const exchange::Transaction tx = sample_order(net);
  for (const char* query :
       {"?wait=soon", "?wait=", "?wait=finalized&timeout_ms=0", "?wait=finalized&timeout_ms=60001",
        "?wait=finalized&timeout_ms=-5", "?wait=finalized&timeout_ms=1e3"}) {
    EXPECT_TRUE(is_error(submit(port, tx, query), 400, "invalid_argument", "bad_parameter"))
        << query;
  }
  EXPECT_TRUE(is_error(submit(port, tx, "?wait=%zz"), 400, "invalid_argument", "malformed_query"));
  EXPECT_TRUE(is_error(submit(port, tx, "?wait=fin%"), 400, "invalid_argument", "malformed_query"));
  EXPECT_TRUE(
      is_error(get(port, "/v1/tx/" + tx.id().hex()), 404, "not_found", "unknown_transaction"))
      << "a refused request changes nothing";

  const std::string too_large(kMaxBodyBytes + 1, 'x');
  EXPECT_TRUE(is_error(http_request(port, "POST", "/v1/tx", too_large), 413, "invalid_argument",
                       "body_too_large"));
  RawConnection big_headers(port);
  ASSERT_TRUE(big_headers.send("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " +
                               std::string(9 * 1024, 'p') + "\r\n\r\n"));
  std::optional<RawResponse> answer = big_headers.read_response(10s);
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(
      is_error({answer->status, json::parse(answer->body, nullptr, false), answer->body, ""}, 431,
               "invalid_argument", "headers_too_large"));

  EXPECT_TRUE(is_error(get(port, "/v1/nothing"), 404, "not_found", "no_such_endpoint"));
  // Messages quote what the client sent; bytes that are not UTF-8 must not break the answer.
  EXPECT_TRUE(is_error(get(port, "/v1/nothing\xc3="), 404, "not_found", "no_such_endpoint"));
  EXPECT_TRUE(is_error(get(port, "/v1/book/BTC\xff"), 404, "not_found", "unknown_market"));
  EXPECT_TRUE(is_error(get(port, "/v1/book/"), 404, "not_found", "no_such_endpoint"));
  EXPECT_TRUE(is_error(get(port, "/v1/tx"), 405, "invalid_argument", "method_not_allowed"));
  EXPECT_TRUE(is_error(http_request(port, "POST", "/v1/status"), 405, "invalid_argument",
                       "method_not_allowed"));
  EXPECT_TRUE(is_error(http_request(port, "DELETE", "/v1/book/BTC-USD"), 405, "invalid_argument",
                       "method_not_allowed"));
  EXPECT_TRUE(is_error(get(port, "/v1/tx/xyz"), 400, "invalid_argument", "bad_parameter"));
  EXPECT_TRUE(is_error(get(port, "/v1/tx/" + std::string(64, '0')), 404, "not_found",
                       "unknown_transaction"));
}

// Connections beyond api.max_connections are answered 503 and closed; once clients leave, the
// node serves again.
void expect_connection_limit(const Localnet& net) {
  const std::uint16_t port = net.api_port(0);
  // The node has noticed that earlier clients left: the scrape's is the only connection.
  ASSERT_TRUE(wait_until(
      [&] {
        Result<PrometheusSamples> metrics = parse_prometheus(get(port, "/metrics").text);
        return metrics.is_ok() && metrics->value("ballast_http_connections") == 1;
      },
      30s));
  std::vector<std::unique_ptr<RawConnection>> held;
  for (std::size_t i = 0; i < kMaxConnections; ++i) {
    held.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(held.back()->connected());
  }
  // Every held connection is known to the node once each has been answered.
  for (auto& connection : held) {
    ASSERT_TRUE(connection->send("GET /v1/markets HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    std::optional<RawResponse> answer = connection->read_response(10s);
    ASSERT_TRUE(answer && answer->status == 200);
  }
  RawConnection one_more(port);
  ASSERT_TRUE(one_more.connected());
  std::optional<RawResponse> refused = one_more.read_response(10s);
  ASSERT_TRUE(refused.has_value()) << "no answer beyond the connection limit";
  EXPECT_TRUE(
      is_error({refused->status, json::parse(refused->body, nullptr, false), refused->body, ""},
               503, "resource_exhausted", "too_many_connections"));
  EXPECT_TRUE(one_more.closed_by_server(10s));
  held.clear();
  EXPECT_TRUE(wait_until([&] { return get(port, "/v1/markets").status == 200; }, 30s));
}

// The first admitted transaction stays pooled (there is no quorum): it is pending, a second copy
// is a duplicate, a rival with its nonce must pay more, and a wait for it times out.
void expect_pooled_answers(const Localnet& net, const exchange::Transaction& first) {
  const std::uint16_t port = net.api_port(0);
  const std::string hash = first.id().hex();
  HttpReply accepted = submit(port, first);
  EXPECT_EQ(accepted.status, 202u) << accepted.text;
  EXPECT_EQ(accepted.body, json({{"status", "accepted"}, {"hash", hash}}));
  HttpReply pending = get(port, "/v1/tx/" + hash);
  EXPECT_EQ(pending.status, 200u);
  EXPECT_EQ(pending.body, json({{"hash", hash}, {"status", "pending"}}));

  EXPECT_TRUE(refused_with_hash(submit(port, first), 409, "already_exists", "duplicate", first));
  exchange::Transaction rival = signed_transaction(net.trader(0), net.genesis().chain_id,
                                                   first.nonce, first.fee, exchange::CancelAll{});
  EXPECT_TRUE(
      refused_with_hash(submit(port, rival), 409, "already_exists", "nonce_pending", rival));

  HttpReply timed_out = submit(port, first, "?wait=finalized&timeout_ms=300");
  EXPECT_EQ(timed_out.status, 202u) << timed_out.text;
  EXPECT_EQ(timed_out.body, json({{"status", "pending"}, {"hash", hash}, {"timed_out", true}}));
}

// A pooled transaction replaced by one with its nonce that pays more is dropped: its waiter is
// told so, and GET /v1/tx keeps saying so.
void expect_replaced_transaction_dropped(const Localnet& net, OrderSigner& signer) {
  const std::uint16_t port = net.api_port(0);
  exchange::Transaction outbid = signer.transfer(0, 1, "USD", 1);
  ASSERT_EQ(submit(port, outbid).status, 202u);
  std::future<HttpReply> waiter = submit_and_wait(port, outbid, 30s);
  ASSERT_TRUE(wait_until([&] { return finality_waiters(net, 0) == 1; }, 30s)) << net.describe();
  exchange::Transaction richer = signed_transaction(net.trader(0), net.genesis().chain_id,
                                                    outbid.nonce, outbid.fee + 4, outbid.body);
  EXPECT_EQ(submit(port, richer).status, 202u);
  HttpReply dropped = waiter.get();
  EXPECT_EQ(dropped.status, 409u) << dropped.text;
  EXPECT_EQ(string_field(dropped.body, "status"), "dropped");
  EXPECT_EQ(string_field(dropped.body, "hash"), outbid.id().hex());
  EXPECT_FALSE(string_field(dropped.body, "reason").empty()) << dropped.text;
  HttpReply record = get(port, "/v1/tx/" + outbid.id().hex());
  EXPECT_EQ(record.status, 200u);
  EXPECT_EQ(record.body, dropped.body);
  EXPECT_EQ(finality_waiters(net, 0), 0u);
}

// One sender may pool kMaxPerSender transactions; the pool holds kMaxPooled, and a newcomer
// that does not outbid the cheapest is refused. Returns what was admitted. Trader 1's first
// transaction goes in the JSON form, whose hash is that of the same signed bytes.
std::vector<exchange::Transaction> expect_mempool_bounds(const Localnet& net, OrderSigner& signer) {
  const std::uint16_t port = net.api_port(0);
  std::vector<exchange::Transaction> admitted;
  for (std::size_t trader : {1, 2}) {
    for (std::size_t i = 0; i < kMaxPerSender; ++i) {
      admitted.push_back(signer.transfer(trader, 0, "USD", 1));
      bool as_json = trader == 1 && i == 0;
      HttpReply reply = as_json
                            ? submit_json(port, transaction_json(admitted.back(), net.genesis()))
                            : submit(port, admitted.back());
      EXPECT_EQ(reply.status, 202u) << reply.text;
      EXPECT_EQ(string_field(reply.body, "hash"), admitted.back().id().hex());
    }
    if (trader == 1) {
      exchange::Transaction one_more = signed_transaction(
          net.trader(1), net.genesis().chain_id, signer.next_nonce(1), 1, exchange::CancelAll{});
      EXPECT_TRUE(refused_with_hash(submit(port, one_more), 429, "resource_exhausted",
                                    "sender_limit", one_more));
    }
  }
  // Trader 0 has two pooled; the pool is full with kMaxPooled.
  exchange::Transaction cheap =
      signed_transaction(net.trader(0), net.genesis().chain_id, signer.next_nonce(0), 1,
                         signer.order(kMarket, Side::kSell, 9'000, kLot));
  EXPECT_TRUE(
      refused_with_hash(submit(port, cheap), 429, "resource_exhausted", "mempool_full", cheap));
  std::optional<json> status = net.status(0);
  EXPECT_TRUE(status && (*status)["mempool_transactions"] == kMaxPooled) << net.describe();
  return admitted;
}

// Only the documented refusals were counted, once each; waits are not refusals.
void expect_submission_metrics(const Localnet& net) {
  HttpReply reply = get(net.api_port(0), "/metrics");
  ASSERT_EQ(reply.status, 200u);
  Result<PrometheusSamples> metrics = parse_prometheus(reply.text);
  ASSERT_TRUE(metrics.is_ok()) << metrics.status().to_string();
  const std::map<std::string, double> expected_rejections = {
      {"malformed", 10},    {"bad_signature", 3}, {"unknown_sender", 1},      {"stale_nonce", 1},
      {"expired", 1},       {"fee_too_low", 1},   {"nonce_too_far_ahead", 1}, {"duplicate", 1},
      {"nonce_pending", 1}, {"sender_limit", 1},  {"mempool_full", 1}};
  for (const auto& [reason, count] : expected_rejections) {
    std::string series = "ballast_transactions_rejected_total{reason=\"" + reason + "\"}";
    EXPECT_EQ(metrics->value(series), count) << series;
  }
  std::size_t reasons = 0;
  for (const auto& [series, value] : metrics->samples) {
    reasons += series.starts_with("ballast_transactions_rejected_total{") ? 1 : 0;
  }
  EXPECT_EQ(reasons, expected_rejections.size()) << reply.text;
  // first, outbid, richer, and four of each of traders 1 and 2.
  EXPECT_EQ(metrics->value("ballast_transactions_accepted_total"), 11);
  EXPECT_EQ(metrics->value("ballast_transactions_dropped_total"), 1);
  // Every error answer, whoever gave it: the routes, a verify worker, the core or the server.
  const std::map<std::string, double> expected_errors = {
      {"400", 22},  // malformed, bad signatures, bad parameters and queries, a bad hash
      {"404", 9},   // unknown transactions and sender, no such endpoints, unknown markets
      {"405", 3},
      {"409", 7},  // four failed preconditions, a duplicate, a pending nonce, the
                   // dropped answer
      {"413", 1},
      {"429", 2},
      {"431", 1}};
  for (const auto& [status, count] : expected_errors) {
    std::string series = "ballast_http_errors_total{status=\"" + status + "\"}";
    EXPECT_EQ(metrics->value(series), count) << series;
  }
}

// The block at `height` holds the transaction and was finalized by a quorum.
void expect_block_holds(const Localnet& net, std::size_t validator, std::uint64_t height,
                        const std::string& hash) {
  const std::uint16_t port = net.api_port(validator);
  HttpReply block = get(port, "/v1/blocks/" + std::to_string(height));
  ASSERT_EQ(block.status, 200u) << block.text;
  EXPECT_EQ(block.body["height"], height);
  json transactions = block.body["transactions"];
  EXPECT_NE(std::find(transactions.begin(), transactions.end(), hash), transactions.end())
      << block.text;
  std::set<std::uint64_t> signers;
  for (const json& signer : block.body["finalization"]["signers"]) {
    EXPECT_LT(signer.get<std::uint64_t>(), net.size());
    signers.insert(signer.get<std::uint64_t>());
  }
  EXPECT_EQ(signers.size(), block.body["finalization"]["signers"].size()) << "a signer twice";
  EXPECT_GE(signers.size(), 3u) << "4 equal stakes: a quorum is 3 signers";
  EXPECT_EQ(block.body["state_root_after"], net.root_at(validator, height).value_or("?"));
  HttpReply parent = get(port, "/v1/blocks/" + std::to_string(height - 1));
  if (height > 1) {
    EXPECT_EQ(parent.body["hash"], block.body["parent"]);
  }
  EXPECT_TRUE(is_error(get(port, "/v1/blocks/999999999"), 404, "not_found", "unknown_block"));
  EXPECT_TRUE(is_error(get(port, "/v1/blocks/0"), 400, "invalid_argument", "bad_parameter"));
  EXPECT_TRUE(is_error(get(port, "/v1/blocks/tall"), 400, "invalid_argument", "bad_parameter"));
}

// A waiter registered before there was a quorum is answered with the finalized record; a
// client that lost it and retries gets the same record at once; every node tells the same.
void expect_finalized_after_quorum(Localnet& net, const exchange::Transaction& first,
                                   const std::vector<exchange::Transaction>& admitted) {
  const std::uint16_t port = net.api_port(0);
  const std::string hash = first.id().hex();
  std::future<HttpReply> waiter = submit_and_wait(port, first, 60s);
  ASSERT_TRUE(wait_until([&] { return finality_waiters(net, 0) == 1; }, 30s));
  net.start();
  HttpReply finalized = waiter.get();
  ASSERT_EQ(finalized.status, 200u) << finalized.text << "\n" << net.describe();
  json record = finalized.body;
  EXPECT_EQ(record["status"], "finalized");
  EXPECT_EQ(record["hash"], hash);
  EXPECT_GE(record["height"].get<std::uint64_t>(), 1u);
  EXPECT_GT(record["block_time_ms"].get<std::int64_t>(), 0);
  EXPECT_TRUE(record["position"].is_number_unsigned());
  EXPECT_EQ(record["result"]["tx_id"], hash);
  EXPECT_EQ(record["result"]["accepted"], true);
  json events = record["result"]["events"];
  ASSERT_EQ(events.size(), 2u) << record.dump();
  EXPECT_EQ(events[0]["event"], "accepted");
  EXPECT_EQ(events[0]["price"], 5'000);
  EXPECT_EQ(events[1]["event"], "rested");

  HttpReply retried = submit(port, first, "?wait=finalized");
  EXPECT_EQ(retried.status, 200u);
  EXPECT_EQ(retried.body, record) << "a retry returns the settled record";
  EXPECT_TRUE(
      refused_with_hash(submit(port, first), 409, "failed_precondition", "stale_nonce", first))
      << "without wait, a settled transaction is refused";

  std::uint64_t height = record["height"].get<std::uint64_t>();
  ASSERT_TRUE(net.wait_for_height(kValidators, height, 60s)) << net.describe();
  for (std::size_t validator = 1; validator < net.size(); ++validator) {
    HttpReply elsewhere = get(net.api_port(validator), "/v1/tx/" + hash);
    EXPECT_EQ(elsewhere.body, record) << "validator " << validator;
  }
  expect_block_holds(net, 2, height, hash);
  for (const exchange::Transaction& tx : admitted) {
    EXPECT_TRUE(wait_until(
        [&] {
          return string_field(get(port, "/v1/tx/" + tx.id().hex()).body, "status") == "finalized";
        },
        60s))
        << tx.id().hex();
  }
}

TEST(ApiSubmitTest, TransactionsAreRefusedPooledWaitedForAndFinalizedAsDocumented) {
  Localnet net(4, [](json& config) {
    config["mempool"]["max_per_sender"] = kMaxPerSender;
    config["mempool"]["max_transactions"] = kMaxPooled;
    config["api"]["max_body_bytes"] = kMaxBodyBytes;
    config["api"]["max_connections"] = kMaxConnections;
  });
  net.start(0);
  ASSERT_TRUE(wait_until([&] { return net.status(0).has_value(); }, 60s)) << net.log(0);
  expect_undecodable_bodies_refused(net);
  expect_unacceptable_transactions_refused(net);
  expect_bad_requests_refused(net);
  expect_connection_limit(net);

  OrderSigner signer(net);
  const exchange::Transaction first = signer.place(0, kMarket, Side::kBuy, 5'000, kLot);
  expect_pooled_answers(net, first);
  expect_replaced_transaction_dropped(net, signer);
  std::vector<exchange::Transaction> admitted = expect_mempool_bounds(net, signer);
  expect_submission_metrics(net);
  expect_finalized_after_quorum(net, first, admitted);
}

}  // namespace
}  // namespace ballast::e2e
