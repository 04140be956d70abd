#include "reference_book.h"

#include <algorithm>
#include <limits>

namespace ballast::exchange::testing {
namespace {

// ceil(amount * basis_points / 10000), written the obvious way in 128 bits.
Amount fee_of(Amount amount, std::int64_t basis_points) {
  __extension__ using Wide = __int128;
  BALLAST_ASSERT(amount >= 0 && basis_points >= 0);
  Wide fee = (Wide{amount} * basis_points + kBasisPointsPerUnit - 1) / kBasisPointsPerUnit;
  BALLAST_ASSERT(fee <= amount);
  return static_cast<Amount>(fee);
}

bool is_cancel(const TransactionBody& body) {
  return std::holds_alternative<CancelOrder>(body) || std::holds_alternative<CancelAll>(body);
}

bool is_post_only(const TransactionBody& body) {
  const auto* place = std::get_if<PlaceOrder>(&body);
  return place != nullptr && place->post_only;
}

// Would an order on `side` with limit `limit` trade with a resting order at `resting_price`?
bool price_acceptable(Side side, Price limit, Price resting_price) {
  return side == Side::kBuy ? resting_price <= limit : resting_price >= limit;
}

}  // namespace

ReferenceBook::ReferenceBook(const Genesis& genesis)
    : fee_asset_(genesis.tx_fee_asset),
      min_tx_fee_(genesis.min_tx_fee),
      max_open_orders_(genesis.limits.max_open_orders_per_account) {
  BALLAST_ASSERT(genesis.markets.size() == 1 && genesis.assets.size() == 2);
  market_ = genesis.markets[0];
  for (const GenesisAccount& account : genesis.accounts) {
    BALLAST_ASSERT(account.key != genesis.fee_account);
    keys_.push_back(account.key);
    std::vector<Amount> totals(2, 0);
    for (const GenesisBalance& funds : account.balances) totals.at(funds.asset) += funds.amount;
    owned_.push_back(totals);
  }
  keys_.push_back(genesis.fee_account);
  owned_.push_back(std::vector<Amount>(2, 0));
  nonces_.assign(keys_.size(), 0);
}

std::optional<std::size_t> ReferenceBook::find_account(const AccountId& key) const {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return i;
  }
  return std::nullopt;
}

// --- blocks and admission -----------------------------------------------------------------

std::vector<ReferenceResult> ReferenceBook::execute_block(std::uint64_t height,
                                                          const std::vector<ReferenceTx>& txs) {
  std::vector<ReferenceResult> results(txs.size());
  std::vector<bool> admitted(txs.size(), false);
  for (std::size_t i = 0; i < txs.size(); ++i) {
    results[i].reject = admit(txs[i], height);
    admitted[i] = results[i].accepted();
  }
  // Phase 0: cancels; phase 1: post-only orders; phase 2: the rest.
  for (int phase = 0; phase < 3; ++phase) {
    for (std::size_t i = 0; i < txs.size(); ++i) {
      if (!admitted[i]) continue;
      int tx_phase = is_cancel(txs[i].body) ? 0 : is_post_only(txs[i].body) ? 1 : 2;
      if (tx_phase == phase) results[i] = execute(txs[i].account, txs[i].body);
    }
  }
  return results;
}

RejectCode ReferenceBook::admit(const ReferenceTx& tx, std::uint64_t height) {
  BALLAST_ASSERT(tx.account < fee_account());
  if (!tx.signature_valid) return RejectCode::kBadSignature;
  if (tx.nonce <= nonces_[tx.account]) return RejectCode::kStaleNonce;
  if (height > tx.expiry_height) return RejectCode::kExpired;
  if (tx.fee < min_tx_fee_) return RejectCode::kFeeTooLow;
  if (available(tx.account, fee_asset_) < tx.fee) return RejectCode::kInsufficientFeeBalance;
  nonces_[tx.account] = tx.nonce;
  owned_[tx.account][fee_asset_] -= tx.fee;
  owned_[fee_account()][fee_asset_] += tx.fee;
  return RejectCode::kNone;
}

ReferenceResult ReferenceBook::execute(std::size_t account, const TransactionBody& body) {
  if (const auto* place_order = std::get_if<PlaceOrder>(&body)) return place(account, *place_order);
  if (const auto* cancel_order = std::get_if<CancelOrder>(&body)) {
    return cancel(account, *cancel_order);
  }
  if (const auto* all = std::get_if<CancelAll>(&body)) return cancel_all(account, *all);
  if (const auto* replace_order = std::get_if<ReplaceOrder>(&body)) {
    return replace(account, *replace_order);
  }
  return transfer(account, std::get<Transfer>(body));
}

// --- views ------------------------------------------------------------------------------------

