// The node's API endpoints (docs/API.md): parses each request on the I/O thread, sends
// transactions through the verify pool to the core, runs reads as core queries, renders
// /metrics. Every bad request gets a JSON error with a stable code and reason, and changes
// nothing.
#pragma once

#include "exchange/genesis.h"
#include "net/transport.h"
#include "node/core.h"
#include "node/http_api.h"
#include "node/ingress_guard.h"
#include "node/metrics.h"
#include "node/verify_lanes.h"
#include "node/verify_pool.h"

namespace ballast::node {

struct RouteLimits {
  std::int64_t default_wait_ms = 10'000;  // POST /v1/tx?wait=finalized without timeout_ms
  std::int64_t max_wait_ms = 60'000;
  std::size_t default_book_depth = 20;
  std::size_t max_book_depth = 1'000;
  std::size_t default_trades = 100;
  std::size_t max_trades = 1'000;
  std::size_t max_batch_transactions = 1'000;  // POST /v1/txs
};

class ApiRoutes {
 public:
  ApiRoutes(const exchange::Genesis& genesis, Core& core, VerifyPool& verify_pool,
            VerifyLanes& lanes, const net::Transport& transport, NodeMetrics& metrics,
            IngressGuard& ingress, RouteLimits limits = {});

  void handle(ApiRequest request, ApiHandlers::Reply reply);
  // The server, once built, for its connection counts in /metrics.
  void set_server(const HttpApi* server) { server_ = server; }

 private:
  void submit(const ApiRequest& request, ApiHandlers::Reply reply);
  void submit_batch(const ApiRequest& request, ApiHandlers::Reply reply);
  struct BatchAnswers;
  struct BatchPart;
  void verify_parts(VerifyPool::Source source, std::shared_ptr<BatchAnswers> answers,
                    BatchPart cancels, BatchPart others);
  void verify_part(VerifyPool::Source source, std::shared_ptr<BatchAnswers> answers, BatchPart part,
                   bool urgent);
  void refuse_futile_cancels(const app::ExchangeApplication& application, BatchPart& cancels,
                             BatchAnswers& answers);
  void get_transaction(std::string_view hash, ApiHandlers::Reply reply);
  void get_status(const ApiRequest& request, ApiHandlers::Reply reply);
  void get_markets(ApiHandlers::Reply reply);
  void get_book(std::string_view market, const ApiRequest& request, ApiHandlers::Reply reply);
  void get_trades(std::string_view market, const ApiRequest& request, ApiHandlers::Reply reply);
  void get_account(std::string_view key, ApiHandlers::Reply reply);
  void get_block(std::string_view height, ApiHandlers::Reply reply);
  ApiResponse metrics() const;
  void render_market_metrics(PrometheusText& out, const CoreStatus& status) const;
  void render_ingress_metrics(PrometheusText& out) const;
  // Runs `read` on the core thread and replies with what it returns; 503 when the core is busy.
  void read_on_core(std::function<ApiResponse(CoreView& view)> read, ApiHandlers::Reply reply);
  void reply_error(const ApiHandlers::Reply& reply, const Status& status);

  const exchange::Genesis& genesis_;
  Core& core_;
  VerifyPool& verify_pool_;
  VerifyLanes& lanes_;
  const net::Transport& transport_;
  NodeMetrics& metrics_;
  IngressGuard& ingress_;
  RouteLimits limits_;
  const HttpApi* server_ = nullptr;
};

// The HTTP status for a refusal: 400 malformed or invalid, 404 unknown, 409 conflicts with the
// state (stale nonce, duplicate), 429 bounds and overload, 500 storage trouble.
unsigned http_status_for(const Status& status);

}  // namespace ballast::node
