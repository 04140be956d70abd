// The node's counters and histograms, and the Prometheus text exposition format they are served
// in (GET /metrics). Counting is lock-free where it is hot (atomics); the open-ended label sets
// (rejection reasons) take a mutex. Rendering reads a consistent-enough view without stopping
// anyone.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ballast::node {

// Writes metric families in the Prometheus text format (version 0.0.4).
class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // Starts a family: "# HELP" and "# TYPE" lines. type: counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, double value, const Labels& labels = {});
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Cumulative buckets over milliseconds, exposed in seconds as Prometheus expects.
class LatencyHistogram {
 public:
  static constexpr std::array<std::int64_t, 14> kBoundsMs = {
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000};
  void observe(std::int64_t milliseconds);
  void render(PrometheusText& out, std::string_view name, std::string_view help) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBoundsMs.size() + 1> buckets_{};  // last: +Inf
  std::atomic<std::uint64_t> sum_ms_{0};
};

// Counts by a label value that is not known in advance (a rejection reason).
class LabeledCounter {
 public:
  void add(std::string_view label, std::uint64_t amount = 1);
  std::map<std::string, std::uint64_t> values() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t, std::less<>> values_;
};

struct NodeMetrics {
  explicit NodeMetrics(std::size_t markets) : trades(markets), traded_quantity(markets) {}

  LatencyHistogram finalization_latency;  // block timestamp to finalized here
  std::atomic<std::uint64_t> blocks_finalized{0};
  std::atomic<std::uint64_t> consensus_verifications{0};  // votes, proposals, certificates
  std::atomic<std::uint64_t> block_verifications{0};      // block transactions not verified before
  std::atomic<std::uint64_t> chain_syncs{0};              // of the chain's log, before votes leave
  std::atomic<std::uint64_t> chain_sync_us{0};            // time spent in those syncs
  std::atomic<std::uint64_t> transactions_accepted{0};    // admitted to the mempool from clients
  LabeledCounter transactions_rejected;                   // refused at submission, by reason
  std::atomic<std::uint64_t> transactions_dropped{0};     // left the mempool unincluded
  std::vector<std::atomic<std::uint64_t>> trades;         // per market
  std::vector<std::atomic<std::uint64_t>> traded_quantity;  // per market, base units
  std::atomic<std::uint64_t> http_requests{0};
  LabeledCounter http_errors;  // by status code
  std::atomic<std::uint64_t> stream_sessions{0};
  std::atomic<std::uint64_t> stream_slow_consumers_dropped{0};
};

}  // namespace ballast::node
