#include "exchange/exchange.h"

#include <algorithm>
#include <cstring>

namespace ballast::exchange {
namespace {

std::string amount_text(Amount amount) {
  return std::to_string(amount);
}

}  // namespace

std::size_t Exchange::KeyHasher::operator()(const PublicKey& key) const {
  std::uint64_t word;
  std::memcpy(&word, key.bytes.data(), sizeof word);
  return static_cast<std::size_t>(word * 0x9E3779B97F4A7C15ULL);
}

std::size_t Exchange::KeyHasher::operator()(const ClientOrderKey& key) const {
  std::uint64_t mixed = key.client_order_id * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::size_t>(mixed ^ (static_cast<std::uint64_t>(key.account) << 32) ^
                                  key.account);
}

Exchange::Exchange(const Genesis& genesis, const Hash256& genesis_hash, EmptyTag)
    : genesis_(genesis), genesis_hash_(genesis_hash) {
  genesis_.accounts.clear();  // the snapshot or the constructor provides the accounts
  books_.reserve(genesis_.markets.size());
  markets_.reserve(genesis_.markets.size());
  for (const MarketSpec& market : genesis_.markets) {
    books_.push_back(std::make_unique<OrderBook>(order_pool_));
    markets_.push_back(MarketEntry{MarketBreaker(market), {}, false, false});
  }
}

Exchange::Exchange(const Genesis& genesis) : Exchange(genesis, genesis.hash(), EmptyTag{}) {
  BALLAST_ASSERT(validate_genesis(genesis).is_ok());
  for (const GenesisAccount& entry : genesis.accounts) {
    AccountIndex index = account_index_or_create(entry.key);
    for (const GenesisBalance& funds : entry.balances) {
      balance(index, funds.asset).available = funds.amount;
    }
  }
  fee_account_ = account_index_or_create(genesis.fee_account);
  for (std::size_t market = 0; market < markets_.size(); ++market) {
    touch_market(static_cast<MarketId>(market));
  }
  commit_block();
}

Exchange::~Exchange() = default;

// --- accounts -------------------------------------------------------------------------------

std::optional<AccountIndex> Exchange::find_account(const AccountId& key) const {
  auto it = account_by_key_.find(key);
  if (it == account_by_key_.end()) return std::nullopt;
  return it->second;
}

AccountIndex Exchange::account_index_or_create(const AccountId& key) {
  if (auto existing = find_account(key)) return *existing;
  BALLAST_ASSERT_MSG(accounts_.size() < UINT32_MAX, "account table exhausted");
  auto index = static_cast<AccountIndex>(accounts_.size());
  Account& account = accounts_.emplace_back();
  account.key = key;
  account.balances.resize(genesis_.assets.size());
  account_by_key_.emplace(key, index);
  touch_account(index);
  return index;
}

Balance& Exchange::balance(AccountIndex account, AssetId asset) {
  touch_account(account);
  return accounts_[account].balances[asset];
}

void Exchange::touch_account(AccountIndex index) {
  Account& account = accounts_[index];
  if (!account.dirty) {
    account.dirty = true;
    dirty_accounts_.push_back(index);
  }
}

void Exchange::touch_order(OrderHandle handle) {
  Order& order = order_pool_[handle];
  if (!order.dirty) {
    order.dirty = true;
    dirty_orders_.push_back(order.id);
  }
}

// --- blocks ---------------------------------------------------------------------------------

BlockResult Exchange::execute_block(const BlockContext& context, std::span<const Transaction> txs,
                                    SignatureCheck check,
                                    std::span<const Hash256> transaction_ids) {
  BlockResult block = apply_block(context, txs, check, transaction_ids);
  block.state_root = commit();
  return block;
}

BlockResult Exchange::apply_block(const BlockContext& context, std::span<const Transaction> txs,
                                  SignatureCheck check, std::span<const Hash256> transaction_ids) {
  BALLAST_ASSERT_MSG(!applied_, "apply_block called again before commit");
  BALLAST_ASSERT_MSG(context.height == height_ + 1, "blocks must be executed in height order");
  BALLAST_ASSERT_MSG(transaction_ids.empty() || transaction_ids.size() == txs.size(),
                     "one transaction id per transaction");
  BALLAST_ASSERT_MSG(context.time_ms >= 0 && context.time_ms >= block_time_ms_,
                     "block time must not go backwards");
  applied_ = true;
  block_time_ms_ = context.time_ms;
  BlockResult block;
  block.height = context.height;
  block.results.resize(txs.size());
  begin_block(block);

  struct Admitted {
    std::size_t index;
    AccountIndex sender;
  };
  std::vector<Admitted> cancels, post_only, others;
  for (std::size_t i = 0; i < txs.size(); ++i) {
    TxResult& result = block.results[i];
    result.tx_id = transaction_ids.empty() ? txs[i].id() : transaction_ids[i];
    AccountIndex sender = 0;
    if (auto rejection = admit(txs[i], context.height, check, sender)) {
      result.reject = rejection->code;
      result.message = std::move(rejection->message);
      continue;
    }
    if (txs[i].is_cancel()) {
      cancels.push_back({i, sender});
    } else if (txs[i].is_post_only_order()) {
      post_only.push_back({i, sender});
    } else {
      others.push_back({i, sender});
    }
  }
  // Cancels first and post-only next, so market makers can always pull and refresh quotes
  // however many takers a block carries.
  for (const auto* phase : {&cancels, &post_only, &others}) {
    for (const Admitted& admitted : *phase) {
      executing_transaction_ = admitted.index;
      execute(txs[admitted.index], admitted.sender, block.results[admitted.index]);
    }
  }
  end_block();
  block.market_events = std::move(pending_market_events_);
  pending_market_events_.clear();
  height_ = context.height;
  return block;
}

Hash256 Exchange::commit() {
  BALLAST_ASSERT_MSG(applied_, "commit without an applied block");
  commit_block();
  applied_ = false;
  return state_root_;
}

std::optional<Exchange::Rejection> Exchange::admit(const Transaction& tx, std::uint64_t height,
                                                   SignatureCheck check, AccountIndex& sender) {
  if (check == SignatureCheck::kVerify && !tx.signature_valid(genesis_.chain_id)) {
    return Rejection{RejectCode::kBadSignature, "signature does not verify for the sender"};
  }
  auto found = find_account(tx.sender);
  if (!found) {
    return Rejection{RejectCode::kUnknownAccount, "sender " + tx.sender.hex() + " has no account"};
  }
  Account& account = accounts_[*found];
  if (tx.nonce <= account.nonce) {
    return Rejection{RejectCode::kStaleNonce, "nonce " + std::to_string(tx.nonce) +
                                                  " is not above the last used nonce " +
                                                  std::to_string(account.nonce)};
  }
  if (height > tx.expiry_height) {
    return Rejection{RejectCode::kExpired,
                     "transaction expired at height " + std::to_string(tx.expiry_height)};
  }
  if (tx.fee < genesis_.min_tx_fee) {
    return Rejection{
        RejectCode::kFeeTooLow,
        "fee " + amount_text(tx.fee) + " is below the minimum " + amount_text(genesis_.min_tx_fee)};
  }
  Balance& fee_funds = balance(*found, genesis_.tx_fee_asset);
  if (fee_funds.available < tx.fee) {
    return Rejection{RejectCode::kInsufficientFeeBalance, "fee " + amount_text(tx.fee) +
                                                              " exceeds the available " +
                                                              amount_text(fee_funds.available)};
  }
  account.nonce = tx.nonce;
  fee_funds.available -= tx.fee;
  Balance& collected = balance(fee_account_, genesis_.tx_fee_asset);
  collected.available = add_or_die(collected.available, tx.fee);
  sender = *found;
  return std::nullopt;
}

void Exchange::execute(const Transaction& tx, AccountIndex sender, TxResult& result) {
  std::optional<Rejection> rejection = std::visit(
      [&](const auto& body) -> std::optional<Rejection> {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, Transfer>) return transfer(sender, body, result);
        if constexpr (std::is_same_v<Body, PlaceOrder>) return place(sender, body, result);
        if constexpr (std::is_same_v<Body, CancelOrder>) return cancel(sender, body, result);
        if constexpr (std::is_same_v<Body, CancelAll>) return cancel_all(sender, body, result);
        if constexpr (std::is_same_v<Body, ReplaceOrder>) return replace(sender, body, result);
      },
      tx.body);
  if (rejection) {
    BALLAST_ASSERT_MSG(result.events.empty(), "a rejected transaction emitted events");
    result.reject = rejection->code;
    result.message = std::move(rejection->message);
  }
}

