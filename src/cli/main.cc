// The `ballast` command: one binary, one subcommand per job.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/bench_cluster.h"
#include "cli/chaos.h"
#include "cli/loadgen_command.h"
#include "cli/localnet.h"
#include "cli/replay.h"
#include "cli/sim_command.h"
#include "cli/tx_command.h"
#include "crypto/keys.h"
#include "node/config.h"
#if BALLAST_HAS_NODE
#include "node/node.h"
#endif

namespace {

int report(const ballast::Status& status) {
  if (status.is_ok()) return 0;
  std::cerr << "ballast: " << status.to_string() << "\n";
  return 1;
}

void add_keygen(CLI::App& app) {
  auto* keygen = app.add_subcommand("keygen", "Create a secret key file (mode 0600)");
  static std::string out_path;
  static std::string dev_name;
  keygen->add_option("--out", out_path, "Key file to create (refuses to overwrite)")->required();
  keygen->add_option("--insecure-dev-seed", dev_name,
                     "Derive the key from a name instead of randomness (examples only)");
  keygen->callback([] {
    auto key = dev_name.empty() ? ballast::SecretKey::generate()
                                : ballast::SecretKey::insecure_from_seed(dev_name);
    ballast::Status status = ballast::write_key_file(out_path, key);
    if (!status.is_ok()) throw CLI::RuntimeError(report(status));
    std::cout << key.public_key().hex() << "\n";
  });
}

void add_orders(CLI::App& app) {
  auto* orders = app.add_subcommand("orders", "Work with order files");
  orders->require_subcommand(1);
  auto* replay = orders->add_subcommand(
      "replay", "Sign and run a JSON-lines order file in-process, or on a node with --node");
  static ballast::cli::ReplayOptions options;
  replay->add_option("file", options.orders_path, "JSON-lines order file")->required();
  replay->add_option("--genesis", options.genesis_path, "Genesis file")->required();
  replay->add_option("--keys", options.keys_dir, "Directory of NAME.key files");
  replay->add_flag("--dev-keys", options.dev_keys,
                   "Derive each account's key from its name (examples only, never real funds)");
  replay->add_flag("--json", options.json, "Print one JSON object per result");
  replay->add_option("--depth", options.book_depth, "Book levels to print")
      ->check(CLI::Range(1, 1000));
  ballast::cli::add_live_replay_options(*replay, options);
  replay->callback([] {
    int code = report(ballast::cli::run_replay(options, std::cout));
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

#if BALLAST_HAS_NODE
void add_node(CLI::App& app) {
  auto* node = app.add_subcommand("node", "Run a validator until SIGINT or SIGTERM");
  static std::string config_path;
  static ballast::node::RunOptions run_options;
  node->add_option("--config", config_path, "Configuration file (docs/CONFIGURATION.md)")
      ->required();
  node->add_flag("--byzantine-equivocate", run_options.byzantine_equivocate,
                 "TEST ONLY: deliberately equivocate and double-vote (loopback networks only, "
                 "docs/CHAOS.md)");
  node->add_option("--test-corrupt-state-at-height", run_options.corrupt_state_at_height,
                   "TEST ONLY: state roots wrong from this height on, until the validator "
                   "resynchronizes from a peer (loopback networks only, docs/SYNC.md)");
  node->add_option("--exit-with", run_options.exit_with,
                   "Stop, as on SIGTERM, once process PID has exited (scratch localnets)");
  node->callback([] {
    auto config = ballast::node::load_node_config(config_path);
    if (!config.is_ok()) throw CLI::RuntimeError(report(config.status()));
    int code = ballast::node::run(*config, run_options);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}
#endif

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Ballast: a Byzantine-fault-tolerant exchange network"};
  app.require_subcommand(1);
  add_keygen(app);
  add_orders(app);
#if BALLAST_HAS_NODE
  add_node(app);
#endif
  ballast::cli::add_localnet_command(app);
  ballast::cli::add_loadgen_command(app);
  ballast::cli::add_bench_command(app);
  ballast::cli::add_chaos_command(app);
  ballast::cli::add_sim_command(app);
  ballast::cli::add_tx_command(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
