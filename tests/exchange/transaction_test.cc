// The canonical transaction encoding: round trips, and every malformed input is rejected.
#include <gtest/gtest.h>

#include "crypto/key_cache.h"
#include "exchange/transaction.h"

namespace ballast::exchange {
namespace {

std::vector<Transaction> one_of_each() {
  SecretKey key = SecretKey::insecure_from_seed("alice");
  std::vector<TransactionBody> bodies = {
      Transfer{SecretKey::insecure_from_seed("bob").public_key(), 2, 12345},
      PlaceOrder{.market = 3,
                 .side = Side::kSell,
                 .type = OrderType::kMarket,
                 .time_in_force = TimeInForce::kFillOrKill,
                 .post_only = false,
                 .self_trade_prevention = SelfTradePrevention::kCancelBoth,
                 .price = INT64_MAX,
                 .quantity = 1,
                 .client_order_id = UINT64_MAX},
      CancelOrder{OrderRef{false, 77}},
      CancelOrder{OrderRef{true, 1}},
      CancelAll{},
      CancelAll{MarketId{4}},
      ReplaceOrder{OrderRef{true, 9}, 0, 500},
  };
  std::vector<Transaction> txs;
  for (auto& body : bodies) {
    Transaction tx;
    tx.sender = key.public_key();
    tx.nonce = 1ULL << 40;
    tx.fee = 17;
    tx.expiry_height = 99;
    tx.body = body;
    tx.sign(key, "chain");
    txs.push_back(tx);
  }
  return txs;
}

TEST(TransactionCodecTest, EveryKindRoundTrips) {
  for (const Transaction& tx : one_of_each()) {
    Bytes bytes = tx.encode();
    auto decoded = Transaction::decode(bytes);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, tx);
    EXPECT_EQ(decoded->encode(), bytes);
    EXPECT_TRUE(decoded->signature_valid("chain"));
    EXPECT_EQ(decoded->id(), tx.id());
  }
}

TEST(TransactionCodecTest, TruncationAtEveryByteIsRejected) {
  for (const Transaction& tx : one_of_each()) {
    Bytes bytes = tx.encode();
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      Bytes truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
      EXPECT_FALSE(Transaction::decode(truncated).is_ok()) << "cut at " << cut;
    }
  }
}

TEST(TransactionCodecTest, TrailingBytesAreRejected) {
  Bytes bytes = one_of_each()[0].encode();
  bytes.push_back(0);
  auto decoded = Transaction::decode(bytes);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_NE(decoded.status().message().find("trailing"), std::string::npos);
}

TEST(TransactionCodecTest, OutOfRangeValuesAreRejected) {
  Bytes bytes = one_of_each()[1].encode();  // the place order
  // Layout: version(1) sender(32) nonce(6) fee(1) expiry(1) kind(1) market(1) side ...
  const std::size_t side_offset = 1 + 32 + 6 + 1 + 1 + 1 + 1;
  Bytes bad_side = bytes;
  bad_side[side_offset] = 2;
  EXPECT_FALSE(Transaction::decode(bad_side).is_ok());
  Bytes bad_kind = bytes;
  bad_kind[side_offset - 2] = 9;
  EXPECT_FALSE(Transaction::decode(bad_kind).is_ok());
  Bytes bad_version = bytes;
  bad_version[0] = 2;
  EXPECT_FALSE(Transaction::decode(bad_version).is_ok());
  Bytes oversized(kMaxTransactionBytes + 1, 0);
  EXPECT_FALSE(Transaction::decode(oversized).is_ok());
}

TEST(TransactionCodecTest, ZeroOrderReferenceIsRejected) {
  Transaction tx = one_of_each()[2];
  std::get<CancelOrder>(tx.body).order.id = 0;
  EXPECT_FALSE(Transaction::decode(tx.encode()).is_ok());
}

TEST(TransactionSigningTest, AnyChangeInvalidatesTheSignature) {
  Transaction tx = one_of_each()[1];
  EXPECT_TRUE(tx.signature_valid("chain"));
  EXPECT_FALSE(tx.signature_valid("other-chain"));
  Transaction changed = tx;
  std::get<PlaceOrder>(changed.body).quantity = 2;
  EXPECT_FALSE(changed.signature_valid("chain"));
  changed = tx;
  changed.nonce += 1;
  EXPECT_FALSE(changed.signature_valid("chain"));
}

TEST(TransactionSigningTest, ACachedSenderKeyGivesTheSameVerdicts) {
  VerifyingKeyCache keys(1);  // one slot: every other sender takes it over
  Transaction tx = one_of_each()[1];
  SecretKey someone_else = SecretKey::insecure_from_seed("someone else");
  Transaction other_sender = tx;
  other_sender.sender = someone_else.public_key();
  other_sender.sign(someone_else, "chain");
  Transaction forged = tx;
  forged.sender = other_sender.sender;  // tx's signature, claimed by someone else
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(tx.signature_valid("chain", keys));
    EXPECT_FALSE(tx.signature_valid("other-chain", keys));
    EXPECT_FALSE(forged.signature_valid("chain", keys));
    EXPECT_TRUE(other_sender.signature_valid("chain", keys));
  }
  Transaction off_curve = tx;
  off_curve.sender = PublicKey{};
  off_curve.sender.bytes[31] = 5;  // x = 5 is not on the curve
  EXPECT_FALSE(off_curve.signature_valid("chain", keys));
}

TEST(TypesTest, FeesRoundUpAndNeverExceedTheAmount) {
  EXPECT_EQ(fee_for(0, 30), 0);
  EXPECT_EQ(fee_for(1, 1), 1);
  EXPECT_EQ(fee_for(10'000, 25), 25);
  EXPECT_EQ(fee_for(10'001, 25), 26);
  EXPECT_EQ(fee_for(INT64_MAX, 10'000), INT64_MAX);
  EXPECT_EQ(fee_for(INT64_MAX, 0), 0);
}

}  // namespace
}  // namespace ballast::exchange
