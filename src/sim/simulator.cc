#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <ostream>

namespace ballast::sim {
namespace {

template <typename T>
double percentile(std::vector<T>& values, double fraction) {
  if (values.empty()) return 0;
  std::size_t index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return static_cast<double>(values[index]);
}

}  // namespace

SimulationSummary run_seeds(const WorldConfig& config, std::uint64_t first, std::uint64_t last,
                            const std::function<void(const RunReport&)>& progress) {
  // Wall time is measured here, in the driver, only for the report; runs never see it.
  auto started = std::chrono::steady_clock::now();
  SimulationSummary summary;
  std::vector<double> delays;
  std::vector<TimeMs> latencies;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    World world(config, seed);
    RunReport report = world.run();
    summary.seeds_run += 1;
    summary.finalized_blocks += report.finalized_height;
    summary.finalized_transactions += report.finalized_transactions;
    summary.views_nullified += report.views_nullified;
    summary.messages += report.messages;
    summary.evidence += report.evidence;
    summary.unsynced_writes_at_crashes += report.unsynced_writes_at_crashes;
    summary.market_pauses += report.market_pauses;
    summary.velocity_pauses += report.velocity_pauses;
    summary.auctions += report.auctions;
    summary.recovery_ms_max = std::max(summary.recovery_ms_max, report.recovery_ms);
    delays.insert(delays.end(), report.latency_delays.begin(), report.latency_delays.end());
    latencies.insert(latencies.end(), report.latency_ms.begin(), report.latency_ms.end());
    if (report.passed) {
      summary.seeds_passed += 1;
    } else {
      summary.failures.push_back(report);
    }
    if (progress) progress(report);
    if (seed == last) break;  // last may be UINT64_MAX
  }
  summary.latency_delays_p50 = percentile(delays, 0.50);
  summary.latency_delays_p99 = percentile(delays, 0.99);
  summary.latency_ms_p50 = percentile(latencies, 0.50);
  summary.latency_ms_p99 = percentile(latencies, 0.99);
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

std::string reproduce_command(const WorldConfig& config, std::uint64_t seed,
                              const std::string& fault_flag) {
  std::string command = "ballast sim --seeds " + std::to_string(seed) + ".." +
                        std::to_string(seed) + " --validators " + std::to_string(config.validators);
  if (!fault_flag.empty()) command += " --seed-faults " + fault_flag;
  if (config.byzantine_beyond_bound) command += " --byzantine-beyond-bound";
  if (config.force_wan) command += " --wan";
  if (config.deferred_sync) command += " --deferred-sync";
  return command;
}

void print_summary(const SimulationSummary& summary, std::ostream& out) {
  double blocks = std::max<double>(1, static_cast<double>(summary.finalized_blocks));
  out << std::fixed << std::setprecision(1);
  out << "seeds passed " << summary.seeds_passed << "/" << summary.seeds_run << " in "
      << summary.wall_seconds << " s ("
      << static_cast<double>(summary.seeds_run) / std::max(summary.wall_seconds, 1e-9)
      << " seeds/s)\n";
  out << "finalized blocks " << summary.finalized_blocks << ", transactions "
      << summary.finalized_transactions << ", views nullified " << summary.views_nullified
      << ", evidence recorded " << summary.evidence << "\n";
  out << "finalization latency p50 " << summary.latency_delays_p50 << " message delays / "
      << summary.latency_ms_p50 << " ms, p99 " << summary.latency_delays_p99 << " message delays / "
      << summary.latency_ms_p99 << " ms\n";
  out << "messages per finalized block " << static_cast<double>(summary.messages) / blocks
      << ", slowest recovery after healing " << summary.recovery_ms_max << " ms\n";
  out << "market circuit breakers: pauses " << summary.market_pauses << " (velocity "
      << summary.velocity_pauses << "), reopening auctions " << summary.auctions << "\n";
}

}  // namespace ballast::sim
