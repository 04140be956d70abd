// Price-time priority matching within the circuit-breaker limits, settlement of fills, and
// keeping the book, the per-account order lists and the lookup tables in step.
#include <algorithm>

#include "exchange/exchange.h"

namespace ballast::exchange {

void Exchange::submit(Incoming& order, TxResult& result) {
  if (breaker(order.market).trading()) match(order, result);
  if (order.remaining == 0) return;
  const bool good_till_cancel = order.time_in_force == TimeInForce::kGoodTillCancel;
  if (!breaker(order.market).trading()) {
    // Paused before it arrived (only GTC orders get here then) or by one of its own fills.
    if (good_till_cancel) {
      rest_while_paused(order, result);
    } else {
      cancel_incoming(order, CancelReason::kMarketPaused, result);
    }
    return;
  }
  if (good_till_cancel) {
    slide_into_band(order);
    rest(order, result);
    return;
  }
  // The unfilled rest of an IOC, FOK or market order is cancelled; self-trade prevention may
  // already have done so.
  cancel_incoming(order, CancelReason::kImmediateOrCancel, result);
}

void Exchange::cancel_incoming(Incoming& order, CancelReason reason, TxResult& result) {
  release_lock(order.owner, *order.spec, order.side, order.price, order.remaining);
  result.events.push_back(
      OrderCancelled{order.id, accounts_[order.owner].key, order.remaining, reason});
  order.remaining = 0;
}

void Exchange::match(Incoming& order, TxResult& result) {
  OrderBook& book = *books_[order.market];
  Side maker_side = opposite(order.side);
  FillGate gate(breaker(order.market), *order.spec, order.side, order.price);
  while (order.remaining > 0) {
    OrderHandle maker = book.best(maker_side);
    if (maker == kNoOrder) return;
    const Order& resting = order_pool_[maker];
    if (!gate.price_allowed(resting.price)) return;
    if (resting.owner == order.owner) {
      SelfTradePrevention mode = order.self_trade_prevention;
      if (mode != SelfTradePrevention::kCancelNewest) {
        cancel_resting(maker, CancelReason::kSelfTradePrevention, result);
      }
      if (mode != SelfTradePrevention::kCancelOldest) {
        cancel_incoming(order, CancelReason::kSelfTradePrevention, result);
      }
      continue;
    }
    if (!gate.velocity_allows(resting.price)) {
      trip_velocity(order.market);
      return;
    }
    const Price price = resting.price;
    settle_fill(order, maker, std::min(order.remaining, resting.remaining), result);
    gate.filled(price);
  }
}

Exchange::TradeFees Exchange::settle_trade(const Trade& trade) {
  const MarketSpec& market = genesis_.markets[trade.market];
  BALLAST_ASSERT(trade.quantity > 0 && trade.quantity % market.lot_size == 0);
  BALLAST_ASSERT(trade.buyer != trade.seller && trade.price <= trade.buyer_limit);
  const Quantity lots = trade.quantity / market.lot_size;
  // <= the buyer's locked limit notional: cannot overflow.
  const Amount notional = trade.price * lots;
  TradeFees fees;
  fees.buyer_fee =
      fee_for(trade.quantity, trade.buyer_is_maker ? market.maker_fee_bps : market.taker_fee_bps);
  fees.seller_fee =
      fee_for(notional, trade.buyer_is_maker ? market.taker_fee_bps : market.maker_fee_bps);

  // The buyer locked its own limit price per lot; it pays the trade price and gets the
  // difference back at once.
  Balance& buyer_quote = balance(trade.buyer, market.quote);
  buyer_quote.locked = sub_or_die(buyer_quote.locked, trade.buyer_limit * lots);
  buyer_quote.available =
      add_or_die(buyer_quote.available, (trade.buyer_limit - trade.price) * lots);
  Balance& buyer_base = balance(trade.buyer, market.base);
  buyer_base.available = add_or_die(buyer_base.available, trade.quantity - fees.buyer_fee);

  Balance& seller_base = balance(trade.seller, market.base);
  seller_base.locked = sub_or_die(seller_base.locked, trade.quantity);
  Balance& seller_quote = balance(trade.seller, market.quote);
  seller_quote.available = add_or_die(seller_quote.available, notional - fees.seller_fee);

  Balance& fee_base = balance(fee_account_, market.base);
  fee_base.available = add_or_die(fee_base.available, fees.buyer_fee);
  Balance& fee_quote = balance(fee_account_, market.quote);
  fee_quote.available = add_or_die(fee_quote.available, fees.seller_fee);

  breaker(trade.market).record_trade(market, block_time_ms_, trade.price, lots);
  touch_market(trade.market);
  return fees;
}

void Exchange::settle_fill(Incoming& taker, OrderHandle maker_handle, Quantity quantity,
                           TxResult& result) {
  Order& maker = order_pool_[maker_handle];
  const bool taker_buys = taker.side == Side::kBuy;
  // A fill trades at the maker's price; a buying maker locked exactly that.
  const TradeFees fees = settle_trade(Trade{.market = taker.market,
                                            .buyer = taker_buys ? taker.owner : maker.owner,
                                            .seller = taker_buys ? maker.owner : taker.owner,
                                            .buyer_limit = taker_buys ? taker.price : maker.price,
                                            .price = maker.price,
                                            .quantity = quantity,
                                            .buyer_is_maker = !taker_buys});
  result.events.push_back(OrderFilled{taker.market, maker.id, taker.id, accounts_[maker.owner].key,
                                      accounts_[taker.owner].key, taker.side, maker.price, quantity,
                                      taker_buys ? fees.seller_fee : fees.buyer_fee,
                                      taker_buys ? fees.buyer_fee : fees.seller_fee});
  taker.remaining -= quantity;
  if (quantity == maker.remaining) {
    remove_resting(maker_handle);
  } else {
    books_[maker.market]->reduce(maker_handle, maker.remaining - quantity);
    touch_order(maker_handle);
  }
}

void Exchange::rest(const Incoming& incoming, TxResult& result) {
  OrderHandle handle = order_pool_.allocate();
  Order& order = order_pool_[handle];
  order.id = incoming.id;
  order.owner = incoming.owner;
  order.market = incoming.market;
  order.side = incoming.side;
  order.post_only = incoming.post_only;
  order.self_trade_prevention = incoming.self_trade_prevention;
  order.price = incoming.price;
  order.remaining = incoming.remaining;
  order.client_order_id = incoming.client_order_id;
  order.sequence = next_sequence_++;
  books_[order.market]->insert(handle);

  Account& owner = accounts_[order.owner];
  order.account_next = owner.first_order;
  if (owner.first_order != kNoOrder) order_pool_[owner.first_order].account_previous = handle;
  owner.first_order = handle;
  owner.open_orders += 1;
  BALLAST_ASSERT(orders_by_id_.emplace(order.id, handle).second);
  if (order.client_order_id != 0) {
    BALLAST_ASSERT(
        orders_by_client_id_.emplace(ClientOrderKey{order.owner, order.client_order_id}, handle)
            .second);
  }
  touch_order(handle);
  result.events.push_back(OrderRested{order.id, order.price, order.remaining});
}

void Exchange::cancel_resting(OrderHandle handle, CancelReason reason, TxResult& result) {
  const Order& order = order_pool_[handle];
  release_lock(order.owner, genesis_.markets[order.market], order.side, order.price,
               order.remaining);
  result.events.push_back(
      OrderCancelled{order.id, accounts_[order.owner].key, order.remaining, reason});
  remove_resting(handle);
}

void Exchange::remove_resting(OrderHandle handle) {
  Order& order = order_pool_[handle];
  books_[order.market]->erase(handle);

  Account& owner = accounts_[order.owner];
  if (order.account_previous != kNoOrder) {
    order_pool_[order.account_previous].account_next = order.account_next;
  } else {
    owner.first_order = order.account_next;
  }
  if (order.account_next != kNoOrder) {
    order_pool_[order.account_next].account_previous = order.account_previous;
  }
  BALLAST_ASSERT(owner.open_orders > 0);
  owner.open_orders -= 1;
  BALLAST_ASSERT(orders_by_id_.erase(order.id) == 1);
  if (order.client_order_id != 0) {
    BALLAST_ASSERT(orders_by_client_id_.erase(ClientOrderKey{order.owner, order.client_order_id}) ==
                   1);
  }
  // The entry leaves the committed set at the next commit; a dirty-list entry for its id is
  // skipped there.
  if (order.committed) removed_digests_.push_back(order.committed_digest);
  order_pool_.release(handle);
}

void Exchange::release_lock(AccountIndex owner, const MarketSpec& market, Side side, Price price,
                            Quantity quantity) {
  Amount amount = side == Side::kBuy ? price * (quantity / market.lot_size) : quantity;
  Balance& funds = balance(owner, side == Side::kBuy ? market.quote : market.base);
  funds.locked = sub_or_die(funds.locked, amount);
  funds.available = add_or_die(funds.available, amount);
}

bool Exchange::fill_or_kill_fillable(const Incoming& order) const {
  const OrderBook& book = *books_[order.market];
  // The gate follows the simulated fills, so this stops exactly where match() would.
  FillGate gate(markets_[order.market].breaker, *order.spec, order.side, order.price);
  Quantity fillable = 0;
  for (OrderHandle handle = book.best(opposite(order.side)); handle != kNoOrder;
       handle = book.next_in_priority(handle)) {
    const Order& resting = order_pool_[handle];
    if (!gate.price_allowed(resting.price)) break;
    if (resting.owner == order.owner) {
      // Mirrors match(): only cancel-oldest keeps going past one's own order.
      if (order.self_trade_prevention != SelfTradePrevention::kCancelOldest) break;
      continue;
    }
    if (!gate.velocity_allows(resting.price)) break;
    gate.filled(resting.price);
    fillable += resting.remaining;
    if (fillable >= order.remaining) return true;
  }
  return false;
}

}  // namespace ballast::exchange
