// `ballast tx`: how options become a transaction body, what is signed and sent, and how the
// node's answers become output and exit codes (against a fake node; tests/e2e runs the real
// thing).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "cli/tx_command.h"
#include "crypto/keys.h"
#include "exchange/transaction.h"
#include "fake_node.h"

namespace ballast::cli {
namespace {

namespace fs = std::filesystem;
using client::testing::FakeNode;
using nlohmann::json;

const std::string kGenesis = std::string(BALLAST_SOURCE_DIR) + "/examples/genesis.json";

json rejection(const std::string& code, const std::string& reason, const std::string& message) {
  return {{"status", "rejected"}, {"code", code}, {"reason", reason}, {"message", message}};
}

TxBodyOptions limit_order() {
  TxBodyOptions body;
  body.action = "place";
  body.market = "BTC-USD";
  body.side = "buy";
  body.price = 6000;
  body.quantity = 100000;
  return body;
}

// A key file for "alice" (mode 0600) and a fake node that knows the example genesis.
class TxCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() / ("ballast-tx-test-" + std::to_string(::getpid()));
    fs::remove_all(directory_);
    fs::create_directories(directory_);
    key_path_ = (directory_ / "alice.key").string();
    ASSERT_TRUE(write_key_file(key_path_, SecretKey::insecure_from_seed("alice")).is_ok());
    auto genesis = exchange::load_genesis_file(kGenesis);
    ASSERT_TRUE(genesis.is_ok());
    genesis_ = std::move(genesis).value();
    node_.answer("/v1/markets", 200, client::testing::markets_answer(genesis_));
    node_.answer("/v1/status", 200, json{{"height", 40}});
    node_.answer("/v1/accounts/", 200, json{{"nonce", 6}});
  }
  void TearDown() override { fs::remove_all(directory_); }

  TxOptions options() const {
    TxOptions options;
    options.key_path = key_path_;
    options.genesis_path = kGenesis;
    options.node_url = node_.url();
    return options;
  }

  int run(const TxOptions& options, const TxBodyOptions& body) {
    out_.str("");
    err_.str("");
    return run_tx(options, body, out_, err_);
  }

  fs::path directory_;
  std::string key_path_;
  exchange::Genesis genesis_;
  FakeNode node_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST(TxBodyTest, OptionsBecomeTheOrderFileFields) {
  TxBodyOptions body = limit_order();
  body.time_in_force = "ioc";
  body.self_trade_prevention = "cancel_both";
  body.client_order_id = 7;
  body.post_only = true;
  auto object = tx_body_object(body);
  ASSERT_TRUE(object.is_ok()) << object.status().to_string();
  EXPECT_EQ(*object, (json{{"action", "place"},
                           {"market", "BTC-USD"},
                           {"side", "buy"},
                           {"time_in_force", "ioc"},
                           {"self_trade_prevention", "cancel_both"},
                           {"price", 6000},
                           {"quantity", 100000},
                           {"client_order_id", 7},
                           {"post_only", true}}));
  // A market order's price is its protection price.
  body = limit_order();
  body.type = "market";
  object = tx_body_object(body);
  ASSERT_TRUE(object.is_ok());
  EXPECT_EQ((*object)["protection_price"], 6000);
  EXPECT_FALSE(object->contains("price"));
}

TEST(TxBodyTest, OptionsThatDoNotFitTheActionAreRefusedByName) {
  TxBodyOptions cancel;
  cancel.action = "cancel";
  EXPECT_NE(tx_body_object(cancel).status().message().find("--order-id"), std::string::npos);
  cancel.order_id = 1;
  cancel.client_order_id = 2;
  EXPECT_FALSE(tx_body_object(cancel).is_ok());
  cancel.client_order_id.reset();
  EXPECT_EQ(*tx_body_object(cancel), (json{{"action", "cancel"}, {"order_id", 1}}));

  TxBodyOptions replace;
  replace.action = "replace";
  replace.client_order_id = 3;
  EXPECT_NE(tx_body_object(replace).status().message().find("--price and/or --quantity"),
            std::string::npos);

  TxBodyOptions order = limit_order();
  order.quantity.reset();
  EXPECT_NE(tx_body_object(order).status().message().find("--quantity"), std::string::npos);

  TxBodyOptions transfer;
  transfer.action = "transfer";
  transfer.to = std::string(64, 'a');
  EXPECT_NE(tx_body_object(transfer).status().message().find("--asset"), std::string::npos);

  TxBodyOptions all;
  all.action = "cancel_all";
  EXPECT_EQ(*tx_body_object(all), (json{{"action", "cancel_all"}}));
}

TEST(TxCliTest, UnknownChoicesAreRefusedBeforeAnythingRuns) {
  CLI::App app;
  add_tx_command(app);
  EXPECT_THROW(app.parse("tx order --key k --genesis g --market BTC-USD --side up --price 1 "
                         "--quantity 1"),
               CLI::ValidationError);
  EXPECT_THROW(app.parse("tx order --key k --genesis g --market BTC-USD --side buy --price -5 "
                         "--quantity 1"),
               CLI::ParseError);
  EXPECT_THROW(app.parse("tx cancel --genesis g --order-id 1"), CLI::RequiredError);
}

TEST_F(TxCommandTest, SignsWithTheNodesNonceAndHeightAndPrintsTheHash) {
  node_.answer("/v1/tx", 202, json{{"status", "accepted"}, {"hash", "abcd"}});
  TxOptions options = this->options();
  EXPECT_EQ(run(options, limit_order()), kTxAccepted) << err_.str();
  EXPECT_NE(out_.str().find("accepted abcd"), std::string::npos) << out_.str();
  auto txs = node_.transactions();
  ASSERT_EQ(txs.size(), 1u);
  const exchange::Transaction& tx = txs[0];
  EXPECT_EQ(tx.sender, SecretKey::insecure_from_seed("alice").public_key());
  EXPECT_EQ(tx.nonce, 7u);                  // the account's last used nonce + 1
  EXPECT_EQ(tx.expiry_height, 40u + 1000);  // the node's height + --expires-in
  EXPECT_EQ(tx.fee, genesis_.min_tx_fee);
  EXPECT_TRUE(tx.signature_valid(genesis_.chain_id));
  const auto& place = std::get<exchange::PlaceOrder>(tx.body);
  EXPECT_EQ(place.market, *genesis_.find_market("BTC-USD"));
  EXPECT_EQ(place.price, 6000);

  options.nonce = 99;
  options.fee = 5;
  options.expires_in_blocks = 3;
  options.json = true;
  EXPECT_EQ(run(options, limit_order()), kTxAccepted);
  EXPECT_EQ(json::parse(out_.str()), (json{{"status", "accepted"}, {"hash", "abcd"}}));
  txs = node_.transactions();
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].nonce, 99u);
  EXPECT_EQ(txs[1].fee, 5);
  EXPECT_EQ(txs[1].expiry_height, 43u);
}