std::vector<OpenOrder> ReferenceBook::resting_orders(Side side) const {
  std::vector<OpenOrder> orders;
  for (const RestingOrder& order : book_) {
    if (order.side != side) continue;
    orders.push_back(OpenOrder{order.id, order.client_order_id, 0, order.side, order.price,
                               order.remaining, order.sequence, order.post_only});
  }
  std::sort(orders.begin(), orders.end(), [side](const OpenOrder& a, const OpenOrder& b) {
    if (a.price != b.price) return side == Side::kBuy ? a.price > b.price : a.price < b.price;
    return a.sequence < b.sequence;
  });
  return orders;
}

std::vector<OpenOrder> ReferenceBook::open_orders(std::size_t account) const {
  std::vector<OpenOrder> orders;
  for (const RestingOrder& order : book_) {
    if (order.owner != account) continue;
    orders.push_back(OpenOrder{order.id, order.client_order_id, 0, order.side, order.price,
                               order.remaining, order.sequence, order.post_only});
  }
  std::sort(orders.begin(), orders.end(),
            [](const OpenOrder& a, const OpenOrder& b) { return a.id < b.id; });
  return orders;
}

Balance ReferenceBook::balance(std::size_t account, AssetId asset) const {
  Amount held = locked(account, asset);
  return Balance{owned_.at(account).at(asset) - held, held};
}

std::vector<Amount> ReferenceBook::asset_totals() const {
  std::vector<Amount> totals(2, 0);
  for (const auto& owned : owned_) {
    for (std::size_t asset = 0; asset < 2; ++asset) totals[asset] += owned[asset];
  }
  return totals;
}

// --- helpers ----------------------------------------------------------------------------------

std::optional<RejectCode> ReferenceBook::check_price_and_size(Price price,
                                                              Quantity quantity) const {
  if (price <= 0 || price % market_.tick_size != 0) return RejectCode::kInvalidPrice;
  if (quantity <= 0 || quantity % market_.lot_size != 0) return RejectCode::kInvalidQuantity;
  if (quantity < market_.min_size) return RejectCode::kBelowMinimumSize;
  return std::nullopt;
}

std::optional<Amount> ReferenceBook::lock_for(Side side, Price price, Quantity quantity) const {
  if (side == Side::kSell) return quantity;
  Quantity lots = quantity / market_.lot_size;
  if (lots != 0 && price > std::numeric_limits<Amount>::max() / lots) return std::nullopt;
  return price * lots;
}

Amount ReferenceBook::locked(std::size_t account, AssetId asset) const {
  Amount total = 0;
  for (const RestingOrder& order : book_) {
    if (order.owner == account && locked_asset(order.side) == asset) {
      total += *lock_for(order.side, order.price, order.remaining);
    }
  }
  return total;
}

Amount ReferenceBook::available(std::size_t account, AssetId asset) const {
  return owned_.at(account).at(asset) - locked(account, asset);
}

std::optional<std::size_t> ReferenceBook::find_order(std::size_t account, const OrderRef& ref,
                                                     RejectCode& why) const {
  for (std::size_t i = 0; i < book_.size(); ++i) {
    const RestingOrder& order = book_[i];
    if (ref.by_client_order_id) {
      if (order.owner == account && order.client_order_id != 0 && order.client_order_id == ref.id) {
        return i;
      }
    } else if (order.id == ref.id) {
      if (order.owner == account) return i;
      why = RejectCode::kNotOrderOwner;
      return std::nullopt;
    }
  }
  why = RejectCode::kOrderNotFound;
  return std::nullopt;
}

std::size_t ReferenceBook::open_order_count(std::size_t account) const {
  std::size_t count = 0;
  for (const RestingOrder& order : book_) count += order.owner == account ? 1 : 0;
  return count;
}

bool ReferenceBook::crosses(Side side, Price price) const {
  for (const RestingOrder& order : book_) {
    if (order.side != side && price_acceptable(side, price, order.price)) return true;
  }
  return false;
}

std::optional<std::size_t> ReferenceBook::best(Side side) const {
  std::optional<std::size_t> best_index;
  for (std::size_t i = 0; i < book_.size(); ++i) {
    const RestingOrder& order = book_[i];
    if (order.side != side) continue;
    if (!best_index) {
      best_index = i;
      continue;
    }
    const RestingOrder& current = book_[*best_index];
    bool better_price =
        side == Side::kBuy ? order.price > current.price : order.price < current.price;
    bool earlier_at_same_price = order.price == current.price && order.sequence < current.sequence;
    if (better_price || earlier_at_same_price) best_index = i;
  }
  return best_index;
}

// --- transactions -----------------------------------------------------------------------------

