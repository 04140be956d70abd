#include "node/api_routes.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <map>
#include <memory>

#include "node/api_json.h"
#include "node/transaction_json.h"

namespace ballast::node {

namespace {

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The ingress guard's clock: monotonic, so a wall-clock step never trips or relaxes it.
std::int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// A numeric query parameter within [1, max], or `fallback` when absent.
Result<std::uint64_t> bounded_parameter(const ApiRequest& request, const std::string& name,
                                        std::uint64_t fallback, std::uint64_t max) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  std::optional<std::uint64_t> value = parse_u64(it->second);
  if (!value || *value == 0 || *value > max) {
    return invalid_argument(name + " must be an integer from 1 to " + std::to_string(max))
        .with_reason("bad_parameter");
  }
  return *value;
}

Status overloaded() {
  return Status(StatusCode::kResourceExhausted, "node overloaded: try again")
      .with_reason("overloaded");
}

ApiResponse accepted_response(const Hash256& id) {
  return {202, {{"status", "accepted"}, {"hash", id.hex()}}};
}

ApiResponse rejected_response(const Status& status, const std::optional<Hash256>& id) {
  return {http_status_for(status), rejection_json(status, id)};
}

// The answer to a transaction that was waited for: settled, or still pending at the deadline.
ApiResponse settled_response(const Hash256& id, const std::optional<TxRecord>& record,
                             const exchange::Genesis& genesis) {
  if (!record) return {202, {{"status", "pending"}, {"hash", id.hex()}, {"timed_out", true}}};
  nlohmann::json body = tx_record_json(id, *record, genesis);
  return {record->state == TxState::kFinalized ? 200u : 409u, std::move(body)};
}

// What the ingress guard looks at before the signature check: the kind and fee the transaction
// claims, and its sender (known when it decodes; charged only once the signature proves it).
// Bytes that do not decode are charged as a minimum-fee non-cancel; verification then refuses
// them as malformed.
struct ClaimedTransaction {
  IngressClaim claim;
  std::optional<PublicKey> sender;
};

ClaimedTransaction claim_of(const Bytes& bytes) {
  auto tx = exchange::Transaction::decode(bytes);
  if (!tx.is_ok()) return {};
  return {{tx->is_cancel(), tx->fee > 0 ? static_cast<std::uint64_t>(tx->fee) : 0}, tx->sender};
}

// 429 with the current fee floor (what would pass the breaker) and when to try again.
ApiResponse ingress_refusal(const IngressVerdict& verdict, const std::optional<Hash256>& id) {
  ApiResponse response(http_status_for(verdict.status),
                       rejection_json(verdict.status, id, verdict.fee_floor));
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

// A transaction that passed the arrival checks, on its way through verification.
struct CheckedEntry {
  std::size_t position = 0;  // in its request
  Hash256 id;
  ClaimedTransaction claimed;
  // The breaker's floor when it arrived; 0: the breaker was closed.
  std::uint64_t floor_at_arrival = 0;
  // The breaker was tripped when it arrived: the node sheds cancels that can only fail.
  app::CancelCheck cancel_check = app::CancelCheck::kNone;

  void arrived(const IngressVerdict& arrival) {
    floor_at_arrival = arrival.fee_floor;
    cancel_check =
        arrival.fee_floor > 0 ? app::CancelCheck::kRefuseFutile : app::CancelCheck::kNone;
  }
};

// The answer for a transaction whose verification failed, or whose account (now proven) is over
// its budget; nothing when it may go on to the core.
std::optional<ApiResponse> refusal_after_verification(const Result<VerifiedTransaction>& verdict,
                                                      const CheckedEntry& entry,
                                                      IngressGuard& ingress, NodeMetrics& metrics) {
  if (!verdict.is_ok()) {
    metrics.transactions_rejected.add(verdict.status().reason());
    // Judged again before its check (breaker_screen), it gets the breaker's answer.
    if (verdict.status().reason() == "ingress_breaker") {
      return ingress_refusal({verdict.status(), ingress.fee_floor()}, entry.id);
    }
    // An entry that does not decode is no transaction: it has no hash to name.
    const bool decoded = entry.claimed.sender.has_value();
    return rejected_response(verdict.status(), decoded ? std::optional(entry.id) : std::nullopt);
  }
  IngressVerdict account =
      ingress.admit_verified(*entry.claimed.sender, entry.claimed.claim.is_cancel, monotonic_ms());
  if (account.status.is_ok()) return std::nullopt;
  metrics.transactions_rejected.add(account.status.reason());
  return ingress_refusal(account, entry.id);
}

// For a job in the ordinary lane: what passed the breaker while it was closed meets it again as
// its check is about to start (IngressGuard::admit_waiting), so what arrived just before a trip
// and waited is refused rather than verified, gossiped and verified again on every validator.
VerifyPool::Screen breaker_screen(IngressGuard& ingress,
                                  std::shared_ptr<const std::vector<CheckedEntry>> entries) {
  return [&ingress, entries = std::move(entries)](std::size_t index) {
    const CheckedEntry& entry = entries->at(index);
    return ingress.admit_waiting(entry.claimed.claim, entry.floor_at_arrival, monotonic_ms())
        .status;
  };
}

// A family of one unlabelled sample.
void single_sample(PrometheusText& out, std::string_view name, std::string_view type,
                   std::string_view help, double value) {
  out.family(name, type, help);
  out.sample(name, value);
}

}  // namespace

unsigned http_status_for(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kIoError:
    case StatusCode::kCorruption:
      return 500;
    case StatusCode::kInvalidArgument:
    case StatusCode::kPermissionDenied:
      return 400;
  }
  return 400;
}

