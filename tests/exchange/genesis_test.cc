// Genesis parsing and validation: the shipped example loads, and every bad field is a clear
// error naming the field.
#include <gtest/gtest.h>

#include "base/assert.h"
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

// The minimal genesis with `breakers` as the market's "breakers" field.
std::string with_breakers(const std::string& breakers) {
  std::string text = kMinimal;
  std::string from = R"("taker_fee_bps": 2})";
  auto at = text.find(from);
  BALLAST_ASSERT(at != std::string::npos);
  text.replace(at, from.size(), R"("taker_fee_bps": 2, "breakers": )" + breakers + "}");
  return text;
}

TEST(GenesisTest, AbsentBreakerFieldsTakeTheDocumentedDefaults) {
  auto genesis = parse_genesis_json(kMinimal);
  ASSERT_TRUE(genesis.is_ok());
  const BreakerSpec& breakers = genesis->markets[0].breakers;
  EXPECT_TRUE(breakers.enabled);
  EXPECT_EQ(breakers.band_bps, 500);
  EXPECT_EQ(breakers.reference_window_ms, 30'000);
  EXPECT_EQ(breakers.limit_state_ms, 5'000);
  EXPECT_EQ(breakers.pause_ms, 30'000);
  EXPECT_EQ(breakers.velocity_bps, 300);
  EXPECT_EQ(breakers.velocity_window_ms, 2'000);
  EXPECT_EQ(breakers.velocity_pause_ms, 5'000);
  EXPECT_EQ(breakers.auction_ms, 1'000);
  EXPECT_EQ(breakers.reference_price, 0);
  auto partial = parse_genesis_json(with_breakers(R"({"band_bps": 1000, "auction_ms": 0})"));
  ASSERT_TRUE(partial.is_ok()) << partial.status().to_string();
  EXPECT_EQ(partial->markets[0].breakers.band_bps, 1'000);
  EXPECT_EQ(partial->markets[0].breakers.auction_ms, 0);
  EXPECT_EQ(partial->markets[0].breakers.pause_ms, 30'000);
}

TEST(GenesisTest, BreakersParseRoundTripAndCanBeTurnedOff) {
  auto genesis = parse_genesis_json(with_breakers(
      R"({"enabled": false, "band_bps": 1000, "reference_window_ms": 60000,
          "limit_state_ms": 15000, "pause_ms": 300000, "velocity_bps": 0,
          "velocity_window_ms": 1000, "velocity_pause_ms": 2000, "auction_ms": 500,
          "reference_price": "6000000"})"));
  ASSERT_TRUE(genesis.is_ok()) << genesis.status().to_string();
  const BreakerSpec& breakers = genesis->markets[0].breakers;
  EXPECT_FALSE(breakers.enabled);
  EXPECT_EQ(breakers.limit_state_ms, 15'000);
  EXPECT_EQ(breakers.pause_ms, 300'000);
  EXPECT_EQ(breakers.velocity_bps, 0);
  EXPECT_EQ(breakers.reference_price, 6'000'000);
  auto decoded = Genesis::decode(genesis->encode());
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->encode(), genesis->encode());
  EXPECT_FALSE(decoded->markets[0].breakers.enabled);
  EXPECT_EQ(decoded->markets[0].breakers.auction_ms, 500);
  // The parameters are part of the genesis hash.
  EXPECT_NE(genesis->hash(), parse_genesis_json(kMinimal)->hash());
}

TEST(GenesisTest, BadBreakerFieldsAreClearErrorsNamingTheField) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"band_bps": 0})", "genesis.markets[0].breakers.band_bps must be 1..5000"},
      {R"({"band_bps": 5001})", "breakers.band_bps"},
      {R"({"velocity_bps": -1})", "breakers.velocity_bps"},
      {R"({"reference_window_ms": 5})", "breakers.reference_window_ms must be 10..3600000"},
      {R"({"velocity_window_ms": 1005})", "breakers.velocity_window_ms must be a multiple of 10"},
      {R"({"limit_state_ms": -1})", "breakers.limit_state_ms"},
      {R"({"pause_ms": 86400001})", "breakers.pause_ms"},
      {R"({"velocity_pause_ms": -5})", "breakers.velocity_pause_ms"},
      {R"({"auction_ms": -1})", "breakers.auction_ms"},
      {R"({"reference_price": -10})", "breakers.reference_price"},
      {R"({"enabled": 1})", "breakers.enabled must be true/false"},
      {R"({"enable": false})", "breakers: unknown field \"enable\""},
      {R"({"band_bps": "wide"})", "breakers.band_bps is not an integer"},
      {R"(true)", "breakers must be an object"},
  };
  for (const auto& [breakers, expected] : cases) {
    auto genesis = parse_genesis_json(with_breakers(breakers));
    ASSERT_FALSE(genesis.is_ok()) << "accepted: " << breakers;
    EXPECT_NE(genesis.status().message().find(expected), std::string::npos)
        << genesis.status().message();
  }
  // A reference price must be on the tick grid.
  std::string text = with_breakers(R"({"reference_price": 15})");
  text.replace(text.find(R"("tick_size": 1)"), 14, R"("tick_size": 10)");
  auto off_grid = parse_genesis_json(text);
  ASSERT_FALSE(off_grid.is_ok());
  EXPECT_NE(off_grid.status().message().find("reference_price"), std::string::npos);
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
