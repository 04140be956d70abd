#include "cli/bench_cluster.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/scratch_localnet.h"
#include "crypto/hash.h"
#include "crypto/key_cache.h"
#include "crypto/keys.h"
#include "loadgen/loadgen.h"

namespace ballast::cli {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// The peak search starts low and raises the offered rate by this factor until the network no
// longer keeps up, then tries once halfway between the last rate it sustained and the first it
// did not.
constexpr double kSearchStartFraction = 0.1;  // of the ceiling
constexpr double kSearchFactor = 1.3;
constexpr double kSearchLimitFraction = 1.2;  // never offer more than this share of the ceiling
// A level is sustained when the network took everything, lost nothing, finalized at (nearly)
// the offered rate, and latency stayed bounded: a backlog that keeps growing shows up as a p99
// that grows with the length of the run.
constexpr double kSustainedRateShare = 0.95;
constexpr double kSustainedP99Ms = 1'000;
constexpr std::int64_t kSettleMs = 1'000;  // between levels, for mempools to empty

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Why a level was not sustained; empty if it was.
std::string shortfall(const loadgen::LoadReport& report) {
  auto count = [](const std::map<std::string, std::size_t>& counts) {
    std::string text;
    for (const auto& [reason, n] : counts) text += " " + reason + "=" + std::to_string(n);
    return text;
  };
  if (report.lost_acknowledged > 0) return fmt::format("lost {}", report.lost_acknowledged);
  if (!report.rejected.empty()) return "refused:" + count(report.rejected);
  if (!report.not_sent.empty()) return "not sent:" + count(report.not_sent);
  if (report.no_answer > 0) return fmt::format("unanswered {}", report.no_answer);
  if (report.finalized < report.sent) {
    return fmt::format("finalized {} of {} sent", report.finalized, report.sent);
  }
  auto all = report.latency.find("all");
  if (all == report.latency.end()) return "no latency measured";
  if (all->second.p99_ms > kSustainedP99Ms) return "p99 over 1 s";
  if (report.finalized_per_s < kSustainedRateShare * static_cast<double>(report.offered_per_s)) {
    return "finalized rate under 95% of offered";
  }
  return "";
}

struct Level {
  std::string phase;    // "search" or "latency"
  double fraction = 0;  // of the peak (latency levels)
  loadgen::LoadReport report;
  bool sustained = false;
  std::string shortfall;  // why it was not sustained
};

class ClusterBench {
 public:
  ClusterBench(const BenchClusterOptions& options, loadgen::LocalnetTarget target,
               std::ostream& out)
      : options_(options), target_(std::move(target)), out_(out) {}