ApiRoutes::ApiRoutes(const exchange::Genesis& genesis, Core& core, VerifyPool& verify_pool,
                     VerifyLanes& lanes, const net::Transport& transport, NodeMetrics& metrics,
                     IngressGuard& ingress, RouteLimits limits)
    : genesis_(genesis),
      core_(core),
      verify_pool_(verify_pool),
      lanes_(lanes),
      transport_(transport),
      metrics_(metrics),
      ingress_(ingress),
      limits_(limits) {}

void ApiRoutes::reply_error(const ApiHandlers::Reply& reply, const Status& status) {
  reply(rejected_response(status, std::nullopt));
}

void ApiRoutes::handle(ApiRequest request, ApiHandlers::Reply answer) {
  metrics_.http_requests.fetch_add(1, std::memory_order_relaxed);
  // Every error answer is counted, whoever gives it: a route, a verification worker or the core.
  ApiHandlers::Reply reply = [this, answer = std::move(answer)](ApiResponse response) {
    if (response.status >= 400) metrics_.http_errors.add(std::to_string(response.status));
    answer(std::move(response));
  };
  std::string_view path = request.path;
  auto tail = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (!path.starts_with(prefix) || path.size() == prefix.size()) return std::nullopt;
    std::string_view rest = path.substr(prefix.size());
    if (rest.find('/') != std::string_view::npos) return std::nullopt;
    return rest;
  };
  bool get = request.method == HttpMethod::kGet;
  bool post = request.method == HttpMethod::kPost;
  if (path == "/v1/tx") {
    if (post) return submit(request, std::move(reply));
  } else if (path == "/v1/txs") {
    if (post) return submit_batch(request, std::move(reply));
  } else if (auto hash = tail("/v1/tx/")) {
    if (get) return get_transaction(*hash, std::move(reply));
  } else if (path == "/v1/status") {
    if (get) return get_status(request, std::move(reply));
  } else if (path == "/v1/markets") {
    if (get) return get_markets(std::move(reply));
  } else if (auto market = tail("/v1/book/")) {
    if (get) return get_book(*market, request, std::move(reply));
  } else if (auto trades_market = tail("/v1/trades/")) {
    if (get) return get_trades(*trades_market, request, std::move(reply));
  } else if (auto key = tail("/v1/accounts/")) {
    if (get) return get_account(*key, std::move(reply));
  } else if (auto height = tail("/v1/blocks/")) {
    if (get) return get_block(*height, std::move(reply));
  } else if (path == "/metrics") {
    if (get) return reply(metrics());
  } else {
    return reply_error(
        reply, not_found("no such endpoint: " + std::string(path)).with_reason("no_such_endpoint"));
  }
  reply({405, error_json(invalid_argument("method not allowed on " + std::string(path))
                             .with_reason("method_not_allowed"))});
}

void ApiRoutes::read_on_core(std::function<ApiResponse(CoreView& view)> read,
                             ApiHandlers::Reply reply) {
  auto shared_reply = std::make_shared<ApiHandlers::Reply>(std::move(reply));
  bool queued = core_.query(
      [read = std::move(read), shared_reply](CoreView& view) { (*shared_reply)(read(view)); });
  if (!queued) reply_error(*shared_reply, overloaded());
}

// --- POST /v1/tx --------------------------------------------------------------------------------