// --- handlers -------------------------------------------------------------------------------

std::optional<Exchange::Rejection> Exchange::transfer(AccountIndex sender, const Transfer& body,
                                                      TxResult& result) {
  if (body.asset >= genesis_.assets.size()) {
    return Rejection{RejectCode::kUnknownAsset,
                     "asset " + std::to_string(body.asset) + " does not exist"};
  }
  if (body.amount <= 0) return Rejection{RejectCode::kInvalidTransfer, "amount must be positive"};
  if (body.recipient == accounts_[sender].key) {
    return Rejection{RejectCode::kInvalidTransfer, "cannot transfer to yourself"};
  }
  // Parsing the key costs ~5 us, so it is done once per account, not once per transfer.
  std::optional<AccountIndex> existing = find_account(body.recipient);
  if (existing ? !valid_recipient(*existing)
               : !PublicKey::from_bytes(body.recipient.bytes).is_ok()) {
    return Rejection{RejectCode::kInvalidTransfer, "recipient is not a valid public key"};
  }
  if (accounts_[sender].balances[body.asset].available < body.amount) {
    return Rejection{RejectCode::kInsufficientBalance,
                     "transfer of " + amount_text(body.amount) + " exceeds the available " +
                         amount_text(accounts_[sender].balances[body.asset].available)};
  }
  AccountIndex recipient = existing ? *existing : account_index_or_create(body.recipient);
  accounts_[recipient].key_check = Account::KeyCheck::kValid;
  balance(sender, body.asset).available -= body.amount;
  Balance& credited = balance(recipient, body.asset);
  credited.available = add_or_die(credited.available, body.amount);
  result.events.push_back(
      Transferred{accounts_[sender].key, body.recipient, body.asset, body.amount});
  return std::nullopt;
}

