// Genesis parsing and validation: the shipped example loads, and every bad field is a clear
// error naming the field.
#include <gtest/gtest.h>

#include "exchange/genesis.h"

namespace ballast::exchange {
namespace {

const char* kMinimal = R"({
  "chain_id": "t",
  "fee_account": "c046ccd7ffadb10fd591fe17d84ac636eede44a0e13d53ff6fb53f1611f3ca18",
  "tx_fee_asset": "USD",
  "assets": [{"symbol": "BTC", "decimals": 8}, {"symbol": "USD", "decimals": 2}],
  "markets": [{"symbol": "BTC-USD", "base": "BTC", "quote": "USD", "tick_size": 1,
               "lot_size": 10, "min_size": 20, "maker_fee_bps": 1, "taker_fee_bps": 2}],
  "accounts": [{"pubkey": "c01a1c873207e820f94f4291a28da6244e17f7d424a643557605e527b3b82317",
                "balances": {"BTC": 5, "USD": "9007199254740993"}}],
  "validators": [{"pubkey": "6e53837f90e97c1d189fc926a01043e9fbe7aa3c38c1a4ea066c6a9f20cde0d3",
                  "stake": 10}]
})";

TEST(GenesisTest, ParsesAllFields) {
  auto genesis = parse_genesis_json(kMinimal);
  ASSERT_TRUE(genesis.is_ok()) << genesis.status().to_string();
  EXPECT_EQ(genesis->chain_id, "t");
  ASSERT_EQ(genesis->markets.size(), 1u);
  EXPECT_EQ(genesis->markets[0].lot_size, 10);
  EXPECT_EQ(genesis->markets[0].taker_fee_bps, 2);
  EXPECT_EQ(genesis->accounts[0].balances[1].amount, 9007199254740993);  // above 2^53, exact
  EXPECT_EQ(genesis->validators[0].stake, 10u);
  EXPECT_EQ(genesis->tx_fee_asset, 1u);
}

TEST(GenesisTest, CanonicalEncodingRoundTrips) {
  auto genesis = parse_genesis_json(kMinimal);
  ASSERT_TRUE(genesis.is_ok());
  auto decoded = Genesis::decode(genesis->encode());
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->encode(), genesis->encode());
  EXPECT_EQ(decoded->hash(), genesis->hash());
}

TEST(GenesisTest, ShippedExampleLoads) {
  auto genesis = load_genesis_file(std::string(BALLAST_SOURCE_DIR) + "/examples/genesis.json");
  ASSERT_TRUE(genesis.is_ok()) << genesis.status().to_string();
  EXPECT_EQ(genesis->markets.size(), 2u);
}

struct BadCase {
  std::string from;
  std::string to;
  std::string expected_message_part;
};

TEST(GenesisTest, BadFieldsAreClearErrors) {
  std::vector<BadCase> cases = {
      {R"("tick_size": 1)", R"("tick_size": 0)", "tick_size"},
      {R"("min_size": 20)", R"("min_size": 25)", "min_size"},
      {R"("taker_fee_bps": 2)", R"("taker_fee_bps": 5000)", "fees"},
      {R"("quote": "USD", "tick)", R"("quote": "EUR", "tick)", "unknown asset"},
      {R"("BTC": 5)", R"("BTC": -5)", "negative"},
      {R"("stake": 10)", R"("stake": 0)", "stake"},
      {R"("tx_fee_asset": "USD")", R"("tx_fee_asset": "XYZ")", "unknown asset"},
      {R"("pubkey": "c01a)", R"("pubkey": "zz1a)", "pubkey"},
      {R"("chain_id": "t",)", "", "chain_id"},
      {R"({"symbol": "USD", "decimals": 2})",
       R"({"symbol": "USD", "decimals": 2}, {"symbol": "USD"})", "duplicate"},
  };
  for (const BadCase& bad : cases) {
    std::string text = kMinimal;
    auto at = text.find(bad.from);
    ASSERT_NE(at, std::string::npos) << bad.from;
    text.replace(at, bad.from.size(), bad.to);
    auto genesis = parse_genesis_json(text);
    ASSERT_FALSE(genesis.is_ok()) << "accepted: " << bad.to;
    EXPECT_NE(genesis.status().message().find(bad.expected_message_part), std::string::npos)
        << genesis.status().message();
  }
  EXPECT_FALSE(parse_genesis_json("{not json").is_ok());
  EXPECT_FALSE(load_genesis_file("/nonexistent/genesis.json").is_ok());
}

TEST(GenesisTest, TotalSupplyOverflowIsRejected) {
  std::string text = kMinimal;
  std::string from = R"("balances": {"BTC": 5, "USD": "9007199254740993"}}])";
  std::string to = R"("balances": {"BTC": 9223372036854775807}},
      {"pubkey": "cd9ab87fbf5db018c6f205714e675d708f56289ecada13eb15f862fd1adf235a",
       "balances": {"BTC": 1}}])";
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), to);
  auto genesis = parse_genesis_json(text);
  ASSERT_FALSE(genesis.is_ok());
  EXPECT_NE(genesis.status().message().find("overflows"), std::string::npos);
}

}  // namespace
}  // namespace ballast::exchange
