// Read-only views of the exchange state, and the invariant checker used by tests and the
// simulator.
#include <map>

#include "exchange/exchange.h"

namespace ballast::exchange {
namespace {

OpenOrder view_of(const Order& order) {
  return OpenOrder{order.id,    order.client_order_id, order.market,   order.side,
                   order.price, order.remaining,       order.sequence, order.post_only};
}

}  // namespace

std::optional<AccountView> Exchange::account(const AccountId& key) const {
  auto index = find_account(key);
  if (!index) return std::nullopt;
  const Account& account = accounts_[*index];
  return AccountView{account.key, account.nonce, account.balances};
}

std::vector<BookLevel> Exchange::book(MarketId market, Side side, std::size_t depth) const {
  BALLAST_ASSERT(market < books_.size());
  return books_[market]->levels(side, depth);
}

std::vector<OpenOrder> Exchange::resting_orders(MarketId market, Side side) const {
  BALLAST_ASSERT(market < books_.size());
  std::vector<OpenOrder> orders;
  books_[market]->for_each(
      side, [&](OrderHandle handle) { orders.push_back(view_of(order_pool_[handle])); });
  return orders;
}

std::vector<OpenOrder> Exchange::open_orders(const AccountId& key) const {
  std::vector<OpenOrder> orders;
  auto index = find_account(key);
  if (!index) return orders;
  for (OrderHandle handle = accounts_[*index].first_order; handle != kNoOrder;
       handle = order_pool_[handle].account_next) {
    orders.push_back(view_of(order_pool_[handle]));
  }
  std::sort(orders.begin(), orders.end(),
            [](const OpenOrder& a, const OpenOrder& b) { return a.id < b.id; });
  return orders;
}

bool Exchange::may_find_order(const AccountId& sender, const OrderRef& ref) const {
  if (!ref.by_client_order_id && ref.id >= next_order_id_) return true;
  auto index = find_account(sender);
  return index && find_order(*index, ref).is_ok();
}

bool Exchange::has_open_orders(const AccountId& key, std::optional<MarketId> market) const {
  auto index = find_account(key);
  if (!index) return false;
  for (OrderHandle handle = accounts_[*index].first_order; handle != kNoOrder;
       handle = order_pool_[handle].account_next) {
    if (!market || order_pool_[handle].market == *market) return true;
  }
  return false;
}

std::vector<Amount> Exchange::asset_totals() const {
  std::vector<Amount> totals(genesis_.assets.size(), 0);
  for (const Account& account : accounts_) {
    for (std::size_t asset = 0; asset < totals.size(); ++asset) {
      totals[asset] = add_or_die(totals[asset], account.balances[asset].available);
      totals[asset] = add_or_die(totals[asset], account.balances[asset].locked);
    }
  }
  return totals;
}

Status Exchange::check_invariants() const {
  // Locked funds must equal what the account's resting orders require.
  std::vector<std::vector<Amount>> required(accounts_.size(),
                                            std::vector<Amount>(genesis_.assets.size(), 0));
  std::vector<std::uint32_t> order_counts(accounts_.size(), 0);
  for (const auto& [id, handle] : orders_by_id_) {
    const Order& order = order_pool_[handle];
    const MarketSpec& market = genesis_.markets[order.market];
    if (order.id != id || order.remaining <= 0 || order.level == nullptr) {
      return corruption("order " + std::to_string(id) + " is malformed");
    }
    auto lock = required_lock(market, order.side, order.price, order.remaining);
    if (!lock.is_ok()) return corruption("order " + std::to_string(id) + " overflows");
    AssetId asset = order.side == Side::kBuy ? market.quote : market.base;
    auto sum = checked_add(required[order.owner][asset], *lock);
    if (!sum) return corruption("locked total overflows");
    required[order.owner][asset] = *sum;
    order_counts[order.owner] += 1;
  }
  for (std::size_t i = 0; i < accounts_.size(); ++i) {
    const Account& account = accounts_[i];
    if (account.open_orders != order_counts[i]) {
      return corruption("account " + account.key.hex() + " order count is off");
    }
    for (std::size_t asset = 0; asset < account.balances.size(); ++asset) {
      const Balance& funds = account.balances[asset];
      if (funds.available < 0 || funds.locked < 0) {
        return corruption("account " + account.key.hex() + " has a negative balance");
      }
      if (funds.locked != required[i][asset]) {
        return corruption("account " + account.key.hex() + " locks " +
                          std::to_string(funds.locked) + " of asset " + std::to_string(asset) +
                          " but its orders require " + std::to_string(required[i][asset]));
      }
    }
  }
  for (std::size_t market = 0; market < books_.size(); ++market) {
    BALLAST_RETURN_IF_ERROR(check_market(static_cast<MarketId>(market)));
  }
  if (orders_by_id_.size() != order_pool_.live_count()) {
    return corruption("order table and pool disagree");
  }
  return Status::ok();
}

}  // namespace ballast::exchange