ReferenceResult ReferenceBook::place(std::size_t account, const PlaceOrder& body) {
  if (body.market != 0) return {RejectCode::kUnknownMarket, {}};
  if (auto reject = check_price_and_size(body.price, body.quantity)) return {*reject, {}};
  bool resting = body.time_in_force == TimeInForce::kGoodTillCancel;
  if (body.type == OrderType::kMarket && resting) return {RejectCode::kInvalidOrder, {}};
  if (body.post_only && (!resting || body.type != OrderType::kLimit)) {
    return {RejectCode::kInvalidOrder, {}};
  }
  if (body.client_order_id != 0) {
    RejectCode ignored;
    if (find_order(account, OrderRef{true, body.client_order_id}, ignored)) {
      return {RejectCode::kDuplicateClientOrderId, {}};
    }
  }
  if (resting && open_order_count(account) >= max_open_orders_) {
    return {RejectCode::kTooManyOpenOrders, {}};
  }
  auto lock = lock_for(body.side, body.price, body.quantity);
  if (!lock) return {RejectCode::kOverflow, {}};
  if (available(account, locked_asset(body.side)) < *lock) {
    return {RejectCode::kInsufficientBalance, {}};
  }
  if (body.post_only && crosses(body.side, body.price)) return {RejectCode::kWouldCross, {}};
  Incoming order{.id = 0,
                 .owner = account,
                 .client_order_id = body.client_order_id,
                 .side = body.side,
                 .time_in_force = body.time_in_force,
                 .post_only = body.post_only,
                 .self_trade_prevention = body.self_trade_prevention,
                 .price = body.price,
                 .remaining = body.quantity,
                 .filled = 0};
  if (body.time_in_force == TimeInForce::kFillOrKill && !fill_or_kill_fillable(order)) {
    return {RejectCode::kFillOrKillNotFilled, {}};
  }
  order.id = next_order_id_++;
  ReferenceResult result;
  result.events.push_back(OrderAccepted{order.id, body.client_order_id, 0, body.side, body.type,
                                        body.time_in_force, body.price, body.quantity});
  submit(order, result.events);
  return result;
}

ReferenceResult ReferenceBook::cancel(std::size_t account, const CancelOrder& body) {
  RejectCode why = RejectCode::kNone;
  auto index = find_order(account, body.order, why);
  if (!index) return {why, {}};
  ReferenceResult result;
  remove(*index, CancelReason::kRequested, result.events);
  return result;
}

ReferenceResult ReferenceBook::cancel_all(std::size_t account, const CancelAll& body) {
  if (body.market && *body.market != 0) return {RejectCode::kUnknownMarket, {}};
  ReferenceResult result;
  for (const OpenOrder& order : open_orders(account)) {  // oldest id first
    RejectCode ignored;
    remove(*find_order(account, OrderRef{false, order.id}, ignored), CancelReason::kRequested,
           result.events);
  }
  return result;
}

ReferenceResult ReferenceBook::replace(std::size_t account, const ReplaceOrder& body) {
  RejectCode why = RejectCode::kNone;
  auto index = find_order(account, body.order, why);
  if (!index) return {why, {}};
  const RestingOrder current = book_[*index];
  Price price = body.new_price != 0 ? body.new_price : current.price;
  Quantity quantity = body.new_quantity != 0 ? body.new_quantity : current.remaining;
  if (price == current.price && quantity == current.remaining) return {RejectCode::kNoChange, {}};
  if (auto reject = check_price_and_size(price, quantity)) return {*reject, {}};
  ReferenceResult result;
  if (price == current.price && quantity < current.remaining) {
    book_[*index].remaining = quantity;  // same place in the queue
    result.events.push_back(
        OrderReplaced{current.id, current.price, current.remaining, price, quantity, true});
    return result;
  }
  auto new_lock = lock_for(current.side, price, quantity);
  if (!new_lock) return {RejectCode::kOverflow, {}};
  Amount usable = available(account, locked_asset(current.side)) +
                  *lock_for(current.side, current.price, current.remaining);
  if (usable < *new_lock) return {RejectCode::kInsufficientBalance, {}};
  if (current.post_only && crosses(current.side, price)) return {RejectCode::kWouldCross, {}};
  book_.erase(book_.begin() + static_cast<std::ptrdiff_t>(*index));
  result.events.push_back(
      OrderReplaced{current.id, current.price, current.remaining, price, quantity, false});
  Incoming order{.id = current.id,
                 .owner = account,
                 .client_order_id = current.client_order_id,
                 .side = current.side,
                 .time_in_force = TimeInForce::kGoodTillCancel,
                 .post_only = current.post_only,
                 .self_trade_prevention = current.self_trade_prevention,
                 .price = price,
                 .remaining = quantity,
                 .filled = 0};
  submit(order, result.events);
  return result;
}

