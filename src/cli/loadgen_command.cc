#include "cli/loadgen_command.h"

#include <iostream>

#include "loadgen/loadgen.h"

namespace ballast::cli {

namespace {

struct LoadgenArguments {
  std::string dir;
  std::vector<std::string> node_urls;
  std::string genesis_path;
  std::string keys_dir;
  double rate = 500;
  double duration_s = 10;
  std::size_t accounts = 0;  // 0: every funded trader found
  std::size_t markets = 1;
  std::string mix;
  std::int64_t fee = 0;  // 0: the genesis minimum
  std::int64_t high_fee = 0;
  std::uint32_t high_fee_percent = 20;
  std::uint64_t seed = 1;
  double drain_timeout_s = 30;
  bool json = false;
};

// Where to send and with which keys: a localnet directory, or explicit nodes, genesis and keys.
Result<loadgen::LocalnetTarget> resolve_target(const LoadgenArguments& arguments) {
  if (!arguments.dir.empty()) {
    BALLAST_ASSIGN_OR_RETURN(loadgen::LocalnetTarget target, loadgen::read_localnet(arguments.dir));
    if (!arguments.node_urls.empty()) target.nodes.clear();
    for (const std::string& url : arguments.node_urls) {
      BALLAST_ASSIGN_OR_RETURN(loadgen::Endpoint endpoint, loadgen::parse_endpoint(url));
      target.nodes.push_back(endpoint);
    }
    return target;
  }
  if (arguments.node_urls.empty() || arguments.genesis_path.empty() || arguments.keys_dir.empty()) {
    return invalid_argument("give --dir of a localnet, or --node, --genesis and --keys");
  }
  loadgen::LocalnetTarget target;
  BALLAST_ASSIGN_OR_RETURN(target.genesis, exchange::load_genesis_file(arguments.genesis_path));
  for (const std::string& url : arguments.node_urls) {
    BALLAST_ASSIGN_OR_RETURN(loadgen::Endpoint endpoint, loadgen::parse_endpoint(url));
    target.nodes.push_back(endpoint);
  }
  for (std::size_t k = 0;; ++k) {
    std::string path = arguments.keys_dir + "/trader-" + std::to_string(k) + ".key";
    auto key = read_key_file(path);
    if (!key.is_ok()) break;
    target.traders.push_back(std::move(key).value());
  }
  return target;
}

Result<loadgen::LoadgenOptions> build_options(const LoadgenArguments& arguments) {
  BALLAST_ASSIGN_OR_RETURN(loadgen::LocalnetTarget target, resolve_target(arguments));
  if (target.traders.empty()) return invalid_argument("no funded trader keys (trader-K.key) found");
  if (arguments.accounts > target.traders.size()) {
    return invalid_argument("--accounts " + std::to_string(arguments.accounts) + " but only " +
                            std::to_string(target.traders.size()) + " funded traders exist");
  }
  if (arguments.accounts > 0) {
    target.traders.erase(target.traders.begin() + static_cast<std::ptrdiff_t>(arguments.accounts),
                         target.traders.end());
  }
  if (arguments.rate < 1 || arguments.duration_s <= 0 || arguments.drain_timeout_s < 0) {
    return invalid_argument("--rate must be at least 1 and --duration positive");
  }
  loadgen::LoadgenOptions options;
  options.nodes = std::move(target.nodes);
  options.genesis = std::move(target.genesis);
  options.accounts = std::move(target.traders);
  loadgen::WorkloadOptions& workload = options.workload;
  workload.rate_per_s = static_cast<std::uint64_t>(arguments.rate);
  workload.duration_ms = static_cast<std::uint64_t>(arguments.duration_s * 1'000);
  workload.markets = arguments.markets;
  if (!arguments.mix.empty()) {
    BALLAST_ASSIGN_OR_RETURN(workload.mix, loadgen::parse_mix(arguments.mix));
  }
  workload.normal_fee = arguments.fee > 0 ? arguments.fee : options.genesis.min_tx_fee;
  workload.normal_fee = std::max<exchange::Amount>(workload.normal_fee, 1);
  workload.high_fee = arguments.high_fee > 0 ? arguments.high_fee : 10 * workload.normal_fee;
  workload.high_fee_percent = arguments.high_fee_percent;
  workload.seed = arguments.seed;
  options.drain_timeout_ms = static_cast<std::int64_t>(arguments.drain_timeout_s * 1'000);
  options.quiet = arguments.json;
  return options;
}

}  // namespace

void add_loadgen_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "loadgen", "Open-loop order flow against live validators, with a report of what finalized");
  static LoadgenArguments arguments;
  command->add_option("--dir", arguments.dir, "A localnet directory (nodes, genesis, trader keys)");
  command->add_option("--node", arguments.node_urls, "Node API URL (repeat for each validator)");
  command->add_option("--genesis", arguments.genesis_path, "Genesis file (without --dir)");
  command->add_option("--keys", arguments.keys_dir, "Directory of trader-K.key (without --dir)");
  command->add_option("--rate", arguments.rate, "Transactions per second offered");
  command->add_option("--duration", arguments.duration_s, "Seconds of sending");
  command->add_option("--accounts", arguments.accounts, "Funded traders to use (default: all)");
  command->add_option("--markets", arguments.markets, "Markets to trade (the first N)");
  command->add_option("--mix", arguments.mix,
                      "Weights, e.g. rest=50,cross=10,market=5,cancel=25,replace=10");
  command->add_option("--fee", arguments.fee, "Normal fee (default: the genesis minimum)");
  command->add_option("--high-fee", arguments.high_fee, "High fee (default: 10x the normal)");
  command
      ->add_option("--high-fee-percent", arguments.high_fee_percent,
                   "Share of non-cancel transactions paying the high fee")
      ->check(CLI::Range(0, 100));
  command->add_option("--seed", arguments.seed, "Seed of the order flow");
  command->add_option("--drain-timeout", arguments.drain_timeout_s,
                      "Seconds to wait for finality after the last send");
  command->add_flag("--json", arguments.json, "Print the report as one JSON object");
  command->callback([] {
    auto options = build_options(arguments);
    if (!options.is_ok()) {
      std::cerr << "ballast loadgen: " << options.status().to_string() << "\n";
      throw CLI::RuntimeError(1);
    }
    auto report = loadgen::run_load(*options, std::cerr);
    if (!report.is_ok()) {
      std::cerr << "ballast loadgen: " << report.status().to_string() << "\n";
      throw CLI::RuntimeError(1);
    }
    if (arguments.json) {
      std::cout << loadgen::report_json(*report).dump() << "\n";
    } else {
      loadgen::print_report(*report, std::cout);
    }
    if (report->lost_acknowledged > 0 || !report->state_roots_equal) throw CLI::RuntimeError(2);
  });
}

}  // namespace ballast::cli
