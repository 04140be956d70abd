// The circuit breakers at work: the timers a block's time expires (limit state into pause, pause
// into auction, auction into continuous trading), the reopening auction's uncross, the limit-state
// check after each block, velocity pauses, and orders that arrive while a market is paused.
//
// Everything here runs at fixed points of a block (its start, a fill, its end) and reads only the
// block time, never a clock, so every replica sees the same transitions at the same heights.
// docs/CIRCUIT_BREAKERS.md is the reference.
#include <algorithm>

#include "exchange/exchange.h"

namespace ballast::exchange {

void Exchange::touch_market(MarketId market) {
  MarketEntry& entry = markets_[market];
  if (!entry.dirty) {
    entry.dirty = true;
    dirty_markets_.push_back(market);
  }
}

MarketStatus Exchange::market_status(MarketId market) const {
  BALLAST_ASSERT(market < markets_.size());
  return markets_[market].breaker.status(market);
}

AuctionClearing Exchange::indicative_auction(MarketId market) const {
  BALLAST_ASSERT(market < markets_.size());
  const OrderBook& book = *books_[market];
  std::vector<BookLevel> bids = book.levels(Side::kBuy, book.level_count(Side::kBuy));
  std::vector<BookLevel> asks = book.levels(Side::kSell, book.level_count(Side::kSell));
  Price reference = markets_[market].breaker.reference().value_or(0);
  return clear_auction(bids, asks, reference, genesis_.markets[market].tick_size);
}

// --- block start and end ---------------------------------------------------------------------

void Exchange::begin_block(BlockResult& block) {
  for (std::size_t index = 0; index < markets_.size(); ++index) {
    const auto market = static_cast<MarketId>(index);
    run_timers(market, block);
    // The reference (and so the band) moves only here, once per block, and stands still while
    // the market is paused: the auction sets the next one.
    MarketBreaker& entry = breaker(market);
    if (entry.trading() && entry.roll(genesis_.markets[market], block_time_ms_)) {
      touch_market(market);
    }
  }
}

void Exchange::run_timers(MarketId market, BlockResult& block) {
  // A long gap between blocks can expire a pause and a zero-length auction at once; each step
  // either leaves a state whose end is later than now or ends in the open state.
  for (int step = 0; step < 3; ++step) {
    const MarketBreaker& entry = breaker(market);
    if (entry.state() == MarketState::kOpen || block_time_ms_ < entry.state_ends_ms()) return;
    switch (entry.state()) {
      case MarketState::kLimitState:
        transition(market, MarketState::kPaused, MarketTransitionReason::kLimitStateTimeout,
                   MarketEventPhase::kBlockStart);
        break;
      case MarketState::kPaused:
        transition(market, MarketState::kAuction, MarketTransitionReason::kPauseEnded,
                   MarketEventPhase::kBlockStart);
        break;
      case MarketState::kAuction:
        run_auction(market, block);
        return;
      case MarketState::kOpen:
        return;
    }
  }
}

void Exchange::end_block() {
  for (std::size_t index = 0; index < markets_.size(); ++index) {
    const auto market = static_cast<MarketId>(index);
    const MarketBreaker& entry = breaker(market);
    if (!entry.enabled() || !entry.trading()) continue;
    const OrderBook& book = *books_[market];
    MarketTransitionReason reason =
        entry.limit_condition(book.best_price(Side::kBuy), book.best_price(Side::kSell));
    if (entry.state() == MarketState::kOpen && reason != MarketTransitionReason::kNone) {
      transition(market, MarketState::kLimitState, reason, MarketEventPhase::kBlockEnd);
    } else if (entry.state() == MarketState::kLimitState &&
               reason == MarketTransitionReason::kNone) {
      transition(market, MarketState::kOpen, MarketTransitionReason::kLimitStateCleared,
                 MarketEventPhase::kBlockEnd);
    }
  }
}

bool Exchange::limit_condition_holds(MarketId market) const {
  const OrderBook& book = *books_[market];
  return markets_[market].breaker.limit_condition(book.best_price(Side::kBuy),
                                                  book.best_price(Side::kSell)) !=
         MarketTransitionReason::kNone;
}

void Exchange::transition(MarketId market, MarketState to, MarketTransitionReason reason,
                          MarketEventPhase phase, const AuctionClearing* clearing) {
  MarketBreaker& entry = breaker(market);
  MarketEvent event;
  event.market = market;
  event.from = entry.state();
  event.to = to;
  event.reason = reason;
  event.phase = phase;
  event.transaction = phase == MarketEventPhase::kTransaction ? executing_transaction_ : 0;
  event.time_ms = block_time_ms_;
  entry.enter(genesis_.markets[market].breakers, to, reason, block_time_ms_);
  event.ends_ms = entry.state_ends_ms();
  event.reference_price = entry.reference().value_or(0);
  if (std::optional<PriceBand> band = entry.band()) {
    event.band_low = band->low;
    event.band_high = band->high;
  }
  if (clearing != nullptr) {
    event.clearing_price = clearing->price;
    event.matched_quantity = clearing->volume;
  }
  pending_market_events_.push_back(event);
  touch_market(market);
}

void Exchange::trip_velocity(MarketId market) {
  transition(market, MarketState::kPaused, MarketTransitionReason::kVelocity,
             MarketEventPhase::kTransaction);
}

// --- the reopening auction -------------------------------------------------------------------

void Exchange::run_auction(MarketId market, BlockResult& block) {
  const MarketSpec& spec = genesis_.markets[market];
  OrderBook& book = *books_[market];
  MarketBreaker& entry = breaker(market);
  std::vector<BookLevel> bids = book.levels(Side::kBuy, book.level_count(Side::kBuy));
  std::vector<BookLevel> asks = book.levels(Side::kSell, book.level_count(Side::kSell));
  const AuctionClearing clearing =
      clear_auction(bids, asks, entry.reference().value_or(0), spec.tick_size);
  // The windows start again from the auction: trades from before the pause must neither drag
  // the new reference back nor trip the velocity rule on the first trade after reopening.
  entry.reset_windows();
  Quantity left = clearing.volume;
  while (left > 0) {
    const OrderHandle bid = book.best(Side::kBuy);
    const OrderHandle ask = book.best(Side::kSell);
    BALLAST_ASSERT(bid != kNoOrder && ask != kNoOrder);
    const Quantity quantity =
        std::min({left, order_pool_[bid].remaining, order_pool_[ask].remaining});
    settle_auction_fill(bid, ask, clearing.price, quantity, block.block_events);
    left -= quantity;
  }
  const std::optional<Price> best_bid = book.best_price(Side::kBuy);
  const std::optional<Price> best_ask = book.best_price(Side::kSell);
  BALLAST_ASSERT_MSG(!best_bid || !best_ask || *best_bid < *best_ask,
                     "the auction left the book crossed");
  entry.restart_after_auction(spec, clearing, best_bid, best_ask);
  transition(market, MarketState::kOpen, MarketTransitionReason::kAuctionCompleted,
             MarketEventPhase::kBlockStart, &clearing);
}

// Both orders rest; every pair of the uncross trades at the one clearing price. The older order
// is the maker, as it would have been in continuous trading, and pays the maker fee.
void Exchange::settle_auction_fill(OrderHandle bid_handle, OrderHandle ask_handle, Price price,
                                   Quantity quantity, std::vector<Event>& events) {
  const Order& bid = order_pool_[bid_handle];
  const Order& ask = order_pool_[ask_handle];
  BALLAST_ASSERT(bid.price >= price && ask.price <= price);
  BALLAST_ASSERT_MSG(bid.owner != ask.owner, "a paused book held an account crossing itself");
  const bool bid_is_maker = bid.sequence < ask.sequence;
  const TradeFees fees = settle_trade(Trade{.market = bid.market,
                                            .buyer = bid.owner,
                                            .seller = ask.owner,
                                            .buyer_limit = bid.price,
                                            .price = price,
                                            .quantity = quantity,
                                            .buyer_is_maker = bid_is_maker});
  const Order& maker = bid_is_maker ? bid : ask;
  const Order& taker = bid_is_maker ? ask : bid;
  events.push_back(OrderFilled{bid.market, maker.id, taker.id, accounts_[maker.owner].key,
                               accounts_[taker.owner].key, taker.side, price, quantity,
                               bid_is_maker ? fees.buyer_fee : fees.seller_fee,
                               bid_is_maker ? fees.seller_fee : fees.buyer_fee});
  for (OrderHandle handle : {bid_handle, ask_handle}) {
    Order& order = order_pool_[handle];
    if (order.remaining == quantity) {
      remove_resting(handle);
    } else {
      books_[order.market]->reduce(handle, order.remaining - quantity);
      touch_order(handle);
    }
  }
}

// --- orders while paused, and the band on resting orders ------------------------------------

void Exchange::rest_while_paused(Incoming& order, TxResult& result) {
  // Nothing matches now, so self-trade prevention looks at what the order would meet in the
  // auction: the account's own orders on the other side that it crosses.
  std::vector<std::pair<OrderId, OrderHandle>> crossed;
  for (OrderHandle handle = accounts_[order.owner].first_order; handle != kNoOrder;
       handle = order_pool_[handle].account_next) {
    const Order& own = order_pool_[handle];
    if (own.market != order.market || own.side == order.side) continue;
    const bool crosses =
        order.side == Side::kBuy ? own.price <= order.price : own.price >= order.price;
    if (crosses) crossed.emplace_back(own.id, handle);
  }
  if (!crossed.empty()) {
    const SelfTradePrevention mode = order.self_trade_prevention;
    if (mode != SelfTradePrevention::kCancelNewest) {
      std::sort(crossed.begin(), crossed.end());  // oldest id first, on every replica
      for (const auto& [id, handle] : crossed) {
        cancel_resting(handle, CancelReason::kSelfTradePrevention, result);
      }
    }
    if (mode != SelfTradePrevention::kCancelOldest) {
      cancel_incoming(order, CancelReason::kSelfTradePrevention, result);
      return;
    }
  }
  rest(order, result);
}

void Exchange::slide_into_band(Incoming& order) {
  std::optional<PriceBand> band = breaker(order.market).band();
  if (!band) return;
  if (order.side == Side::kBuy && order.price > band->high) {
    // The buyer locked its own price per lot; the part above the band comes back now.
    release_lock(order.owner, *order.spec, Side::kBuy, order.price - band->high, order.remaining);
    order.price = band->high;
  } else if (order.side == Side::kSell && order.price < band->low) {
    order.price = band->low;
  }
}

// --- invariants ------------------------------------------------------------------------------

Status Exchange::check_market(MarketId market) const {
  const MarketSpec& spec = genesis_.markets[market];
  const MarketBreaker& entry = markets_[market].breaker;
  const OrderBook& book = *books_[market];
  std::string problem = entry.inconsistency(spec, block_time_ms_);
  if (!problem.empty()) return corruption("market " + spec.symbol + ": " + problem);
  const std::string state(market_state_name(entry.state()));
  if (entry.trading()) {
    auto bid = book.best_price(Side::kBuy);
    auto ask = book.best_price(Side::kSell);
    if (bid && ask && *bid >= *ask) {
      return corruption("book " + spec.symbol + " is crossed while " + state);
    }
    // The limit-state check runs after every block, so between blocks the state agrees with it.
    if (entry.enabled() &&
        limit_condition_holds(market) != (entry.state() == MarketState::kLimitState)) {
      return corruption("market " + spec.symbol + " is " + state +
                        " but the limit-state condition says otherwise");
    }
    return Status::ok();
  }
  // Paused or in the auction: the book may cross, but never an account with itself, so the
  // auction never pairs an account with itself.
  std::unordered_map<AccountIndex, Price> highest_bid;
  book.for_each(Side::kBuy, [&](OrderHandle handle) {
    const Order& order = order_pool_[handle];
    auto [it, inserted] = highest_bid.try_emplace(order.owner, order.price);
    if (!inserted) it->second = std::max(it->second, order.price);
  });
  bool self_crossed = false;
  book.for_each(Side::kSell, [&](OrderHandle handle) {
    const Order& order = order_pool_[handle];
    auto it = highest_bid.find(order.owner);
    if (it != highest_bid.end() && it->second >= order.price) self_crossed = true;
  });
  if (self_crossed) {
    return corruption("paused book " + spec.symbol + " has an account crossing itself");
  }
  return Status::ok();
}

}  // namespace ballast::exchange