TEST_F(TxCommandTest, WaitPrintsTheFinalizedResultWithEvents) {
  json result = {{"tx_id", "abcd"},
                 {"accepted", true},
                 {"events", json::array({{{"event", "rested"}, {"order_id", 42}}})}};
  node_.answer("/v1/tx", 200,
               json{{"status", "finalized"},
                    {"hash", "abcd"},
                    {"height", 41},
                    {"position", 0},
                    {"result", result}});
  TxOptions options = this->options();
  options.wait = true;
  EXPECT_EQ(run(options, limit_order()), kTxAccepted) << err_.str();
  EXPECT_NE(out_.str().find("finalized abcd at height 41"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("rested order_id=42"), std::string::npos) << out_.str();
  EXPECT_TRUE(node_.requests().back().target.starts_with("/v1/tx?wait=finalized"));
}

TEST_F(TxCommandTest, AnExecutionRejectionFailsWithItsReason) {
  json result = {{"tx_id", "abcd"},
                 {"accepted", false},
                 {"reject", "insufficient_balance"},
                 {"message", "needs 600 USD"},
                 {"events", json::array()}};
  node_.answer("/v1/tx", 200,
               json{{"status", "finalized"}, {"hash", "abcd"}, {"height", 41}, {"result", result}});
  TxOptions options = this->options();
  options.wait = true;
  EXPECT_EQ(run(options, limit_order()), kTxFailed);
  EXPECT_NE(out_.str().find("REJECTED insufficient_balance (needs 600 USD)"), std::string::npos)
      << out_.str();
}

TEST_F(TxCommandTest, ARefusalPrintsTheNodesCodeReasonAndMessage) {
  node_.answer("/v1/tx", 400, rejection("permission_denied", "bad_signature", "bad signature"));
  EXPECT_EQ(run(options(), limit_order()), kTxFailed);
  EXPECT_NE(err_.str().find("refused by " + node_.url() +
                            ": permission_denied: bad_signature: bad signature"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("--genesis"), std::string::npos) << err_.str();
}

TEST_F(TxCommandTest, StillPendingWhenTheWaitEndsIsItsOwnExitCode) {
  node_.answer("/v1/tx", 202, json{{"status", "pending"}, {"hash", "abcd"}, {"timed_out", true}});
  TxOptions options = this->options();
  options.wait = true;
  options.wait_timeout_ms = 1;
  EXPECT_EQ(run(options, limit_order()), kTxUnsettled);
  EXPECT_NE(out_.str().find("still pending abcd"), std::string::npos) << out_.str();
}

TEST_F(TxCommandTest, LocalMistakesAreCaughtBeforeTheNodeIsAsked) {
  TxBodyOptions unknown_market = limit_order();
  unknown_market.market = "DOGE-USD";
  EXPECT_EQ(run(options(), unknown_market), kTxFailed);
  EXPECT_NE(err_.str().find("unknown market \"DOGE-USD\""), std::string::npos) << err_.str();

  TxBodyOptions transfer;
  transfer.action = "transfer";
  transfer.to = "bob";
  transfer.asset = "USD";
  transfer.amount = 5;
  EXPECT_EQ(run(options(), transfer), kTxFailed);
  EXPECT_NE(err_.str().find("--to must be a 64-digit hex public key"), std::string::npos);

  TxOptions bad_url = options();
  bad_url.node_url = "https://127.0.0.1:1";
  EXPECT_EQ(run(bad_url, limit_order()), kTxFailed);
  EXPECT_NE(err_.str().find("plain http only"), std::string::npos) << err_.str();

  TxOptions no_key = options();
  no_key.key_path = (directory_ / "missing.key").string();
  EXPECT_EQ(run(no_key, limit_order()), kTxFailed);
  EXPECT_NE(err_.str().find("missing.key"), std::string::npos) << err_.str();
  EXPECT_TRUE(node_.requests().empty());
}

TEST_F(TxCommandTest, AnUnreachableNodeIsNamed) {
  TxOptions options = this->options();
  std::uint16_t port;
  {
    FakeNode gone;
    port = gone.port();
  }
  options.node_url = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(run(options, limit_order()), kTxFailed);
  EXPECT_NE(err_.str().find("cannot connect to " + options.node_url), std::string::npos)
      << err_.str();
}

}  // namespace
}  // namespace ballast::cli
