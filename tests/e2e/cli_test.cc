// The trader's surface against real validators: `ballast tx` and `ballast orders replay --node`
// run as processes against a four-validator localnet, signing with the trader keys that
// `localnet init` wrote. Outcomes are checked through the API; conditions are awaited with
// generous timeouts, never timed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "localnet.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::vector<std::size_t> kAll{0, 1, 2, 3};

// A started four-validator localnet and the paths a trader's command line needs.
class TraderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net_.start();
    ASSERT_TRUE(net_.wait_for_height(kAll, 2, 60s)) << net_.describe();
  }

  std::string node_url(std::size_t validator) const {
    return "http://127.0.0.1:" + std::to_string(net_.api_port(validator));
  }
  std::string genesis_path() const { return net_.directory() + "/genesis.json"; }
  std::string key_path(std::size_t trader) const {
    return net_.directory() + "/keys/trader-" + std::to_string(trader) + ".key";
  }

  // `ballast tx KIND` as trader 0 through validator 0, plus `extra` options.
  CommandResult tx(const std::string& kind, std::vector<std::string> extra) const {
    std::vector<std::string> arguments{"tx",    kind,        "--node",    node_url(0),
                                       "--key", key_path(0), "--genesis", genesis_path()};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return run_ballast(arguments);
  }

  json account(std::size_t validator, std::size_t trader) const {
    HttpReply reply = http_request(net_.api_port(validator), "GET",
                                   "/v1/accounts/" + net_.trader(trader).public_key().hex());
    EXPECT_EQ(reply.status, 200u) << reply.body.dump();
    return reply.body;
  }

  Localnet net_{4};
};

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  return lines;
}

std::vector<json> events_named(const json& result, const std::string& name) {
  std::vector<json> found;
  for (const json& event : result["events"]) {
    if (event["event"] == name) found.push_back(event);
  }
  return found;
}

TEST_F(TraderTest, AnOrderPlacedAndCancelledWithWaitLeavesNoOpenOrder) {
  CommandResult placed =
      tx("order", {"--market", "BTC-USD", "--side", "buy", "--price", "5000", "--quantity",
                   "100000", "--client-order-id", "11", "--wait", "--json"});
  ASSERT_EQ(placed.exit_code, 0) << placed.out << placed.err;
  json answer = json::parse(placed.out);
  EXPECT_EQ(answer["status"], "finalized") << answer.dump();
  ASSERT_EQ(answer["result"]["accepted"], true) << answer.dump();
  std::vector<json> rested = events_named(answer["result"], "rested");
  ASSERT_EQ(rested.size(), 1u) << answer.dump();
  std::uint64_t order_id = rested[0]["order_id"].get<std::uint64_t>();
  json open = account(0, 0)["open_orders"];
  ASSERT_EQ(open.size(), 1u) << open.dump();
  EXPECT_EQ(open[0]["order_id"], order_id);
  EXPECT_EQ(open[0]["client_order_id"], 11);

  CommandResult cancelled = tx("cancel", {"--order-id", std::to_string(order_id), "--wait"});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.out << cancelled.err;
  EXPECT_NE(cancelled.out.find("finalized "), std::string::npos) << cancelled.out;
  EXPECT_NE(cancelled.out.find(": accepted"), std::string::npos) << cancelled.out;
  EXPECT_NE(cancelled.out.find("cancelled "), std::string::npos) << cancelled.out;
  EXPECT_NE(cancelled.out.find("order_id=" + std::to_string(order_id)), std::string::npos)
      << cancelled.out;
  EXPECT_NE(cancelled.out.find("reason=requested"), std::string::npos) << cancelled.out;
  EXPECT_TRUE(account(0, 0)["open_orders"].empty());
  // Every validator executes the same blocks: the order is gone everywhere.
  for (std::size_t validator : kAll) {
    EXPECT_TRUE(wait_until([&] { return account(validator, 0)["open_orders"].empty(); }, 60s))
        << "validator " << validator << ": " << account(validator, 0).dump();
  }
  // Without --wait the answer is the accepted hash.
  CommandResult unwaited = tx("cancel-all", {"--market", "BTC-USD"});
  ASSERT_EQ(unwaited.exit_code, 0) << unwaited.out << unwaited.err;
  EXPECT_EQ(unwaited.out.rfind("accepted ", 0), 0u) << unwaited.out;
}