ReferenceResult ReferenceBook::transfer(std::size_t account, const Transfer& body) {
  if (body.asset >= 2) return {RejectCode::kUnknownAsset, {}};
  if (body.amount <= 0) return {RejectCode::kInvalidTransfer, {}};
  if (body.recipient == keys_[account]) return {RejectCode::kInvalidTransfer, {}};
  auto recipient = find_account(body.recipient);
  BALLAST_ASSERT_MSG(recipient.has_value(), "the reference knows only its own accounts");
  if (available(account, body.asset) < body.amount) return {RejectCode::kInsufficientBalance, {}};
  owned_[account][body.asset] -= body.amount;
  owned_[*recipient][body.asset] += body.amount;
  return {RejectCode::kNone,
          {Transferred{keys_[account], body.recipient, body.asset, body.amount}}};
}

// --- matching ---------------------------------------------------------------------------------

void ReferenceBook::submit(Incoming& order, std::vector<Event>& events) {
  match(order, events);
  if (order.remaining == 0) return;
  if (order.time_in_force == TimeInForce::kGoodTillCancel) {
    book_.push_back(RestingOrder{order.id, order.owner, order.client_order_id, order.side,
                                 order.price, order.remaining, order.post_only,
                                 order.self_trade_prevention, next_sequence_++});
    events.push_back(OrderRested{order.id, order.price, order.remaining});
    return;
  }
  events.push_back(OrderCancelled{order.id, keys_[order.owner], order.remaining,
                                  CancelReason::kImmediateOrCancel});
  order.remaining = 0;
}

void ReferenceBook::match(Incoming& order, std::vector<Event>& events) {
  while (order.remaining > 0) {
    auto maker = best(opposite(order.side));
    if (!maker || !price_acceptable(order.side, order.price, book_[*maker].price)) return;
    if (book_[*maker].owner != order.owner) {
      fill(order, *maker, std::min(order.remaining, book_[*maker].remaining), events);
      continue;
    }
    // Self-trade prevention.
    SelfTradePrevention mode = order.self_trade_prevention;
    if (mode == SelfTradePrevention::kCancelOldest || mode == SelfTradePrevention::kCancelBoth) {
      remove(*maker, CancelReason::kSelfTradePrevention, events);
    }
    if (mode == SelfTradePrevention::kCancelNewest || mode == SelfTradePrevention::kCancelBoth) {
      events.push_back(OrderCancelled{order.id, keys_[order.owner], order.remaining,
                                      CancelReason::kSelfTradePrevention});
      order.remaining = 0;
    }
  }
}

void ReferenceBook::fill(Incoming& taker, std::size_t maker_index, Quantity quantity,
                         std::vector<Event>& events) {
  RestingOrder& maker = book_[maker_index];
  const Price price = maker.price;
  const Amount notional = price * (quantity / market_.lot_size);
  const bool taker_buys = taker.side == Side::kBuy;
  const std::size_t buyer = taker_buys ? taker.owner : maker.owner;
  const std::size_t seller = taker_buys ? maker.owner : taker.owner;
  // The buyer is charged in the base it receives, the seller in the quote it receives.
  const Amount buyer_fee =
      fee_of(quantity, taker_buys ? market_.taker_fee_bps : market_.maker_fee_bps);
  const Amount seller_fee =
      fee_of(notional, taker_buys ? market_.maker_fee_bps : market_.taker_fee_bps);
  owned_[buyer][market_.quote] -= notional;
  owned_[buyer][market_.base] += quantity - buyer_fee;
  owned_[seller][market_.base] -= quantity;
  owned_[seller][market_.quote] += notional - seller_fee;
  owned_[fee_account()][market_.base] += buyer_fee;
  owned_[fee_account()][market_.quote] += seller_fee;

  events.push_back(OrderFilled{0, maker.id, taker.id, keys_[maker.owner], keys_[taker.owner],
                               taker.side, price, quantity, taker_buys ? seller_fee : buyer_fee,
                               taker_buys ? buyer_fee : seller_fee});
  taker.remaining -= quantity;
  taker.filled += quantity;
  maker.remaining -= quantity;
  if (maker.remaining == 0) book_.erase(book_.begin() + static_cast<std::ptrdiff_t>(maker_index));
}

void ReferenceBook::remove(std::size_t index, CancelReason reason, std::vector<Event>& events) {
  const RestingOrder order = book_[index];
  book_.erase(book_.begin() + static_cast<std::ptrdiff_t>(index));
  events.push_back(OrderCancelled{order.id, keys_[order.owner], order.remaining, reason});
}

bool ReferenceBook::fill_or_kill_fillable(const Incoming& order) const {
  // Fillable means: run as an immediate-or-cancel order against a scratch copy of the book, it
  // trades its whole quantity.
  ReferenceBook trial = *this;
  Incoming probe = order;
  std::vector<Event> ignored;
  trial.match(probe, ignored);
  return probe.filled == order.remaining;
}

}  // namespace ballast::exchange::testing