bool Exchange::valid_recipient(AccountIndex index) {
  Account& account = accounts_[index];
  if (account.key_check == Account::KeyCheck::kUnknown) {
    account.key_check = PublicKey::from_bytes(account.key.bytes).is_ok()
                            ? Account::KeyCheck::kValid
                            : Account::KeyCheck::kInvalid;
  }
  return account.key_check == Account::KeyCheck::kValid;
}

std::optional<Exchange::Rejection> Exchange::check_price_and_size(const MarketSpec& market,
                                                                  Price price,
                                                                  Quantity quantity) const {
  if (price <= 0 || price % market.tick_size != 0) {
    return Rejection{RejectCode::kInvalidPrice,
                     "price " + std::to_string(price) +
                         " is not a positive multiple of the tick size " +
                         std::to_string(market.tick_size)};
  }
  if (quantity <= 0 || quantity % market.lot_size != 0) {
    return Rejection{RejectCode::kInvalidQuantity,
                     "quantity " + std::to_string(quantity) +
                         " is not a positive multiple of the lot size " +
                         std::to_string(market.lot_size)};
  }
  if (quantity < market.min_size) {
    return Rejection{RejectCode::kBelowMinimumSize, "quantity " + std::to_string(quantity) +
                                                        " is below the minimum size " +
                                                        std::to_string(market.min_size)};
  }
  return std::nullopt;
}

Result<Amount> Exchange::required_lock(const MarketSpec& market, Side side, Price price,
                                       Quantity quantity) const {
  if (side == Side::kSell) return quantity;
  auto notional = checked_mul(price, quantity / market.lot_size);
  if (!notional) return invalid_argument("price times quantity overflows");
  return *notional;
}