TEST_F(TraderTest, ReplayingAnOrderFileTradesBetweenTwoTraders) {
  std::string path = net_.directory() + "/orders.jsonl";
  std::ofstream(path)
      << "# trader-0 offers 0.002 BTC; trader-1 takes it in two orders\n"
      << R"({"account":"trader-0","action":"place","market":"BTC-USD","side":"sell","price":6000,"quantity":200000,"client_order_id":1})"
      << "\n"
      << R"({"account":"trader-1","action":"place","market":"BTC-USD","side":"buy","price":6000,"quantity":100000})"
      << "\n"
      << R"({"account":"trader-1","action":"place","market":"BTC-USD","side":"buy","price":6100,"quantity":100000,"time_in_force":"ioc"})"
      << "\n"
      << "# the offer is filled: there is nothing left to cancel\n"
      << R"({"account":"trader-0","action":"cancel","client_order_id":1})"
      << "\n";
  CommandResult replay = run_ballast({"orders", "replay", path, "--node", node_url(1), "--genesis",
                                      genesis_path(), "--keys", net_.directory() + "/keys"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  std::vector<json> lines = json_lines(replay.out);
  ASSERT_EQ(lines.size(), 5u) << replay.out;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(lines[i]["status"], "finalized") << lines[i].dump();
  }
  EXPECT_EQ(lines[0]["line"], 2);
  EXPECT_EQ(events_named(lines[0]["result"], "rested").size(), 1u) << lines[0].dump();
  std::string maker = net_.trader(0).public_key().hex();
  std::string taker = net_.trader(1).public_key().hex();
  for (std::size_t i : {1, 2}) {
    EXPECT_EQ(lines[i]["account"], "trader-1");
    std::vector<json> fills = events_named(lines[i]["result"], "fill");
    ASSERT_EQ(fills.size(), 1u) << lines[i].dump();
    EXPECT_EQ(fills[0]["maker"], maker);
    EXPECT_EQ(fills[0]["taker"], taker);
    EXPECT_EQ(fills[0]["price"], 6000);  // the maker's price, also for the higher IOC bid
    EXPECT_EQ(fills[0]["quantity"], 100000);
  }
  EXPECT_EQ(lines[3]["line"], 6);
  EXPECT_EQ(lines[3]["result"]["accepted"], false);
  EXPECT_EQ(lines[3]["result"]["reject"], "order_not_found") << lines[3].dump();
  EXPECT_EQ(lines[4]["summary"], true);
  EXPECT_EQ(lines[4]["fills"], 2);
  EXPECT_EQ(lines[4]["accepted"], 3);
  EXPECT_EQ(lines[4]["rejected"], 1);
  HttpReply trades = http_request(net_.api_port(1), "GET", "/v1/trades/BTC-USD");
  ASSERT_EQ(trades.status, 200u);
  EXPECT_EQ(trades.body["trades"].size(), 2u) << trades.body.dump();
}

TEST_F(TraderTest, RefusalsPrintAClearErrorAndExitNonZero) {
  // A market the network does not trade: caught before anything is signed.
  CommandResult unknown_market = tx(
      "order", {"--market", "DOGE-USD", "--side", "buy", "--price", "1", "--quantity", "100000"});
  EXPECT_NE(unknown_market.exit_code, 0);
  EXPECT_NE(unknown_market.err.find("unknown market \"DOGE-USD\""), std::string::npos)
      << unknown_market.err;

  // A genesis of another chain: the signature covers the chain id, so the node refuses it.
  std::ifstream genesis_file(genesis_path());
  json genesis = json::parse(genesis_file);
  genesis["chain_id"] = "another-chain";
  std::string other_genesis = net_.directory() + "/other-genesis.json";
  std::ofstream(other_genesis) << genesis.dump(2);
  CommandResult bad_signature = run_ballast({"tx", "cancel-all", "--node", node_url(2), "--key",
                                             key_path(0), "--genesis", other_genesis});
  EXPECT_EQ(bad_signature.exit_code, 1);
  EXPECT_NE(
      bad_signature.err.find("refused by " + node_url(2) + ": permission_denied: bad_signature"),
      std::string::npos)
      << bad_signature.err;

  // A key with no account.
  std::string stranger = net_.directory() + "/stranger.key";
  ASSERT_EQ(run_ballast({"keygen", "--out", stranger}).exit_code, 0);
  CommandResult unknown_sender = run_ballast({"tx", "cancel-all", "--node", node_url(0), "--key",
                                              stranger, "--genesis", genesis_path(), "--json"});
  EXPECT_EQ(unknown_sender.exit_code, 1);
  json refusal = json::parse(unknown_sender.out);
  EXPECT_EQ(refusal["status"], "rejected");
  EXPECT_EQ(refusal["reason"], "unknown_sender") << refusal.dump();

  // No node there.
  std::string nowhere = "http://127.0.0.1:" + std::to_string(net_.api_port(50));
  CommandResult unreachable = run_ballast(
      {"tx", "cancel-all", "--node", nowhere, "--key", key_path(0), "--genesis", genesis_path()});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("cannot connect to " + nowhere), std::string::npos)
      << unreachable.err;
}

}  // namespace
}  // namespace ballast::e2e
