// The shipped example replays, with the results a reader of examples/orders.jsonl expects, and
// the same file always reaches the same state root.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/replay.h"

namespace ballast::cli {
namespace {

const std::string kSource = BALLAST_SOURCE_DIR;

std::vector<nlohmann::json> replay_json(const std::string& orders_path) {
  ReplayOptions options;
  options.orders_path = orders_path;
  options.genesis_path = kSource + "/examples/genesis.json";
  options.dev_keys = true;
  options.json = true;
  std::ostringstream out;
  Status status = run_replay(options, out);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  std::vector<nlohmann::json> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(ReplayTest, ExampleProducesTheDocumentedOutcomes) {
  auto lines = replay_json(kSource + "/examples/orders.jsonl");
  ASSERT_FALSE(lines.empty());
  const nlohmann::json& summary = lines.back();
  ASSERT_TRUE(summary.value("summary", false));
  EXPECT_EQ(summary["fills"], 5);
  EXPECT_EQ(summary["rejected"], 5);
  std::map<std::string, int> rejects;
  for (const auto& line : lines) {
    if (line.contains("reject")) rejects[line["reject"].get<std::string>()] += 1;
  }
  EXPECT_EQ(rejects["would_cross"], 1);
  EXPECT_EQ(rejects["fill_or_kill_not_filled"], 1);
  EXPECT_EQ(rejects["not_order_owner"], 1);
  EXPECT_EQ(rejects["insufficient_balance"], 1);
  EXPECT_EQ(rejects["stale_nonce"], 1);
}

TEST(ReplayTest, SameFileSameRoot) {
  auto first = replay_json(kSource + "/examples/orders.jsonl");
  auto second = replay_json(kSource + "/examples/orders.jsonl");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.back()["state_root"], second.back()["state_root"]);
  EXPECT_EQ(first.back()["state_root"].get<std::string>().size(), 64u);
}

TEST(ReplayTest, MalformedLineIsAnErrorNamingTheLine) {
  auto path = std::filesystem::temp_directory_path() / "ballast-replay-bad.jsonl";
  std::ofstream(path)
      << R"({"account":"alice","action":"place","market":"BTC-USD","side":"buy","price":1,"quantity":100000})"
      << "\n"
      << R"({"account":"alice","action":"place","market":"NOPE","side":"buy"})"
      << "\n";
  ReplayOptions options;
  options.orders_path = path.string();
  options.genesis_path = kSource + "/examples/genesis.json";
  options.dev_keys = true;
  std::ostringstream out;
  Status status = run_replay(options, out);
  std::filesystem::remove(path);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("line 2"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("unknown market"), std::string::npos) << status.message();
}

TEST(ReplayTest, MissingKeysAreAClearError) {
  ReplayOptions options;
  options.orders_path = kSource + "/examples/orders.jsonl";
  options.genesis_path = kSource + "/examples/genesis.json";
  std::ostringstream out;
  Status status = run_replay(options, out);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("--dev-keys"), std::string::npos);
}

}  // namespace
}  // namespace ballast::cli
