// `ballast node`: a validator process. It wires the deterministic cores to the world: RocksDB
// storage, the authenticated peer transport, the HTTP API and a signature-verification pool,
// around the one core thread that owns consensus, the mempool and execution (core.h).
#pragma once

#include "node/config.h"

namespace ballast::node {

// Runs until SIGINT or SIGTERM; returns the process exit code. Every bad configuration value
// or unusable resource (key, genesis, data directory, address in use) is reported on stderr
// before anything starts.
int run(const NodeConfig& config);

}  // namespace ballast::node
