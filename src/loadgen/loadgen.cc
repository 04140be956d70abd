#include "loadgen/loadgen.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <ostream>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "loadgen/block_listener.h"
#include "loadgen/ledger.h"
#include "loadgen/machine_load.h"

namespace ballast::loadgen {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kExpiryMarginBlocks = 1'000'000;
constexpr std::int64_t kProgressIntervalUs = 1'000'000;
constexpr std::int64_t kSubscribeTimeoutMs = 5'000;

// The next nonce of every account, asked of the node the account will send to.
Result<std::vector<std::uint64_t>> fetch_next_nonces(const LoadgenOptions& options) {
  std::vector<std::uint64_t> nonces;
  nonces.reserve(options.accounts.size());
  for (std::size_t i = 0; i < options.accounts.size(); ++i) {
    const Endpoint& node = options.nodes[i % options.nodes.size()];
    std::string key = options.accounts[i].public_key().hex();
    BALLAST_ASSIGN_OR_RETURN(HttpAnswer answer, http_get(node, "/v1/accounts/" + key));
    if (answer.status != 200 || answer.body.is_discarded()) {
      return failed_precondition("account " + key + " is not funded on " + node.url());
    }
    nonces.push_back(answer.body.value("nonce", std::uint64_t{0}) + 1);
  }
  return nonces;
}

// The highest finalized height of the nodes, once every node that answers has reached it
// (or after a few seconds): nonces read from a node a block behind would be stale, and every
// transaction planned from them refused.
Result<std::uint64_t> fetch_common_height(const std::vector<Endpoint>& nodes) {
  constexpr std::int64_t kCatchUpMs = 5'000;
  auto deadline = Clock::now() + std::chrono::milliseconds(kCatchUpMs);
  for (;;) {
    std::optional<std::uint64_t> highest;
    std::uint64_t lowest = std::numeric_limits<std::uint64_t>::max();
    for (const Endpoint& node : nodes) {
      auto answer = http_get(node, "/v1/status", 2'000);
      if (!answer.is_ok() || answer->status != 200) continue;
      std::uint64_t height = answer->body.value("height", 0ull);
      highest = std::max(highest.value_or(0), height);
      lowest = std::min(lowest, height);
    }
    if (!highest) return io_error("no node answers GET /v1/status");
    if (lowest >= *highest || Clock::now() >= deadline) return *highest;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Signs every planned transaction, spread over the machine's cores.
void sign_all(std::vector<PlannedTransaction>& plan, const std::vector<SecretKey>& keys,
              const std::string& chain_id, std::vector<Bytes>& encodings,
              std::vector<Hash256>& ids) {
  encodings.assign(plan.size(), {});
  ids.assign(plan.size(), {});
  std::size_t threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (std::size_t i = t; i < plan.size(); i += threads) {
        plan[i].transaction.sign(keys[plan[i].account], chain_id);
        encodings[i] = plan[i].transaction.encode();
        ids[i] = sha256(encodings[i]);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
}

LatencySummary summarize(std::vector<std::int64_t>& latencies_us) {
  LatencySummary summary;
  summary.count = latencies_us.size();
  if (latencies_us.empty()) return summary;
  std::sort(latencies_us.begin(), latencies_us.end());
  auto rank = [&](double quantile) {
    auto index = static_cast<std::size_t>(quantile * static_cast<double>(latencies_us.size()));
    return static_cast<double>(latencies_us[std::min(index, latencies_us.size() - 1)]) / 1'000.0;
  };
  summary.p50_ms = rank(0.50);
  summary.p99_ms = rank(0.99);
  summary.p999_ms = rank(0.999);
  summary.max_ms = static_cast<double>(latencies_us.back()) / 1'000.0;
  return summary;
}

// The run itself: one network thread sends on schedule and listens to every node's blocks.
class Run {
 public:
  Run(const LoadgenOptions& options, const std::vector<PlannedTransaction>& plan,
      const std::vector<Bytes>& encodings, const std::vector<Hash256>& ids, std::ostream& progress)
      : options_(options),
        plan_(plan),
        ledger_(plan, ids),
        progress_(progress),
        timer_(io_),
        started_(Clock::now()) {
    auto now_us = [this] { return this->now_us(); };
    for (const Endpoint& node : options.nodes) {
      listeners_.push_back(std::make_unique<BlockListener>(io_, node, ledger_, now_us));
      submitters_.push_back(
          std::make_unique<Submitter>(io_, node, options.submitter, ledger_, encodings, now_us));
    }
  }

  Ledger& ledger() { return ledger_; }
  Clock::time_point started() const { return started_; }
  std::int64_t sending_started_us() const { return sending_started_us_; }
  std::int64_t sending_ended_us() const { return sending_ended_us_; }
  std::int64_t max_send_lag_us() const { return max_send_lag_us_; }
  std::optional<double> machine_busy() const {
    return busy_fraction(cpu_when_sending_started_, cpu_when_sending_ended_);
  }

  void run() {
    for (auto& listener : listeners_) listener->start();
    for (auto& submitter : submitters_) submitter->start();
    schedule(std::chrono::milliseconds(options_.tick_ms));
    io_.run();
    for (auto& listener : listeners_) listener->stop();
    for (auto& submitter : submitters_) submitter->stop();
    io_.restart();
    io_.poll();  // let the cancelled operations finish before anything is destroyed
  }

 private:
  enum class Phase { kSubscribing, kSending, kDraining };

  std::int64_t now_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
  }

  void schedule(std::chrono::milliseconds delay) {
    timer_.expires_after(delay);
    timer_.async_wait([this](boost::system::error_code error) {
      if (!error) tick();
    });
  }

  void tick() {
    std::int64_t now = now_us();
    if (phase_ == Phase::kSubscribing) wait_for_subscriptions(now);
    if (phase_ == Phase::kSending) send_due(now);
    if (phase_ == Phase::kDraining && drained(now)) {
      io_.stop();  // the streams would keep it running forever
      return;
    }
    if (now >= next_progress_us_) report_progress(now);
    schedule(std::chrono::milliseconds(options_.tick_ms));
  }

  // Sending starts once every node's stream is live (or after a timeout: a node that is down
  // is part of some scenarios), so no finalization goes unheard.
  void wait_for_subscriptions(std::int64_t now) {
    bool all = std::all_of(listeners_.begin(), listeners_.end(),
                           [](const auto& listener) { return listener->subscribed(); });
    if (!all && now < kSubscribeTimeoutMs * 1'000) return;
    if (options_.send_not_before) {
      const auto& send_at = *options_.send_not_before;
      if (send_at.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
      if (!send_at.get()) {
        io_.stop();  // cancelled: nothing was sent, so there is nothing to drain
        return;
      }
      if (Clock::now() < *send_at.get()) return;
    }
    phase_ = Phase::kSending;
    sending_started_us_ = now;
    cpu_when_sending_started_ = read_cpu_times();
    if (options_.on_sending_started) options_.on_sending_started();
  }

  void send_due(std::int64_t now) {
    std::vector<std::vector<std::uint32_t>> due(options_.nodes.size());
    std::int64_t elapsed = now - sending_started_us_;
    while (next_ < plan_.size() && plan_[next_].due_us <= elapsed) {
      max_send_lag_us_ = std::max(max_send_lag_us_, elapsed - plan_[next_].due_us);
      due[plan_[next_].node].push_back(static_cast<std::uint32_t>(next_));
      ++next_;
    }
    for (std::size_t node = 0; node < due.size(); ++node) {
      if (!due[node].empty()) submitters_[node]->submit(std::move(due[node]));
    }
    if (next_ == plan_.size()) {
      phase_ = Phase::kDraining;
      sending_ended_us_ = now;
      cpu_when_sending_ended_ = read_cpu_times();
    }
  }

  bool drained(std::int64_t now) {
    bool queued = std::any_of(submitters_.begin(), submitters_.end(),
                              [](const auto& submitter) { return submitter->queued() > 0; });
    bool settled = !queued && ledger_.in_flight() == 0 && ledger_.outstanding() == 0;
    return settled || now - sending_ended_us_ > options_.drain_timeout_ms * 1'000;
  }

  void report_progress(std::int64_t now) {
    next_progress_us_ = now + kProgressIntervalUs;
    if (options_.quiet || phase_ == Phase::kSubscribing) return;
    progress_ << fmt::format("  {:5.1f} s  sent {:>8}  awaiting finality {:>7}\n",
                             static_cast<double>(now - sending_started_us_) / 1e6, next_,
                             ledger_.outstanding())
              << std::flush;
  }

  const LoadgenOptions& options_;
  const std::vector<PlannedTransaction>& plan_;
  Ledger ledger_;
  std::ostream& progress_;
  asio::io_context io_;
  asio::steady_timer timer_;
  Clock::time_point started_;
  std::vector<std::unique_ptr<BlockListener>> listeners_;
  std::vector<std::unique_ptr<Submitter>> submitters_;
  Phase phase_ = Phase::kSubscribing;
  std::size_t next_ = 0;
  std::int64_t sending_started_us_ = 0;
  std::int64_t sending_ended_us_ = 0;
  std::optional<CpuTimes> cpu_when_sending_started_;
  std::optional<CpuTimes> cpu_when_sending_ended_;
  std::int64_t next_progress_us_ = 0;
  std::int64_t max_send_lag_us_ = 0;
};

// What became of an accepted transaction no block notice told us about: ask the nodes.
void settle_unseen(const LoadgenOptions& options, const std::vector<PlannedTransaction>& plan,
                   Ledger& ledger, LoadReport& report) {
  for (std::uint32_t i = 0; i < ledger.size(); ++i) {
    const Outcome& outcome = ledger.at(i);
    if (outcome.ack != Ack::kAccepted || outcome.finalized_us >= 0) continue;
    std::string verdict = "lost";
    std::string dropped_reason;
    for (std::size_t k = 0; k < options.nodes.size() && verdict == "lost"; ++k) {
      const Endpoint& node = options.nodes[(plan[i].node + k) % options.nodes.size()];
      auto answer = http_get(node, "/v1/tx/" + ledger.id(i).hex(), 2'000);
      if (!answer.is_ok() || answer->status != 200) continue;
      std::string status = answer->body.value("status", "");
      if (status == "finalized") {
        verdict = "finalized";
      } else if (status == "dropped") {
        verdict = "dropped";
        dropped_reason = answer->body.value("reason", "unknown");
      }
    }
    if (verdict == "finalized") {
      report.finalized += 1;  // finalized while no stream was listening: latency unknown
    } else if (verdict == "dropped") {
      report.dropped[dropped_reason] += 1;
    } else {
      report.lost_acknowledged += 1;
    }
  }
}

LoadReport summarize_run(const LoadgenOptions& options, Run& run) {
  Ledger& ledger = run.ledger();
  LoadReport report;
  report.offered_per_s = options.workload.rate_per_s;
  report.duration_s = static_cast<double>(options.workload.duration_ms) / 1'000.0;
  report.planned = ledger.size();
  std::map<std::string, std::vector<std::int64_t>> latencies;
  std::map<std::string, std::vector<std::int64_t>> ack_latencies;
  for (std::uint32_t i = 0; i < ledger.size(); ++i) {
    const Outcome& outcome = ledger.at(i);
    if (outcome.sent_us >= 0) report.sent += 1;
    if (outcome.ack == Ack::kAccepted && outcome.sent_us >= 0 && outcome.answered_us >= 0) {
      std::int64_t waited = outcome.answered_us - outcome.sent_us;
      ack_latencies[std::string(priority_class_name(ledger.priority(i)))].push_back(waited);
      ack_latencies["all"].push_back(waited);
    }
    switch (outcome.ack) {
      case Ack::kAccepted:
        report.accepted += 1;
        break;
      case Ack::kRejected:
        report.rejected[outcome.reason] += 1;
        break;
      case Ack::kNotSent:
        report.not_sent[outcome.reason.empty() ? "schedule_not_reached" : outcome.reason] += 1;
        break;
      case Ack::kNoAnswer:
      case Ack::kInFlight:
        report.no_answer += 1;
        break;
    }
    if (outcome.finalized_us < 0) continue;
    report.finalized += 1;
    if (!outcome.executed) report.execution_rejects[outcome.execution_reject] += 1;
    if (outcome.sent_us >= 0) {
      std::int64_t latency = outcome.finalized_us - outcome.sent_us;
      latencies[std::string(priority_class_name(ledger.priority(i)))].push_back(latency);
      latencies["all"].push_back(latency);
    }
  }
  for (auto& [name, values] : latencies) report.latency[name] = summarize(values);
  for (auto& [name, values] : ack_latencies) report.ack_latency[name] = summarize(values);
  report.started = run.started();
  report.machine_busy = run.machine_busy();
  if (options.keep_traces) {
    report.traces.reserve(ledger.size());
    for (std::uint32_t i = 0; i < ledger.size(); ++i) {
      const Outcome& outcome = ledger.at(i);
      report.traces.push_back({outcome.sent_us, outcome.finalized_us, ledger.priority(i),
                               outcome.ack == Ack::kAccepted});
    }
  }
  std::int64_t span_us = ledger.last_finalized_us() - run.sending_started_us();
  if (span_us > 0) {
    report.finalized_per_s =
        static_cast<double>(report.finalized) * 1e6 / static_cast<double>(span_us);
  }
  return report;
}

}  // namespace

Result<LoadReport> run_load(const LoadgenOptions& options, std::ostream& progress) {
  if (options.nodes.empty()) return invalid_argument("no nodes to send to");
  if (options.accounts.empty()) return invalid_argument("no funded accounts");
  BALLAST_ASSIGN_OR_RETURN(std::uint64_t height, fetch_common_height(options.nodes));
  BALLAST_ASSIGN_OR_RETURN(std::vector<std::uint64_t> nonces, fetch_next_nonces(options));
  WorkloadOptions workload = options.workload;
  workload.nodes = options.nodes.size();
  workload.expiry_height = height + kExpiryMarginBlocks;
  std::vector<PublicKey> keys;
  for (const SecretKey& account : options.accounts) keys.push_back(account.public_key());
  BALLAST_ASSIGN_OR_RETURN(std::vector<PlannedTransaction> plan,
                           plan_workload(options.genesis, keys, nonces, workload));
  if (!options.quiet) {
    progress << "signing " << plan.size() << " transactions...\n" << std::flush;
  }
  std::vector<Bytes> encodings;
  std::vector<Hash256> ids;
  sign_all(plan, options.accounts, options.genesis.chain_id, encodings, ids);
  if (options.on_signed) options.on_signed();
  if (!options.quiet) {
    progress << fmt::format(
                    "sending {} transactions/s for {:.1f} s to {} nodes\n", workload.rate_per_s,
                    static_cast<double>(workload.duration_ms) / 1'000.0, options.nodes.size())
             << std::flush;
  }
  auto run = std::make_unique<Run>(options, plan, encodings, ids, progress);
  run->run();
  LoadReport report = summarize_run(options, *run);
  settle_unseen(options, plan, run->ledger(), report);
  RootComparison roots = compare_state_roots(options.nodes, 10'000);
  report.state_roots_equal = roots.equal;
  report.compared_height = roots.height;
  report.heights = roots.heights;
  return report;
}

RootComparison compare_state_roots(const std::vector<Endpoint>& nodes, std::int64_t timeout_ms) {
  RootComparison comparison;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    comparison.heights.assign(nodes.size(), 0);
    std::uint64_t common = std::numeric_limits<std::uint64_t>::max();
    std::size_t reachable = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      auto answer = http_get(nodes[i], "/v1/status", 2'000);
      if (!answer.is_ok() || answer->status != 200) continue;
      comparison.heights[i] = answer->body.value("height", 0ull);
      common = std::min(common, comparison.heights[i]);
      reachable += 1;
    }
    if (reachable > 0 && common > 0) {
      std::optional<std::string> root;
      bool all_known = true;
      comparison.equal = true;
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (comparison.heights[i] == 0) continue;
        auto answer = http_get(nodes[i], "/v1/status?at=" + std::to_string(common), 2'000);
        if (!answer.is_ok() || answer->status != 200 ||
            !answer->body["at"]["state_root"].is_string()) {
          all_known = false;
          continue;
        }
        std::string mine = answer->body["at"]["state_root"].get<std::string>();
        if (!root) root = mine;
        comparison.equal = comparison.equal && *root == mine;
      }
      if (all_known) {
        comparison.height = common;
        return comparison;
      }
    }
    if (Clock::now() >= deadline) {
      comparison.equal = false;
      return comparison;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

namespace {

nlohmann::json latency_json(const std::map<std::string, LatencySummary>& summaries) {
  nlohmann::json latency = nlohmann::json::object();
  for (const auto& [name, summary] : summaries) {
    latency[name] = {{"count", summary.count},
                     {"p50_ms", summary.p50_ms},
                     {"p99_ms", summary.p99_ms},
                     {"p999_ms", summary.p999_ms},
                     {"max_ms", summary.max_ms}};
  }
  return latency;
}

void print_latency(std::string_view title, const std::map<std::string, LatencySummary>& summaries,
                   std::ostream& out) {
  out << title << " (ms):\n";
  for (const auto& [name, summary] : summaries) {
    out << fmt::format("  {:<9} n={:<8} p50 {:8.1f}  p99 {:8.1f}  p99.9 {:8.1f}  max {:8.1f}\n",
                       name, summary.count, summary.p50_ms, summary.p99_ms, summary.p999_ms,
                       summary.max_ms);
  }
}

}  // namespace

nlohmann::json report_json(const LoadReport& report) {
  return {{"offered_per_s", report.offered_per_s},
          {"duration_s", report.duration_s},
          {"planned", report.planned},
          {"sent", report.sent},
          {"accepted", report.accepted},
          {"rejected", report.rejected},
          {"not_sent", report.not_sent},
          {"no_answer", report.no_answer},
          {"finalized", report.finalized},
          {"execution_rejects", report.execution_rejects},
          {"dropped", report.dropped},
          {"lost_acknowledged", report.lost_acknowledged},
          {"finalized_per_s", report.finalized_per_s},
          {"latency", latency_json(report.latency)},
          {"ack_latency", latency_json(report.ack_latency)},
          {"machine_busy",
           report.machine_busy ? nlohmann::json(*report.machine_busy) : nlohmann::json(nullptr)},
          {"heights", report.heights},
          {"compared_height", report.compared_height},
          {"state_roots_equal", report.state_roots_equal}};
}

void print_report(const LoadReport& report, std::ostream& out) {
  out << fmt::format("offered {} tx/s for {:.1f} s: sent {}, accepted {}, finalized {}\n",
                     report.offered_per_s, report.duration_s, report.sent, report.accepted,
                     report.finalized);
  out << fmt::format("finalized throughput {:.0f} tx/s\n", report.finalized_per_s);
  if (report.machine_busy) {
    out << fmt::format("machine busy while sending: {:.0f}% of all cores\n",
                       100 * *report.machine_busy);
  }
  print_latency("submit-to-finalized latency", report.latency, out);
  print_latency("submit-to-acknowledged latency, accepted only", report.ack_latency, out);
  auto print_counts = [&](std::string_view title,
                          const std::map<std::string, std::size_t>& counts) {
    if (counts.empty()) return;
    out << title << ":";
    for (const auto& [reason, count] : counts) out << " " << reason << "=" << count;
    out << "\n";
  };
  print_counts("refused at submission", report.rejected);
  print_counts("not sent", report.not_sent);
  print_counts("refused by execution", report.execution_rejects);
  print_counts("dropped from a mempool", report.dropped);
  if (report.no_answer > 0) out << "unanswered (connection lost): " << report.no_answer << "\n";
  out << "acknowledged but not finalized: " << report.lost_acknowledged << "\n";
  out << "heights:";
  for (std::uint64_t height : report.heights) out << " " << height;
  out << fmt::format("\nstate roots at height {} {}\n", report.compared_height,
                     report.state_roots_equal ? "agree" : "DIFFER OR UNKNOWN");
}

Result<LocalnetTarget> read_localnet(const std::string& dir) {
  LocalnetTarget target;
  BALLAST_ASSIGN_OR_RETURN(target.genesis, exchange::load_genesis_file(dir + "/genesis.json"));
  for (std::size_t i = 0;; ++i) {
    fs::path config = fs::path(dir) / ("validator-" + std::to_string(i)) / "config.json";
    if (!fs::exists(config)) break;
    std::ifstream in(config);
    nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded() || !json["api_listen"].is_string()) {
      return invalid_argument(config.string() + " has no api_listen");
    }
    BALLAST_ASSIGN_OR_RETURN(Endpoint endpoint,
                             parse_endpoint("http://" + json["api_listen"].get<std::string>()));
    target.nodes.push_back(endpoint);
  }
  if (target.nodes.empty()) return invalid_argument(dir + " holds no validator-I/config.json");
  for (std::size_t k = 0;; ++k) {
    fs::path key = fs::path(dir) / "keys" / ("trader-" + std::to_string(k) + ".key");
    if (!fs::exists(key)) break;
    BALLAST_ASSIGN_OR_RETURN(SecretKey secret, read_key_file(key.string()));
    target.traders.push_back(std::move(secret));
  }
  return target;
}

}  // namespace ballast::loadgen
