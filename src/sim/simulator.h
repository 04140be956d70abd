// Runs many seeds and summarizes them: seeds passed, finalized blocks and transactions,
// finalization latency in message delays and simulated ms, views nullified, messages per block.
// A failing seed is reported with the one command that reproduces it.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "sim/world.h"

namespace ballast::sim {

struct SimulationSummary {
  std::uint64_t seeds_run = 0;
  std::uint64_t seeds_passed = 0;
  std::vector<RunReport> failures;
  std::uint64_t finalized_blocks = 0;
  std::uint64_t finalized_transactions = 0;
  std::uint64_t views_nullified = 0;
  std::uint64_t messages = 0;
  std::uint64_t evidence = 0;
  std::uint64_t unsynced_writes_at_crashes = 0;  // deferred_sync: what crashes caught unsynced
  std::uint64_t market_pauses = 0;               // circuit-breaker pauses, of which velocity pauses
  std::uint64_t velocity_pauses = 0;
  std::uint64_t auctions = 0;
  double latency_delays_p50 = 0;
  double latency_delays_p99 = 0;
  double latency_ms_p50 = 0;
  double latency_ms_p99 = 0;
  TimeMs recovery_ms_max = 0;
  double wall_seconds = 0;
};

// Runs seeds first..last (inclusive); `progress` is told about every finished run.
SimulationSummary run_seeds(const WorldConfig& config, std::uint64_t first, std::uint64_t last,
                            const std::function<void(const RunReport&)>& progress = {});

// The command line that reproduces one seed with the given configuration.
std::string reproduce_command(const WorldConfig& config, std::uint64_t seed,
                              const std::string& fault_flag);

void print_summary(const SimulationSummary& summary, std::ostream& out);

}  // namespace ballast::sim