  Result<Level> run_level(std::string phase, double rate, double seconds) {
    loadgen::LoadgenOptions load;
    load.nodes = target_.nodes;
    load.genesis = target_.genesis;
    load.accounts = target_.traders;
    load.workload.rate_per_s = static_cast<std::uint64_t>(std::max(1.0, rate));
    load.workload.duration_ms = static_cast<std::uint64_t>(seconds * 1'000);
    load.workload.normal_fee = std::max<exchange::Amount>(target_.genesis.min_tx_fee, 1);
    load.workload.high_fee = 10 * load.workload.normal_fee;
    load.workload.seed = ++seed_;
    load.drain_timeout_ms = 20'000;
    load.quiet = true;
    std::ostringstream ignored;
    BALLAST_ASSIGN_OR_RETURN(loadgen::LoadReport report, loadgen::run_load(load, ignored));
    Level level{std::move(phase), 0, std::move(report), false, ""};
    level.shortfall = shortfall(level.report);
    level.sustained = level.shortfall.empty();
    print_level(level);
    std::this_thread::sleep_for(std::chrono::milliseconds(kSettleMs));
    return level;
  }

  // The highest finalized rate among the levels the network sustained.
  Result<double> find_peak(double ceiling, std::vector<Level>& levels) {
    return search_peak(ceiling, [&](double rate) -> Result<SearchOutcome> {
      BALLAST_ASSIGN_OR_RETURN(Level level, run_level("search", rate, options_.search_seconds));
      levels.push_back(level);
      return SearchOutcome{level.sustained, level.report.finalized_per_s};
    });
  }

 private:
  void print_level(const Level& level) {
    if (options_.json) return;
    const loadgen::LoadReport& report = level.report;
    auto all = report.latency.find("all");
    loadgen::LatencySummary latency =
        all == report.latency.end() ? loadgen::LatencySummary{} : all->second;
    const std::string busy =
        report.machine_busy ? fmt::format("{:3.0f}%", 100 * *report.machine_busy) : "  ?";
    out_ << fmt::format(
                "{:<8} offered {:>6} tx/s  finalized {:>8.0f} tx/s  p50 {:7.1f} ms  p99 {:7.1f} "
                "ms  p99.9 {:7.1f} ms  cores busy {}  {}\n",
                level.phase, report.offered_per_s, report.finalized_per_s, latency.p50_ms,
                latency.p99_ms, latency.p999_ms, busy,
                level.sustained ? "sustained" : "NOT sustained: " + level.shortfall)
         << std::flush;
  }

  const BenchClusterOptions& options_;
  loadgen::LocalnetTarget target_;
  std::ostream& out_;
  std::uint64_t seed_ = 0;
};

Json level_json(const Level& level) {
  Json latency = Json::object();
  for (const auto& [name, summary] : level.report.latency) {
    latency[name] = {{"count", summary.count},
                     {"p50_ms", summary.p50_ms},
                     {"p99_ms", summary.p99_ms},
                     {"p999_ms", summary.p999_ms}};
  }
  Json json = {{"phase", level.phase},
               {"offered_per_s", level.report.offered_per_s},
               {"finalized_per_s", level.report.finalized_per_s},
               {"sent", level.report.sent},
               {"finalized", level.report.finalized},
               {"rejected", level.report.rejected},
               {"lost_acknowledged", level.report.lost_acknowledged},
               {"machine_busy",
                level.report.machine_busy ? Json(*level.report.machine_busy) : Json(nullptr)},
               {"sustained", level.sustained},
               {"shortfall", level.shortfall},
               {"latency", std::move(latency)}};
  if (level.phase == "latency") json["fraction_of_peak"] = level.fraction;
  return json;
}

}  // namespace

double measure_verifications_per_core(std::size_t threads, double seconds) {
  constexpr std::size_t kSamples = 64;
  struct Sample {
    PublicKey key;
    Hash256 message;
    Signature signature;
  };
  std::vector<Sample> samples;
  for (std::size_t i = 0; i < kSamples; ++i) {
    SecretKey key = SecretKey::insecure_from_seed("bench-" + std::to_string(i));
    Hash256 message = sha256(as_bytes("order " + std::to_string(i)));
    samples.push_back({key.public_key(), message, key.sign(message)});
  }
  std::atomic<std::uint64_t> total{0};
  std::atomic<bool> all_valid{true};
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      VerifyingKeyCache keys;
      std::uint64_t count = 0;
      while (seconds_since(start) < seconds) {
        for (const Sample& sample : samples) {
          auto key = keys.get(sample.key);
          if (!key.is_ok() || !key->verify(sample.message, sample.signature)) all_valid = false;
        }
        count += kSamples;
      }
      total += count;
    });
  }
  for (std::thread& worker : workers) worker.join();
  BALLAST_ASSERT_MSG(all_valid, "a valid signature failed verification");
  return static_cast<double>(total) / static_cast<double>(threads) / seconds_since(start);
}

Result<double> search_peak(double ceiling,
                           const std::function<Result<SearchOutcome>(double rate)>& run_level) {
  double peak = 0;
  // A level that falls short runs once more before it counts, so that a single disturbance
  // (another program on the same cores) does not end the search.
  auto sustains = [&](double rate) -> Result<bool> {
    for (int attempt = 0; attempt < 2; ++attempt) {
      BALLAST_ASSIGN_OR_RETURN(SearchOutcome outcome, run_level(rate));
      if (outcome.sustained) {
        peak = std::max(peak, outcome.finalized_per_s);
        return true;
      }
    }
    return false;
  };
  double rate = std::max(100.0, kSearchStartFraction * ceiling);
  double last_good = 0;
  std::optional<double> first_bad;
  while (rate <= kSearchLimitFraction * ceiling) {
    BALLAST_ASSIGN_OR_RETURN(bool sustained, sustains(rate));
    if (!sustained) {
      first_bad = rate;
      break;
    }
    last_good = rate;
    rate *= kSearchFactor;
  }
  if (first_bad && last_good > 0) {
    // Sustained or not, it only matters through `peak`, which `sustains` keeps.
    Result<bool> halfway = sustains((last_good + *first_bad) / 2);
    if (!halfway.is_ok()) return halfway.status();
  }
  if (peak == 0) return failed_precondition("the network sustained none of the offered rates");
  return peak;
}

