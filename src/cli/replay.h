// `ballast orders replay`: reads a JSON-lines order file (docs/ORDERS_FORMAT.md) and signs each
// line as its account. In-process (the default), it groups lines into blocks and runs them
// through an exchange of its own, printing every result, the final books and the state root.
// Live (`--node URL`), it submits each line to a node in file order, waits for its finality and
// prints one JSON result per line (docs/CLI.md).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "base/status.h"

namespace ballast::cli {

struct ReplayOptions {
  std::string orders_path;
  std::string genesis_path;
  std::string keys_dir;   // NAME.key files for the accounts named in the file
  bool dev_keys = false;  // derive keys from account names (examples only)
  bool json = false;      // one JSON object per result instead of text
  std::size_t book_depth = 10;
  // Live mode: the node to submit to; empty for the in-process exchange.
  std::string node_url;
  std::uint64_t expires_in_blocks = 100;  // default expiry, after the block or the node's height
  std::int64_t wait_timeout_ms = 60'000;  // live: the longest wait for one line's finality
};

// Returns a clear error for an unreadable or malformed file; the line number is in the message.
// Live, also for a node that cannot be reached or a line still pending after the wait.
Status run_replay(const ReplayOptions& options, std::ostream& out);

// Adds `--node` and the other options of live mode to the replay subcommand.
void add_live_replay_options(CLI::App& replay, ReplayOptions& options);

}  // namespace ballast::cli
