// `ballast loadgen` against a four-validator localnet: a short, bounded open-loop run whose
// report must show that every acknowledged transaction finalized and that the validators agree
// on the state. Throughput and latency are reported, never asserted: they depend on the machine.
#include "loadgen/loadgen.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <sstream>
#include <thread>

#include "localnet.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::vector<std::size_t> kAll{0, 1, 2, 3};

// Starts `net`, runs `ballast loadgen --json` against it and returns the report (null if
// something failed, with the test failed and told why).
json started_and_loaded(Localnet& net, const std::string& rate, const std::string& duration) {
  net.start();
  if (!net.wait_for_height(kAll, 2, 60s)) {
    ADD_FAILURE() << net.describe();
    return nullptr;
  }
  CommandResult run = run_ballast({"loadgen", "--dir", net.directory(), "--rate", rate,
                                   "--duration", duration, "--drain-timeout", "30", "--json"},
                                  180s);
  if (run.exit_code != 0) {
    ADD_FAILURE() << run.out << run.err << net.describe();
    return nullptr;
  }
  return json::parse(run.out);  // with --json, stdout is the report alone
}

TEST(LoadgenTest, AShortOpenLoopRunLosesNothingAcknowledgedAndTheRootsAgree) {
  Localnet net(4);
  json report = started_and_loaded(net, "200", "3");
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["sent"], 600) << "open loop: everything planned is sent";
  EXPECT_EQ(report["accepted"], report["sent"]);
  EXPECT_EQ(report["finalized"], report["accepted"]);
  EXPECT_EQ(report["lost_acknowledged"], 0);
  EXPECT_TRUE(report["state_roots_equal"].get<bool>());
  for (const char* priority : {"cancel", "high_fee", "normal"}) {
    EXPECT_GT(report["latency"][priority]["count"].get<std::size_t>(), 0u)
        << "the mix has " << priority << " transactions";
  }
  // Submit-to-acknowledged covers every accepted transaction.
  EXPECT_EQ(report["ack_latency"]["all"]["count"], report["accepted"]);
  // How busy the machine was while sending: the validators and this load generator ran on it.
  ASSERT_TRUE(report["machine_busy"].is_number()) << report["machine_busy"];
  EXPECT_GT(report["machine_busy"].get<double>(), 0.0);
  EXPECT_LE(report["machine_busy"].get<double>(), 1.0);
}

// Verification lanes of one batch each: validators drop much of each other's gossip (and
// refuse clients `overloaded`). A validator that dropped a trader's order must not include that
// trader's later ones first, or the dropped one, acknowledged by its own validator, would be
// stale everywhere (docs/MEMPOOL.md "Holds").
TEST(LoadgenTest, ValidatorsDroppingGossipLoseNothingAcknowledged) {
  Localnet net(4, [](json& config) {
    config["verify_queue_jobs"] = 1;
    config["ingress"]["breaker_multiple"] = 0;  // the refusals are the lanes' alone
  });
  json report = started_and_loaded(net, "600", "4");
  ASSERT_FALSE(report.is_null());
  std::uint64_t dropped_gossip = 0;
  for (std::size_t validator : kAll) {
    dropped_gossip += net.status(validator).value()["gossip_missing"].get<std::uint64_t>();
  }
  EXPECT_GT(dropped_gossip, 0u) << "the lanes were meant to overflow";
  EXPECT_GT(report["accepted"].get<std::uint64_t>(), 0u);
  // Without the holds every such run dropped acknowledged orders as "nonce N was used by
  // another transaction" (19 in one).
  EXPECT_TRUE(report["dropped"].empty()) << report["dropped"];
  EXPECT_EQ(report["finalized"], report["accepted"]);
  EXPECT_EQ(report["lost_acknowledged"], 0);
  EXPECT_TRUE(report["state_roots_equal"].get<bool>());
}

// A load generator told to send at a moment decided later (as `ballast chaos` prepares its
// flood before the steady flow, so that signing the flood does not weigh on the baseline):
// it signs, says so, and sends nothing until the moment is set and has come; a moment of
// "never" ends it without sending.
class DeferredLoad {
 public:
  DeferredLoad(const loadgen::LocalnetTarget& target, std::uint64_t seed) {
    options_.nodes = target.nodes;
    options_.genesis = target.genesis;
    options_.accounts = target.traders;
    options_.workload.rate_per_s = 100;
    options_.workload.duration_ms = 1'000;
    options_.workload.seed = seed;
    options_.quiet = true;
    options_.send_not_before = send_at_.get_future().share();
    options_.on_signed = [this] { signed_.set_value(); };
    options_.on_sending_started = [this] {
      sending_started_at_ = std::chrono::steady_clock::now();
      sending_ = true;
    };
    std::future<void> signed_future = signed_.get_future();
    report_ =
        std::async(std::launch::async, [this] { return loadgen::run_load(options_, progress_); });
    signed_in_time_ = signed_future.wait_for(120s) == std::future_status::ready;
  }

  bool signed_in_time() const { return signed_in_time_; }
  bool sending() const { return sending_; }
  std::chrono::steady_clock::time_point sending_started_at() const { return sending_started_at_; }
  Result<loadgen::LoadReport> finish(std::optional<std::chrono::steady_clock::time_point> at) {
    send_at_.set_value(at);
    return report_.get();
  }

 private:
  loadgen::LoadgenOptions options_;
  std::promise<std::optional<std::chrono::steady_clock::time_point>> send_at_;
  std::promise<void> signed_;
  std::atomic<bool> sending_{false};
  std::chrono::steady_clock::time_point sending_started_at_;
  std::ostringstream progress_;
  std::future<Result<loadgen::LoadReport>> report_;
  bool signed_in_time_ = false;
};

TEST(LoadgenTest, ALoadToldToSendLaterSignsAheadAndSendsOnlyFromThatMoment) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s)) << net.describe();
  auto target = loadgen::read_localnet(net.directory());
  ASSERT_TRUE(target.is_ok()) << target.status().to_string();

  DeferredLoad later(*target, 1);
  ASSERT_TRUE(later.signed_in_time());
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(later.sending()) << "signed and connected, but the moment is not set yet";
  const auto moment = std::chrono::steady_clock::now() + 300ms;
  auto report = later.finish(moment);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_GE(later.sending_started_at(), moment);
  EXPECT_EQ(report->sent, 100u);
  EXPECT_EQ(report->lost_acknowledged, 0u);

  DeferredLoad never(*target, 2);
  ASSERT_TRUE(never.signed_in_time());
  auto cancelled = never.finish(std::nullopt);
  ASSERT_TRUE(cancelled.is_ok()) << cancelled.status().to_string();
  EXPECT_FALSE(never.sending());
  EXPECT_EQ(cancelled->sent, 0u);
}

}  // namespace
}  // namespace ballast::e2e
