#include "exchange/order_book.h"

namespace ballast::exchange {

OrderHandle OrderPool::allocate() {
  if (!free_.empty()) {
    OrderHandle handle = free_.back();
    free_.pop_back();
    orders_[handle] = Order{};
    return handle;
  }
  BALLAST_ASSERT_MSG(orders_.size() < kNoOrder, "order pool exhausted");
  orders_.emplace_back();
  return static_cast<OrderHandle>(orders_.size() - 1);
}

void OrderPool::release(OrderHandle handle) {
  BALLAST_ASSERT(handle < orders_.size());
  orders_[handle].id = 0;  // marks the slot free for debugging and assertions
  free_.push_back(handle);
}

PriceLevel& OrderBook::level_for(Side side, Price price) {
  if (side == Side::kBuy) {
    auto [it, inserted] = bids_.try_emplace(price);
    if (inserted) it->second.price = price;
    return it->second;
  }
  auto [it, inserted] = asks_.try_emplace(price);
  if (inserted) it->second.price = price;
  return it->second;
}

void OrderBook::drop_level(const PriceLevel& level, Side side) {
  BALLAST_ASSERT(level.order_count == 0 && level.total_quantity == 0);
  std::size_t erased = side == Side::kBuy ? bids_.erase(level.price) : asks_.erase(level.price);
  BALLAST_ASSERT(erased == 1);
}

void OrderBook::insert(OrderHandle handle) {
  Order& order = pool_[handle];
  BALLAST_ASSERT(order.level == nullptr && order.remaining > 0);
  PriceLevel& level = level_for(order.side, order.price);
  order.level = &level;
  order.level_previous = level.tail;
  order.level_next = kNoOrder;
  if (level.tail != kNoOrder) {
    pool_[level.tail].level_next = handle;
  } else {
    level.head = handle;
  }
  level.tail = handle;
  level.total_quantity = add_or_die(level.total_quantity, order.remaining);
  level.order_count += 1;
}

void OrderBook::erase(OrderHandle handle) {
  Order& order = pool_[handle];
  PriceLevel* level = order.level;
  BALLAST_ASSERT(level != nullptr);
  if (order.level_previous != kNoOrder) {
    pool_[order.level_previous].level_next = order.level_next;
  } else {
    level->head = order.level_next;
  }
  if (order.level_next != kNoOrder) {
    pool_[order.level_next].level_previous = order.level_previous;
  } else {
    level->tail = order.level_previous;
  }
  level->total_quantity = sub_or_die(level->total_quantity, order.remaining);
  level->order_count -= 1;
  order.level = nullptr;
  order.level_previous = order.level_next = kNoOrder;
  if (level->order_count == 0) drop_level(*level, order.side);
}

void OrderBook::reduce(OrderHandle handle, Quantity new_remaining) {
  Order& order = pool_[handle];
  BALLAST_ASSERT(order.level != nullptr && new_remaining > 0 && new_remaining <= order.remaining);
  order.level->total_quantity -= order.remaining - new_remaining;
  order.remaining = new_remaining;
}

OrderHandle OrderBook::best(Side side) const {
  if (side == Side::kBuy) return bids_.empty() ? kNoOrder : bids_.begin()->second.head;
  return asks_.empty() ? kNoOrder : asks_.begin()->second.head;
}

std::optional<Price> OrderBook::best_price(Side side) const {
  if (side == Side::kBuy) {
    if (bids_.empty()) return std::nullopt;
    return bids_.begin()->first;
  }
  if (asks_.empty()) return std::nullopt;
  return asks_.begin()->first;
}

OrderHandle OrderBook::next_in_priority(OrderHandle handle) const {
  const Order& order = pool_[handle];
  if (order.level_next != kNoOrder) return order.level_next;
  Price price = order.price;
  if (order.side == Side::kBuy) {
    auto it = bids_.upper_bound(price);
    return it == bids_.end() ? kNoOrder : it->second.head;
  }
  auto it = asks_.upper_bound(price);
  return it == asks_.end() ? kNoOrder : it->second.head;
}

bool OrderBook::crosses(Side side, Price price) const {
  auto opposite_best = best_price(opposite(side));
  if (!opposite_best) return false;
  return side == Side::kBuy ? price >= *opposite_best : price <= *opposite_best;
}

std::vector<BookLevel> OrderBook::levels(Side side, std::size_t depth) const {
  std::vector<BookLevel> result;
  auto collect = [&](const auto& levels) {
    for (const auto& [price, level] : levels) {
      if (result.size() >= depth) break;
      result.push_back({price, level.total_quantity, level.order_count});
    }
  };
  if (side == Side::kBuy) {
    collect(bids_);
  } else {
    collect(asks_);
  }
  return result;
}

void OrderBook::for_each(Side side, const std::function<void(OrderHandle)>& visit) const {
  auto walk = [&](const auto& levels) {
    for (const auto& [price, level] : levels) {
      for (OrderHandle handle = level.head; handle != kNoOrder;) {
        OrderHandle next = pool_[handle].level_next;
        visit(handle);
        handle = next;
      }
    }
  };
  if (side == Side::kBuy) {
    walk(bids_);
  } else {
    walk(asks_);
  }
}

}  // namespace ballast::exchange
