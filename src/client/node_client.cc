#include "client/node_client.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <thread>

namespace ballast::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Json = nlohmann::json;

// Far above any answer of the API (a book of 1,000 levels per side is ~60 KiB); a bound so a
// wrong server cannot make the client buffer without end.
constexpr std::uint64_t kMaxAnswerBytes = 16 << 20;
constexpr auto kRetryPause = std::chrono::milliseconds(100);

Status bad_url(std::string_view text, const std::string& why) {
  return invalid_argument("bad node URL \"" + std::string(text) + "\": " + why +
                          " (expected http://HOST:PORT, e.g. http://127.0.0.1:27100)");
}

bool is_host_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
  });
}

std::string lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::optional<StatusCode> status_code_from_name(std::string_view name) {
  for (int code = 1; code <= static_cast<int>(StatusCode::kCorruption); ++code) {
    if (status_code_name(static_cast<StatusCode>(code)) == name) {
      return static_cast<StatusCode>(code);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string text_field(const Json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string NodeUrl::to_string() const {
  bool ipv6 = host.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<NodeUrl> parse_node_url(std::string_view text) {
  std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return bad_url(text, "no http:// in front");
  std::string scheme = lowercase(text.substr(0, scheme_end));
  if (scheme != "http") {
    return bad_url(text, "the node serves plain http only, not " + scheme);
  }
  std::string_view rest = text.substr(scheme_end + 3);
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return bad_url(text, "nothing may follow the port");
  }
  NodeUrl url;
  std::string_view port;
  if (rest.starts_with('[')) {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad_url(text, "no ] after the IPv6 address");
    url.host = std::string(rest.substr(1, close - 1));
    if (url.host.empty()) return bad_url(text, "no host");
    if (rest.substr(close + 1, 1) != ":") return bad_url(text, "no :PORT");
    port = rest.substr(close + 2);
  } else {
    std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad_url(text, "no :PORT");
    url.host = std::string(rest.substr(0, colon));
    if (url.host.find(':') != std::string::npos) {
      return bad_url(text, "an IPv6 address must be in brackets");
    }
    if (!is_host_name(url.host)) return bad_url(text, "no valid host");
    port = rest.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65'535) {
    return bad_url(text, "the port must be a number from 1 to 65535");
  }
  url.port = static_cast<std::uint16_t>(value);
  return url;
}

Status refusal_status(const NodeReply& reply) {
  std::optional<StatusCode> code = status_code_from_name(text_field(reply.body, "code"));
  if (!code || text_field(reply.body, "status") != "rejected") {
    return corruption("unexpected answer (HTTP " + std::to_string(reply.http_status) +
                      "): " + reply.body.dump());
  }
  return Status(*code, text_field(reply.body, "reason") + ": " + text_field(reply.body, "message"));
}

Result<NodeReply> NodeClient::get(const std::string& target) const {
  return request("GET", target, "", "", 0);
}

Result<NodeReply> NodeClient::post(const std::string& target, const std::string& body,
                                   const std::string& content_type, std::int64_t wait_ms) const {
  return request("POST", target, body, content_type, wait_ms);
}

Result<NodeReply> NodeClient::request(const std::string& method, const std::string& target,
                                      const std::string& body, const std::string& content_type,
                                      std::int64_t wait_ms) const {
  BALLAST_ASSERT(method == "GET" || method == "POST");
  BALLAST_ASSERT(target.starts_with('/'));
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::error_code error;
  auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), error);
  if (error)
    return io_error("cannot resolve the host of " + url_.to_string() + ": " + error.message());

  http::request<http::string_body> message(http::string_to_verb(method), target, 11);
  message.set(http::field::host, url_.host + ":" + std::to_string(url_.port));
  message.set(http::field::user_agent, "ballast");
  message.keep_alive(false);
  if (method == "POST") {
    message.set(http::field::content_type, content_type);
    message.body() = body;
    message.prepare_payload();
  }
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  bool connected = false;
  beast::error_code failure;
  std::int64_t exchange_ms = timeouts_.exchange_ms + wait_ms;
  stream.expires_after(std::chrono::milliseconds(timeouts_.connect_ms));
  stream.async_connect(endpoints, [&](beast::error_code connect_error, const auto&) {
    if (connect_error) return void(failure = connect_error);
    connected = true;
    stream.expires_after(std::chrono::milliseconds(exchange_ms));
    http::async_write(stream, message, [&](beast::error_code write_error, std::size_t) {
      if (write_error) return void(failure = write_error);
      http::async_read(stream, buffer, parser,
                       [&](beast::error_code read_error, std::size_t) { failure = read_error; });
    });
  });
  io.run();

  std::string where = url_.to_string();
  if (failure == beast::error::timeout) {
    return connected ? io_error("no answer from " + where + " within " +
                                std::to_string(exchange_ms) + " ms")
                     : io_error("cannot connect to " + where + ": no connection within " +
                                std::to_string(timeouts_.connect_ms) + " ms");
  }
  if (failure == asio::error::connection_refused) {
    return io_error("cannot connect to " + where + ": connection refused (is the node running?)");
  }
  if (failure) {
    return io_error((connected ? "request to " : "cannot connect to ") + where +
                    " failed: " + failure.message());
  }
  NodeReply reply;
  reply.http_status = parser.get().result_int();
  reply.body = Json::parse(parser.get().body(), nullptr, /*allow_exceptions=*/false);
  if (reply.body.is_discarded()) {
    return corruption("the answer of " + where + " (HTTP " + std::to_string(reply.http_status) +
                      ") is not JSON: is this a ballast node?");
  }
  return reply;
}

Result<std::uint64_t> NodeClient::height() const {
  BALLAST_ASSIGN_OR_RETURN(NodeReply reply, get("/v1/status"));
  if (!reply.is_success()) return refusal_status(reply);
  auto it = reply.body.find("height");
  if (it == reply.body.end() || !it->is_number_unsigned()) {
    return corruption("GET /v1/status of " + url_.to_string() + " has no height");
  }
  return it->get<std::uint64_t>();
}

Result<std::optional<std::uint64_t>> NodeClient::last_nonce(const PublicKey& account) const {
  BALLAST_ASSIGN_OR_RETURN(NodeReply reply, get("/v1/accounts/" + account.hex()));
  if (reply.http_status == 404 && text_field(reply.body, "reason") == "unknown_account") {
    return std::optional<std::uint64_t>();
  }
  if (!reply.is_success()) return refusal_status(reply);
  auto it = reply.body.find("nonce");
  if (it == reply.body.end() || !it->is_number_unsigned()) {
    return corruption("GET /v1/accounts of " + url_.to_string() + " has no nonce");
  }
  return std::optional<std::uint64_t>(it->get<std::uint64_t>());
}

Status NodeClient::check_genesis(const exchange::Genesis& genesis) const {
  BALLAST_ASSIGN_OR_RETURN(NodeReply reply, get("/v1/markets"));
  if (!reply.is_success()) return refusal_status(reply);
  const Json& markets = reply.body.contains("markets") ? reply.body["markets"] : Json();
  if (!markets.is_array()) {
    return corruption("GET /v1/markets of " + url_.to_string() + " lists no markets");
  }
  auto mismatch = [&](const std::string& why) {
    return failed_precondition("the genesis file does not describe the network of " +
                               url_.to_string() + ": " + why);
  };
  if (markets.size() != genesis.markets.size()) {
    return mismatch("the node trades " + std::to_string(markets.size()) + " markets, the genesis " +
                    std::to_string(genesis.markets.size()));
  }
  for (const Json& market : markets) {
    if (!market.is_object()) return corruption("GET /v1/markets: a market is not an object");
    std::string symbol = text_field(market, "symbol");
    std::optional<exchange::MarketId> id = genesis.find_market(symbol);
    if (!id) return mismatch("the node trades " + symbol + ", the genesis does not");
    const exchange::MarketSpec& spec = genesis.markets[*id];
    if (market.value("id", Json()) != Json(*id) ||
        text_field(market, "base") != genesis.assets[spec.base].symbol ||
        text_field(market, "quote") != genesis.assets[spec.quote].symbol) {
      return mismatch("market " + symbol + " differs (id, base or quote)");
    }
  }
  return Status::ok();
}

Result<NodeReply> NodeClient::submit(const exchange::Transaction& tx) const {
  Bytes encoded = tx.encode();
  return post("/v1/tx", std::string(encoded.begin(), encoded.end()), "application/octet-stream");
}

Result<NodeReply> NodeClient::submit_and_wait(const exchange::Transaction& tx,
                                              std::int64_t timeout_ms) const {
  BALLAST_ASSERT(timeout_ms > 0);
  Bytes encoded = tx.encode();
  std::string body(encoded.begin(), encoded.end());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    std::int64_t wait_ms = std::clamp<std::int64_t>(left, 1, kMaxNodeWaitMs);
    BALLAST_ASSIGN_OR_RETURN(
        NodeReply reply, post("/v1/tx?wait=finalized&timeout_ms=" + std::to_string(wait_ms), body,
                              "application/octet-stream", wait_ms));
    std::string status = text_field(reply.body, "status");
    // "accepted": the node had too many waiters and answered as without wait.
    bool unsettled = reply.http_status == 202 && (status == "pending" || status == "accepted");
    if (!unsettled || std::chrono::steady_clock::now() >= deadline) return reply;
    if (status == "accepted") std::this_thread::sleep_for(kRetryPause);
  }
}

}  // namespace ballast::client