std::optional<Exchange::Rejection> Exchange::place(AccountIndex sender, const PlaceOrder& body,
                                                   TxResult& result) {
  if (body.market >= genesis_.markets.size()) {
    return Rejection{RejectCode::kUnknownMarket,
                     "market " + std::to_string(body.market) + " does not exist"};
  }
  const MarketSpec& market = genesis_.markets[body.market];
  if (auto rejection = check_price_and_size(market, body.price, body.quantity)) return rejection;
  bool resting = body.time_in_force == TimeInForce::kGoodTillCancel;
  if (body.type == OrderType::kMarket && resting) {
    return Rejection{RejectCode::kInvalidOrder, "a market order must be ioc or fok"};
  }
  if (body.post_only && (!resting || body.type != OrderType::kLimit)) {
    return Rejection{RejectCode::kInvalidOrder, "post-only applies to gtc limit orders only"};
  }
  if (!resting && !breaker(body.market).trading()) {
    return Rejection{RejectCode::kMarketPaused,
                     "market " + market.symbol + " is " +
                         std::string(market_state_name(breaker(body.market).state())) +
                         ": nothing matches until it reopens, so only gtc limit orders are taken"};
  }
  if (body.client_order_id != 0 &&
      orders_by_client_id_.contains(ClientOrderKey{sender, body.client_order_id})) {
    return Rejection{RejectCode::kDuplicateClientOrderId, "client order id " +
                                                              std::to_string(body.client_order_id) +
                                                              " is already used by an open order"};
  }
  if (resting && accounts_[sender].open_orders >= genesis_.limits.max_open_orders_per_account) {
    return Rejection{RejectCode::kTooManyOpenOrders,
                     "account has the maximum of " +
                         std::to_string(genesis_.limits.max_open_orders_per_account) +
                         " open orders"};
  }
  auto lock = required_lock(market, body.side, body.price, body.quantity);
  if (!lock.is_ok()) return Rejection{RejectCode::kOverflow, lock.status().message()};
  AssetId locked_asset = body.side == Side::kBuy ? market.quote : market.base;
  Amount available = accounts_[sender].balances[locked_asset].available;
  if (available < *lock) {
    return Rejection{RejectCode::kInsufficientBalance, "order needs " + amount_text(*lock) + " " +
                                                           genesis_.assets[locked_asset].symbol +
                                                           ", available " + amount_text(available)};
  }
  if (body.post_only && books_[body.market]->crosses(body.side, body.price)) {
    return Rejection{RejectCode::kWouldCross, "post-only order would trade on arrival"};
  }
  Incoming order{.id = 0,
                 .owner = sender,
                 .market = body.market,
                 .spec = &market,
                 .side = body.side,
                 .type = body.type,
                 .time_in_force = body.time_in_force,
                 .post_only = body.post_only,
                 .self_trade_prevention = body.self_trade_prevention,
                 .price = body.price,
                 .remaining = body.quantity,
                 .client_order_id = body.client_order_id};
  if (body.time_in_force == TimeInForce::kFillOrKill && !fill_or_kill_fillable(order)) {
    return Rejection{RejectCode::kFillOrKillNotFilled,
                     "fill-or-kill order cannot be filled completely at its price"};
  }
  order.id = next_order_id_++;
  result.events.reserve(4);  // accepted, then rested or a few fills and perhaps a cancel
  Balance& funds = balance(sender, locked_asset);
  funds.available -= *lock;
  funds.locked = add_or_die(funds.locked, *lock);
  result.events.push_back(OrderAccepted{order.id, order.client_order_id, order.market, order.side,
                                        order.type, order.time_in_force, order.price,
                                        order.remaining});
  submit(order, result);
  return std::nullopt;
}

Result<OrderHandle> Exchange::find_order(AccountIndex sender, const OrderRef& ref) const {
  if (ref.by_client_order_id) {
    auto it = orders_by_client_id_.find(ClientOrderKey{sender, ref.id});
    if (it == orders_by_client_id_.end()) {
      return not_found("no open order with client order id " + std::to_string(ref.id));
    }
    return it->second;
  }
  auto it = orders_by_id_.find(ref.id);
  if (it == orders_by_id_.end()) return not_found("no open order " + std::to_string(ref.id));
  if (order_pool_[it->second].owner != sender) {
    return permission_denied("order " + std::to_string(ref.id) + " belongs to another account");
  }
  return it->second;
}

namespace {
RejectCode lookup_reject(const Status& status) {
  return status.code() == StatusCode::kPermissionDenied ? RejectCode::kNotOrderOwner
                                                        : RejectCode::kOrderNotFound;
}
}  // namespace

