// Signed exchange transactions and their canonical encoding (docs/TRANSACTIONS.md).
//
// A transaction is signed over SHA-256("ballast-tx-v1" || chain id || unsigned encoding), so a
// signature is valid on one network only. Its id is the SHA-256 of the full signed encoding.
#pragma once

#include <variant>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/keys.h"
#include "exchange/types.h"

namespace ballast {
class VerifyingKeyCache;
}  // namespace ballast

namespace ballast::exchange {

inline constexpr std::size_t kMaxTransactionBytes = 512;

struct Transfer {
  AccountId recipient;
  AssetId asset = 0;
  Amount amount = 0;
  auto operator<=>(const Transfer&) const = default;
};

struct PlaceOrder {
  MarketId market = 0;
  Side side = Side::kBuy;
  OrderType type = OrderType::kLimit;
  TimeInForce time_in_force = TimeInForce::kGoodTillCancel;
  bool post_only = false;
  SelfTradePrevention self_trade_prevention = SelfTradePrevention::kCancelNewest;
  Price price = 0;  // limit price, or the protection price of a market order
  Quantity quantity = 0;
  ClientOrderId client_order_id = 0;
  auto operator<=>(const PlaceOrder&) const = default;
};

// Names an order of the sender: by exchange order id or by the sender's client order id.
struct OrderRef {
  bool by_client_order_id = false;
  std::uint64_t id = 0;
  auto operator<=>(const OrderRef&) const = default;
};

struct CancelOrder {
  OrderRef order;
  auto operator<=>(const CancelOrder&) const = default;
};

struct CancelAll {
  std::optional<MarketId> market;  // all markets when empty
  auto operator<=>(const CancelAll&) const = default;
};

// New price and/or size for a resting order; 0 keeps the current value. The size is the new
// open quantity. Only a pure size reduction keeps time priority.
struct ReplaceOrder {
  OrderRef order;
  Price new_price = 0;
  Quantity new_quantity = 0;
  auto operator<=>(const ReplaceOrder&) const = default;
};

using TransactionBody = std::variant<Transfer, PlaceOrder, CancelOrder, CancelAll, ReplaceOrder>;

enum class TransactionKind : std::uint8_t {
  kTransfer = 0,
  kPlaceOrder = 1,
  kCancelOrder = 2,
  kCancelAll = 3,
  kReplaceOrder = 4,
};

struct Transaction {
  AccountId sender;
  std::uint64_t nonce = 0;          // strictly increasing per sender
  Amount fee = 0;                   // in the genesis tx_fee_asset, paid to the fee account
  std::uint64_t expiry_height = 0;  // last block height that may include it
  TransactionBody body;
  Signature signature;

  TransactionKind kind() const { return static_cast<TransactionKind>(body.index()); }
  bool is_cancel() const {
    return kind() == TransactionKind::kCancelOrder || kind() == TransactionKind::kCancelAll;
  }
  bool is_post_only_order() const {
    const auto* place = std::get_if<PlaceOrder>(&body);
    return place != nullptr && place->post_only;
  }

  Bytes encode() const;
  Bytes encode_unsigned() const;
  // The digest the sender signs; binds the transaction to one chain.
  Hash256 signing_digest(std::string_view chain_id) const;
  // The transaction id: SHA-256 of the signed encoding.
  Hash256 id() const;
  void sign(const SecretKey& key, std::string_view chain_id);
  bool signature_valid(std::string_view chain_id) const;
  // The same check, with the sender's key decoded through `keys`.
  bool signature_valid(std::string_view chain_id, VerifyingKeyCache& keys) const;

  // Rejects truncated, oversized, trailing-byte and out-of-range encodings.
  static Result<Transaction> decode(ByteView bytes);
  bool operator==(const Transaction&) const = default;
};

std::string_view transaction_kind_name(TransactionKind kind);

}  // namespace ballast::exchange