Status bench_cluster(const BenchClusterOptions& options, std::ostream& out) {
  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  double per_core = measure_verifications_per_core(cores, options.ceiling_seconds);
  double ceiling = static_cast<double>(cores) * per_core / options.net.validators;
  if (!options.json) {
    out << fmt::format(
        "verification ceiling: {} cores x {:.0f} verifications/s per core / {} validators = "
        "{:.0f} orders/s\n",
        cores, per_core, options.net.validators, ceiling);
  }

  // The offered rate steps up 30% at a time into overload, where the validators read their
  // sockets in lumps: their ingress breakers would trip on that and refuse orders, measuring the
  // defense instead of the capacity (docs/CONFIGURATION.md advises the same for benchmarks).
  ScratchLocalnetOptions net_options = options.net;
  net_options.ingress_breaker = false;
  BALLAST_ASSIGN_OR_RETURN(std::unique_ptr<ScratchLocalnet> net,
                           ScratchLocalnet::start(net_options));
  loadgen::LocalnetTarget target = net->target();
  if (!options.json) {
    out << fmt::format("localnet of {} validators in {}; {} funded traders\n",
                       options.net.validators, net->dir().string(), target.traders.size());
  }
  std::vector<loadgen::Endpoint> nodes = target.nodes;
  ClusterBench bench(options, std::move(target), out);

  std::vector<Level> levels;
  BALLAST_ASSIGN_OR_RETURN(double peak, bench.find_peak(ceiling, levels));
  for (double fraction : options.fractions) {
    BALLAST_ASSIGN_OR_RETURN(Level level,
                             bench.run_level("latency", fraction * peak, options.latency_seconds));
    level.fraction = fraction;
    levels.push_back(std::move(level));
  }
  loadgen::RootComparison roots = loadgen::compare_state_roots(nodes, 30'000);
  std::size_t lost = 0;
  for (const Level& level : levels) lost += level.report.lost_acknowledged;

  Json report = {{"validators", options.net.validators},
                 {"cores", cores},
                 {"verifications_per_core_per_s", per_core},
                 {"ceiling_orders_per_s", ceiling},
                 {"peak_orders_per_s", peak},
                 {"ratio_to_ceiling", peak / ceiling},
                 {"lost_acknowledged", lost},
                 {"state_roots_equal", roots.equal},
                 {"compared_height", roots.height},
                 {"levels", Json::array()}};
  for (const Level& level : levels) report["levels"].push_back(level_json(level));
  if (options.json) {
    out << report.dump() << "\n";
  } else {
    out << fmt::format(
        "peak sustained {:.0f} orders/s = {:.0f}% of the ceiling ({:.0f}); lost acknowledged {}; "
        "state roots {} at height {}\n",
        peak, 100 * peak / ceiling, ceiling, lost, roots.equal ? "agree" : "DIFFER", roots.height);
    if (net->kept()) out << "localnet kept (stopped) in " << net->dir().string() << "\n";
  }
  if (lost > 0 || !roots.equal) {
    return failed_precondition("acknowledged orders were lost or the state roots differ");
  }
  return Status::ok();
}

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measure the network on this machine");
  bench->require_subcommand(1);
  auto* cluster = bench->add_subcommand(
      "cluster", "Verification ceiling, peak finalized orders/s and latency of a local network");
  static BenchClusterOptions options;
  cluster->add_option("--validators", options.net.validators, "Validators of the localnet")
      ->check(CLI::Range(1, 16));
  cluster->add_option("--traders", options.net.traders, "Funded trader accounts")
      ->check(CLI::Range(1, 10'000));
  cluster->add_option("--search-seconds", options.search_seconds,
                      "Seconds of load per rate while searching for the peak");
  cluster->add_option("--latency-seconds", options.latency_seconds,
                      "Seconds of load per latency level");
  cluster->add_option("--ceiling-seconds", options.ceiling_seconds,
                      "Seconds of signature verification on every core for the ceiling");
  cluster->add_option("--fractions", options.fractions,
                      "Fractions of the peak to measure latency at");
  cluster->add_option("--dir", options.net.dir,
                      "Localnet directory to use (default: a scratch directory, removed after)");
  cluster->add_flag("--keep", options.net.keep, "Keep the scratch localnet directory");
  cluster->add_flag("--json", options.json, "Print the report as one JSON object (last line)");
  cluster->callback([] {
    Status status = bench_cluster(options, std::cout);
    if (!status.is_ok()) {
      std::cerr << "ballast bench cluster: " << status.to_string() << "\n";
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace ballast::cli
