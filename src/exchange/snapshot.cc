// Snapshot and restore: the whole exchange state in canonical form. Accounts are written in
// creation order, orders in arrival order and market breakers in market order, so a restored
// book has the same time priority and the restored state the same root.
#include "base/codec.h"
#include "exchange/exchange.h"

namespace ballast::exchange {
namespace {

constexpr std::uint8_t kSnapshotVersion = 2;  // 2: block time and market breakers
constexpr std::size_t kMaxGenesisConfigBytes = 16 << 20;
constexpr std::uint64_t kMaxSnapshotAccounts = 1ULL << 32;
constexpr std::uint64_t kMaxSnapshotOrders = 1ULL << 32;

}  // namespace

Bytes Exchange::snapshot() const {
  Encoder out(256 + accounts_.size() * 64 + orders_by_id_.size() * 64);
  out.u8(kSnapshotVersion);
  out.raw(genesis_hash_.bytes);
  out.bytes(genesis_.encode());  // configuration only: accounts are below
  out.u64(height_);
  out.varint(static_cast<std::uint64_t>(block_time_ms_));
  out.varint(next_order_id_);
  out.varint(next_sequence_);
  out.varint(fee_account_);
  out.varint(accounts_.size());
  for (const Account& account : accounts_) {
    out.raw(account.key.bytes);
    out.varint(account.nonce);
    for (const Balance& funds : account.balances) {
      out.varint(static_cast<std::uint64_t>(funds.available));
      out.varint(static_cast<std::uint64_t>(funds.locked));
    }
  }
  std::vector<const Order*> orders;
  orders.reserve(orders_by_id_.size());
  for (const auto& [id, handle] : orders_by_id_) orders.push_back(&order_pool_[handle]);
  std::sort(orders.begin(), orders.end(),
            [](const Order* a, const Order* b) { return a->sequence < b->sequence; });
  out.varint(orders.size());
  for (const Order* order : orders) {
    out.varint(order->id);
    out.varint(order->owner);
    out.varint(order->market);
    out.u8(static_cast<std::uint8_t>(order->side));
    out.boolean(order->post_only);
    out.u8(static_cast<std::uint8_t>(order->self_trade_prevention));
    out.varint(static_cast<std::uint64_t>(order->price));
    out.varint(static_cast<std::uint64_t>(order->remaining));
    out.varint(order->client_order_id);
    out.varint(order->sequence);
  }
  for (const MarketEntry& market : markets_) market.breaker.encode(out);
  return out.take();
}

Result<std::unique_ptr<Exchange>> Exchange::restore(ByteView snapshot) {
  Decoder in(snapshot);
  in.expect_version(kSnapshotVersion, "snapshot");
  Hash256 genesis_hash;
  in.raw(genesis_hash.bytes);
  Bytes config_bytes = in.bytes(kMaxGenesisConfigBytes, "genesis configuration");
  if (!in.ok()) return in.finish();
  BALLAST_ASSIGN_OR_RETURN(Genesis config, Genesis::decode(config_bytes));
  std::unique_ptr<Exchange> exchange(new Exchange(config, genesis_hash, EmptyTag{}));
  Exchange& state = *exchange;
  state.height_ = in.u64();
  state.block_time_ms_ = static_cast<std::int64_t>(in.varint_at_most(INT64_MAX, "block time"));
  const OrderId next_order_id = in.varint();
  const std::uint64_t next_sequence = in.varint();
  std::uint64_t fee_account = in.varint();
  std::uint64_t account_count = in.varint_at_most(kMaxSnapshotAccounts - 1, "account count");
  const std::size_t asset_count = config.assets.size();
  for (std::uint64_t i = 0; i < account_count && in.ok(); ++i) {
    AccountId key;
    in.raw(key.bytes);
    if (state.find_account(key)) in.fail("snapshot lists account " + key.hex() + " twice");
    AccountIndex index = state.account_index_or_create(key);
    Account& account = state.accounts_[index];
    account.nonce = in.varint();
    for (std::size_t asset = 0; asset < asset_count; ++asset) {
      account.balances[asset].available =
          static_cast<Amount>(in.varint_at_most(INT64_MAX, "available balance"));
      account.balances[asset].locked =
          static_cast<Amount>(in.varint_at_most(INT64_MAX, "locked balance"));
    }
  }
  if (in.ok() && fee_account >= state.accounts_.size()) in.fail("fee account index out of range");
  state.fee_account_ = static_cast<AccountIndex>(fee_account);
  std::uint64_t order_count = in.varint_at_most(kMaxSnapshotOrders - 1, "order count");
  std::uint64_t previous_sequence = 0;
  for (std::uint64_t i = 0; i < order_count && in.ok(); ++i) {
    Incoming order;
    order.id = in.varint();
    std::uint64_t owner = in.varint_at_most(state.accounts_.size() - 1, "order owner");
    order.owner = static_cast<AccountIndex>(owner);
    order.market = static_cast<MarketId>(
        in.varint_at_most(config.markets.empty() ? 0 : config.markets.size() - 1, "market"));
    std::uint8_t side = in.u8();
    order.post_only = in.boolean();
    std::uint8_t stp = in.u8();
    order.price = static_cast<Price>(in.varint_at_most(INT64_MAX, "price"));
    order.remaining = static_cast<Quantity>(in.varint_at_most(INT64_MAX, "quantity"));
    order.client_order_id = in.varint();
    std::uint64_t sequence = in.varint();
    if (!in.ok()) break;
    if (config.markets.empty() || side > 1 || stp > 2 || order.remaining <= 0 || order.price <= 0 ||
        order.id == 0 || order.id >= next_order_id || sequence <= previous_sequence ||
        sequence >= next_sequence || state.orders_by_id_.contains(order.id) ||
        (order.client_order_id != 0 &&
         state.orders_by_client_id_.contains({order.owner, order.client_order_id}))) {
      in.fail("snapshot order " + std::to_string(i) + " is inconsistent");
      break;
    }
    previous_sequence = sequence;
    order.side = static_cast<Side>(side);
    order.self_trade_prevention = static_cast<SelfTradePrevention>(stp);
    order.spec = &state.genesis_.markets[order.market];
    TxResult ignored;
    state.next_sequence_ = sequence;  // rest() stamps the order with the counter
    state.rest(order, ignored);
  }
  for (std::size_t market = 0; market < state.markets_.size() && in.ok(); ++market) {
    std::optional<MarketBreaker> breaker = MarketBreaker::decode(in, config.markets[market]);
    if (breaker) state.markets_[market].breaker = *breaker;
  }
  BALLAST_RETURN_IF_ERROR(in.finish());
  state.next_order_id_ = next_order_id;
  state.next_sequence_ = next_sequence;
  state.recompute_commitment();
  Status invariants = state.check_invariants();
  if (!invariants.is_ok())
    return corruption("snapshot violates an invariant: " + invariants.message());
  return exchange;
}

}  // namespace ballast::exchange