void ApiRoutes::submit(const ApiRequest& request, ApiHandlers::Reply reply) {
  std::optional<std::int64_t> wait_ms;
  if (auto wait = request.query.find("wait"); wait != request.query.end()) {
    if (wait->second != "finalized") {
      return reply_error(
          reply, invalid_argument("wait must be \"finalized\"").with_reason("bad_parameter"));
    }
    auto timeout = bounded_parameter(request, "timeout_ms",
                                     static_cast<std::uint64_t>(limits_.default_wait_ms),
                                     static_cast<std::uint64_t>(limits_.max_wait_ms));
    if (!timeout.is_ok()) return reply_error(reply, timeout.status());
    wait_ms = static_cast<std::int64_t>(*timeout);
  }
  auto bytes = transaction_bytes_from_body(request.body, request.body_is_json, genesis_);
  if (!bytes.is_ok()) {
    metrics_.transactions_rejected.add("malformed");
    return reply_error(reply, Status(bytes.status()).with_reason("malformed"));
  }
  std::vector<Bytes> job;
  job.push_back(std::move(bytes).value());
  // The transaction decoded: every answer names it, a refused signature included.
  const Hash256 id = sha256(job.front());
  CheckedEntry entry{0, id, claim_of(job.front())};
  IngressVerdict arrival =
      ingress_.admit_arrival(request.connection_id, entry.claimed.claim, monotonic_ms());
  if (!arrival.status.is_ok()) {
    metrics_.transactions_rejected.add(arrival.status.reason());
    return reply(ingress_refusal(arrival, id));
  }
  entry.arrived(arrival);
  const std::optional<std::int64_t> deadline_ms =
      wait_ms ? std::optional(wall_clock_ms() + *wait_ms) : std::nullopt;
  const bool urgent = lanes_.choose_urgent(entry.claimed.sender, entry.claimed.claim.is_cancel);
  std::vector<PublicKey> in_lane;  // the sender, while it waits in the ordinary lane
  if (!urgent && entry.claimed.sender) in_lane.push_back(*entry.claimed.sender);
  auto hand_on = [this, reply, id, entry,
                  deadline_ms](std::vector<Result<VerifiedTransaction>> verdicts) {
    Result<VerifiedTransaction>& verdict = verdicts.front();
    if (auto refusal = refusal_after_verification(verdict, entry, ingress_, metrics_)) {
      return reply(std::move(*refusal));
    }
    ClientTransaction input;
    input.transaction = std::move(verdict).value();
    input.cancel_check = entry.cancel_check;
    input.admitted = [reply, id](Status status, bool waiting) {
      if (waiting) return;  // `settled` answers
      reply(status.is_ok() ? accepted_response(id) : rejected_response(status, id));
    };
    input.wait_until_ms = deadline_ms;
    input.settled = [reply, id, this](const std::optional<TxRecord>& record) {
      reply(settled_response(id, record, genesis_));
    };
    if (!core_.post(std::move(input))) reply(rejected_response(overloaded(), id));
  };
  // Its sender stops waiting in the lanes once it was handed to the core, or refused.
  auto on_verified = [this, hand_on, in_lane](std::vector<Result<VerifiedTransaction>> verdicts) {
    hand_on(std::move(verdicts));
    lanes_.release(in_lane);
  };
  VerifyPool::Screen screen =
      urgent ? VerifyPool::Screen{}
             : breaker_screen(ingress_, std::make_shared<std::vector<CheckedEntry>>(1, entry));
  if (!verify_pool_.submit(request.connection_id, std::move(job), std::move(on_verified), urgent,
                           std::move(screen))) {
    lanes_.release(in_lane);
    metrics_.transactions_rejected.add("overloaded");
    reply_error(reply, overloaded());
  }
}

// --- POST /v1/txs -------------------------------------------------------------------------------

// One POST /v1/txs on its way: the results in request order, filled in by each part (the
// arrival checks, then the cancels and the rest, each verified and admitted on its own), and
// sent when the last part is done.
struct ApiRoutes::BatchAnswers {
  std::vector<std::string> results;  // JSON text (node/api_json.h)
  ApiHandlers::Reply reply;
  std::atomic<int> parts_left{1};  // the arrival checks

  void part_done() {
    if (parts_left.fetch_sub(1) != 1) return;
    for (const std::string& result : results) BALLAST_ASSERT(!result.empty());  // each answered
    std::string body = results_text(results);
    body += '\n';
    reply(ApiResponse::plain(200, std::move(body), "application/json"));
  }
};

// Transactions of a batch verified and admitted together.
struct ApiRoutes::BatchPart {
  std::vector<CheckedEntry> entries;
  std::vector<Bytes> transactions;
};

