// `ballast chaos --scenario NAME`: a fault injected into a scratch localnet under steady
// open-loop load, and a resilience report: per phase (before, during and after the fault)
// finalized throughput and latency per priority class; per fault the time to the next
// finalized block and to throughput back within 10% of the baseline; acknowledged orders that
// never finalized; whether the validators' state roots agree (docs/CHAOS.md).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "cli/scratch_localnet.h"
#include "loadgen/loadgen.h"

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

// A second load generator a scenario runs as its fault, sent from the start of the fault window,
// and how the fault is named in the report. It is planned and signed before the steady flow
// starts, so that its signing does not weigh on the baseline phase.
struct ChaosSecondLoad {
  loadgen::LoadgenOptions load;
  std::string fault;
};

// What a scenario adds to the common run beyond a fault at a moment: work on the fresh localnet
// before the steady flow starts, a second load generator of its own shape, and fields of its own
// in the report, read while the validators still run. Any of them may be empty.
struct ChaosHooks {
  std::function<Status(const ScratchLocalnet&)> before_load;
  std::function<Result<ChaosSecondLoad>(const ScratchLocalnet&)> second_load;
  std::function<Status(const ScratchLocalnet&, nlohmann::json& report)> after_load;
};

// One run of `options.scenario` against a fresh scratch localnet (`options.net`), stopped again
// before it returns: the report as JSON (docs/CHAOS.md). Run failures are errors; lost orders
// and differing roots are in the report.
Result<nlohmann::json> run_chaos_once(const ChaosOptions& options, const ChaosHooks& hooks,
                                      std::ostream& out);
void print_chaos_report(const nlohmann::json& report, std::ostream& out);

// A load generator on traders [first_account, first_account + accounts) of the localnet, at
// `rate` per second for `seconds`, keeping every transaction's trace.
loadgen::LoadgenOptions chaos_load_options(const loadgen::LocalnetTarget& target, double rate,
                                           double seconds, std::size_t first_account,
                                           std::size_t accounts, std::uint64_t seed);

void add_chaos_command(CLI::App& app);

}  // namespace ballast::cli
