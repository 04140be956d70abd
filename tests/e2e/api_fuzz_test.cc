// Hostile and malformed HTTP thrown at one validator's API from a seeded generator: garbage,
// truncated and pipelined requests, huge headers, lying Content-Length, broken JSON and binary
// bodies, random paths and queries with bad percent escapes, connections left half-open or
// reset, and WebSocket upgrades followed by garbage frames. Throughout, an honest client keeps
// getting its status and having its transfers admitted and a stream subscriber keeps getting
// every block; afterwards the validators still finalize and agree. Every answer the node gives
// is a documented one: a known status and, for a refusal, the JSON error.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "api_client.h"
#include "localnet.h"
#include "raw_http.h"
#include "stream_client.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::size_t kTarget = 0;  // the validator under fire
constexpr int kFuzzThreads = 2;
constexpr std::size_t kMaxCases = 5'000;  // in all threads together
constexpr auto kFuzzTime = 20s;
constexpr std::size_t kMaxHeldOpen = 24;  // half-open connections per thread
constexpr auto kAnswerTimeout = 10s;      // for an answer the node owes

// What went wrong, from any thread: counted, with the first few examples kept.
class Problems {
 public:
  void add(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (++count_ <= 20) examples_ += what + "\n";
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::string examples() const {
    std::lock_guard lock(mutex_);
    return examples_;
  }

 private:
  mutable std::mutex mutex_;
  std::size_t count_ = 0;
  std::string examples_;
};

// Whether `response` is something docs/API.md allows: a known status and, for a refusal, the
// JSON error with its four fields.
std::string judge(const RawResponse& response) {
  static const std::set<unsigned> kKnown = {200, 202, 400, 404, 405, 409, 413, 426, 429, 431, 503};
  if (!kKnown.contains(response.status)) return "status " + std::to_string(response.status);
  if (response.status < 400) return {};
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return "a refusal that is not a JSON object: " + response.body;
  for (const char* field : {"status", "code", "reason", "message"}) {
    if (!body.contains(field) || !body[field].is_string()) {
      return std::string("a refusal without \"") + field + "\": " + response.body;
    }
  }
  return {};
}

std::string request(const std::string& method, const std::string& target,
                    const std::string& headers = "", const std::string& body = "") {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers;
  if (!body.empty()) text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return text + "\r\n" + body;
}

// A client WebSocket frame (masked, as clients must), or one that lies about its length.
std::string websocket_frame(std::uint8_t opcode, const std::string& payload,
                            std::optional<std::uint64_t> claimed_length = std::nullopt) {
  std::uint64_t length = claimed_length.value_or(payload.size());
  std::string frame(1, static_cast<char>(0x80 | opcode));
  if (length < 126) {
    frame += static_cast<char>(0x80 | length);
  } else if (length <= 0xffff) {
    frame += static_cast<char>(0x80 | 126);
    for (int shift = 8; shift >= 0; shift -= 8)
      frame += static_cast<char>((length >> shift) & 0xff);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      frame += static_cast<char>((length >> shift) & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  frame.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    frame += static_cast<char>(payload[i] ^ mask[i % 4]);
  return frame;
}

class Fuzzer {
 public:
  Fuzzer(std::uint16_t port, std::uint64_t seed, const exchange::Transaction& sample,
         const exchange::Genesis& genesis, Problems& problems)
      : port_(port),
        random_(seed),
        binary_sample_(binary_body(sample)),
        json_sample_(transaction_json(sample, genesis).dump()),
        problems_(problems) {}

  void run_one() {
    using Case = void (Fuzzer::*)();
    static constexpr Case kCases[] = {
        &Fuzzer::garbage,      &Fuzzer::random_request,     &Fuzzer::truncated,
        &Fuzzer::huge_headers, &Fuzzer::bad_content_length, &Fuzzer::short_body,
        &Fuzzer::broken_json,  &Fuzzer::broken_binary,      &Fuzzer::half_open,
        &Fuzzer::abrupt_close, &Fuzzer::pipelined,          &Fuzzer::websocket_garbage,
        &Fuzzer::bad_upgrade,  &Fuzzer::random_request,     &Fuzzer::broken_json};
    (this->*kCases[pick(0, std::size(kCases) - 1)])();
  }

 private:
  std::size_t pick(std::size_t low, std::size_t high) {
    return std::uniform_int_distribution<std::size_t>(low, high)(random_);
  }
  bool chance(int percent) { return pick(0, 99) < static_cast<std::size_t>(percent); }
  template <typename T>
  const T& one_of(const std::vector<T>& choices) {
    return choices[pick(0, choices.size() - 1)];
  }
  std::string random_bytes(std::size_t size) {
    std::string bytes(size, '\0');
    for (char& byte : bytes) byte = static_cast<char>(pick(0, 255));
    return bytes;
  }
  std::string random_token() {
    static const std::string kAlphabet =
        "abcxyzABC0123456789-_.~%+=&;:/?#[]@!$'()*, \"<>\\^`{|}\x01\x7f\xc3\xa9";
    std::string token;
    for (std::size_t i = pick(0, 12); i > 0; --i) token += kAlphabet[pick(0, kAlphabet.size() - 1)];
    return token;
  }

  std::string random_target() {
    static const std::vector<std::string> kPrefixes = {
        "/",           "/v1/",       "/v1/tx",      "/v1/tx/",       "/v1/status",
        "/v1/markets", "/v1/book/",  "/v1/trades/", "/v1/accounts/", "/v1/blocks/",
        "/metrics",    "/v1/stream", "*",           "//v1//status",  "/v1/status/"};
    static const std::vector<std::string> kPieces = {"BTC-USD",
                                                     "ETH-USD",
                                                     std::string(64, 'a'),
                                                     "123",
                                                     "18446744073709551616",
                                                     "..",
                                                     "%",
                                                     "%2",
                                                     "%zz",
                                                     "%41",
                                                     "/",
                                                     "-1"};
    std::string target = one_of(kPrefixes);
    for (std::size_t i = pick(0, 2); i > 0; --i) {
      target += chance(50) ? one_of(kPieces) : random_token();
    }
    if (chance(60)) target += "?" + random_query();
    if (chance(3)) target += std::string(pick(1'000, 9'000), 'q');
    return target;
  }

  std::string random_query() {
    static const std::vector<std::string> kKeys = {"depth", "limit", "at", "wait", "timeout_ms",
                                                   "x",     "",      "%",  "%zz"};
    static const std::vector<std::string> kValues = {
        "1", "0",  "-1",  "1000", "1001", "finalized", "99999999999999999999",
        "%", "%4", "%zz", "",     "+",    "%00"};
    std::string query;
    for (std::size_t i = pick(1, 4); i > 0; --i) {
      if (!query.empty()) query += chance(80) ? "&" : ";";
      query += chance(70) ? one_of(kKeys) : random_token();
      if (chance(85)) query += "=" + (chance(70) ? one_of(kValues) : random_token());
    }
    return query;
  }

  // The node owes an answer: it must come, and be a documented one.
  void expect_answer(RawConnection& connection, const char* what) {
    std::optional<RawResponse> response = connection.read_response(kAnswerTimeout);
    if (!response) return problems_.add(std::string(what) + ": no answer");
    if (std::string verdict = judge(*response); !verdict.empty()) {
      problems_.add(std::string(what) + ": " + verdict);
    }
  }
  // An answer is optional (the request may have been cut short), but if it comes it is a
  // documented one.
  void judge_any_answer(RawConnection& connection, const char* what) {
    std::optional<RawResponse> response = connection.read_response(kAnswerTimeout);
    if (!response) return;
    if (std::string verdict = judge(*response); !verdict.empty()) {
      problems_.add(std::string(what) + ": " + verdict);
    }
  }

  void garbage() {
    RawConnection connection(port_);
    connection.send(random_bytes(pick(1, 4'096)));
    connection.shutdown_write();
    judge_any_answer(connection, "garbage");
  }

  void random_request() {
    static const std::vector<std::string> kMethods = {"GET",    "GET",   "POST",    "PUT",
                                                      "DELETE", "PATCH", "OPTIONS", "BREW"};
    RawConnection connection(port_);
    std::string body = chance(30) ? random_bytes(pick(0, 300)) : "";
    connection.send(request(one_of(kMethods), random_target(), "", body));
    std::optional<RawResponse> response = connection.read_response(kAnswerTimeout);
    if (!response) return problems_.add("random request: no answer");
    if (std::string verdict = judge(*response); !verdict.empty()) {
      return problems_.add("random request: " + verdict);
    }
    // A refusal of one request leaves a kept-alive connection usable.
    if (response->keep_alive) {
      connection.send(request("GET", "/v1/status"));
      std::optional<RawResponse> next = connection.read_response(kAnswerTimeout);
      if (!next || next->status != 200) problems_.add("a kept-alive connection stopped serving");
    }
  }

  void truncated() {
    std::string whole = chance(50) ? request("POST", "/v1/tx", "", binary_sample_)
                                   : request("GET", "/v1/book/BTC-USD?depth=5");
    RawConnection connection(port_);
    connection.send(whole.substr(0, pick(1, whole.size() - 1)));
    if (chance(50)) return connection.reset();
    connection.shutdown_write();
    judge_any_answer(connection, "truncated request");
  }

  void huge_headers() {
    RawConnection connection(port_);
    std::string headers = "X-Padding: " + std::string(pick(9'000, 40'000), 'h') + "\r\n";
    if (chance(50)) {
      headers.clear();
      for (int i = 0; i < 600; ++i) headers += "X-" + std::to_string(i) + ": 0123456789\r\n";
    }
    connection.send(request("GET", "/v1/status", headers));
    std::optional<RawResponse> response = connection.read_response(kAnswerTimeout);
    if (!response || response->status != 431 || !judge(*response).empty()) {
      problems_.add("huge headers: not the 431 error");
    }
  }

  void bad_content_length() {
    static const std::vector<std::string> kLengths = {
        "Content-Length: abc\r\n",    "Content-Length: -1\r\n",
        "Content-Length: 1e3\r\n",    "Content-Length: 99999999999999999999\r\n",
        "Content-Length: 5, 6\r\n",   "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length:\r\n",        "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip\r\n"};
    RawConnection connection(port_);
    connection.send(request("POST", "/v1/tx", one_of(kLengths)) + "zz\r\n" + random_bytes(8));
    connection.shutdown_write();
    expect_answer(connection, "bad content length");
  }

  void short_body() {
    auto connection = std::make_unique<RawConnection>(port_);
    std::string body = binary_sample_.substr(0, pick(0, binary_sample_.size() - 1));
    connection->send("POST /v1/tx HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                     std::to_string(binary_sample_.size()) + "\r\n\r\n" + body);
    if (chance(40)) return hold_open(std::move(connection));
    if (chance(50)) return connection->reset();
    connection->shutdown_write();
    judge_any_answer(*connection, "short body");
  }

  std::string broken_json_body() {
    std::string text = json_sample_;
    switch (pick(0, 6)) {
      case 0:
        return text.substr(0, pick(0, text.size() - 1));
      case 1:
        for (std::size_t i = pick(1, 4); i > 0; --i)
          text[pick(0, text.size() - 1)] = random_bytes(1)[0];
        return text;
      case 2: {
        std::size_t depth = pick(1'000, 30'000);
        return std::string(depth, '[') + std::string(chance(50) ? depth : pick(0, 10), ']');
      }
      case 3:
        return R"({"sender":1e999999,"nonce":-0,"fee":18446744073709551616})";
      case 4:
        return text.insert(pick(1, text.size() - 1), random_token());
      case 5:
        return "{\"a\":" + std::string(pick(1'000, 20'000), '{');
      default:
        return one_of(
            std::vector<std::string>{"null", "{}", "[]", "\"\"", "0", "true", "\xff\xfe"});
    }
  }

  void broken_json() {
    RawConnection connection(port_);
    connection.send(request("POST", "/v1/tx" + std::string(chance(30) ? "?wait=finalized" : ""),
                            "Content-Type: application/json\r\n", broken_json_body()));
    expect_answer(connection, "broken JSON");
  }

  void broken_binary() {
    std::string body = binary_sample_;
    if (chance(30)) {
      body = random_bytes(pick(1, 600));
    } else {
      for (std::size_t i = pick(1, 3); i > 0; --i) {
        std::size_t at = pick(0, body.size() - 1);
        body[at] = static_cast<char>(body[at] ^ static_cast<char>(pick(1, 255)));
      }
    }
    RawConnection connection(port_);
    connection.send(request("POST", "/v1/tx", "Content-Type: application/octet-stream\r\n", body));
    std::optional<RawResponse> response = connection.read_response(kAnswerTimeout);
    if (!response || response->status < 400 || !judge(*response).empty()) {
      problems_.add("broken binary: not a refusal");
    }
  }

  void hold_open(std::unique_ptr<RawConnection> connection) {
    held_.push_back(std::move(connection));
    if (held_.size() > kMaxHeldOpen) held_.pop_front();
  }

  void half_open() {
    auto connection = std::make_unique<RawConnection>(port_);
    static const std::vector<std::string> kStarts = {"", "G", "GET /v1/status HTTP/1.1\r\n",
                                                     "POST /v1/tx HTTP/1.1\r\nContent-Len"};
    connection->send(one_of(kStarts));
    hold_open(std::move(connection));
  }

  void abrupt_close() {
    RawConnection connection(port_);
    static const std::vector<std::string> kTargets = {"/v1/status", "/metrics", "/v1/markets",
                                                      "/v1/book/BTC-USD?depth=1000"};
    connection.send(request("GET", one_of(kTargets)));
    connection.reset();
  }

  void pipelined() {
    static const std::vector<std::string> kTargets = {"/v1/status", "/v1/markets",
                                                      "/v1/book/ETH-USD", "/v1/trades/BTC-USD"};
    RawConnection connection(port_);
    std::size_t count = pick(2, 6);
    std::string batch;
    for (std::size_t i = 0; i < count; ++i) batch += request("GET", one_of(kTargets));
    connection.send(batch);
    for (std::size_t i = 0; i < count; ++i) {
      std::optional<RawResponse> response = connection.read_response(kAnswerTimeout);
      if (!response || response->status != 200) return problems_.add("pipelined: not all answered");
    }
  }

  void websocket_garbage() {
    RawConnection connection(port_);
    connection.send(websocket_upgrade_request());
    std::optional<RawResponse> upgraded = connection.read_response(kAnswerTimeout);
    if (!upgraded || upgraded->status != 101) return problems_.add("upgrade: no 101");
    switch (pick(0, 4)) {
      case 0:
        connection.send(random_bytes(pick(1, 2'000)));
        break;
      case 1:
        connection.send(websocket_frame(0x1, random_token() + "{\"op\":"));
        break;
      case 2:
        connection.send(websocket_frame(0x1, "", std::uint64_t{1} << 40));  // over 16 KiB
        break;
      case 3:
        connection.send(websocket_frame(0x2, random_bytes(pick(0, 100))));
        break;
      default:
        connection.send(websocket_frame(static_cast<std::uint8_t>(pick(3, 7)), "reserved opcode"));
        break;
    }
    connection.shutdown_write();
    if (!connection.closed_by_server(kAnswerTimeout)) problems_.add("websocket garbage: kept open");
  }

  void bad_upgrade() {
    std::string upgrade = websocket_upgrade_request();
    switch (pick(0, 2)) {
      case 0:
        upgrade.replace(upgrade.find("/v1/stream"), 10, "/v1/status");
        break;
      case 1:
        upgrade.replace(upgrade.find("Version: 13"), 11, "Version: 99");
        break;
      default:
        upgrade.replace(upgrade.find("Sec-WebSocket-Key"), 17, "X-Nothing-Here-Ok");
        break;
    }
    RawConnection connection(port_);
    connection.send(upgrade);
    expect_answer(connection, "bad upgrade");
  }

  std::uint16_t port_;
  std::mt19937_64 random_;
  std::string binary_sample_;
  std::string json_sample_;
  Problems& problems_;
  std::deque<std::unique_ptr<RawConnection>> held_;
};

// An honest client during the fuzz: its status reads answer and its transfers are admitted.
class HonestClient {
 public:
  HonestClient(const Localnet& net, const std::atomic<bool>& stop)
      : thread_([this, &net, &stop] {
          TransferSource source(net);
          while (!stop) {
            HttpReply status = get(net.api_port(kTarget), "/v1/status");
            (status.status == 200 ? statuses_ok_ : failures_) += 1;
            Bytes tx = source.next();
            HttpReply reply = http_request(net.api_port(kTarget), "POST", "/v1/tx",
                                           std::string(tx.begin(), tx.end()));
            if (reply.status == 202) {
              std::lock_guard lock(mutex_);
              admitted_.push_back(sha256(tx).hex());
            } else {
              failures_ += 1;
            }
            std::this_thread::sleep_for(50ms);  // pacing: a client, not a flood
          }
        }) {}
  void join() { thread_.join(); }
  std::size_t statuses_ok() const { return statuses_ok_; }
  std::size_t failures() const { return failures_; }
  std::vector<std::string> admitted() const {
    std::lock_guard lock(mutex_);
    return admitted_;
  }

 private:
  std::atomic<std::size_t> statuses_ok_{0};
  std::atomic<std::size_t> failures_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> admitted_;
  std::thread thread_;
};

// Runs kFuzzThreads fuzzers until kMaxCases cases or kFuzzTime have passed; how many ran.
std::size_t fuzz(std::uint16_t port, std::uint64_t seed, const exchange::Transaction& sample,
                 const exchange::Genesis& genesis, Problems& problems) {
  std::atomic<std::size_t> cases{0};
  const auto deadline = std::chrono::steady_clock::now() + kFuzzTime;
  std::vector<std::thread> fuzzers;
  for (int t = 0; t < kFuzzThreads; ++t) {
    fuzzers.emplace_back([&, t] {
      Fuzzer fuzzer(port, seed + t, sample, genesis, problems);
      while (cases.fetch_add(1) < kMaxCases && std::chrono::steady_clock::now() < deadline) {
        fuzzer.run_one();
      }
    });
  }
  for (std::thread& fuzzer : fuzzers) fuzzer.join();
  return std::min<std::size_t>(cases, kMaxCases);
}

// The subscriber got every block up to `height`, each once and in order.
void expect_every_block_streamed(StreamClient& stream, std::uint64_t height) {
  std::optional<std::uint64_t> previous;
  while (!previous || *previous < height) {
    std::optional<json> message = stream.receive(30s);
    ASSERT_TRUE(message.has_value()) << "the stream stalled: " << stream.error();
    if (string_field(*message, "channel") != "blocks" || message->contains("type")) continue;
    std::uint64_t block = (*message)["height"];
    if (previous) {
      ASSERT_EQ(block, *previous + 1) << "a block skipped or repeated";
    }
    previous = block;
  }
}

TEST(ApiFuzzTest, AValidatorKeepsServingThroughMalformedAndHostileRequests) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kValidators, 2, 60s)) << net.describe();
  const std::uint64_t seed = test_seed();
  std::cout << "fuzz seed " << seed << " (BALLAST_E2E_SEED=" << seed << " repeats it)\n";
  SCOPED_TRACE("fuzz seed " + std::to_string(seed));
  const std::uint16_t port = net.api_port(kTarget);
  StreamClient stream(port);
  ASSERT_TRUE(stream.connected()) << stream.error();
  ASSERT_TRUE(stream.send({{"op", "subscribe"}, {"channel", "blocks"}}));
  // The fuzzer mutates a transaction from a key without an account, so that no mutation (nor
  // the rare one that changes nothing) can take a nonce from the honest client's traders.
  OrderSigner signer(net);
  const exchange::Transaction sample =
      signed_transaction(SecretKey::insecure_from_seed("fuzzer"), net.genesis().chain_id, 1, 1,
                         signer.order(kMarket, exchange::Side::kBuy, 4'000, kLot));

  Problems problems;
  std::atomic<bool> stop{false};
  HonestClient honest(net, stop);
  std::size_t cases = fuzz(port, seed, sample, net.genesis(), problems);
  stop = true;
  honest.join();
  std::cout << "fuzz cases " << cases << ", honest statuses " << honest.statuses_ok() << "\n";

  EXPECT_EQ(problems.count(), 0u) << problems.examples();
  EXPECT_EQ(honest.failures(), 0u) << "the honest client was refused during the fuzz";
  EXPECT_GT(honest.statuses_ok(), 0u);
  expect_every_block_streamed(stream, net.height(kTarget));
  for (const std::string& hash : honest.admitted()) {
    EXPECT_TRUE(wait_until(
        [&] { return string_field(get(port, "/v1/tx/" + hash).body, "status") == "finalized"; },
        60s))
        << hash;
  }
  EXPECT_TRUE(net.wait_for_height(kValidators, net.height(kTarget) + 5, 60s)) << net.describe();
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kValidators); }, 30s)) << net.describe();
  HttpReply metrics = get(port, "/metrics");
  EXPECT_TRUE(parse_prometheus(metrics.text).is_ok()) << metrics.text;
}

}  // namespace
}  // namespace ballast::e2e
