// Short versions of the `ballast chaos` scenarios that must hold today: the report shows the
// fault was injected, nothing acknowledged was lost, and the validators agree on the state.
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
  EXPECT_EQ(report["evidence_against_honest"], 0) << "nobody equivocates in this scenario";
}

std::uint64_t proofs_against(const json& held, std::uint32_t accused) {
  std::uint64_t proofs = 0;
  for (const json& against : held) {
    if (against["validator"] == accused) proofs += against["proofs"].get<std::uint64_t>();
  }
  return proofs;
}

// The last validator equivocates and double-votes throughout: the three honest ones
// keep finalizing (nothing acknowledged is lost, everyone's root agrees, the Byzantine one's
// included since it executes honestly) and each holds evidence against it and nobody else.
TEST(ChaosByzantineTest, HonestValidatorsRecordEvidenceAgainstTheEquivocator) {
  json report = run_scenario("byzantine");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["lost_acknowledged"], 0);
  EXPECT_TRUE(report["state_roots_equal"].get<bool>());
  ASSERT_EQ(report["byzantine_validator"], 3);
  EXPECT_TRUE(report["evidence_recorded"].get<bool>()) << report["evidence"].dump();
  EXPECT_EQ(report["evidence_against_honest"], 0) << report["evidence"].dump();
  ASSERT_EQ(report["evidence"].size(), 4u);
  for (std::uint32_t honest = 0; honest < 3; ++honest) {
    const json& held = report["evidence"][honest];
    EXPECT_EQ(held["validator"], honest);
    ASSERT_TRUE(held["against"].is_array()) << "validator " << honest << " did not answer";
    EXPECT_GT(proofs_against(held["against"], 3), 0u) << "validator " << honest;
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ChaosTest,
                         ::testing::Values("baseline", "slow-validator", "flood-10x"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::erase(name, '-');
                           return name;
                         });

}  // namespace
}  // namespace ballast::e2e
