#include "node/transaction_json.h"

#include <gtest/gtest.h>

#include <limits>

namespace ballast::node {
namespace {

using Json = nlohmann::json;

class NodeTransactionJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<exchange::Genesis> loaded = exchange::load_genesis_file(BALLAST_EXAMPLE_GENESIS);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    genesis_ = std::move(loaded).value();
  }

  exchange::MarketId market(std::string_view symbol) const {
    auto id = genesis_.find_market(symbol);
    EXPECT_TRUE(id.has_value()) << symbol;
    return id.value_or(0);
  }

  exchange::AssetId asset(std::string_view symbol) const {
    auto id = genesis_.find_asset(symbol);
    EXPECT_TRUE(id.has_value()) << symbol;
    return id.value_or(0);
  }

  exchange::Transaction signed_transaction(exchange::TransactionBody body) const {
    exchange::Transaction tx;
    tx.sender = key_.public_key();
    tx.nonce = 7;
    tx.fee = 10;
    tx.expiry_height = 1'000;
    tx.body = std::move(body);
    tx.sign(key_, genesis_.chain_id);
    return tx;
  }

  // The JSON form of `tx`, whose body is `body` in JSON.
  static Json json_of(const exchange::Transaction& tx, Json body) {
    return {{"sender", tx.sender.hex()},
            {"nonce", tx.nonce},
            {"fee", tx.fee},
            {"expiry_height", tx.expiry_height},
            {"body", std::move(body)},
            {"signature", tx.signature.hex()}};
  }

