#include "exchange/transaction.h"

#include "base/codec.h"
#include "crypto/key_cache.h"

namespace ballast::exchange {
namespace {

constexpr std::uint8_t kTransactionVersion = 1;
constexpr std::uint64_t kMaxAmount = INT64_MAX;

void encode_order_ref(Encoder& out, const OrderRef& ref) {
  out.boolean(ref.by_client_order_id);
  out.varint(ref.id);
}

OrderRef decode_order_ref(Decoder& in) {
  OrderRef ref;
  ref.by_client_order_id = in.boolean();
  ref.id = in.varint();
  if (in.ok() && ref.id == 0) in.fail("order reference must not be 0");
  return ref;
}

struct BodyEncoder {
  Encoder& out;
  void operator()(const Transfer& transfer) {
    out.raw(transfer.recipient.bytes);
    out.varint(transfer.asset);
    out.varint(static_cast<std::uint64_t>(transfer.amount));
  }
  void operator()(const PlaceOrder& order) {
    out.varint(order.market);
    out.u8(static_cast<std::uint8_t>(order.side));
    out.u8(static_cast<std::uint8_t>(order.type));
    out.u8(static_cast<std::uint8_t>(order.time_in_force));
    out.boolean(order.post_only);
    out.u8(static_cast<std::uint8_t>(order.self_trade_prevention));
    out.varint(static_cast<std::uint64_t>(order.price));
    out.varint(static_cast<std::uint64_t>(order.quantity));
    out.varint(order.client_order_id);
  }
  void operator()(const CancelOrder& cancel) { encode_order_ref(out, cancel.order); }
  void operator()(const CancelAll& cancel) {
    out.boolean(cancel.market.has_value());
    if (cancel.market) out.varint(*cancel.market);
  }
  void operator()(const ReplaceOrder& replace) {
    encode_order_ref(out, replace.order);
    out.varint(static_cast<std::uint64_t>(replace.new_price));
    out.varint(static_cast<std::uint64_t>(replace.new_quantity));
  }
};

template <typename Enum>
Enum decode_enum(Decoder& in, Enum max_value, const char* what) {
  std::uint8_t raw = in.u8();
  if (in.ok() && raw > static_cast<std::uint8_t>(max_value)) {
    in.fail(std::string("unknown ") + what + " " + std::to_string(raw));
    return Enum{};
  }
  return static_cast<Enum>(raw);
}

std::int64_t decode_amount(Decoder& in, const char* what) {
  return static_cast<std::int64_t>(in.varint_at_most(kMaxAmount, what));
}

MarketId decode_market(Decoder& in) {
  return static_cast<MarketId>(in.varint_at_most(UINT32_MAX, "market"));
}

TransactionBody decode_body(Decoder& in, TransactionKind kind) {
  switch (kind) {
    case TransactionKind::kTransfer: {
      Transfer transfer;
      in.raw(transfer.recipient.bytes);
      transfer.asset = static_cast<AssetId>(in.varint_at_most(UINT32_MAX, "asset"));
      transfer.amount = decode_amount(in, "amount");
      return transfer;
    }
    case TransactionKind::kPlaceOrder: {
      PlaceOrder order;
      order.market = decode_market(in);
      order.side = decode_enum(in, Side::kSell, "side");
      order.type = decode_enum(in, OrderType::kMarket, "order type");
      order.time_in_force = decode_enum(in, TimeInForce::kFillOrKill, "time in force");
      order.post_only = in.boolean();
      order.self_trade_prevention =
          decode_enum(in, SelfTradePrevention::kCancelBoth, "self-trade prevention");
      order.price = decode_amount(in, "price");
      order.quantity = decode_amount(in, "quantity");
      order.client_order_id = in.varint();
      return order;
    }
    case TransactionKind::kCancelOrder:
      return CancelOrder{decode_order_ref(in)};
    case TransactionKind::kCancelAll: {
      CancelAll cancel;
      if (in.boolean()) cancel.market = decode_market(in);
      return cancel;
    }
    case TransactionKind::kReplaceOrder: {
      ReplaceOrder replace;
      replace.order = decode_order_ref(in);
      replace.new_price = decode_amount(in, "new price");
      replace.new_quantity = decode_amount(in, "new quantity");
      return replace;
    }
  }
  BALLAST_ASSERT_MSG(false, "unreachable transaction kind");
  return Transfer{};
}

}  // namespace

std::string_view transaction_kind_name(TransactionKind kind) {
  switch (kind) {
    case TransactionKind::kTransfer:
      return "transfer";
    case TransactionKind::kPlaceOrder:
      return "place_order";
    case TransactionKind::kCancelOrder:
      return "cancel_order";
    case TransactionKind::kCancelAll:
      return "cancel_all";
    case TransactionKind::kReplaceOrder:
      return "replace_order";
  }
  return "unknown";
}

Bytes Transaction::encode_unsigned() const {
  Encoder out(160);
  out.u8(kTransactionVersion);
  out.raw(sender.bytes);
  out.varint(nonce);
  out.varint(static_cast<std::uint64_t>(fee));
  out.varint(expiry_height);
  out.u8(static_cast<std::uint8_t>(kind()));
  std::visit(BodyEncoder{out}, body);
  return out.take();
}

Bytes Transaction::encode() const {
  Bytes bytes = encode_unsigned();
  bytes.insert(bytes.end(), signature.bytes.begin(), signature.bytes.end());
  return bytes;
}

Hash256 Transaction::signing_digest(std::string_view chain_id) const {
  Sha256 hasher;
  Encoder prefix;
  prefix.string("ballast-tx-v1");
  prefix.string(chain_id);
  hasher.update(prefix.buffer());
  hasher.update(encode_unsigned());
  return hasher.finish();
}

Hash256 Transaction::id() const {
  return sha256(encode());
}

void Transaction::sign(const SecretKey& key, std::string_view chain_id) {
  BALLAST_ASSERT_MSG(key.public_key() == sender, "signing key does not match the sender");
  signature = key.sign(signing_digest(chain_id));
}

bool Transaction::signature_valid(std::string_view chain_id) const {
  return verify(sender, signing_digest(chain_id), signature);
}

bool Transaction::signature_valid(std::string_view chain_id, VerifyingKeyCache& keys) const {
  auto key = keys.get(sender);
  return key.is_ok() && key->verify(signing_digest(chain_id), signature);
}

Result<Transaction> Transaction::decode(ByteView bytes) {
  if (bytes.size() > kMaxTransactionBytes) {
    return invalid_argument("transaction is " + std::to_string(bytes.size()) +
                            " bytes, above the limit " + std::to_string(kMaxTransactionBytes));
  }
  Decoder in(bytes);
  Transaction tx;
  in.expect_version(kTransactionVersion, "transaction");
  in.raw(tx.sender.bytes);
  tx.nonce = in.varint();
  tx.fee = decode_amount(in, "fee");
  tx.expiry_height = in.varint();
  auto kind = decode_enum(in, TransactionKind::kReplaceOrder, "transaction kind");
  if (in.ok()) tx.body = decode_body(in, kind);
  in.raw(tx.signature.bytes);
  BALLAST_RETURN_IF_ERROR(in.finish());
  return tx;
}

}  // namespace ballast::exchange
