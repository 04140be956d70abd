// A node's HTTP API (docs/API.md) from the client's side: a small synchronous HTTP/1.1 client
// used by `ballast tx`, `ballast orders replay --node` and `ballast localnet status`. One
// request is one connection, with a deadline on connecting and another on the exchange, and
// every failure is a Status that names the node's URL.
//
// It knows a node only through its public API: it must never include or link the node's
// internals, so anything it does, any other client of the API could do too.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/keys.h"
#include "exchange/genesis.h"
#include "exchange/transaction.h"

namespace ballast::client {

// The API address of a node, from "http://HOST:PORT" where HOST is an IPv4 literal, an IPv6
// literal in brackets or a host name.
struct NodeUrl {
  std::string host;  // without brackets
  std::uint16_t port = 0;

  bool operator==(const NodeUrl&) const = default;
  std::string to_string() const;  // "http://127.0.0.1:27100", "http://[::1]:27100"
};

// Only plain http is accepted (the node serves nothing else), the port is required, and
// nothing may follow it but one "/".
Result<NodeUrl> parse_node_url(std::string_view text);

struct ClientTimeouts {
  std::int64_t connect_ms = 5'000;    // resolving is not bounded: use an IP literal to be sure
  std::int64_t exchange_ms = 15'000;  // sending the request and reading the whole answer
};

// An answer of the node: any HTTP status, with its JSON body.
struct NodeReply {
  unsigned http_status = 0;
  nlohmann::json body;

  bool is_success() const { return http_status >= 200 && http_status < 300; }
};

// The text field `name` of a JSON object; empty when absent or not text.
std::string text_field(const nlohmann::json& object, const char* name);

// The refusal in a reply's body (docs/API.md "Errors") as a Status: the node's code, and a
// message "<reason>: <message>".
Status refusal_status(const NodeReply& reply);

class NodeClient {
 public:
  explicit NodeClient(NodeUrl url, ClientTimeouts timeouts = {})
      : url_(std::move(url)), timeouts_(timeouts) {}

  const NodeUrl& url() const { return url_; }

  // One request. A transport failure or an answer that is not JSON is an error; an answer of
  // any HTTP status with a JSON body is a reply. `wait_ms` extends the exchange deadline for
  // requests the node answers late on purpose (?wait=finalized).
  Result<NodeReply> get(const std::string& target) const;
  Result<NodeReply> post(const std::string& target, const std::string& body,
                         const std::string& content_type, std::int64_t wait_ms = 0) const;

  // The highest finalized height (GET /v1/status).
  Result<std::uint64_t> height() const;
  // The last nonce the account used, or nothing when the node knows no such account.
  Result<std::optional<std::uint64_t>> last_nonce(const PublicKey& account) const;
  // Fails unless the node trades the markets of `genesis` under the same ids and assets
  // (GET /v1/markets): a client that signed market ids from another network's genesis would
  // otherwise trade in the wrong market.
  Status check_genesis(const exchange::Genesis& genesis) const;

  // POST /v1/tx with the canonical encoding: the node's answer, accepted or refused.
  Result<NodeReply> submit(const exchange::Transaction& tx) const;
  // POST /v1/tx?wait=finalized, asked again while the node answers "pending" until
  // `timeout_ms` has passed (safe: the node waits for the pooled transaction instead of
  // admitting it twice). The last answer is returned, "pending" if time ran out.
  Result<NodeReply> submit_and_wait(const exchange::Transaction& tx, std::int64_t timeout_ms) const;

 private:
  Result<NodeReply> request(const std::string& method, const std::string& target,
                            const std::string& body, const std::string& content_type,
                            std::int64_t wait_ms) const;

  NodeUrl url_;
  ClientTimeouts timeouts_;
};

// The most a node waits per request on ?wait=finalized (docs/API.md).
inline constexpr std::int64_t kMaxNodeWaitMs = 60'000;

}  // namespace ballast::client
