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

// Writes `lines` to a temporary order file and returns its path.
std::filesystem::path write_orders(const std::string& name, const std::vector<std::string>& lines) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream file(path);
  for (const std::string& line : lines) file << line << "\n";
  return path;
}

// A trade at 6000, then within a second a buy of an ask more than 3 % higher: a velocity pause;
// 5 s later the auction, 1 s after that the uncross.
std::filesystem::path write_velocity_orders() {
  return write_orders(
      "ballast-replay-breakers.jsonl",
      {R"({"block":1,"time_ms":1000,"account":"alice","action":"place","market":"BTC-USD","side":"sell","price":6000,"quantity":100000})",
       R"({"block":1,"time_ms":1000,"account":"bob","action":"place","market":"BTC-USD","side":"buy","price":6000,"quantity":100000})",
       R"({"time_ms":1500,"account":"alice","action":"place","market":"BTC-USD","side":"sell","price":6250,"quantity":100000})",
       R"({"time_ms":1800,"account":"bob","action":"place","market":"BTC-USD","side":"buy","price":6290,"quantity":100000})",
       R"({"time_ms":6800,"account":"carol","action":"cancel_all"})",
       R"({"time_ms":7800,"account":"carol","action":"cancel_all"})"});
}

TEST(ReplayTest, BlockTimesDriveTheCircuitBreakersAndTheirEventsArePrinted) {
  auto path = write_velocity_orders();
  auto lines = replay_json(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(lines.empty());
  std::vector<std::string> transitions;
  int auction_fills = 0;
  for (const auto& line : lines) {
    if (line.contains("market_event")) {
      transitions.push_back(line["market_event"]["to"].get<std::string>() + ":" +
                            line["market_event"]["reason"].get<std::string>());
    }
    if (line.contains("auction_event")) {
      auction_fills += 1;
      EXPECT_EQ(line["auction_event"]["price"], 6250);
    }
  }
  EXPECT_EQ(transitions, (std::vector<std::string>{"paused:velocity", "auction:pause_ended",
                                                   "open:auction_completed"}));
  EXPECT_EQ(auction_fills, 1);
  const nlohmann::json& summary = lines.back();
  EXPECT_EQ(summary["fills"], 2);
  EXPECT_EQ(summary["markets"][0]["state"], "open");
  EXPECT_EQ(summary["markets"][0]["reference_price"], 6250);
  EXPECT_EQ(summary["markets"][0]["velocity_pauses"], 1);
}

TEST(ReplayTest, TextOutputShowsMarketStatesAndAuctionFills) {
  auto path = write_velocity_orders();
  ReplayOptions options;
  options.orders_path = path.string();
  options.genesis_path = kSource + "/examples/genesis.json";
  options.dev_keys = true;
  std::ostringstream out;
  Status status = run_replay(options, out);
  std::filesystem::remove(path);
  ASSERT_TRUE(status.is_ok()) << status.to_string();
  const std::string text = out.str();
  for (const char* expected :
       {"block 3 at 1800 ms", "MARKET BTC-USD open -> paused (velocity) by line 4 until 6800 ms",
        "MARKET BTC-USD paused -> auction (pause_ended)",
        "MARKET BTC-USD auction -> open (auction_completed) clearing 100000 @ 6250",
        "AUCTION FILL BTC-USD 100000 @ 6250  maker alice", "book BTC-USD (open, reference 6250"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
}

TEST(ReplayTest, BlockTimeGoingBackIsAnErrorNamingTheLine) {
  auto path = write_orders("ballast-replay-time.jsonl",
                           {R"({"time_ms":5000,"account":"alice","action":"cancel_all"})",
                            R"({"time_ms":4000,"account":"alice","action":"cancel_all"})"});
  ReplayOptions options;
  options.orders_path = path.string();
  options.genesis_path = kSource + "/examples/genesis.json";
  options.dev_keys = true;
  std::ostringstream out;
  Status status = run_replay(options, out);
  std::filesystem::remove(path);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("line 2"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("time_ms"), std::string::npos) << status.message();
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