std::optional<Exchange::Rejection> Exchange::cancel(AccountIndex sender, const CancelOrder& body,
                                                    TxResult& result) {
  auto handle = find_order(sender, body.order);
  if (!handle.is_ok()) return Rejection{lookup_reject(handle.status()), handle.status().message()};
  cancel_resting(*handle, CancelReason::kRequested, result);
  return std::nullopt;
}

std::optional<Exchange::Rejection> Exchange::cancel_all(AccountIndex sender, const CancelAll& body,
                                                        TxResult& result) {
  if (body.market && *body.market >= genesis_.markets.size()) {
    return Rejection{RejectCode::kUnknownMarket,
                     "market " + std::to_string(*body.market) + " does not exist"};
  }
  std::vector<std::pair<OrderId, OrderHandle>> doomed;
  for (OrderHandle handle = accounts_[sender].first_order; handle != kNoOrder;
       handle = order_pool_[handle].account_next) {
    const Order& order = order_pool_[handle];
    if (!body.market || order.market == *body.market) doomed.emplace_back(order.id, handle);
  }
  // Oldest order id first, so every replica emits the events in one order.
  std::sort(doomed.begin(), doomed.end());
  for (const auto& [id, handle] : doomed) {
    cancel_resting(handle, CancelReason::kRequested, result);
  }
  return std::nullopt;
}

std::optional<Exchange::Rejection> Exchange::replace(AccountIndex sender, const ReplaceOrder& body,
                                                     TxResult& result) {
  auto found = find_order(sender, body.order);
  if (!found.is_ok()) return Rejection{lookup_reject(found.status()), found.status().message()};
  OrderHandle handle = *found;
  const Order current = order_pool_[handle];
  const MarketSpec& market = genesis_.markets[current.market];
  Price price = body.new_price != 0 ? body.new_price : current.price;
  Quantity quantity = body.new_quantity != 0 ? body.new_quantity : current.remaining;
  if (price == current.price && quantity == current.remaining) {
    return Rejection{RejectCode::kNoChange, "replace changes neither price nor size"};
  }
  if (auto rejection = check_price_and_size(market, price, quantity)) return rejection;

  if (price == current.price && quantity < current.remaining) {
    // A pure size reduction keeps time priority.
    release_lock(sender, market, current.side, current.price, current.remaining - quantity);
    books_[current.market]->reduce(handle, quantity);
    touch_order(handle);
    result.events.push_back(
        OrderReplaced{current.id, current.price, current.remaining, price, quantity, true});
    return std::nullopt;
  }

  auto new_lock = required_lock(market, current.side, price, quantity);
  if (!new_lock.is_ok()) return Rejection{RejectCode::kOverflow, new_lock.status().message()};
  Amount old_lock = *required_lock(market, current.side, current.price, current.remaining);
  AssetId locked_asset = current.side == Side::kBuy ? market.quote : market.base;
  Amount usable = add_or_die(accounts_[sender].balances[locked_asset].available, old_lock);
  if (usable < *new_lock) {
    return Rejection{
        RejectCode::kInsufficientBalance,
        "replaced order needs " + amount_text(*new_lock) + ", usable " + amount_text(usable)};
  }
  if (current.post_only && books_[current.market]->crosses(current.side, price)) {
    return Rejection{RejectCode::kWouldCross, "post-only order would trade at the new price"};
  }
  // Anything else loses time priority: the order leaves the book and arrives again under its
  // own id, matching first if it now crosses.
  remove_resting(handle);
  release_lock(sender, market, current.side, current.price, current.remaining);
  Balance& funds = balance(sender, locked_asset);
  funds.available -= *new_lock;
  funds.locked = add_or_die(funds.locked, *new_lock);
  result.events.reserve(2);  // replaced, then rested (or fills)
  result.events.push_back(
      OrderReplaced{current.id, current.price, current.remaining, price, quantity, false});
  Incoming order{.id = current.id,
                 .owner = sender,
                 .market = current.market,
                 .spec = &market,
                 .side = current.side,
                 .type = OrderType::kLimit,
                 .time_in_force = TimeInForce::kGoodTillCancel,
                 .post_only = current.post_only,
                 .self_trade_prevention = current.self_trade_prevention,
                 .price = price,
                 .remaining = quantity,
                 .client_order_id = current.client_order_id};
  submit(order, result);
  return std::nullopt;
}

}  // namespace ballast::exchange
