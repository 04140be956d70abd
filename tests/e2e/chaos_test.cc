// Short versions of every `ballast chaos` scenario: the report shows the fault was injected,
// nothing acknowledged was lost, and the validators agree on the state.
// Timings (time to recovery, latency) are printed by the command, never asserted here.
#include <gtest/gtest.h>

#include "localnet.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json run_scenario(const std::string& scenario) {
  PortBlock ports = claim_port_block(4);
  CommandResult run =
      run_ballast({"chaos", "--scenario", scenario, "--baseline", "2", "--fault", "3", "--recovery",
                   "2", "--traders", "200", "--base-port", std::to_string(ports.base()), "--json"},
                  300s);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  json report = json::parse(run.out, nullptr, false);
  EXPECT_FALSE(report.is_discarded()) << run.out << run.err;
  return report;
}

class ChaosTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ChaosTest, NothingAcknowledgedIsLostAndTheRootsAgree) {
  json report = run_scenario(GetParam());
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["scenario"], GetParam());
  EXPECT_EQ(report["lost_acknowledged"], 0);
  EXPECT_TRUE(report["state_roots_equal"].get<bool>());
  EXPECT_EQ(report["phases"].size(), 3u);
  if (GetParam() != "baseline") {
    EXPECT_FALSE(report["faults"].empty()) << "the fault was injected";
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ChaosTest,
                         ::testing::Values("baseline", "slow-validator", "flood-10x", "flood-100x",
                                           "leader-crash", "crash-f", "restart-all", "partition"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::erase(name, '-');
                           return name;
                         });

}  // namespace
}  // namespace ballast::e2e
