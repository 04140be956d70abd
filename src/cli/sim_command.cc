#include "cli/sim_command.h"

#include <iostream>

#include "sim/simulator.h"

namespace ballast::cli {
namespace {

struct SimOptions {
  std::string seeds = "1..100";
  std::size_t validators = 4;
  std::string seed_faults = "all";
  bool byzantine_beyond_bound = false;
  bool equal_stakes = false;
  bool wan = false;
  bool deferred_sync = false;
  bool verbose = false;
  sim::TimeMs safety_ms = 4'000;
  sim::TimeMs liveness_ms = 12'000;
};

Result<std::pair<std::uint64_t, std::uint64_t>> parse_range(const std::string& text) {
  auto dots = text.find("..");
  try {
    if (dots == std::string::npos) {
      std::uint64_t seed = std::stoull(text);
      return std::pair{seed, seed};
    }
    std::uint64_t first = std::stoull(text.substr(0, dots));
    std::uint64_t last = std::stoull(text.substr(dots + 2));
    if (first > last) return invalid_argument("--seeds: the first seed is above the last");
    return std::pair{first, last};
  } catch (const std::exception&) {
    return invalid_argument("--seeds must look like 1..500 or 42");
  }
}

int run(const SimOptions& options) {
  auto range = parse_range(options.seeds);
  auto faults = sim::parse_fault_kinds(options.seed_faults);
  for (const Status& status : {range.is_ok() ? Status::ok() : range.status(),
                               faults.is_ok() ? Status::ok() : faults.status()}) {
    if (!status.is_ok()) {
      std::cerr << "ballast sim: " << status.message() << "\n";
      return 2;
    }
  }
  sim::WorldConfig config;
  config.validators = options.validators;
  config.unequal_stakes = !options.equal_stakes;
  config.allowed_faults = *faults;
  config.byzantine_beyond_bound = options.byzantine_beyond_bound;
  config.force_wan = options.wan;
  config.deferred_sync = options.deferred_sync;
  config.safety_ms = options.safety_ms;
  config.liveness_ms = options.liveness_ms;
  auto [first, last] = *range;
  auto progress = [&](const sim::RunReport& report) {
    if (report.passed && !options.verbose) return;
    std::cout << "seed " << report.seed << (report.passed ? " passed " : " FAILED ") << report.plan
              << " height " << report.finalized_height << " recovered " << report.recovery_ms
              << " ms after healing\n";
    for (const std::string& failure : report.failures) std::cout << "  " << failure << "\n";
    if (!report.passed) {
      std::cout << "  reproduce: "
                << sim::reproduce_command(config, report.seed, options.seed_faults) << "\n";
    }
  };
  sim::SimulationSummary summary = sim::run_seeds(config, first, last, progress);
  sim::print_summary(summary, std::cout);
  return summary.failures.empty() ? 0 : 1;
}

}  // namespace

void add_sim_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "sim", "Run the real consensus and exchange under simulated faults, one world per seed");
  static SimOptions options;
  command->add_option("--seeds", options.seeds, "Seed range A..B (inclusive) or one seed");
  command->add_option("--validators", options.validators, "Validators per world")
      ->check(CLI::Range(1, 1000));
  command->add_option("--seed-faults", options.seed_faults,
                      "Fault kinds each seed may draw from: all, none, or a list of loss, delay, "
                      "duplicate, reorder, partition, crash, clock, byzantine");
  command->add_flag("--byzantine-beyond-bound", options.byzantine_beyond_bound,
                    "Make half the validators equivocating twins (more than a third of the "
                    "stake): the agreement checker must fire");
  command->add_flag("--equal-stakes", options.equal_stakes, "Give every validator stake 1");
  command->add_flag("--wan", options.wan,
                    "Place validators in five regions with wide-area round trips (65-260 ms)");
  command->add_flag("--deferred-sync", options.deferred_sync,
                    "Validators write unsynced and hold their messages for a simulated sync, as "
                    "the node does");
  command->add_option("--safety-ms", options.safety_ms, "Simulated length of the faulty phase");
  command->add_option("--liveness-ms", options.liveness_ms, "Simulated length of the healed phase");
  command->add_flag("--verbose", options.verbose, "Print every seed, not only failures");
  command->callback([] {
    int code = run(options);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace ballast::cli
