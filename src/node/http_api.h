// The node's HTTP API (Boost.Beast): POST /v1/tx takes a signed transaction, binary
// (application/octet-stream, the canonical encoding) or JSON, and answers accepted-with-hash or
// rejected-with-reason; GET /v1/status reports height, view, leader, peers and mempool. The
// server owns no node state: it calls the handlers it is given. Connections, request bodies
// and idle time are bounded.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/status.h"

namespace ballast::node {

struct ApiOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t max_body_bytes = 64 << 10;
  std::size_t max_connections = 256;
  std::int64_t idle_timeout_ms = 30'000;
};

struct ApiResponse {
  unsigned status = 200;
  nlohmann::json body;
};

struct ApiHandlers {
  using Reply = std::function<void(ApiResponse)>;  // may be called from any thread, once
  // The request body and whether it is JSON (otherwise the binary encoding).
  std::function<void(std::string body, bool is_json, Reply reply)> submit_transaction;
  // GET /v1/status, or /v1/status?at=H to also get the state root at finalized height H.
  std::function<ApiResponse(std::optional<std::uint64_t> at_height)> status;
};

class HttpApi {
 public:
  HttpApi(boost::asio::io_context& io, ApiOptions options, ApiHandlers handlers);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  Status start();  // binds; a clear error if the address is taken
  std::uint16_t port() const;
  void stop();

 private:
  class Listener;
  class Session;
  std::shared_ptr<Listener> listener_;
};

}  // namespace ballast::node
