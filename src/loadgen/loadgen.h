// `ballast loadgen`: open-loop load against live validators. Plans the order flow (workload.h),
// signs it ahead of time on every core, then sends each transaction when it is due whatever
// the answers, follows the finalized blocks of every node, and reports what was achieved:
// finalized throughput, submit-to-finalized latency per priority class, refusals by reason,
// transactions the nodes accepted but never finalized, and whether the nodes' state roots
// agree.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/keys.h"
#include "exchange/genesis.h"
#include "loadgen/http.h"
#include "loadgen/submitter.h"
#include "loadgen/workload.h"

namespace ballast::loadgen {

struct LoadgenOptions {
  std::vector<Endpoint> nodes;
  exchange::Genesis genesis;
  std::vector<SecretKey> accounts;  // funded traders
  WorkloadOptions workload;         // nodes, nonces and expiry are filled in by the run
  SubmitterLimits submitter;
  std::int64_t tick_ms = 1;                // how often due transactions are sent
  std::int64_t drain_timeout_ms = 30'000;  // after the last send, wait this long for finality
  bool quiet = false;                      // no progress lines
  bool keep_traces = false;                // fill LoadReport::traces
  // Sending waits for this moment if it is later than when planning and signing end. The
  // moment may be decided after the run began (a second load generator signs ahead, then waits
  // for the first one's start); nullopt as the value cancels the run: nothing is sent.
  std::optional<std::shared_future<std::optional<std::chrono::steady_clock::time_point>>>
      send_not_before;
  // Called on the calling thread once planning and signing are done, before connecting.
  std::function<void()> on_signed;
  // Called on the load generator's thread when sending starts (after planning and signing).
  std::function<void()> on_sending_started;
};

// One transaction of a run, in microseconds from LoadReport::started.
struct TxTrace {
  std::int64_t sent_us = -1;       // -1: never sent
  std::int64_t finalized_us = -1;  // first seen in a finalized block; -1: never seen
  PriorityClass priority = PriorityClass::kNormal;
  bool accepted = false;  // the node acknowledged it
};

struct LatencySummary {
  std::size_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

struct LoadReport {
  std::uint64_t offered_per_s = 0;
  double duration_s = 0;
  std::size_t planned = 0;
  std::size_t sent = 0;
  std::size_t accepted = 0;
  std::map<std::string, std::size_t> rejected;           // at submission, by reason
  std::map<std::string, std::size_t> not_sent;           // by why (client backlog)
  std::size_t no_answer = 0;                             // connection broke before the answer
  std::size_t finalized = 0;                             // of ours, seen in finalized blocks
  std::map<std::string, std::size_t> execution_rejects;  // finalized but refused in the block
  std::map<std::string, std::size_t> dropped;            // accepted, then left a mempool
  std::size_t lost_acknowledged = 0;              // accepted, and neither finalized nor dropped
  double finalized_per_s = 0;                     // finalized / (last finalization - first send)
  std::map<std::string, LatencySummary> latency;  // per priority class, and "all"
  // Submit-to-acknowledged, the accepted transactions only: what admission took.
  std::map<std::string, LatencySummary> ack_latency;
  // The share of the whole machine's cores busy while sending (this process included): none
  // where the kernel's counters cannot be read.
  std::optional<double> machine_busy;
  std::vector<std::uint64_t> heights;  // per node at the end (0: unreachable)
  bool state_roots_equal = false;
  std::uint64_t compared_height = 0;
  std::chrono::steady_clock::time_point started;  // what the traces count from
  std::vector<TxTrace> traces;                    // with keep_traces, in plan order
};

Result<LoadReport> run_load(const LoadgenOptions& options, std::ostream& progress);

nlohmann::json report_json(const LoadReport& report);
void print_report(const LoadReport& report, std::ostream& out);

// Whether every reachable node has the same state root at the highest height all of them
// remember; the height compared. Waits up to `timeout_ms` for the nodes to reach a common
// height.
struct RootComparison {
  bool equal = false;
  std::uint64_t height = 0;
  std::vector<std::uint64_t> heights;
};
RootComparison compare_state_roots(const std::vector<Endpoint>& nodes, std::int64_t timeout_ms);

// The nodes, genesis and funded trader keys of a localnet directory (ballast localnet init).
struct LocalnetTarget {
  std::vector<Endpoint> nodes;
  exchange::Genesis genesis;
  std::vector<SecretKey> traders;
};
Result<LocalnetTarget> read_localnet(const std::string& dir);

}  // namespace ballast::loadgen
