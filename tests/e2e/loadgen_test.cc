// `ballast loadgen` against a four-validator localnet: a short, bounded open-loop run whose
// report must show that every acknowledged transaction finalized and that the validators agree
// on the state. Throughput and latency are reported, never asserted: they depend on the machine.
#include <gtest/gtest.h>

#include "localnet.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::vector<std::size_t> kAll{0, 1, 2, 3};

TEST(LoadgenTest, AShortOpenLoopRunLosesNothingAcknowledgedAndTheRootsAgree) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s)) << net.describe();

  CommandResult run = run_ballast({"loadgen", "--dir", net.directory(), "--rate", "200",
                                   "--duration", "3", "--drain-timeout", "30", "--json"},
                                  180s);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << net.describe();
  json report = json::parse(run.out);  // with --json, stdout is the report alone
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

}  // namespace
}  // namespace ballast::e2e