// Many transactions in one request: each checked and admitted as if posted alone, answered
// together, in order. Cheaper per transaction than one request each. Its cancels are verified
// and admitted ahead of its other transactions (and of other requests' non-cancels), except
// that a sender's transactions are never reordered among themselves.
void ApiRoutes::submit_batch(const ApiRequest& request, ApiHandlers::Reply reply) {
  auto batch = transaction_batch_from_body(request.body, request.body_is_json, genesis_,
                                           limits_.max_batch_transactions);
  if (!batch.is_ok()) {
    metrics_.transactions_rejected.add("malformed");
    return reply_error(reply, Status(batch.status()).with_reason("malformed"));
  }
  auto answers = std::make_shared<BatchAnswers>();
  answers->results.resize(batch->size());
  answers->reply = std::move(reply);
  BatchPart cancels;
  BatchPart others;
  const std::int64_t now_ms = monotonic_ms();
  for (std::size_t i = 0; i < batch->size(); ++i) {
    Bytes& bytes = (*batch)[i];
    CheckedEntry entry{i, sha256(bytes), claim_of(bytes)};
    IngressVerdict arrival =
        ingress_.admit_arrival(request.connection_id, entry.claimed.claim, now_ms);
    if (!arrival.status.is_ok()) {
      metrics_.transactions_rejected.add(arrival.status.reason());
      answers->results[i] = rejection_text(
          arrival.status, entry.claimed.sender ? std::optional(entry.id) : std::nullopt,
          arrival.fee_floor);
      continue;
    }
    entry.arrived(arrival);
    // Never ahead of its sender's earlier transactions, in this batch or still being verified
    // from an earlier request (node/verify_lanes.h).
    BatchPart& part = lanes_.choose_urgent(entry.claimed.sender, entry.claimed.claim.is_cancel)
                          ? cancels
                          : others;
    part.entries.push_back(entry);
    part.transactions.push_back(std::move(bytes));
  }
  const VerifyPool::Source source = request.connection_id;
  const bool judge_cancels_first =
      std::any_of(cancels.entries.begin(), cancels.entries.end(), [](const CheckedEntry& entry) {
        return entry.cancel_check == app::CancelCheck::kRefuseFutile;
      });
  if (!judge_cancels_first) {
    return verify_parts(source, answers, std::move(cancels), std::move(others));
  }
  // The breaker is tripped. Under a flood most cancels name orders the breaker refused: the core
  // refuses those first, from what they claim, and spares their signature checks the cores the
  // steady flow needs. The rest waits for that, so no part overtakes the cancels.
  auto parts =
      std::make_shared<std::pair<BatchPart, BatchPart>>(std::move(cancels), std::move(others));
  const bool asked = core_.query([this, source, answers, parts](CoreView& view) {
    refuse_futile_cancels(view.application, parts->first, *answers);
    verify_parts(source, answers, std::move(parts->first), std::move(parts->second));
  });
  if (!asked) verify_parts(source, answers, std::move(parts->first), std::move(parts->second));
}

void ApiRoutes::verify_parts(VerifyPool::Source source, std::shared_ptr<BatchAnswers> answers,
                             BatchPart cancels, BatchPart others) {
  for (BatchPart* part : {&cancels, &others}) {
    if (!part->entries.empty()) answers->parts_left.fetch_add(1);
  }
  if (!cancels.entries.empty()) {
    verify_part(source, answers, std::move(cancels), /*urgent=*/true);
  }
  if (!others.entries.empty()) verify_part(source, answers, std::move(others), /*urgent=*/false);
  answers->part_done();
}

// On the core thread: answers the cancels that can only fail, and keeps the rest.
void ApiRoutes::refuse_futile_cancels(const app::ExchangeApplication& application,
                                      BatchPart& cancels, BatchAnswers& answers) {
  BatchPart kept;
  for (std::size_t k = 0; k < cancels.entries.size(); ++k) {
    CheckedEntry& entry = cancels.entries[k];
    auto tx = exchange::Transaction::decode(cancels.transactions[k]);
    Status status = tx.is_ok() ? application.check_cancel(*tx, entry.cancel_check) : Status::ok();
    if (!status.is_ok()) {
      metrics_.transactions_rejected.add(status.reason());
      answers.results[entry.position] = rejection_text(status, entry.id);
      continue;
    }
    kept.entries.push_back(std::move(entry));
    kept.transactions.push_back(std::move(cancels.transactions[k]));
  }
  cancels = std::move(kept);
}

