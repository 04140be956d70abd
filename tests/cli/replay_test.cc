// The shipped example replays, with the results a reader of examples/orders.jsonl expects, and
// the same file always reaches the same state root; integer fields are read as the format says;
// live mode signs with the node's nonces and prints the node's answers (against a fake node).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/replay.h"
#include "exchange/transaction.h"
#include "fake_node.h"

namespace ballast::cli {
namespace {

const std::string kSource = BALLAST_SOURCE_DIR;

using nlohmann::json;

std::vector<nlohmann::json> parse_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// A temporary order file, removed when the test ends. Its name is unique to this process and
// file so that tests running in parallel (ctest -j, or two build trees) never share one.
class OrderFile {
 public:
  explicit OrderFile(const std::string& text) : path_(unique_path()) {
    std::ofstream(path_) << text;
  }
  explicit OrderFile(const std::vector<std::string>& lines) : path_(unique_path()) {
    std::ofstream file(path_);
    for (const std::string& line : lines) file << line << "\n";
  }
  OrderFile(const OrderFile&) = delete;
  OrderFile& operator=(const OrderFile&) = delete;
  ~OrderFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static std::filesystem::path unique_path() {
    static int files_made = 0;
    files_made += 1;
    return std::filesystem::temp_directory_path() /
           ("ballast-orders-" + std::to_string(::getpid()) + "-" + std::to_string(files_made) +
            ".jsonl");
  }

  std::filesystem::path path_;
};

ReplayOptions example_options(const std::string& orders_path) {
  ReplayOptions options;
  options.orders_path = orders_path;
  options.genesis_path = kSource + "/examples/genesis.json";
  options.dev_keys = true;
  options.json = true;
  return options;
}

std::vector<nlohmann::json> replay_json(const std::string& orders_path) {
  std::ostringstream out;
  Status status = run_replay(example_options(orders_path), out);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  return parse_lines(out.str());
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

// A trade at 6000, then within a second a buy of an ask more than 3 % higher: a velocity pause;
// 5 s later the auction, 1 s after that the uncross.
std::vector<std::string> velocity_orders() {
  return {
      R"({"block":1,"time_ms":1000,"account":"alice","action":"place","market":"BTC-USD","side":"sell","price":6000,"quantity":100000})",
      R"({"block":1,"time_ms":1000,"account":"bob","action":"place","market":"BTC-USD","side":"buy","price":6000,"quantity":100000})",
      R"({"time_ms":1500,"account":"alice","action":"place","market":"BTC-USD","side":"sell","price":6250,"quantity":100000})",
      R"({"time_ms":1800,"account":"bob","action":"place","market":"BTC-USD","side":"buy","price":6290,"quantity":100000})",
      R"({"time_ms":6800,"account":"carol","action":"cancel_all"})",
      R"({"time_ms":7800,"account":"carol","action":"cancel_all"})"};
}

TEST(ReplayTest, BlockTimesDriveTheCircuitBreakersAndTheirEventsArePrinted) {
  OrderFile file(velocity_orders());
  auto lines = replay_json(file.path());
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
  OrderFile file(velocity_orders());
  ReplayOptions options;
  options.orders_path = file.path();
  options.genesis_path = kSource + "/examples/genesis.json";
  options.dev_keys = true;
  std::ostringstream out;
  Status status = run_replay(options, out);
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
  OrderFile file(
      std::vector<std::string>{R"({"time_ms":5000,"account":"alice","action":"cancel_all"})",
                               R"({"time_ms":4000,"account":"alice","action":"cancel_all"})"});
  ReplayOptions options;
  options.orders_path = file.path();
  options.genesis_path = kSource + "/examples/genesis.json";
  options.dev_keys = true;
  std::ostringstream out;
  Status status = run_replay(options, out);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("line 2"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("time_ms"), std::string::npos) << status.message();
}

TEST(ReplayTest, MalformedLineIsAnErrorNamingTheLine) {
  OrderFile file(std::vector<std::string>{
      R"({"account":"alice","action":"place","market":"BTC-USD","side":"buy","price":1,"quantity":100000})",
      R"({"account":"alice","action":"place","market":"NOPE","side":"buy"})"});
  ReplayOptions options;
  options.orders_path = file.path();
  options.genesis_path = kSource + "/examples/genesis.json";
  options.dev_keys = true;
  std::ostringstream out;
  Status status = run_replay(options, out);
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

TEST(ReplayTest, IntegerFieldsAcceptDecimalStringsAndRefuseAnythingElse) {
  OrderFile good(R"({"account":"alice","action":"cancel_all","nonce":"7","fee":"2"})"
                 "\n");
  auto lines = replay_json(good.path());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["accepted"], true) << lines[0].dump();

  for (const char* bad : {R"({"account":"alice","action":"cancel_all","nonce":"x"})",
                          R"({"account":"alice","action":"cancel_all","nonce":-1})",
                          R"({"account":"alice","action":"cancel_all","fee":true})",
                          R"({"account":"alice","action":"cancel_all","expiry_height":1.5})"}) {
    OrderFile file(std::string(bad) + "\n");
    std::ostringstream out;
    Status status = run_replay(example_options(file.path()), out);
    ASSERT_FALSE(status.is_ok()) << bad;
    EXPECT_NE(status.message().find("line 1: field"), std::string::npos) << status.message();
  }
}

// The node of a live replay: the example genesis, alice has used nonce 4, every transaction
// is finalized and accepted.
class LiveReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto genesis = exchange::load_genesis_file(kSource + "/examples/genesis.json");
    ASSERT_TRUE(genesis.is_ok());
    node_.answer("/v1/markets", 200, client::testing::markets_answer(*genesis));
    node_.answer("/v1/status", 200, json{{"height", 10}});
    node_.answer("/v1/accounts/", 200, json{{"nonce", 4}});
  }

