// `ballast node`: a validator process. It wires the deterministic cores to the world: RocksDB
// storage, the authenticated peer transport, the HTTP API and a signature-verification pool,
// around the one core thread that owns consensus, the mempool and execution (core.h).
#pragma once

#include <cstdint>
#include <optional>

#include "node/config.h"

namespace ballast::node {

// What the command line adds to the configuration file.
struct RunOptions {
  // TEST ONLY: the validator deliberately equivocates and double-votes (node/equivocator.h).
  // Refused unless every address of the configuration is a loopback address.
  bool byzantine_equivocate = false;
  // TEST ONLY: state roots wrong from this height on until the validator resynchronizes
  // (node/root_corruption.h). Loopback addresses only, like byzantine_equivocate.
  std::optional<std::uint64_t> corrupt_state_at_height;
  // Stop, as on SIGTERM, once this process has exited: the command that started a scratch
  // localnet, so that its validators never outlive it however it ended.
  std::optional<int> exit_with;
};

// Runs until SIGINT or SIGTERM; returns the process exit code. Every bad configuration value
// or unusable resource (key, genesis, data directory, address in use) is reported on stderr
// before anything starts.
int run(const NodeConfig& config, const RunOptions& options = {});

}  // namespace ballast::node