// Verifies a part of a batch, then admits what passed; a full queue on the way refuses the
// part's transactions as `overloaded`.
void ApiRoutes::verify_part(VerifyPool::Source source, std::shared_ptr<BatchAnswers> answers,
                            BatchPart part, bool urgent) {
  std::vector<PublicKey> waiting;  // an ordinary part's senders, waiting in the lanes
  for (const CheckedEntry& entry : part.entries) {
    if (!urgent && entry.claimed.sender) waiting.push_back(*entry.claimed.sender);
  }
  auto entries = std::make_shared<std::vector<CheckedEntry>>(std::move(part.entries));
  VerifyPool::Screen screen = urgent ? VerifyPool::Screen{} : breaker_screen(ingress_, entries);
  auto refuse_overloaded = [this, answers](const std::vector<CheckedEntry>& refused) {
    for (const CheckedEntry& entry : refused) {
      metrics_.transactions_rejected.add("overloaded");
      answers->results[entry.position] = rejection_text(overloaded(), entry.id);
    }
    answers->part_done();
  };
  auto hand_on = [this, answers, entries,
                  refuse_overloaded](std::vector<Result<VerifiedTransaction>> verdicts) {
    ClientBatch input;
    auto admitted = std::make_shared<std::vector<CheckedEntry>>();
    for (std::size_t k = 0; k < verdicts.size(); ++k) {
      const CheckedEntry& entry = (*entries)[k];
      if (auto refusal = refusal_after_verification(verdicts[k], entry, ingress_, metrics_)) {
        answers->results[entry.position] =
            refusal->body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        continue;
      }
      admitted->push_back(entry);
      input.transactions.push_back({std::move(verdicts[k]).value(), entry.cancel_check});
    }
    if (input.transactions.empty()) return answers->part_done();
    input.admitted = [answers, admitted](std::vector<Status> statuses) {
      for (std::size_t k = 0; k < statuses.size(); ++k) {
        const CheckedEntry& entry = (*admitted)[k];
        answers->results[entry.position] =
            statuses[k].is_ok() ? accepted_text(entry.id) : rejection_text(statuses[k], entry.id);
      }
      answers->part_done();
    };
    if (!core_.post(std::move(input))) refuse_overloaded(*admitted);
  };
  auto on_verified = [this, hand_on, waiting](std::vector<Result<VerifiedTransaction>> verdicts) {
    hand_on(std::move(verdicts));
    lanes_.release(waiting);
  };
  if (!verify_pool_.submit(source, std::move(part.transactions), std::move(on_verified), urgent,
                           std::move(screen))) {
    lanes_.release(waiting);
    refuse_overloaded(*entries);
  }
}

// --- reads --------------------------------------------------------------------------------------

void ApiRoutes::get_transaction(std::string_view hash, ApiHandlers::Reply reply) {
  auto id = Hash256::from_hex(hash);
  if (!id.is_ok()) {
    return reply_error(
        reply,
        invalid_argument("a transaction hash is 64 hex digits").with_reason("bad_parameter"));
  }
  read_on_core(
      [id = *id, this](CoreView& view) -> ApiResponse {
        std::optional<TxRecord> record = view.transactions.find(id);
        if (!record) {
          return rejected_response(
              not_found("unknown transaction (never seen here, refused when submitted, or "
                        "older than what this node remembers)")
                  .with_reason("unknown_transaction"),
              id);
        }
        return {200, tx_record_json(id, *record, genesis_)};
      },
      std::move(reply));
}

void ApiRoutes::get_status(const ApiRequest& request, ApiHandlers::Reply reply) {
  nlohmann::json json = status_json(core_.status());
  json["ingress"] = ingress_json(ingress_.stats(monotonic_ms()));
  if (auto at = request.query.find("at"); at != request.query.end()) {
    std::optional<std::uint64_t> height = parse_u64(at->second);
    if (!height) {
      return reply_error(reply,
                         invalid_argument("at= must be a height").with_reason("bad_parameter"));
    }
    std::optional<Hash256> root = core_.root_at(*height);
    json["at"] = {{"height", *height},
                  {"state_root", root ? nlohmann::json(root->hex()) : nlohmann::json()}};
  }
  reply({200, std::move(json)});
}

void ApiRoutes::get_markets(ApiHandlers::Reply reply) {
  read_on_core(
      [](CoreView& view) -> ApiResponse {
        return {200, markets_json(view.application.exchange())};
      },
      std::move(reply));
}

void ApiRoutes::get_book(std::string_view market, const ApiRequest& request,
                         ApiHandlers::Reply reply) {
  std::optional<exchange::MarketId> id = genesis_.find_market(market);
  if (!id) {
    return reply_error(
        reply, not_found("unknown market " + std::string(market)).with_reason("unknown_market"));
  }
  auto depth =
      bounded_parameter(request, "depth", limits_.default_book_depth, limits_.max_book_depth);
  if (!depth.is_ok()) return reply_error(reply, depth.status());
  read_on_core(
      [id = *id, depth = *depth](CoreView& view) -> ApiResponse {
        return {200, book_json(view.application.exchange(), id, depth)};
      },
      std::move(reply));
}

