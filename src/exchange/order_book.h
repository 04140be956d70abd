// Resting orders and the price-time priority book of one market.
//
// Orders live in a pool and are addressed by handle; each price level is a FIFO list threaded
// through the orders, so adding at the tail, removing anywhere and taking the head are O(1)
// once the level is found (O(log levels)). The book never holds a crossed state after matching;
// that is checked by the exchange invariants, not here.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "base/assert.h"
#include "crypto/hash.h"
#include "exchange/types.h"

namespace ballast::exchange {

using OrderHandle = std::uint32_t;
using AccountIndex = std::uint32_t;
inline constexpr OrderHandle kNoOrder = UINT32_MAX;

struct PriceLevel;

struct Order {
  OrderId id = 0;
  AccountIndex owner = 0;
  MarketId market = 0;
  Side side = Side::kBuy;
  bool post_only = false;
  SelfTradePrevention self_trade_prevention = SelfTradePrevention::kCancelNewest;
  Price price = 0;
  Quantity remaining = 0;
  ClientOrderId client_order_id = 0;
  std::uint64_t sequence = 0;  // arrival order; decides time priority within a level

  // Links: the FIFO of its price level and the list of its owner's orders.
  PriceLevel* level = nullptr;
  OrderHandle level_previous = kNoOrder;
  OrderHandle level_next = kNoOrder;
  OrderHandle account_previous = kNoOrder;
  OrderHandle account_next = kNoOrder;

  // State commitment bookkeeping (see state_commitment.h).
  Hash256 committed_digest;
  bool committed = false;
  bool dirty = false;
};

// Owns every resting order of every market; handles are reused after release.
class OrderPool {
 public:
  OrderHandle allocate();
  void release(OrderHandle handle);
  Order& operator[](OrderHandle handle) { return orders_[handle]; }
  const Order& operator[](OrderHandle handle) const { return orders_[handle]; }
  std::size_t live_count() const { return orders_.size() - free_.size(); }

 private:
  std::vector<Order> orders_;
  std::vector<OrderHandle> free_;
};

struct PriceLevel {
  Price price = 0;
  OrderHandle head = kNoOrder;
  OrderHandle tail = kNoOrder;
  Quantity total_quantity = 0;
  std::uint32_t order_count = 0;
};

struct BookLevel {
  Price price = 0;
  Quantity quantity = 0;
  std::uint32_t orders = 0;
  bool operator==(const BookLevel&) const = default;
};

class OrderBook {
 public:
  explicit OrderBook(OrderPool& pool) : pool_(pool) {}
  OrderBook(const OrderBook&) = delete;
  OrderBook& operator=(const OrderBook&) = delete;

  // Appends the order at the tail of its price level.
  void insert(OrderHandle handle);
  // Unlinks the order from its level, dropping the level when it empties.
  void erase(OrderHandle handle);
  // The order's open quantity shrinks in place; it keeps its place in the queue.
  void reduce(OrderHandle handle, Quantity new_remaining);

  // Highest-priority resting order on `side`, or kNoOrder.
  OrderHandle best(Side side) const;
  std::optional<Price> best_price(Side side) const;
  // The order behind `handle` in time priority on the same side, crossing levels.
  OrderHandle next_in_priority(OrderHandle handle) const;
  // True if an order at `price` on `side` would trade against the other side right now.
  bool crosses(Side side, Price price) const;

  std::vector<BookLevel> levels(Side side, std::size_t depth) const;
  std::size_t level_count(Side side) const {
    return side == Side::kBuy ? bids_.size() : asks_.size();
  }
  // Calls `visit(handle)` for every order of one side, best price first, then FIFO.
  void for_each(Side side, const std::function<void(OrderHandle)>& visit) const;

 private:
  PriceLevel& level_for(Side side, Price price);
  void drop_level(const PriceLevel& level, Side side);

  OrderPool& pool_;
  std::map<Price, PriceLevel, std::greater<Price>> bids_;  // best (highest) first
  std::map<Price, PriceLevel> asks_;                       // best (lowest) first
};

}  // namespace ballast::exchange