  // A valid JSON transaction to break one field at a time.
  Json valid_json() const {
    exchange::PlaceOrder order;
    order.market = market("BTC-USD");
    order.price = 5'000'000;
    order.quantity = 100'000;
    return json_of(signed_transaction(order), {{"action", "place"},
                                               {"market", "BTC-USD"},
                                               {"side", "buy"},
                                               {"price", 5'000'000},
                                               {"quantity", 100'000}});
  }

  Result<Bytes> from_json(const Json& object) const {
    return transaction_bytes_from_body(object.dump(), true, genesis_);
  }

  // The reason a body is refused (and that it is an invalid_argument).
  std::string refusal(const std::string& body, bool is_json) const {
    Result<Bytes> bytes = transaction_bytes_from_body(body, is_json, genesis_);
    if (bytes.is_ok()) return "(accepted)";
    EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
    return bytes.status().message();
  }

  exchange::Genesis genesis_;
  SecretKey key_ = SecretKey::insecure_from_seed("transaction-json-trader");
};

std::string text_of(const Bytes& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST_F(NodeTransactionJsonTest, BinaryFormAcceptsAValidEncoding) {
  exchange::PlaceOrder order;
  order.market = market("ETH-USD");
  order.price = 300'000;
  order.quantity = 1'000'000;
  Bytes encoded = signed_transaction(order).encode();
  Result<Bytes> bytes = transaction_bytes_from_body(text_of(encoded), false, genesis_);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  EXPECT_EQ(*bytes, encoded);
}

TEST_F(NodeTransactionJsonTest, BinaryFormRefusesGarbage) {
  EXPECT_NE(refusal("", false), "(accepted)");
  EXPECT_NE(refusal("hello, exchange", false), "(accepted)");
  EXPECT_NE(refusal(valid_json().dump(), false), "(accepted)") << "JSON sent as binary";

  Bytes trailing = signed_transaction(exchange::CancelAll{}).encode();
  trailing.push_back(0);
  EXPECT_NE(refusal(text_of(trailing), false).find("trailing"), std::string::npos);
}

TEST_F(NodeTransactionJsonTest, JsonFormCarriesTheSameSignedBytesAsTheBinaryForm) {
  exchange::PlaceOrder place;
  place.market = market("BTC-USD");
  place.side = exchange::Side::kSell;
  place.time_in_force = exchange::TimeInForce::kImmediateOrCancel;
  place.post_only = false;
  place.price = 5'000'000;
  place.quantity = 200'000;
  place.client_order_id = 99;
  exchange::Transfer transfer{SecretKey::insecure_from_seed("recipient").public_key(), asset("USD"),
                              2'500};
  const std::vector<std::pair<exchange::TransactionBody, Json>> cases = {
      {place,
       {{"action", "place"},
        {"market", "BTC-USD"},
        {"side", "sell"},
        {"type", "limit"},
        {"time_in_force", "ioc"},
        {"price", 5'000'000},
        {"quantity", 200'000},
        {"client_order_id", 99}}},
      {transfer,
       {{"action", "transfer"},
        {"to", transfer.recipient.hex()},
        {"asset", "USD"},
        {"amount", 2'500}}},
      {exchange::CancelOrder{{true, 42}}, {{"action", "cancel"}, {"client_order_id", 42}}},
      {exchange::CancelAll{market("ETH-USD")}, {{"action", "cancel_all"}, {"market", "ETH-USD"}}},
      {exchange::ReplaceOrder{{false, 9}, 5'100'000, 0},
       {{"action", "replace"}, {"order_id", 9}, {"price", 5'100'000}}},
  };
  for (const auto& [body, body_json] : cases) {
    SCOPED_TRACE(body_json.dump());
    exchange::Transaction tx = signed_transaction(body);
    Result<Bytes> bytes = from_json(json_of(tx, body_json));
    ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
    EXPECT_EQ(*bytes, tx.encode());

    Result<exchange::Transaction> decoded = exchange::Transaction::decode(*bytes);
    ASSERT_TRUE(decoded.is_ok());
    EXPECT_TRUE(decoded->signature_valid(genesis_.chain_id));
  }
}

// The JSON form is a transport for signed bytes: a field changed after signing gives bytes whose
// signature no longer verifies.
TEST_F(NodeTransactionJsonTest, JsonFormSignatureCoversEveryField) {
  Json tampered = valid_json();
  tampered["nonce"] = 8;
  Result<Bytes> bytes = from_json(tampered);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  Result<exchange::Transaction> decoded = exchange::Transaction::decode(*bytes);
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded->nonce, 8u);
  EXPECT_FALSE(decoded->signature_valid(genesis_.chain_id));
}

TEST_F(NodeTransactionJsonTest, RefusesUnknownFields) {
  Json object = valid_json();
  object["memo"] = "hello";
  EXPECT_EQ(refusal(object.dump(), true), "unknown field \"memo\"");
}

TEST_F(NodeTransactionJsonTest, RefusesMissingFields) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sender", "\"sender\" must be a string"},
      {"nonce", "\"nonce\" must be a non-negative integer"},
      {"fee", "\"fee\" must be a non-negative integer"},
      {"expiry_height", "\"expiry_height\" must be a non-negative integer"},
      {"body", "\"body\" is missing"},
      {"signature", "\"signature\" must be a string"},
  };
  for (const auto& [field, message] : cases) {
    Json object = valid_json();
    object.erase(field);
    EXPECT_EQ(refusal(object.dump(), true), message) << "without " << field;
  }
}

TEST_F(NodeTransactionJsonTest, RefusesFieldsOfTheWrongType) {
  Json negative = valid_json();
  negative["nonce"] = -1;
  EXPECT_EQ(refusal(negative.dump(), true), "\"nonce\" must be a non-negative integer");

  Json as_text = valid_json();
  as_text["fee"] = "10";
  EXPECT_EQ(refusal(as_text.dump(), true), "\"fee\" must be a non-negative integer");

  Json huge_fee = valid_json();
  huge_fee["fee"] = std::uint64_t{1} << 63;
  EXPECT_EQ(refusal(huge_fee.dump(), true), "\"fee\" is too large");
}

TEST_F(NodeTransactionJsonTest, RefusesBadHex) {
  Json bad_signature = valid_json();
  bad_signature["signature"] = std::string(128, 'z');
  EXPECT_EQ(refusal(bad_signature.dump(), true), "hex text has a non-hex character");

  Json odd_signature = valid_json();
  odd_signature["signature"] = std::string(127, 'a');
  EXPECT_EQ(refusal(odd_signature.dump(), true), "hex text has an odd number of digits");

  Json bad_sender = valid_json();
  bad_sender["sender"] = "not a key";
  EXPECT_NE(refusal(bad_sender.dump(), true), "(accepted)");
}

TEST_F(NodeTransactionJsonTest, RefusesAWrongSignatureLength) {
  for (std::size_t digits : {126u, 130u, 0u}) {
    Json object = valid_json();
    object["signature"] = std::string(digits, 'a');
    EXPECT_EQ(refusal(object.dump(), true), "\"signature\" must be 64 bytes of hex")
        << digits << " digits";
  }
}

TEST_F(NodeTransactionJsonTest, RefusesABadBody) {
  Json unknown_market = valid_json();
  unknown_market["body"]["market"] = "DOGE-USD";
  EXPECT_EQ(refusal(unknown_market.dump(), true), "unknown market \"DOGE-USD\"");

  Json not_an_object = valid_json();
  not_an_object["body"] = "place";
  EXPECT_NE(refusal(not_an_object.dump(), true), "(accepted)");
}

// Whatever the JSON form accepts must be a transaction the binary form accepts too: the bytes go
// on to the verification pool, the mempool and other validators as they are.
//
// Regression test: the JSON form once accepted negative integers (and wrapped those above
// INT64_MAX), producing bytes the binary decoder refuses, with a baffling reason.
TEST_F(NodeTransactionJsonTest, JsonFormNeverYieldsBytesTheBinaryFormRefuses) {
  const std::vector<Json> bodies = {
      {{"action", "place"},
       {"market", "BTC-USD"},
       {"side", "buy"},
       {"price", 5'000'000},
       {"quantity", -100'000}},
      {{"action", "place"},
       {"market", "BTC-USD"},
       {"side", "buy"},
       {"price", -1},
       {"quantity", 100'000}},
      {{"action", "place"},
       {"market", "BTC-USD"},
       {"side", "buy"},
       {"price", std::numeric_limits<std::uint64_t>::max()},
       {"quantity", 100'000}},
      {{"action", "transfer"},
       {"to", key_.public_key().hex()},
       {"asset", "USD"},
       {"amount", -2'500}},
      {{"action", "replace"}, {"order_id", 9}, {"quantity", -1}},
  };
  for (const Json& body : bodies) {
    SCOPED_TRACE(body.dump());
    Json object = valid_json();
    object["body"] = body;
    Result<Bytes> bytes = from_json(object);
    if (!bytes.is_ok()) {
      EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
      continue;
    }
    Result<exchange::Transaction> decoded = exchange::Transaction::decode(*bytes);
    EXPECT_TRUE(decoded.is_ok()) << "accepted as JSON, refused as binary: "
                                 << decoded.status().to_string();
  }
}

TEST_F(NodeTransactionJsonTest, RefusesInvalidJson) {
  EXPECT_EQ(refusal("{\"sender\":", true), "the body is not valid JSON");
  EXPECT_EQ(refusal("", true), "the body is not valid JSON");
  EXPECT_EQ(refusal("[1, 2]", true), "a transaction must be a JSON object");
}

}  // namespace
}  // namespace ballast::node
