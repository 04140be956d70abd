// `ballast localnet`: a network of N validators on this machine's loopback interface, ready to
// trade. `init` writes keys, a genesis and one configuration per validator into a directory;
// `start`, `stop` and `status` manage the `ballast node` processes recorded there, and
// `start --supervise` restarts validators that crash (docs/OPERATIONS.md).
//
// It must never signal a process it has not verified to be the recorded validator: a pid file
// can outlive its process and the kernel reuses PIDs, so every PID is checked against
// /proc/PID/cmdline (`node --config <that validator's config>`) and signalled through a pidfd.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace ballast::cli {

struct LocalnetInitOptions {
  std::string dir;
  std::uint32_t validators = 4;
  std::uint32_t traders = 3;  // funded demo accounts, keys in keys/trader-K.key
  std::uint16_t base_port = 27'000;
  bool force = false;    // replace an existing localnet in `dir`
  bool breakers = true;  // false: every market's circuit breakers off, for comparisons
};

struct LocalnetStartOptions {
  std::string dir;
  std::string binary;               // empty: this very program
  std::vector<std::uint32_t> only;  // empty: every validator
  // TEST ONLY: the started validators run `node --byzantine-equivocate` (docs/CHAOS.md).
  bool byzantine_equivocate = false;
  // TEST ONLY: the started validators run `node --test-corrupt-state-at-height N`.
  std::optional<std::uint64_t> corrupt_state_at_height;
  // The started validators stop once this process has exited (`node --exit-with`).
  std::optional<int> exit_with;
  // Stay in the foreground and restart a started validator that exits without `localnet
  // stop`, waiting restart_delay_ms, doubled after each restart up to max_restart_delay_ms
  // (back to the first delay once it has run for stable_after_ms). Returns when `stop` is set
  // or every supervised validator was stopped with `localnet stop`.
  bool supervise = false;
  std::int64_t restart_delay_ms = 500;
  std::int64_t max_restart_delay_ms = 30'000;
  std::int64_t stable_after_ms = 60'000;
  const std::atomic<bool>* stop = nullptr;
};

struct LocalnetStopOptions {
  std::string dir;
  std::vector<std::uint32_t> only;  // empty: every validator
  bool kill = false;                // SIGKILL at once instead of SIGTERM
  std::int64_t grace_ms = 10'000;   // after SIGTERM, wait this long before SIGKILL
};

struct LocalnetStatusOptions {
  std::string dir;
  bool json = false;
  std::int64_t timeout_ms = 1'000;  // per validator API request
};

Status localnet_init(const LocalnetInitOptions& options, std::ostream& out);
Status localnet_start(const LocalnetStartOptions& options, std::ostream& out);
Status localnet_stop(const LocalnetStopOptions& options, std::ostream& out);
// Unreachable validators are part of the report, not an error.
Status localnet_status(const LocalnetStatusOptions& options, std::ostream& out);

// The PID of validator `index` of the localnet in `dir` if its pid file names a live process
// running `node --config` with that validator's configuration. Fails only if processes cannot
// be inspected at all.
Result<std::optional<int>> running_validator_pid(const std::string& dir, std::uint32_t index);

void add_localnet_command(CLI::App& app);

}  // namespace ballast::cli