void ApiRoutes::get_trades(std::string_view market, const ApiRequest& request,
                           ApiHandlers::Reply reply) {
  std::optional<exchange::MarketId> id = genesis_.find_market(market);
  if (!id) {
    return reply_error(
        reply, not_found("unknown market " + std::string(market)).with_reason("unknown_market"));
  }
  auto limit = bounded_parameter(request, "limit", limits_.default_trades, limits_.max_trades);
  if (!limit.is_ok()) return reply_error(reply, limit.status());
  read_on_core(
      [id = *id, limit = *limit, this](CoreView& view) -> ApiResponse {
        nlohmann::json trades = nlohmann::json::array();
        for (const Trade& trade : view.market_feed.recent_trades(id, limit)) {
          trades.push_back(trade_json(trade));
        }
        return {200,
                {{"market", genesis_.markets[id].symbol},
                 {"height", view.application.executed_height()},
                 {"trades", std::move(trades)}}};
      },
      std::move(reply));
}

void ApiRoutes::get_account(std::string_view key, ApiHandlers::Reply reply) {
  auto account = PublicKey::from_hex(key);
  if (!account.is_ok()) {
    return reply_error(reply, Status(account.status()).with_reason("bad_parameter"));
  }
  read_on_core(
      [account = *account, this](CoreView& view) -> ApiResponse {
        const exchange::Exchange& exchange = view.application.exchange();
        std::optional<exchange::AccountView> found = exchange.account(account);
        if (!found) {
          return rejected_response(
              not_found("no account " + account.hex()).with_reason("unknown_account"),
              std::nullopt);
        }
        nlohmann::json body = account_json(*found, exchange.open_orders(account), genesis_);
        body["height"] = exchange.height();
        return {200, std::move(body)};
      },
      std::move(reply));
}

void ApiRoutes::get_block(std::string_view height_text, ApiHandlers::Reply reply) {
  std::optional<std::uint64_t> height = parse_u64(height_text);
  if (!height || *height == 0) {
    return reply_error(
        reply,
        invalid_argument("a block height is a positive integer").with_reason("bad_parameter"));
  }
  read_on_core(
      [height = *height, this](CoreView& view) -> ApiResponse {
        std::vector<consensus::FinalizedEntry> entries =
            view.storage.finalized_range(height, 1, std::numeric_limits<std::size_t>::max());
        if (entries.empty()) {
          return rejected_response(
              not_found("block " + std::to_string(height) +
                        " is not stored here (not finalized yet, or pruned below the snapshot)")
                  .with_reason("unknown_block"),
              std::nullopt);
        }
        return {200, block_json(entries.front(), core_.root_at(height))};
      },
      std::move(reply));
}

// --- GET /metrics -------------------------------------------------------------------------------

// Trading state and circuit-breaker trips per market (docs/CIRCUIT_BREAKERS.md).
void ApiRoutes::render_market_metrics(PrometheusText& out, const CoreStatus& status) const {
  if (!status.markets) return;  // before the core published anything
  const std::vector<exchange::MarketStatus>& markets = *status.markets;
  out.family("ballast_market_state", "gauge",
             "1 for the state each market is in (open, limit_state, paused, auction).");
  for (const exchange::MarketStatus& market : markets) {
    for (auto state : {exchange::MarketState::kOpen, exchange::MarketState::kLimitState,
                       exchange::MarketState::kPaused, exchange::MarketState::kAuction}) {
      out.sample("ballast_market_state", market.state == state ? 1.0 : 0.0,
                 {{"market", genesis_.markets[market.market].symbol},
                  {"state", std::string(exchange::market_state_name(state))}});
    }
  }
  out.family("ballast_market_breaker_trips_total", "counter",
             "Circuit-breaker transitions per market since genesis, by kind.");
  for (const exchange::MarketStatus& market : markets) {
    const std::string& symbol = genesis_.markets[market.market].symbol;
    out.sample("ballast_market_breaker_trips_total", static_cast<double>(market.limit_states),
               {{"market", symbol}, {"kind", "limit_state"}});
    out.sample("ballast_market_breaker_trips_total", static_cast<double>(market.limit_pauses),
               {{"market", symbol}, {"kind", "limit_pause"}});
    out.sample("ballast_market_breaker_trips_total", static_cast<double>(market.velocity_pauses),
               {{"market", symbol}, {"kind", "velocity_pause"}});
    out.sample("ballast_market_breaker_trips_total", static_cast<double>(market.auctions),
               {{"market", symbol}, {"kind", "auction"}});
  }
  out.family("ballast_market_reference_price", "gauge",
             "The reference price the band is drawn around (absent before the first trade).");
  for (const exchange::MarketStatus& market : markets) {
    if (!market.reference_price) continue;
    out.sample("ballast_market_reference_price", static_cast<double>(*market.reference_price),
               {{"market", genesis_.markets[market.market].symbol}});
  }
}

