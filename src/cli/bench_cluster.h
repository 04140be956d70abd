// `ballast bench cluster`: the network's end-to-end capacity on this machine. It measures the
// signature-verification ceiling (every validator verifies every order once, so the machine
// cannot finalize more than cores x verifications per core per second / validators), starts a
// localnet in a scratch directory, finds the highest offered rate the network sustains, and
// measures submit-to-finalized latency at fractions of that peak (docs/BENCHMARKS.md).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/scratch_localnet.h"

namespace ballast::cli {

struct BenchClusterOptions {
  ScratchLocalnetOptions net;   // 4 validators and 2000 funded traders unless told otherwise
  double search_seconds = 6;    // per offered rate while looking for the peak
  double latency_seconds = 10;  // per latency level
  double ceiling_seconds = 2;   // of signature verification on every core
  std::vector<double> fractions = {0.25, 0.5, 0.9};  // of the peak, for the latency levels
  bool json = false;                                 // a JSON report as the last line
};

Status bench_cluster(const BenchClusterOptions& options, std::ostream& out);

// What the peak search needs of one level it ran.
struct SearchOutcome {
  bool sustained = false;
  double finalized_per_s = 0;
};
// The peak search (docs/CLI.md): from 10% of `ceiling` up by 1.3x while the network sustains the
// rate, a level that falls short run once more before it counts, then once halfway between the
// last sustained rate and the first that was not. Returns the highest finalized rate of a
// sustained level; an error if none was, or if running a level failed.
Result<double> search_peak(double ceiling,
                           const std::function<Result<SearchOutcome>(double rate)>& run_level);

// Schnorr verifications per second per core with `threads` cores verifying at once, made the
// way the verification workers make them: through a cache of decoded keys.
double measure_verifications_per_core(std::size_t threads, double seconds);

void add_bench_command(CLI::App& app);

}  // namespace ballast::cli
