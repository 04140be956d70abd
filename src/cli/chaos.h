// `ballast chaos --scenario NAME`: a fault injected into a scratch localnet under steady
// open-loop load, and a resilience report: per phase (before, during and after the fault)
// finalized throughput and latency per priority class; per fault the time to the next
// finalized block and to throughput back within 10% of the baseline; acknowledged orders that
// never finalized; whether the validators' state roots agree (docs/CHAOS.md).
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/scratch_localnet.h"

namespace ballast::cli {

struct ChaosOptions {
  ScratchLocalnetOptions net;
  std::string scenario;
  double rate = 300;            // steady orders per second offered throughout
  double baseline_seconds = 6;  // steady load before the fault
  double fault_seconds = 8;     // the fault window (faults, then their repair)
  double recovery_seconds = 8;  // steady load after it
  bool json = false;            // the report as one JSON object (last line)
};

// The scenarios `ballast chaos` knows, in the order `--scenario list` prints them.
const std::vector<std::string>& chaos_scenarios();

Status run_chaos(const ChaosOptions& options, std::ostream& out);

void add_chaos_command(CLI::App& app);

}  // namespace ballast::cli