// The ingress defenses (docs/API.md "Ingress defenses").
void ApiRoutes::render_ingress_metrics(PrometheusText& out) const {
  const IngressStats stats = ingress_.stats(monotonic_ms());
  const BreakerState& breaker = stats.breaker;
  single_sample(out, "ballast_ingress_breaker_tripped", "gauge",
                "1 while the ingress breaker is tripped.", breaker.tripped ? 1.0 : 0.0);
  single_sample(out, "ballast_ingress_fee_floor", "gauge",
                "The least fee a non-cancel needs while the breaker is tripped (0 when open).",
                static_cast<double>(breaker.fee_floor));
  single_sample(out, "ballast_ingress_arrival_rate", "gauge",
                "Client transactions offered per second, over the last second.",
                breaker.arrival_per_s);
  single_sample(out, "ballast_ingress_baseline_rate", "gauge",
                "The trailing arrival rate the breaker compares with.", breaker.baseline_per_s);
  single_sample(out, "ballast_ingress_breaker_trips_total", "counter", "Ingress breaker trips.",
                static_cast<double>(breaker.trips));
  single_sample(out, "ballast_ingress_breaker_relearned_total", "counter",
                "Trips that lasted breaker_max_trip_ms and ended with their rate as the baseline.",
                static_cast<double>(breaker.relearned));
  out.family("ballast_ingress_refused_total", "counter",
             "Client transactions refused by the ingress defenses, by limit.");
  for (const auto& [limit, count] :
       {std::pair{"connection", stats.refused_connection},
        std::pair{"account", stats.refused_account}, std::pair{"breaker", stats.refused_breaker}}) {
    out.sample("ballast_ingress_refused_total", static_cast<double>(count), {{"limit", limit}});
  }
}

