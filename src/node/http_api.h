// The node's HTTP server (Boost.Beast): HTTP/1.1 with keep-alive, and the WebSocket upgrade of
// /v1/stream. It knows nothing of the node: every request is parsed into an ApiRequest and
// handed to one handler, whose reply (from any thread) is written back; upgrades become
// StreamSessions. What it enforces itself is hygiene: bounded header and body sizes, a bounded
// number of connections and of stream sessions, idle timeouts, and a JSON error for anything it
// cannot parse. One client's bad request never affects another's connection.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/status.h"
#include "node/stream.h"

namespace ballast::node {

struct ApiOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t max_body_bytes = 64 << 10;
  std::size_t max_header_bytes = 8 << 10;
  std::size_t max_connections = 256;
  std::size_t max_stream_sessions = 256;
  std::int64_t idle_timeout_ms = 30'000;
  StreamLimits stream;
};

enum class HttpMethod { kGet, kPost, kOther };

struct ApiRequest {
  HttpMethod method = HttpMethod::kOther;
  std::string path;                          // without the query
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps its last value
  std::string body;
  bool body_is_json = false;  // Content-Type application/json (any case, with parameters)
  // The connection it came on, unique for the server's lifetime: what per-connection limits key
  // on.
  std::uint64_t connection_id = 0;
};

struct ApiResponse {
  ApiResponse() = default;
  ApiResponse(unsigned status_code, nlohmann::json json)
      : status(status_code), body(std::move(json)) {}
  // A body sent as is with its content type, instead of JSON.
  static ApiResponse plain(unsigned status_code, std::string text, std::string content_type) {
    ApiResponse response(status_code, nullptr);
    response.text = std::move(text);
    response.text_content_type = std::move(content_type);
    return response;
  }

  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Retry-After)
  nlohmann::json body;
  std::optional<std::string> text;
  std::string text_content_type;
};

struct ApiHandlers {
  using Reply = std::function<void(ApiResponse)>;  // may be called from any thread, once
  std::function<void(ApiRequest request, Reply reply)> handle;
  // For WebSocket sessions on /v1/stream.
  StreamRequestHandler stream_request;
  StreamClosedHandler stream_closed;
  // Told of every error the server answers itself, for requests never handed to `handle` (not
  // parsed, too large, malformed query, refused upgrade, too many connections): for metrics.
  std::function<void(unsigned status)> refused;
};

// Splits "a=1&b=x%20y" into decoded pairs; nothing for malformed percent escapes.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

class HttpApi {
 public:
  HttpApi(boost::asio::io_context& io, ApiOptions options, ApiHandlers handlers);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  Status start();  // binds; a clear error if the address is taken
  std::uint16_t port() const;
  void stop();
  std::size_t open_connections() const;
  std::size_t open_stream_sessions() const;

 private:
  class Listener;
  class Session;
  std::shared_ptr<Listener> listener_;
};

}  // namespace ballast::node
