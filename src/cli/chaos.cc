#include "cli/chaos.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/chaos_evidence.h"
#include "cli/chaos_flash_crash.h"
#include "cli/localnet.h"
#include "loadgen/loadgen.h"

namespace ballast::cli {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using loadgen::TxTrace;

constexpr std::int64_t kLeaderRestartDelayMs = 2'000;  // a crashed leader comes back after
constexpr double kBackWithinShare = 0.9;               // "throughput back": 90% of the baseline
constexpr std::int64_t kRateWindowUs = 1'000'000;      // throughput measured over 1 s windows
constexpr std::int64_t kRateStepUs = 100'000;

std::int64_t micros(Clock::duration duration) {
  return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
}

// One fault, as it happened.
struct Fault {
  std::string kind;
  std::optional<std::uint32_t> validator;
  Clock::time_point at;
};

// Acts on the scratch localnet's validators; every action is recorded as a fault.
class Injector {
 public:
  explicit Injector(const ScratchLocalnet& net) : net_(net) {}

  // The leader of the current view, as a live validator sees it.
  std::optional<std::uint32_t> leader() const {
    for (const loadgen::Endpoint& node : net_.target().nodes) {
      auto answer = loadgen::http_get(node, "/v1/status", 1'000);
      if (answer.is_ok() && answer->status == 200 && answer->body.contains("leader")) {
        return answer->body["leader"].get<std::uint32_t>();
      }
    }
    return std::nullopt;
  }

  void kill(const std::vector<std::uint32_t>& validators, const std::string& kind) {
    record(kind, validators.size() == 1 ? std::optional(validators[0]) : std::nullopt);
    LocalnetStopOptions stop;
    stop.dir = net_.dir().string();
    stop.only = validators;
    stop.kill = true;
    report("kill", localnet_stop(stop, log_));
  }

  void start(const std::vector<std::uint32_t>& validators) {
    LocalnetStartOptions start = net_.start_options();
    start.only = validators;
    report("start", localnet_start(start, log_));
  }

  void signal(std::uint32_t validator, int signal, const std::string& kind) {
    if (signal == SIGSTOP) record(kind, validator);
    auto pid = running_validator_pid(net_.dir().string(), validator);
    if (!pid.is_ok() || !pid->has_value()) {
      log_ << "validator " << validator << " is not running; no signal sent\n";
      return;
    }
    ::kill(**pid, signal);
  }

  void mark(const std::string& kind) { record(kind, std::nullopt); }

  // Cuts every peer link between `side` and the rest (the net runs behind a FaultRelay).
  void partition(const std::vector<std::uint32_t>& side, const std::string& kind) {
    record(kind, side.size() == 1 ? std::optional(side[0]) : std::nullopt);
    net_.relay()->cut_between(side);
  }
  void heal(const std::string& kind) {
    record(kind, std::nullopt);
    net_.relay()->heal_all();
  }

  const std::vector<Fault>& faults() const { return faults_; }
  std::string log() const { return log_.str(); }

 private:
  void record(const std::string& kind, std::optional<std::uint32_t> validator) {
    faults_.push_back({kind, validator, Clock::now()});
  }
  void report(const char* what, const Status& status) {
    if (!status.is_ok()) log_ << what << ": " << status.to_string() << "\n";
  }

  const ScratchLocalnet& net_;
  std::vector<Fault> faults_;
  std::ostringstream log_;
};

// Waits until a load generator starts sending, or has ended without (its planning failed).
template <typename T>
bool wait_for_sending(std::future<T>& sending, std::future<Result<loadgen::LoadReport>>& run) {
  for (;;) {
    if (sending.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready) return true;
    if (run.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) return false;
  }
}

}  // namespace

loadgen::LoadgenOptions chaos_load_options(const loadgen::LocalnetTarget& target, double rate,
                                           double seconds, std::size_t first_account,
                                           std::size_t accounts, std::uint64_t seed) {
  loadgen::LoadgenOptions load;
  load.nodes = target.nodes;
  load.genesis = target.genesis;
  load.accounts.assign(
      target.traders.begin() + static_cast<std::ptrdiff_t>(first_account),
      target.traders.begin() + static_cast<std::ptrdiff_t>(first_account + accounts));
  load.workload.rate_per_s = static_cast<std::uint64_t>(std::max(1.0, rate));
  load.workload.duration_ms = static_cast<std::uint64_t>(seconds * 1'000);
  load.workload.normal_fee = std::max<exchange::Amount>(target.genesis.min_tx_fee, 1);
  load.workload.high_fee = 10 * load.workload.normal_fee;
  load.workload.seed = seed;
  load.drain_timeout_ms = 60'000;
  load.quiet = true;
  load.keep_traces = true;
  return load;
}

namespace {

// A second load generator (the flood, or a scenario's own), planned and signed before the
// steady flow starts: signing tens of thousands of orders takes a core for a second or more,
// which inside the baseline phase would slow the very flow the fault is compared against. It
// then waits, connected, for the moment it is told to send. Destroying it before that moment
// cancels it.
class SecondLoad {
 public:
  // Plans and signs on its own thread; returns once that is done (or has failed).
  SecondLoad(loadgen::LoadgenOptions load, std::string fault)
      : load_(std::move(load)), fault_(std::move(fault)) {
    load_.send_not_before = send_at_.get_future().share();
    load_.on_signed = [this] { signed_.set_value(); };
    load_.on_sending_started = [this] { sending_.set_value(); };
    std::future<void> signed_future = signed_.get_future();
    sending_started_ = sending_.get_future();
    report_ = std::async(std::launch::async,
                         [this] { return loadgen::run_load(load_, ignored_progress_); });
    (void)wait_for_sending(signed_future, report_);
  }
  ~SecondLoad() {
    if (!send_time_set_) send_at_.set_value(std::nullopt);
    if (report_.valid()) report_.wait();
  }
  SecondLoad(const SecondLoad&) = delete;
  SecondLoad& operator=(const SecondLoad&) = delete;

  void send_at(Clock::time_point when) {
    send_time_set_ = true;
    send_at_.set_value(when);
  }

  // Waits until it sends (the fault is marked then) and until it is done.
  Result<loadgen::LoadReport> finish(Injector& injector) {
    if (wait_for_sending(sending_started_, report_)) injector.mark(fault_);
    return report_.get();
  }

 private:
  loadgen::LoadgenOptions load_;
  std::string fault_;
  std::promise<std::optional<Clock::time_point>> send_at_;
  bool send_time_set_ = false;
  std::promise<void> signed_;
  std::promise<void> sending_;
  std::future<void> sending_started_;
  std::ostringstream ignored_progress_;
  std::future<Result<loadgen::LoadReport>> report_;
};

// The scenario's second load generator, if it has one (not yet sending).
Result<std::unique_ptr<SecondLoad>> prepare_second_load(const ChaosOptions& options,
                                                        const ChaosHooks& hooks,
                                                        const ScratchLocalnet& net) {
  const std::string& scenario = options.scenario;
  if (scenario == "flood-10x" || scenario == "flood-100x") {
    double factor = scenario == "flood-10x" ? 10 : 100;
    double seconds = scenario == "flood-10x" ? 3 : 1;
    std::size_t half = net.target().traders.size() / 2;
    return std::make_unique<SecondLoad>(
        chaos_load_options(net.target(), factor * options.rate, seconds, half, half, 2),
        fmt::format("flood of {:.0f} orders/s for {:.0f} s", factor * options.rate, seconds));
  }
  if (hooks.second_load) {
    BALLAST_ASSIGN_OR_RETURN(ChaosSecondLoad second, hooks.second_load(net));
    return std::make_unique<SecondLoad>(std::move(second.load), std::move(second.fault));
  }
  return std::unique_ptr<SecondLoad>();
}

// The scenario's faults, on the calling thread, timed from `start` (when steady sending began).
// A flood, or a scenario's own second load (hooks), is the prepared second load generator:
// it sends from the start of the fault window, and its report is returned.
std::optional<Result<loadgen::LoadReport>> inject(const ChaosOptions& options,
                                                  const ScratchLocalnet& net, Injector& injector,
                                                  Clock::time_point start, SecondLoad* second) {
  using std::chrono::milliseconds;
  auto at = [&](double seconds) {
    std::this_thread::sleep_until(start + milliseconds(static_cast<std::int64_t>(seconds * 1e3)));
  };
  const double fault_at = options.baseline_seconds;
  const double repair_at = options.baseline_seconds + options.fault_seconds;
  const std::string& scenario = options.scenario;
  std::vector<std::uint32_t> all;
  for (std::uint32_t i = 0; i < net.validators(); ++i) all.push_back(i);

  if (scenario == "leader-crash") {
    // Several times within the window; each crashed leader comes back two seconds later.
    for (double t = fault_at; t + kLeaderRestartDelayMs / 1e3 <= repair_at; t += 3.5) {
      at(t);
      std::optional<std::uint32_t> leader = injector.leader();
      if (!leader) continue;
      injector.kill({*leader}, "kill leader");
      at(t + kLeaderRestartDelayMs / 1e3);
      injector.start({*leader});
    }
  } else if (scenario == "crash-f") {
    // Equal stakes: f = (n - 1) / 3 validators may fail; the last f go down together.
    std::vector<std::uint32_t> down(all.end() - (net.validators() - 1) / 3, all.end());
    at(fault_at);
    injector.kill(down, fmt::format("kill {} of {}", down.size(), all.size()));
    at(repair_at);
    injector.start(down);
  } else if (scenario == "restart-all") {
    at(fault_at);
    injector.kill(all, "kill every validator");
    injector.start(all);
  } else if (scenario == "byzantine") {
    // Started with --byzantine-equivocate (scratch localnet options): nothing to do but say so.
    injector.mark(fmt::format("validator {} equivocates and double-votes throughout",
                              byzantine_validator(net.validators())));
  } else if (scenario == "slow-validator") {
    at(fault_at);
    std::uint32_t victim = injector.leader().value_or(0);
    injector.signal(victim, SIGSTOP, "SIGSTOP the leader");
    at(fault_at + options.fault_seconds / 2);
    injector.signal(victim, SIGCONT, "SIGCONT");
  } else if (scenario == "partition") {
    // The leader alone for a third of the window; then two halves, neither with a quorum,
    // until the window ends. Each heal is recorded: the time to the next block after it is the
    // partition's recovery.
    const double third = options.fault_seconds / 3;
    at(fault_at);
    std::uint32_t isolated = injector.leader().value_or(0);
    injector.partition({isolated}, "isolate the leader");
    at(fault_at + third);
    injector.heal("heal the isolation");
    at(fault_at + 1.5 * third);
    std::vector<std::uint32_t> half(all.begin(),
                                    all.begin() + static_cast<std::ptrdiff_t>(all.size() / 2));
    injector.partition(half, fmt::format("split {}|{}", half.size(), all.size() - half.size()));
    at(repair_at);
    injector.heal("heal the split");
  } else if (second != nullptr) {
    second->send_at(start + milliseconds(static_cast<std::int64_t>(fault_at * 1e3)));
    return second->finish(injector);
  }
  return std::nullopt;
}

struct Window {
  std::string name;
  std::int64_t from_us = 0;
  std::int64_t to_us = 0;
};

double finalized_rate(const std::vector<TxTrace>& traces, std::int64_t from_us,
                      std::int64_t to_us) {
  std::size_t count = 0;
  for (const TxTrace& trace : traces) {
    count += trace.finalized_us >= from_us && trace.finalized_us < to_us ? 1 : 0;
  }
  return to_us > from_us ? static_cast<double>(count) * 1e6 / static_cast<double>(to_us - from_us)
                         : 0;
}

Json latency_json(const std::vector<TxTrace>& traces, const Window& window) {
  std::map<std::string, std::vector<std::int64_t>> latencies;
  for (const TxTrace& trace : traces) {
    if (trace.sent_us < window.from_us || trace.sent_us >= window.to_us) continue;
    if (trace.finalized_us < 0) continue;
    std::int64_t latency = trace.finalized_us - trace.sent_us;
    latencies[std::string(loadgen::priority_class_name(trace.priority))].push_back(latency);
    latencies["all"].push_back(latency);
  }
  Json json = Json::object();
  for (auto& [name, values] : latencies) {
    std::sort(values.begin(), values.end());
    auto rank = [&](double quantile) {
      auto index = static_cast<std::size_t>(quantile * static_cast<double>(values.size()));
      return static_cast<double>(values[std::min(index, values.size() - 1)]) / 1'000.0;
    };
    json[name] = {{"count", values.size()},
                  {"p50_ms", rank(0.5)},
                  {"p99_ms", rank(0.99)},
                  {"p999_ms", rank(0.999)}};
  }
  return json;
}

// The steady cancels' p99 in the fault phase over the one in the baseline phase: the figure
// the flood target is stated in (within 2x). Null if either phase had no finalized cancel.
Json cancel_p99_ratio(const Json& phases) {
  const Json& baseline = phases[0]["latency"];
  const Json& fault = phases[1]["latency"];
  if (!baseline.contains("cancel") || !fault.contains("cancel")) return nullptr;
  const double before = baseline["cancel"]["p99_ms"].get<double>();
  if (before <= 0) return nullptr;
  return fault["cancel"]["p99_ms"].get<double>() / before;
}

// Fault to the next finalization of a steady transaction, and to the first 1 s window from
// which the finalized rate is back within 10% of the baseline; -1 if never within the run.
std::pair<std::int64_t, std::int64_t> recovery_us(const std::vector<TxTrace>& traces,
                                                  std::int64_t fault_us, double baseline_rate,
                                                  std::int64_t end_us) {
  std::int64_t next_block = -1;
  for (const TxTrace& trace : traces) {
    if (trace.finalized_us > fault_us &&
        (next_block < 0 || trace.finalized_us - fault_us < next_block)) {
      next_block = trace.finalized_us - fault_us;
    }
  }
  std::int64_t back = -1;
  for (std::int64_t t = fault_us; t + kRateWindowUs <= end_us; t += kRateStepUs) {
    if (finalized_rate(traces, t, t + kRateWindowUs) >= kBackWithinShare * baseline_rate) {
      back = t - fault_us;
      break;
    }
  }
  return {next_block, back};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? -1 : values[values.size() / 2];
}

// The sum of a counter's samples (every label set) in a validator's /metrics text.
std::uint64_t counter_total(const std::string& metrics, std::string_view name) {
  std::uint64_t total = 0;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    total += std::stoull(line.substr(line.find_last_of(' ') + 1));
  }
  return total;
}

struct BreakerTrips {
  std::uint64_t market = 0;   // market circuit breakers: the same on every validator
  std::uint64_t ingress = 0;  // each validator's own ingress breaker, summed
};

BreakerTrips breaker_trips(const std::vector<loadgen::Endpoint>& nodes) {
  BreakerTrips trips;
  bool market_read = false;
  for (const loadgen::Endpoint& node : nodes) {
    auto answer = loadgen::http_get(node, "/metrics", 2'000);
    if (!answer.is_ok() || answer->status != 200) continue;
    if (!market_read) {
      trips.market = counter_total(answer->text, "ballast_market_breaker_trips_total");
      market_read = true;
    }
    trips.ingress += counter_total(answer->text, "ballast_ingress_breaker_trips_total");
  }
  return trips;
}

Json build_report(const ChaosOptions& options, const loadgen::LoadReport& steady,
                  const std::optional<loadgen::LoadReport>& flood,
                  Clock::time_point sending_started, const std::vector<Fault>& faults,
                  const loadgen::RootComparison& roots, BreakerTrips trips) {
  const std::int64_t origin = micros(sending_started - steady.started);
  auto offset = [&](double seconds) { return origin + static_cast<std::int64_t>(seconds * 1e6); };
  const std::int64_t end =
      offset(options.baseline_seconds + options.fault_seconds + options.recovery_seconds);
  std::vector<Window> windows = {
      {"baseline", origin, offset(options.baseline_seconds)},
      {"fault", offset(options.baseline_seconds),
       offset(options.baseline_seconds + options.fault_seconds)},
      {"recovery", offset(options.baseline_seconds + options.fault_seconds), end}};
  const double baseline_rate = finalized_rate(steady.traces, windows[0].from_us, windows[0].to_us);

  Json phases = Json::array();
  for (const Window& window : windows) {
    phases.push_back(
        {{"phase", window.name},
         {"from_s", static_cast<double>(window.from_us - origin) / 1e6},
         {"to_s", static_cast<double>(window.to_us - origin) / 1e6},
         {"finalized_per_s", finalized_rate(steady.traces, window.from_us, window.to_us)},
         {"latency", latency_json(steady.traces, window)}});
  }
  Json fault_list = Json::array();
  std::vector<double> next_block_ms;
  std::vector<double> back_ms;
  for (const Fault& fault : faults) {
    std::int64_t at = micros(fault.at - steady.started);
    auto [next_block, back] = recovery_us(steady.traces, at, baseline_rate, end);
    Json entry = {
        {"fault", fault.kind},
        {"at_s", static_cast<double>(at - origin) / 1e6},
        {"next_finalized_ms",
         next_block < 0 ? Json(nullptr) : Json(static_cast<double>(next_block) / 1e3)},
        {"throughput_back_ms", back < 0 ? Json(nullptr) : Json(static_cast<double>(back) / 1e3)}};
    if (fault.validator) entry["validator"] = *fault.validator;
    fault_list.push_back(std::move(entry));
    if (next_block >= 0) next_block_ms.push_back(static_cast<double>(next_block) / 1e3);
    if (back >= 0) back_ms.push_back(static_cast<double>(back) / 1e3);
  }
  std::size_t lost = steady.lost_acknowledged + (flood ? flood->lost_acknowledged : 0);
  // Acknowledged, then dropped by the validators with a reason (stale nonce, expiry): reported
  // to the client, but not finalized all the same.
  std::size_t dropped = 0;
  for (const loadgen::LoadReport* load : {&steady, flood ? &*flood : nullptr}) {
    if (load == nullptr) continue;
    for (const auto& [reason, count] : load->dropped) dropped += count;
  }
  Json cancel_ratio = cancel_p99_ratio(phases);
  Json report = {{"scenario", options.scenario},
                 {"validators", options.net.validators},
                 {"rate_per_s", options.rate},
                 {"baseline_finalized_per_s", baseline_rate},
                 {"ttr_ms_p50", faults.empty() ? Json(nullptr) : Json(median(next_block_ms))},
                 {"throughput_back_ms_p50", faults.empty() ? Json(nullptr) : Json(median(back_ms))},
                 {"lost_acknowledged", lost},
                 {"dropped_acknowledged", dropped},
                 {"state_roots_equal", roots.equal},
                 {"compared_height", roots.height},
                 {"breaker_trips", trips.market},
                 {"ingress_breaker_trips", trips.ingress},
                 {"cancel_p99_fault_to_baseline", cancel_ratio},
                 {"phases", std::move(phases)},
                 {"faults", std::move(fault_list)},
                 {"steady", loadgen::report_json(steady)}};
  if (flood) report["flood"] = loadgen::report_json(*flood);
  return report;
}

}  // namespace

void print_chaos_report(const Json& report, std::ostream& out) {
  out << fmt::format("scenario {}: {} validators, {} orders/s steady\n",
                     report["scenario"].get<std::string>(), report["validators"].get<int>(),
                     report["rate_per_s"].get<double>());
  for (const Json& phase : report["phases"]) {
    out << fmt::format("  {:<9} {:5.1f}-{:5.1f} s  finalized {:7.0f}/s",
                       phase["phase"].get<std::string>(), phase["from_s"].get<double>(),
                       phase["to_s"].get<double>(), phase["finalized_per_s"].get<double>());
    for (const char* priority : {"cancel", "high_fee", "normal"}) {
      if (!phase["latency"].contains(priority)) continue;
      const Json& latency = phase["latency"][priority];
      out << fmt::format("  {} p50/p99/p99.9 {:.0f}/{:.0f}/{:.0f} ms", priority,
                         latency["p50_ms"].get<double>(), latency["p99_ms"].get<double>(),
                         latency["p999_ms"].get<double>());
    }
    out << "\n";
  }
  for (const Json& fault : report["faults"]) {
    out << fmt::format("  fault at {:5.1f} s: {}", fault["at_s"].get<double>(),
                       fault["fault"].get<std::string>());
    if (fault.contains("validator")) out << " (validator " << fault["validator"] << ")";
    out << "; next finalized after " << fault["next_finalized_ms"].dump() << " ms"
        << ", throughput back after " << fault["throughput_back_ms"].dump() << " ms\n";
  }
  if (report.contains("flood")) {
    const Json& flood = report["flood"];
    out << fmt::format("  flood: sent {}, accepted {}, finalized {}, refused {}\n",
                       flood["sent"].get<std::size_t>(), flood["accepted"].get<std::size_t>(),
                       flood["finalized"].get<std::size_t>(), flood["rejected"].dump());
  }
  if (report["cancel_p99_fault_to_baseline"].is_number()) {
    out << fmt::format("  steady cancel p99, fault phase over baseline: {:.1f}x\n",
                       report["cancel_p99_fault_to_baseline"].get<double>());
  }
  out << "  time to next finalized block p50: " << report["ttr_ms_p50"].dump() << " ms\n"
      << "  breaker trips: " << report["breaker_trips"] << " (markets), "
      << report["ingress_breaker_trips"] << " (ingress, all validators)\n"
      << "  acknowledged but not finalized: " << report["lost_acknowledged"] << "\n"
      << "  acknowledged, then dropped: " << report["dropped_acknowledged"] << "\n"
      << "  state roots equal: " << (report["state_roots_equal"].get<bool>() ? "yes" : "NO")
      << " (height " << report["compared_height"] << ")\n";
}

const std::vector<std::string>& chaos_scenarios() {
  static const std::vector<std::string> scenarios = {
      "baseline",       "flood-10x",
      "flood-100x",     "leader-crash",
      "crash-f",        "restart-all",
      "slow-validator", "partition",
      "byzantine",      std::string(kFlashCrashScenario)};
  return scenarios;
}

Result<Json> run_chaos_once(const ChaosOptions& options, const ChaosHooks& hooks,
                            std::ostream& out) {
  ScratchLocalnetOptions net_options = options.net;
  net_options.relay_peers = options.scenario == "partition";
  if (options.scenario == "byzantine") {
    net_options.byzantine = byzantine_validator(options.net.validators);
  }
  BALLAST_ASSIGN_OR_RETURN(std::unique_ptr<ScratchLocalnet> net,
                           ScratchLocalnet::start(net_options));
  if (!options.json) {
    out << "localnet of " << options.net.validators << " validators in " << net->dir().string()
        << "\n"
        << std::flush;
  }
  if (hooks.before_load) BALLAST_RETURN_IF_ERROR(hooks.before_load(*net));
  BALLAST_ASSIGN_OR_RETURN(std::unique_ptr<SecondLoad> second,
                           prepare_second_load(options, hooks, *net));
  Injector injector(*net);
  std::size_t half = net->target().traders.size() / 2;
  loadgen::LoadgenOptions steady = chaos_load_options(
      net->target(), options.rate,
      options.baseline_seconds + options.fault_seconds + options.recovery_seconds, 0, half, 1);
  std::promise<Clock::time_point> sending;
  steady.on_sending_started = [&sending] { sending.set_value(Clock::now()); };
  std::future<Clock::time_point> sending_started = sending.get_future();
  std::ostringstream ignored;
  auto steady_report = std::async(
      std::launch::async, [&steady, &ignored] { return loadgen::run_load(steady, ignored); });
  if (!wait_for_sending(sending_started, steady_report)) return steady_report.get().status();
  Clock::time_point started = sending_started.get();
  auto flood = inject(options, *net, injector, started, second.get());
  BALLAST_ASSIGN_OR_RETURN(loadgen::LoadReport report, steady_report.get());
  std::optional<loadgen::LoadReport> flood_report;
  if (flood) {
    BALLAST_ASSIGN_OR_RETURN(loadgen::LoadReport value, std::move(*flood));
    flood_report = std::move(value);
  }
  loadgen::RootComparison roots = loadgen::compare_state_roots(net->target().nodes, 60'000);
  Json json = build_report(options, report, flood_report, started, injector.faults(), roots,
                           breaker_trips(net->target().nodes));
  add_evidence(json, net->target().nodes, net_options.byzantine);
  if (!injector.log().empty() && !options.json) out << injector.log();
  if (hooks.after_load) BALLAST_RETURN_IF_ERROR(hooks.after_load(*net, json));
  return json;
}

Status run_chaos(const ChaosOptions& options, std::ostream& out) {
  const auto& known = chaos_scenarios();
  if (std::find(known.begin(), known.end(), options.scenario) == known.end()) {
    return invalid_argument("unknown scenario \"" + options.scenario +
                            "\"; known: " + fmt::format("{}", fmt::join(known, ", ")));
  }
  if (options.rate < 1 || options.baseline_seconds < 2 || options.fault_seconds < 2 ||
      options.recovery_seconds < 1) {
    return invalid_argument(
        "--rate must be at least 1, --baseline and --fault at least 2 s, --recovery at least 1 s");
  }
  if (options.scenario == kFlashCrashScenario) return run_flash_crash(options, out);
  BALLAST_ASSIGN_OR_RETURN(Json json, run_chaos_once(options, {}, out));
  if (options.json) {
    out << json.dump() << "\n";
  } else {
    print_chaos_report(json, out);
    print_evidence(json, out);
  }
  if (json["lost_acknowledged"].get<std::size_t>() > 0 || !json["state_roots_equal"].get<bool>()) {
    return failed_precondition("acknowledged orders were lost or the state roots differ");
  }
  return check_evidence(json);
}

void add_chaos_command(CLI::App& app) {
  auto* chaos = app.add_subcommand(
      "chaos", "Inject a fault into a scratch localnet under load and report how it coped");
  static ChaosOptions options;
  chaos->add_option("--scenario", options.scenario, "Scenario (--scenario list shows them)")
      ->required();
  chaos->add_option("--rate", options.rate, "Steady orders per second offered");
  chaos->add_option("--baseline", options.baseline_seconds, "Seconds of load before the fault");
  chaos->add_option("--fault", options.fault_seconds, "Seconds of the fault window");
  chaos->add_option("--recovery", options.recovery_seconds, "Seconds of load after it");
  chaos->add_option("--traders", options.net.traders, "Funded trader accounts")
      ->check(CLI::Range(2, 10'000));
  chaos->add_option("--base-port", options.net.base_port,
                    "Peer port of validator 0 (API ports 100 above; default: a free block)");
  chaos->add_flag("--keep", options.net.keep, "Keep the scratch localnet directory (stopped)");
  chaos->add_flag("--json", options.json, "Print the report as one JSON object (last line)");
  chaos->callback([] {
    if (options.scenario == "list") {
      for (const std::string& scenario : chaos_scenarios()) std::cout << scenario << "\n";
      return;
    }
    Status status = run_chaos(options, std::cout);
    if (!status.is_ok()) {
      std::cerr << "ballast chaos: " << status.to_string() << "\n";
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace ballast::cli