  client::testing::FakeNode node_;
};

TEST_F(LiveReplayTest, SignsWithTheNodesNoncesAndPrintsOneAnswerPerLine) {
  json result = {
      {"tx_id", "ab"}, {"accepted", true}, {"events", json::array({{{"event", "fill"}}})}};
  node_.answer("/v1/tx", 200,
               json{{"status", "finalized"}, {"hash", "ab"}, {"height", 12}, {"result", result}});
  node_.answer("/v1/tx", 409,
               json{{"status", "rejected"},
                    {"code", "failed_precondition"},
                    {"reason", "fee_too_low"},
                    {"message", "fee 0 is below 1"}});
  OrderFile file(
      R"({"block":1,"account":"alice","action":"place","market":"BTC-USD","side":"buy","price":6000,"quantity":100000})"
      "\n# a comment\n"
      R"({"block":1,"account":"alice","action":"cancel_all","fee":0})"
      "\n");
  ReplayOptions options = example_options(file.path());
  options.node_url = node_.url();
  std::ostringstream out;
  Status status = run_replay(options, out);
  ASSERT_TRUE(status.is_ok()) << status.to_string();
  auto lines = parse_lines(out.str());
  ASSERT_EQ(lines.size(), 3u) << out.str();
  EXPECT_EQ(lines[0]["line"], 1);
  EXPECT_EQ(lines[0]["account"], "alice");
  EXPECT_EQ(lines[0]["status"], "finalized");
  EXPECT_EQ(lines[0]["result"]["accepted"], true);
  EXPECT_EQ(lines[1]["line"], 3);
  EXPECT_EQ(lines[1]["reason"], "fee_too_low");
  EXPECT_EQ(lines[2], (json{{"summary", true},
                            {"node", node_.url()},
                            {"height", 12},
                            {"accepted", 1},
                            {"rejected", 0},
                            {"refused", 1},
                            {"fills", 1}}));
  auto txs = node_.transactions();
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].nonce, 5u);  // after the node's last used nonce, then one per line
  EXPECT_EQ(txs[1].nonce, 6u);
  EXPECT_EQ(txs[0].expiry_height, 10u + 100);  // the node's height + the default 100
  EXPECT_EQ(txs[1].expiry_height, 12u + 100);  // the height the previous line reached
  EXPECT_EQ(txs[1].fee, 0);
}

TEST_F(LiveReplayTest, ALineStillPendingStopsTheReplay) {
  node_.answer("/v1/tx", 202, json{{"status", "pending"}, {"hash", "ab"}, {"timed_out", true}});
  OrderFile file(R"({"account":"alice","action":"cancel_all"})"
                 "\n"
                 R"({"account":"alice","action":"cancel_all"})"
                 "\n");
  ReplayOptions options = example_options(file.path());
  options.node_url = node_.url();
  options.wait_timeout_ms = 1;
  std::ostringstream out;
  Status status = run_replay(options, out);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("line 1: transaction"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("still pending"), std::string::npos) << status.message();
  // Only line 1 was sent (asked again while pending), never line 2.
  std::set<std::string> ids;
  for (const auto& tx : node_.transactions()) ids.insert(tx.id().hex());
  EXPECT_EQ(ids.size(), 1u);
}

TEST(LiveReplayUrlTest, AnUnreachableNodeIsNamed) {
  std::string url;
  {
    client::testing::FakeNode gone;
    url = gone.url();
  }
  ReplayOptions options = example_options(kSource + "/examples/orders.jsonl");
  options.node_url = url;
  std::ostringstream out;
  Status status = run_replay(options, out);
  EXPECT_NE(status.message().find("cannot connect to " + url), std::string::npos)
      << status.to_string();
}

}  // namespace
}  // namespace ballast::cli