ApiResponse ApiRoutes::metrics() const {
  CoreStatus status = core_.status();
  PrometheusText out;
  auto gauge = [&](std::string_view name, std::string_view help, double value) {
    single_sample(out, name, "gauge", help, value);
  };
  auto counter = [&](std::string_view name, std::string_view help, double value) {
    single_sample(out, name, "counter", help, value);
  };
  gauge("ballast_finalized_height", "Highest finalized block height.",
        static_cast<double>(status.height));
  gauge("ballast_view", "Current consensus view.", static_cast<double>(status.view));
  counter("ballast_views_nullified_total", "Views skipped by a nullification certificate.",
          static_cast<double>(status.views_nullified));
  counter("ballast_blocks_finalized_total", "Blocks executed by this process.",
          static_cast<double>(metrics_.blocks_finalized.load()));
  counter("ballast_transactions_finalized_total", "Transactions in finalized blocks.",
          static_cast<double>(status.transactions_finalized));
  metrics_.finalization_latency.render(out, "ballast_finalization_latency_seconds",
                                       "From a block's timestamp to its finalization here.");
  gauge("ballast_mempool_transactions", "Transactions in the mempool.",
        static_cast<double>(status.mempool_transactions));
  gauge("ballast_mempool_bytes", "Bytes of transactions in the mempool.",
        static_cast<double>(status.mempool_bytes));
  counter("ballast_transactions_accepted_total", "Client transactions admitted to the mempool.",
          static_cast<double>(metrics_.transactions_accepted.load()));
  out.family("ballast_transactions_rejected_total", "counter",
             "Client transactions refused at submission, by reason.");
  for (const auto& [reason, count] : metrics_.transactions_rejected.values()) {
    out.sample("ballast_transactions_rejected_total", static_cast<double>(count),
               {{"reason", reason}});
  }
  counter("ballast_chain_syncs_total",
          "Syncs of the chain's write-ahead log; each makes every vote and block written before "
          "it durable, and the votes wait for it before they leave.",
          static_cast<double>(metrics_.chain_syncs.load()));
  counter("ballast_chain_sync_seconds_total",
          "Time spent in those syncs; over ballast_chain_syncs_total, the average sync.",
          static_cast<double>(metrics_.chain_sync_us.load()) / 1e6);
  counter("ballast_transactions_dropped_total",
          "Admitted transactions that left the mempool without being included.",
          static_cast<double>(metrics_.transactions_dropped.load()));
  counter("ballast_gossip_missing_total",
          "Peer transactions dropped before the mempool saw them (a full verification lane or "
          "core inbox); their senders' later transactions are held back here.",
          static_cast<double>(status.gossip_missing));
  gauge("ballast_mempool_holds",
        "Missing transactions whose senders' later nonces this node keeps out of its blocks.",
        static_cast<double>(status.mempool_holds));
  gauge("ballast_mempool_holds_everything",
        "1 while more transactions went missing than the holds can name: this node's blocks "
        "carry no transactions until it ends.",
        status.mempool_holds_everything ? 1.0 : 0.0);
  gauge("ballast_finality_waiters", "Clients waiting for a transaction to be finalized.",
        static_cast<double>(status.finality_waiters));
  std::vector<net::PeerStats> peers = transport_.stats();
  std::size_t connected = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  for (const net::PeerStats& peer : peers) {
    connected += peer.connected ? 1 : 0;
    bytes_in += peer.bytes_in;
    bytes_out += peer.bytes_out;
  }
  gauge("ballast_peers_connected", "Validators with an established session.",
        static_cast<double>(connected));
  counter("ballast_peer_bytes_received_total", "Frame bytes received from validators.",
          static_cast<double>(bytes_in));
  counter("ballast_peer_bytes_sent_total", "Frame bytes sent to validators.",
          static_cast<double>(bytes_out));
  out.family("ballast_signature_verifications_total", "counter",
             "Signatures checked, by what was signed.");
  out.sample("ballast_signature_verifications_total",
             static_cast<double>(verify_pool_.verifications()), {{"kind", "transaction"}});
  out.sample("ballast_signature_verifications_total",
             static_cast<double>(metrics_.consensus_verifications.load()), {{"kind", "consensus"}});
  out.sample("ballast_signature_verifications_total",
             static_cast<double>(metrics_.block_verifications.load()),
             {{"kind", "block_transaction"}});
  counter("ballast_votes_unchecked_total",
          "Votes that arrived after their certificate was complete, kept without a signature "
          "check; one is checked only if it turns out to contradict another vote.",
          static_cast<double>(status.votes_unchecked));
  counter("ballast_signature_cache_hits_total",
          "Transactions whose signature was already verified on this node.",
          static_cast<double>(verify_pool_.cache_hits()));
  out.family("ballast_trades_total", "counter", "Trades executed, per market.");
  for (std::size_t market = 0; market < genesis_.markets.size(); ++market) {
    out.sample("ballast_trades_total", static_cast<double>(metrics_.trades[market].load()),
               {{"market", genesis_.markets[market].symbol}});
  }
  out.family("ballast_traded_quantity_total", "counter", "Base units traded, per market.");
  for (std::size_t market = 0; market < genesis_.markets.size(); ++market) {
    out.sample("ballast_traded_quantity_total",
               static_cast<double>(metrics_.traded_quantity[market].load()),
               {{"market", genesis_.markets[market].symbol}});
  }
  counter("ballast_inbox_dropped_total", "Inputs refused by the core's full inbox.",
          static_cast<double>(status.inbox_dropped));
  counter("ballast_http_requests_total", "HTTP requests handled.",
          static_cast<double>(metrics_.http_requests.load()));
  out.family("ballast_http_errors_total", "counter", "HTTP error answers, by status.");
  for (const auto& [code, count] : metrics_.http_errors.values()) {
    out.sample("ballast_http_errors_total", static_cast<double>(count), {{"status", code}});
  }
  if (server_ != nullptr) {
    gauge("ballast_http_connections", "Open HTTP connections.",
          static_cast<double>(server_->open_connections()));
    gauge("ballast_stream_sessions", "Open WebSocket stream sessions.",
          static_cast<double>(server_->open_stream_sessions()));
  }
  render_market_metrics(out, status);
  render_ingress_metrics(out);
  gauge("ballast_divergence", "1 when this validator's state diverged from a certified root.",
        status.divergence ? 1.0 : 0.0);
  gauge("ballast_evidence", "Equivocation proofs held.", static_cast<double>(status.evidence));
  gauge("ballast_journaled_transactions",
        "Acknowledged transactions recorded on disk and not yet finalized or dropped.",
        static_cast<double>(status.journaled_transactions));
  out.family("ballast_evidence_against", "gauge",
             "Equivocation proofs held against a validator, per accused validator.");
  for (const EvidenceAgainst& against : status.evidence_against) {
    out.sample("ballast_evidence_against", static_cast<double>(against.proofs),
               {{"validator", std::to_string(against.validator)}});
  }
  gauge("ballast_byzantine", "1 when this validator runs the TEST-ONLY Byzantine mode.",
        status.byzantine ? 1.0 : 0.0);
  return ApiResponse::plain(200, out.text(), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace ballast::node
