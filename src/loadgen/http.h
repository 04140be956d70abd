// Plain blocking HTTP/1.1 requests to a node, for the few questions the load generator and the
// benchmarks ask before and after a run (status, nonces, a transaction's fate). Every request
// has a deadline; every failure is a Status naming the node.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace ballast::loadgen {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string url() const { return "http://" + host + ":" + std::to_string(port); }
};

// "http://HOST:PORT" (a trailing slash allowed); nothing else.
Result<Endpoint> parse_endpoint(std::string_view url);

struct HttpAnswer {
  unsigned status = 0;
  nlohmann::json body;  // discarded (is_discarded()) when the body is not JSON
  std::string text;     // the body as received (e.g. the Prometheus text of /metrics)
};

Result<HttpAnswer> http_get(const Endpoint& endpoint, const std::string& target,
                            std::int64_t timeout_ms = 5'000);

}  // namespace ballast::loadgen
