// Property tests of the exchange, run through signed transactions and execute_block:
//  - the engine against a plain reference model (reference_book.h), one transaction per block;
//  - its invariants after every transaction, and that a rejection changes only the nonce and
//    fee (execution) or nothing (admission);
//  - two replicas agree on every block, and snapshot/restore changes nothing;
//  - within a block, cancels run first, then post-only orders, then the rest.
// The reference model knows nothing of circuit breakers, so the cases compared with it turn them
// off; the others draw them on or off (breaker_property_test.cc tests the breakers themselves).
//
// Operations are generated as templates ("cancel one of my open orders", "replace someone
// else's order") and resolved against the state at the start of their block, so random streams
// hit real orders. RC_PARAMS (e.g. "max_success=500 seed=...") scales or replays a run.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <limits>
#include <sstream>

#include "reference_book.h"
#include "test_world.h"

namespace ballast::exchange::testing {
namespace {

// --- one case's world ---------------------------------------------------------------------

const std::vector<std::string> kTraderNames = {"alice", "bob", "carol", "dave"};

// Four whales hold half of the int64 range; at a huge price a whale affords about 8 lots, and a
// buy of more than 64 lots overflows its lock.
constexpr Amount kWhaleFunds = std::numeric_limits<Amount>::max() / 8;
constexpr Price kHugePrice = std::numeric_limits<Amount>::max() / 64;

struct CaseConfig {
  std::size_t traders = 3;
  MarketParams market;
  std::vector<Amount> base_funds;   // per trader
  std::vector<Amount> quote_funds;  // per trader
  std::uint32_t max_open_orders = 1'000;
  Amount min_tx_fee = 0;
  bool whales = false;  // huge balances, and prices near kHugePrice are common
  bool breakers = false;
  std::int64_t block_interval_ms = 0;  // block time step, where a property advances time
};

void showValue(const CaseConfig& config, std::ostream& os) {
  os << "{traders=" << config.traders << " tick=" << config.market.tick_size
     << " lot=" << config.market.lot_size << " min_size=" << config.market.min_size
     << " maker_bps=" << config.market.maker_fee_bps << " taker_bps=" << config.market.taker_fee_bps
     << " max_open_orders=" << config.max_open_orders << " min_tx_fee=" << config.min_tx_fee
     << (config.whales ? " whales" : "") << (config.breakers ? " breakers" : "")
     << " block_interval_ms=" << config.block_interval_ms << " funds(base/quote)=";
  for (std::size_t i = 0; i < config.traders; ++i) {
    os << (i == 0 ? "" : ",") << config.base_funds[i] << "/" << config.quote_funds[i];
  }
  os << "}";
}

// Small books and small balances, so orders cross, run out of funds and hit limits often.
enum class Breakers { kOff, kDrawn };

CaseConfig draw_config(Breakers breakers) {
  CaseConfig config;
  config.breakers = breakers == Breakers::kDrawn && *rc::gen::arbitrary<bool>();
  config.block_interval_ms = *rc::gen::element<std::int64_t>(0, 700, 3'000);
  config.traders = *rc::gen::inRange<std::size_t>(3, 5);
  const Quantity lot = *rc::gen::element<Quantity>(1, 10);
  config.market.tick_size = *rc::gen::element<Price>(1, 5);
  config.market.lot_size = lot;
  config.market.min_size = lot * *rc::gen::element<Quantity>(1, 2);
  config.market.maker_fee_bps = *rc::gen::element<std::int64_t>(0, 1, 25, 1'000);
  config.market.taker_fee_bps = *rc::gen::element<std::int64_t>(0, 3, 50, 1'000);
  // Now and then whales, whose quote balances make fills at huge prices possible: the amounts
  // then come within a factor of a few of int64 overflow.
  config.whales = *rc::gen::weightedElement<bool>({{85, false}, {15, true}});
  for (std::size_t i = 0; i < config.traders; ++i) {
    config.base_funds.push_back(lot * *rc::gen::element<Amount>(3, 40, 100'000));
    config.quote_funds.push_back(config.whales ? kWhaleFunds
                                               : *rc::gen::element<Amount>(100, 2'000, 10'000'000));
  }
  config.max_open_orders = *rc::gen::weightedElement<std::uint32_t>({{7, 1'000}, {3, 3}});
  config.min_tx_fee = *rc::gen::element<Amount>(0, 0, 1);
  return config;
}

rc::Gen<CaseConfig> gen_config(Breakers breakers) {
  return rc::gen::resize(100, rc::gen::exec([breakers] { return draw_config(breakers); }));
}

Genesis make_case_genesis(const CaseConfig& config) {
  std::vector<std::string> names(
      kTraderNames.begin(), kTraderNames.begin() + static_cast<std::ptrdiff_t>(config.traders));
  Genesis genesis = make_genesis(names, 0, config.market, config.min_tx_fee);
  for (std::size_t i = 0; i < config.traders; ++i) {
    genesis.accounts[i].balances = {{kBase, config.base_funds[i]}, {kQuote, config.quote_funds[i]}};
  }
  genesis.limits.max_open_orders_per_account = config.max_open_orders;
  genesis.markets[kMarket].breakers.enabled = config.breakers;
  BALLAST_ASSERT(validate_genesis(genesis).is_ok());
  return genesis;
}

// An account no genesis lists; transfers to it create it.
const AccountId& newcomer_key() {
  static const AccountId key = SecretKey::insecure_from_seed("newcomer").public_key();
  return key;
}

// 32 bytes that are not a public key; transfers to it are invalid.
AccountId off_curve_key() {
  AccountId key;
  key.bytes.fill(0xff);
  return key;
}

// Account keys in reference numbering: the traders, then the fee account.
std::vector<AccountId> account_keys(const Genesis& genesis) {
  std::vector<AccountId> keys;
  for (const GenesisAccount& account : genesis.accounts) keys.push_back(account.key);
  keys.push_back(genesis.fee_account);
  return keys;
}

// --- operations ---------------------------------------------------------------------------

enum class OpKind : std::uint8_t { kPlace, kCancel, kCancelAll, kReplace, kTransfer };
// Which order a cancel or replace names, decided when the operation runs.
enum class Target : std::uint8_t { kOwnById, kOwnByClientId, kOthersById, kAnyId, kAnyClientId };
enum class Admission : std::uint8_t {
  kValid,
  kBadSignature,
  kReusedNonce,
  kExpired,    // expiry height just below the block's
  kLastBlock,  // expiry height equal to the block's: still valid
};

struct Op {
  OpKind kind = OpKind::kPlace;
  std::size_t account = 0;
  Amount fee = 0;
  Admission admission = Admission::kValid;
  PlaceOrder place;                  // kPlace
  Target target = Target::kOwnById;  // kCancel, kReplace
  std::uint32_t pick = 0;
  Price new_price = 0;  // kReplace
  Quantity new_quantity = 0;
  std::optional<MarketId> cancel_market;  // kCancelAll
  std::size_t recipient = 0;              // kTransfer: index into the recipients list
  AssetId asset = 0;
  Amount amount = 0;
};

void showValue(const Op& op, std::ostream& os) {
  static constexpr const char* kKinds[] = {"place", "cancel", "cancel_all", "replace", "transfer"};
  os << "{" << kKinds[static_cast<int>(op.kind)] << " by " << op.account << " fee " << op.fee
     << " admission " << static_cast<int>(op.admission) << "}";
}

enum class Mix { kStream, kBlock };

Price draw_price(const CaseConfig& config) {
  const Price tick = config.market.tick_size;
  int roll = *rc::gen::inRange(0, 100);
  if (config.whales && roll < 40) {
    // A band of huge prices that cross one another.
    return (kHugePrice / tick - *rc::gen::inRange<Price>(0, 8)) * tick;
  }
  if (roll < 96) return tick * *rc::gen::inRange<Price>(1, 9);
  if (roll < 98) return *rc::gen::element<Price>(0, -tick, tick > 1 ? tick + 1 : -1);
  return kHugePrice / tick * tick;
}

Quantity draw_quantity(Quantity lot) {
  int roll = *rc::gen::inRange(0, 100);
  if (roll < 94) return lot * *rc::gen::inRange<Quantity>(1, 7);
  if (roll < 97) return lot * *rc::gen::inRange<Quantity>(20, 400);  // more than most can afford
  return *rc::gen::element<Quantity>(0, -lot, lot > 1 ? lot + 1 : -1);
}

PlaceOrder draw_place(const CaseConfig& config, Mix mix) {
  PlaceOrder order;
  order.market = *rc::gen::weightedElement<MarketId>({{98, 0}, {2, 1}});
  order.side = *rc::gen::element(Side::kBuy, Side::kSell);
  order.type =
      *rc::gen::weightedElement<OrderType>({{85, OrderType::kLimit}, {15, OrderType::kMarket}});
  if (order.type == OrderType::kLimit) {
    order.time_in_force =
        *rc::gen::weightedElement<TimeInForce>({{70, TimeInForce::kGoodTillCancel},
                                                {18, TimeInForce::kImmediateOrCancel},
                                                {12, TimeInForce::kFillOrKill}});
  } else {
    order.time_in_force =
        *rc::gen::weightedElement<TimeInForce>({{5, TimeInForce::kGoodTillCancel},
                                                {60, TimeInForce::kImmediateOrCancel},
                                                {35, TimeInForce::kFillOrKill}});
  }
  bool plain_gtc =
      order.type == OrderType::kLimit && order.time_in_force == TimeInForce::kGoodTillCancel;
  std::size_t post_only_weight = plain_gtc ? (mix == Mix::kBlock ? 45 : 25) : 3;
  order.post_only =
      *rc::gen::weightedElement<bool>({{100 - post_only_weight, false}, {post_only_weight, true}});
  order.self_trade_prevention =
      *rc::gen::element(SelfTradePrevention::kCancelNewest, SelfTradePrevention::kCancelOldest,
                        SelfTradePrevention::kCancelBoth);
  order.price = draw_price(config);
  order.quantity = draw_quantity(config.market.lot_size);
  order.client_order_id = *rc::gen::weightedElement<ClientOrderId>(
      {{50, 0}, {10, 1}, {10, 2}, {10, 3}, {10, 4}, {10, 5}});
  return order;
}

OpKind draw_kind(Mix mix) {
  if (mix == Mix::kStream) {
    return *rc::gen::weightedElement<OpKind>({{58, OpKind::kPlace},
                                              {10, OpKind::kCancel},
                                              {2, OpKind::kCancelAll},
                                              {26, OpKind::kReplace},
                                              {4, OpKind::kTransfer}});
  }
  // Blocks carry more cancels, so the cancel phase has work to do.
  return *rc::gen::weightedElement<OpKind>({{50, OpKind::kPlace},
                                            {22, OpKind::kCancel},
                                            {6, OpKind::kCancelAll},
                                            {18, OpKind::kReplace},
                                            {4, OpKind::kTransfer}});
}

// The parts of a cancel or a replace: which order it names, and for a replace the new values.
void draw_order_change(const CaseConfig& config, Op& op) {
  op.target = *rc::gen::weightedElement<Target>({{60, Target::kOwnById},
                                                 {15, Target::kOwnByClientId},
                                                 {8, Target::kOthersById},
                                                 {12, Target::kAnyId},
                                                 {5, Target::kAnyClientId}});
  op.pick = *rc::gen::inRange<std::uint32_t>(0, 1'000);
  if (op.kind == OpKind::kReplace) {
    int price_roll = *rc::gen::inRange(0, 100);
    op.new_price = price_roll < 35 ? 0 : draw_price(config);
    int quantity_roll = *rc::gen::inRange(0, 100);
    op.new_quantity = quantity_roll < 35 ? 0 : draw_quantity(config.market.lot_size);
  }
}

Op draw_op(const CaseConfig& config, Mix mix) {
  Op op;
  op.kind = draw_kind(mix);
  op.account = *rc::gen::inRange<std::size_t>(0, config.traders);
  // Mostly the minimum fee, sometimes more, rarely less or more than a poor account holds.
  op.fee = config.min_tx_fee +
           *rc::gen::weightedElement<Amount>({{85, 0}, {6, 1}, {5, 2}, {2, -1}, {2, 60}});
  op.fee = std::max<Amount>(op.fee, 0);
  op.admission = *rc::gen::weightedElement<Admission>({{94, Admission::kValid},
                                                       {2, Admission::kBadSignature},
                                                       {2, Admission::kReusedNonce},
                                                       {2, Admission::kExpired},
                                                       {2, Admission::kLastBlock}});
  switch (op.kind) {
    case OpKind::kPlace:
      op.place = draw_place(config, mix);
      break;
    case OpKind::kCancel:
    case OpKind::kReplace:
      draw_order_change(config, op);
      break;
    case OpKind::kCancelAll:
      op.cancel_market = *rc::gen::weightedElement<std::optional<MarketId>>(
          {{85, std::nullopt}, {12, MarketId{0}}, {3, MarketId{1}}});
      break;
    case OpKind::kTransfer:
      // A trader, the fee account, or (where the property allows) a newcomer or a bad key.
      op.recipient = *rc::gen::inRange<std::size_t>(0, config.traders + 3);
      op.asset = *rc::gen::weightedElement<AssetId>({{48, kBase}, {48, kQuote}, {4, 2}});
      op.amount = *rc::gen::weightedElement<Amount>(
          {{85, *rc::gen::inRange<Amount>(1, 300)}, {10, 0}, {5, 1'000'000'000}});
      break;
  }
  return op;
}

// Size-independent: every operation is drawn from the full ranges.
rc::Gen<Op> gen_op(const CaseConfig& config, Mix mix) {
  return rc::gen::resize(100, rc::gen::exec([config, mix] { return draw_op(config, mix); }));
}

// Up to ~200 operations at the largest size.
rc::Gen<std::vector<Op>> gen_stream(const CaseConfig& config) {
  return rc::gen::scale(2.0, rc::gen::container<std::vector<Op>>(gen_op(config, Mix::kStream)));
}

// Up to ~20 blocks of 1..20 operations.
rc::Gen<std::vector<std::vector<Op>>> gen_blocks(const CaseConfig& config) {
  rc::Gen<std::vector<Op>> block = rc::gen::resize(
      20, rc::gen::nonEmpty(rc::gen::container<std::vector<Op>>(gen_op(config, Mix::kBlock))));
  return rc::gen::scale(0.2, rc::gen::container<std::vector<std::vector<Op>>>(block));
}

// --- turning operations into signed transactions -----------------------------------------

struct KnownOrder {
  OrderId id = 0;
  ClientOrderId client_order_id = 0;
  std::size_t owner = 0;
};

std::vector<KnownOrder> known_orders(const Exchange& exchange, const std::vector<AccountId>& keys) {
  std::vector<KnownOrder> orders;
  for (std::size_t owner = 0; owner < keys.size(); ++owner) {
    for (const OpenOrder& order : exchange.open_orders(keys[owner])) {
      orders.push_back({order.id, order.client_order_id, owner});
    }
  }
  std::sort(orders.begin(), orders.end(),
            [](const KnownOrder& a, const KnownOrder& b) { return a.id < b.id; });
  return orders;
}

OrderRef resolve_target(const Op& op, const std::vector<KnownOrder>& orders, OrderId max_id) {
  std::vector<KnownOrder> own, own_with_client_id, others;
  for (const KnownOrder& order : orders) {
    if (order.owner == op.account) {
      own.push_back(order);
      if (order.client_order_id != 0) own_with_client_id.push_back(order);
    } else {
      others.push_back(order);
    }
  }
  switch (op.target) {
    case Target::kOwnById:
      if (own.empty()) return OrderRef{false, max_id + 1 + op.pick % 3};
      return OrderRef{false, own[op.pick % own.size()].id};
    case Target::kOwnByClientId:
      if (own_with_client_id.empty()) return OrderRef{true, 1 + op.pick % 6};
      return OrderRef{true,
                      own_with_client_id[op.pick % own_with_client_id.size()].client_order_id};
    case Target::kOthersById:
      if (others.empty()) return OrderRef{false, max_id + 1};
      return OrderRef{false, others[op.pick % others.size()].id};
    case Target::kAnyId:
      return OrderRef{false, op.pick % (max_id + 3)};
    case Target::kAnyClientId:
      return OrderRef{true, op.pick % 7};
  }
  return OrderRef{};
}

// `recipients` are the accounts a transfer may go to; an index past the end means the last.
TransactionBody resolve(const Op& op, const std::vector<KnownOrder>& orders, OrderId max_id,
                        const std::vector<AccountId>& recipients) {
  switch (op.kind) {
    case OpKind::kPlace:
      return op.place;
    case OpKind::kCancel:
      return CancelOrder{resolve_target(op, orders, max_id)};
    case OpKind::kCancelAll:
      return CancelAll{op.cancel_market};
    case OpKind::kReplace:
      return ReplaceOrder{resolve_target(op, orders, max_id), op.new_price, op.new_quantity};
    case OpKind::kTransfer:
      return Transfer{recipients[std::min(op.recipient, recipients.size() - 1)], op.asset,
                      op.amount};
  }
  return CancelAll{};
}

// Signs for the traders of one case, keeping their nonces.
class Signer {
 public:
  Signer(const Genesis& genesis, std::size_t traders) : chain_id_(genesis.chain_id) {
    for (std::size_t i = 0; i < traders; ++i) {
      keys_.push_back(SecretKey::insecure_from_seed(kTraderNames[i]));
      BALLAST_ASSERT(keys_.back().public_key() == genesis.accounts[i].key);
    }
    nonces_.assign(traders, 0);
  }

  Transaction sign(const Op& op, TransactionBody body, std::uint64_t height) {
    const SecretKey& key = keys_.at(op.account);
    std::uint64_t& nonce = nonces_[op.account];
    Transaction tx;
    tx.sender = key.public_key();
    tx.nonce = op.admission == Admission::kReusedNonce && nonce > 0 ? nonce : ++nonce;
    tx.fee = op.fee;
    tx.expiry_height = op.admission == Admission::kExpired     ? height - 1
                       : op.admission == Admission::kLastBlock ? height
                                                               : height + 100;
    tx.body = std::move(body);
    tx.sign(key, chain_id_);
    if (op.admission == Admission::kBadSignature) tx.signature.bytes[7] ^= 0x20;
    return tx;
  }

  static ReferenceTx reference_tx(const Op& op, const Transaction& tx) {
    return ReferenceTx{
        op.account, tx.nonce, tx.fee, tx.expiry_height, op.admission != Admission::kBadSignature,
        tx.body};
  }

 private:
  std::string chain_id_;
  std::vector<SecretKey> keys_;
  std::vector<std::uint64_t> nonces_;
};

// --- describing things for failure messages ----------------------------------------------

class Names {
 public:
  explicit Names(const std::vector<AccountId>& keys) : keys_(keys) {}
  std::string of(const AccountId& key) const {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] == key) return i + 1 == keys_.size() ? "fees" : kTraderNames[i];
    }
    if (key == newcomer_key()) return "newcomer";
    return key.hex().substr(0, 8);
  }

 private:
  std::vector<AccountId> keys_;
};

std::string describe(const Event& event, const Names& names) {
  std::ostringstream out;
  if (const auto* accepted = std::get_if<OrderAccepted>(&event)) {
    out << "accepted #" << accepted->order_id << " cid=" << accepted->client_order_id << " "
        << side_name(accepted->side) << " " << order_type_name(accepted->type) << " "
        << time_in_force_name(accepted->time_in_force) << " " << accepted->quantity << "@"
        << accepted->price;
  } else if (const auto* filled = std::get_if<OrderFilled>(&event)) {
    out << "filled maker #" << filled->maker_order_id << "(" << names.of(filled->maker)
        << ") taker #" << filled->taker_order_id << "(" << names.of(filled->taker) << ") taker "
        << side_name(filled->taker_side) << " " << filled->quantity << "@" << filled->price
        << " fees maker=" << filled->maker_fee << " taker=" << filled->taker_fee;
  } else if (const auto* rested = std::get_if<OrderRested>(&event)) {
    out << "rested #" << rested->order_id << " " << rested->quantity << "@" << rested->price;
  } else if (const auto* cancelled = std::get_if<OrderCancelled>(&event)) {
    out << "cancelled #" << cancelled->order_id << "(" << names.of(cancelled->owner)
        << ") remaining " << cancelled->remaining << " " << cancel_reason_name(cancelled->reason);
  } else if (const auto* replaced = std::get_if<OrderReplaced>(&event)) {
    out << "replaced #" << replaced->order_id << " " << replaced->old_quantity << "@"
        << replaced->old_price << " -> " << replaced->new_quantity << "@" << replaced->new_price
        << (replaced->kept_priority ? " kept" : " lost") << " priority";
  } else if (const auto* transferred = std::get_if<Transferred>(&event)) {
    out << "transferred " << transferred->amount << " of asset " << transferred->asset << " "
        << names.of(transferred->from) << " -> " << names.of(transferred->to);
  }
  return out.str();
}

std::string describe(RejectCode reject, const std::vector<Event>& events, const Names& names) {
  if (reject != RejectCode::kNone)
    return std::string("rejected ") + std::string(reject_code_name(reject));
  std::string text = "ok";
  for (const Event& event : events) text += " [" + describe(event, names) + "]";
  return text;
}

std::string describe(const Transaction& tx, const Names& names) {
  std::ostringstream out;
  out << names.of(tx.sender) << " nonce=" << tx.nonce << " fee=" << tx.fee << " "
      << transaction_kind_name(tx.kind()) << " ";
  if (const auto* p = std::get_if<PlaceOrder>(&tx.body)) {
    out << "market=" << p->market << " " << side_name(p->side) << " " << order_type_name(p->type)
        << " " << time_in_force_name(p->time_in_force) << (p->post_only ? " post_only" : "")
        << " stp=" << self_trade_prevention_name(p->self_trade_prevention) << " " << p->quantity
        << "@" << p->price << " cid=" << p->client_order_id;
  } else if (const auto* c = std::get_if<CancelOrder>(&tx.body)) {
    out << (c->order.by_client_order_id ? "cid=" : "#") << c->order.id;
  } else if (const auto* a = std::get_if<CancelAll>(&tx.body)) {
    out << "market=" << (a->market ? std::to_string(*a->market) : "all");
  } else if (const auto* r = std::get_if<ReplaceOrder>(&tx.body)) {
    out << (r->order.by_client_order_id ? "cid=" : "#") << r->order.id
        << " new_price=" << r->new_price << " new_quantity=" << r->new_quantity;
  } else if (const auto* t = std::get_if<Transfer>(&tx.body)) {
    out << t->amount << " of asset " << t->asset << " to " << names.of(t->recipient);
  }
  return out.str();
}

std::string describe(const std::vector<OpenOrder>& orders) {
  std::ostringstream out;
  for (const OpenOrder& order : orders) {
    out << " #" << order.id << "(cid=" << order.client_order_id << " " << order.remaining << "@"
        << order.price << " seq=" << order.sequence << (order.post_only ? " po" : "") << ")";
  }
  return orders.empty() ? " (empty)" : out.str();
}

// What ran so far in this case, printed with any failure.
class Trace {
 public:
  void add(std::uint64_t height, const std::string& line) {
    text_ += "  h" + std::to_string(height) + " " + line + "\n";
  }
  std::string text() const { return "executed so far:\n" + text_; }

 private:
  std::string text_;
};

// --- checks -------------------------------------------------------------------------------

std::string compare_result(const TxResult& actual, const ReferenceResult& expected,
                           const Names& names) {
  if (actual.reject == expected.reject && actual.events == expected.events) return "";
  return "result differs:\n  engine:    " + describe(actual.reject, actual.events, names) +
         (actual.accepted() ? "" : " (" + actual.message + ")") +
         "\n  reference: " + describe(expected.reject, expected.events, names) + "\n";
}

std::string compare_state(const Exchange& exchange, const ReferenceBook& reference,
                          const Names& names) {
  std::ostringstream out;
  for (Side side : {Side::kBuy, Side::kSell}) {
    std::vector<OpenOrder> actual = exchange.resting_orders(kMarket, side);
    std::vector<OpenOrder> expected = reference.resting_orders(side);
    if (actual != expected) {
      out << side_name(side) << " book differs:\n  engine:   " << describe(actual)
          << "\n  reference:" << describe(expected) << "\n";
    }
  }
  for (std::size_t i = 0; i < reference.account_count(); ++i) {
    const AccountId& key = reference.key(i);
    std::optional<AccountView> view = exchange.account(key);
    if (!view) {
      out << names.of(key) << " has no account\n";
      continue;
    }
    for (AssetId asset : {kBase, kQuote}) {
      Balance actual = view->balances.at(asset);
      Balance expected = reference.balance(i, asset);
      if (actual != expected) {
        out << names.of(key) << " asset " << asset << ": engine available/locked "
            << actual.available << "/" << actual.locked << ", reference " << expected.available
            << "/" << expected.locked << "\n";
      }
    }
    if (view->nonce != reference.nonce(i)) {
      out << names.of(key) << " nonce: engine " << view->nonce << ", reference "
          << reference.nonce(i) << "\n";
    }
    std::vector<OpenOrder> actual_open = exchange.open_orders(key);
    std::vector<OpenOrder> expected_open = reference.open_orders(i);
    if (actual_open != expected_open) {
      out << names.of(key) << " open orders differ:\n  engine:   " << describe(actual_open)
          << "\n  reference:" << describe(expected_open) << "\n";
    }
  }
  if (exchange.account_count() != reference.account_count()) {
    out << "engine has " << exchange.account_count() << " accounts\n";
  }
  return out.str();
}

std::string invariant_violations(const Exchange& exchange,
                                 const std::vector<Amount>& genesis_totals,
                                 const std::vector<AccountId>& keys) {
  std::ostringstream out;
  Status status = exchange.check_invariants();
  if (!status.is_ok()) out << "check_invariants: " << status.to_string() << "\n";
  std::vector<Amount> totals = exchange.asset_totals();
  if (totals != genesis_totals) {
    out << "asset totals " << totals[0] << "/" << totals[1] << " differ from genesis "
        << genesis_totals[0] << "/" << genesis_totals[1] << "\n";
  }
  for (const AccountId& key : keys) {
    std::optional<AccountView> view = exchange.account(key);
    if (!view) continue;
    for (const Balance& funds : view->balances) {
      if (funds.available < 0 || funds.locked < 0) out << key.hex() << " has a negative balance\n";
    }
  }
  std::vector<OpenOrder> bids = exchange.resting_orders(kMarket, Side::kBuy);
  std::vector<OpenOrder> asks = exchange.resting_orders(kMarket, Side::kSell);
  MarketState state = exchange.market_status(kMarket).state;
  bool trading = state == MarketState::kOpen || state == MarketState::kLimitState;
  // Only a paused market (or one in its auction) may hold a crossed book.
  if (trading && !bids.empty() && !asks.empty() && bids.front().price >= asks.front().price) {
    out << "book crossed: bid " << bids.front().price << " >= ask " << asks.front().price << "\n";
  }
  return out.str();
}

OrderId highest_accepted_id(const TxResult& result, OrderId so_far) {
  for (const Event& event : result.events) {
    if (const auto* accepted = std::get_if<OrderAccepted>(&event)) {
      so_far = std::max(so_far, accepted->order_id);
    }
  }
  return so_far;
}

// Everything a transaction could change, for "a rejection changes nothing but ..." checks.
struct Observed {
  std::vector<std::uint64_t> nonces;
  std::vector<std::vector<Balance>> balances;
  std::vector<OpenOrder> bids, asks;
  bool operator==(const Observed&) const = default;
};

Observed observe(const Exchange& exchange, const std::vector<AccountId>& keys) {
  Observed observed;
  for (const AccountId& key : keys) {
    std::optional<AccountView> view = exchange.account(key);
    BALLAST_ASSERT(view.has_value());
    observed.nonces.push_back(view->nonce);
    observed.balances.push_back(view->balances);
  }
  observed.bids = exchange.resting_orders(kMarket, Side::kBuy);
  observed.asks = exchange.resting_orders(kMarket, Side::kSell);
  return observed;
}

// --- (a) the engine against the reference, one transaction per block --------------------

RC_GTEST_PROP(ExchangePropertyTest, MatchesReferenceOneTransactionPerBlock, ()) {
  const CaseConfig config = *gen_config(Breakers::kOff);
  const std::vector<Op> ops = *gen_stream(config);
  const Genesis genesis = make_case_genesis(config);
  const std::vector<AccountId> keys = account_keys(genesis);
  const Names names(keys);
  Exchange exchange(genesis);
  ReferenceBook reference(genesis);
  Signer signer(genesis, config.traders);
  const std::vector<Amount> genesis_totals = exchange.asset_totals();
  RC_ASSERT(reference.asset_totals() == genesis_totals);
  Trace trace;
  OrderId max_id = 0;
  for (const Op& op : ops) {
    const std::uint64_t height = exchange.height() + 1;
    Transaction tx =
        signer.sign(op, resolve(op, known_orders(exchange, keys), max_id, keys), height);
    TxResult actual = exchange.execute_block({height, 0}, std::vector{tx}).results.at(0);
    ReferenceResult expected =
        reference.execute_block(height, {Signer::reference_tx(op, tx)}).at(0);
    trace.add(height, describe(tx, names) + " -> " + describe(actual.reject, actual.events, names));
    std::string problems = compare_result(actual, expected, names) +
                           compare_state(exchange, reference, names) +
                           invariant_violations(exchange, genesis_totals, keys);
    if (!problems.empty()) RC_FAIL(trace.text() + problems);
    max_id = highest_accepted_id(actual, max_id);
  }
}

// --- (b) invariants after every transaction ------------------------------------------------

// Block time stands still here, so a paused market stays paused: the rest of the stream then
// checks the rules for orders in a pause.
RC_GTEST_PROP(ExchangePropertyTest, InvariantsHoldAfterEveryTransaction, ()) {
  const CaseConfig config = *gen_config(Breakers::kDrawn);
  const std::vector<Op> ops = *gen_stream(config);
  const Genesis genesis = make_case_genesis(config);
  const std::vector<AccountId> keys = account_keys(genesis);
  std::vector<AccountId> recipients = keys;
  recipients.push_back(newcomer_key());
  recipients.push_back(off_curve_key());
  const Names names(keys);
  Exchange exchange(genesis);
  Signer signer(genesis, config.traders);
  const std::vector<Amount> genesis_totals = exchange.asset_totals();
  const std::size_t fee_account = keys.size() - 1;
  Trace trace;
  OrderId max_id = 0;
  for (const Op& op : ops) {
    const std::uint64_t height = exchange.height() + 1;
    Transaction tx =
        signer.sign(op, resolve(op, known_orders(exchange, keys), max_id, recipients), height);
    Observed before = observe(exchange, keys);
    TxResult result = exchange.execute_block({height, 0}, std::vector{tx}).results.at(0);
    Observed after = observe(exchange, keys);
    trace.add(height, describe(tx, names) + " -> " + describe(result.reject, result.events, names));
    std::string problems = invariant_violations(exchange, genesis_totals, recipients);
    const auto* transfer = std::get_if<Transfer>(&tx.body);
    if (transfer != nullptr && transfer->recipient == off_curve_key() &&
        !is_admission_reject(result.reject) && result.reject != RejectCode::kInvalidTransfer &&
        result.reject != RejectCode::kUnknownAsset) {
      problems += "a transfer to a key that is not on the curve was not rejected as invalid\n";
    }
    if (result.accepted()) {
      if (after.nonces[op.account] != tx.nonce) problems += "accepted but nonce not used\n";
    } else if (is_admission_reject(result.reject)) {
      if (!(after == before)) problems += "admission reject changed the state\n";
      if (!result.events.empty()) problems += "admission reject has events\n";
    } else {
      // An execution reject uses the nonce and pays the fee, and does nothing else.
      Observed expected = before;
      expected.nonces[op.account] = tx.nonce;
      expected.balances[op.account][kQuote].available -= tx.fee;
      expected.balances[fee_account][kQuote].available += tx.fee;
      if (!(after == expected)) problems += "execution reject changed more than nonce and fee\n";
      if (!result.events.empty()) problems += "execution reject has events\n";
    }
    if (!problems.empty()) RC_FAIL(trace.text() + problems);
    max_id = highest_accepted_id(result, max_id);
  }
}

// --- (c) replicas agree; snapshot and restore are transparent -----------------------------

std::string compare_blocks(const BlockResult& a, const BlockResult& b) {
  std::ostringstream out;
  if (a.height != b.height) out << "heights differ\n";
  if (a.state_root != b.state_root) out << "state roots differ at height " << a.height << "\n";
  if (a.market_events != b.market_events)
    out << "market events differ at height " << a.height << "\n";
  if (a.block_events != b.block_events) out << "block events differ at height " << a.height << "\n";
  if (a.results.size() != b.results.size()) return out.str() + "result counts differ\n";
  for (std::size_t i = 0; i < a.results.size(); ++i) {
    const TxResult& x = a.results[i];
    const TxResult& y = b.results[i];
    if (x.tx_id != y.tx_id || x.reject != y.reject || x.message != y.message ||
        x.events != y.events) {
      out << "result of transaction " << i << " differs at height " << a.height << "\n";
    }
  }
  return out.str();
}

// Signs one block's operations, resolved against `state` at the start of the block.
std::vector<Transaction> sign_block(const std::vector<Op>& block, const Exchange& state,
                                    const std::vector<AccountId>& keys,
                                    const std::vector<AccountId>& recipients, OrderId max_id,
                                    Signer& signer) {
  std::vector<KnownOrder> orders = known_orders(state, keys);
  std::vector<Transaction> txs;
  for (const Op& op : block) {
    txs.push_back(signer.sign(op, resolve(op, orders, max_id, recipients), state.height() + 1));
  }
  return txs;
}

OrderId highest_accepted_id(const BlockResult& block, OrderId so_far) {
  for (const TxResult& result : block.results) so_far = highest_accepted_id(result, so_far);
  return so_far;
}

RC_GTEST_PROP(ExchangePropertyTest, TwoReplicasAgreeOnEveryBlock, ()) {
  const CaseConfig config = *gen_config(Breakers::kDrawn);
  const std::vector<std::vector<Op>> blocks = *gen_blocks(config);
  const Genesis genesis = make_case_genesis(config);
  const std::vector<AccountId> keys = account_keys(genesis);
  std::vector<AccountId> recipients = keys;
  recipients.push_back(newcomer_key());
  recipients.push_back(off_curve_key());
  Exchange first(genesis);
  Exchange second(genesis);
  RC_ASSERT(first.state_root() == second.state_root());
  const std::vector<Amount> genesis_totals = first.asset_totals();
  Signer signer(genesis, config.traders);
  OrderId max_id = 0;
  for (const std::vector<Op>& block : blocks) {
    std::vector<Transaction> txs = sign_block(block, first, keys, recipients, max_id, signer);
    const BlockContext context{first.height() + 1, static_cast<std::int64_t>(first.height() + 1) *
                                                       config.block_interval_ms};
    BlockResult a = first.execute_block(context, txs);
    BlockResult b = second.execute_block(context, txs);
    std::string problems =
        compare_blocks(a, b) + invariant_violations(first, genesis_totals, recipients);
    if (a.state_root != first.state_root()) problems += "block root is not the exchange root\n";
    if (!problems.empty()) RC_FAIL(problems);
    max_id = highest_accepted_id(a, max_id);
  }
  RC_ASSERT(first.snapshot() == second.snapshot());
}

RC_GTEST_PROP(ExchangePropertyTest, SnapshotAndRestoreAreTransparent, ()) {
  const CaseConfig config = *gen_config(Breakers::kDrawn);
  const std::vector<std::vector<Op>> blocks = *gen_blocks(config);
  const std::size_t snapshot_at = *rc::gen::inRange<std::size_t>(0, blocks.size() + 1);
  const Genesis genesis = make_case_genesis(config);
  const std::vector<AccountId> keys = account_keys(genesis);
  std::vector<AccountId> recipients = keys;
  recipients.push_back(newcomer_key());
  recipients.push_back(off_curve_key());
  Exchange original(genesis);  // never restored; snapshot() is const
  std::unique_ptr<Exchange> restored;
  Signer signer(genesis, config.traders);
  OrderId max_id = 0;
  for (std::size_t i = 0; i <= blocks.size(); ++i) {
    if (i == snapshot_at) {
      Bytes snapshot = original.snapshot();
      auto copy = Exchange::restore(snapshot);
      RC_ASSERT(copy.is_ok());
      restored = std::move(copy).value();
      RC_ASSERT(restored->state_root() == original.state_root());
      RC_ASSERT(restored->height() == original.height());
      RC_ASSERT(restored->snapshot() == snapshot);
      RC_ASSERT(restored->check_invariants().is_ok());
      for (Side side : {Side::kBuy, Side::kSell}) {
        RC_ASSERT(restored->resting_orders(kMarket, side) ==
                  original.resting_orders(kMarket, side));
      }
    }
    if (i == blocks.size()) break;
    std::vector<Transaction> txs =
        sign_block(blocks[i], original, keys, recipients, max_id, signer);
    const BlockContext context{
        original.height() + 1,
        static_cast<std::int64_t>(original.height() + 1) * config.block_interval_ms};
    BlockResult a = original.execute_block(context, txs);
    if (restored) {
      BlockResult b = restored->execute_block(context, txs);
      std::string problems = compare_blocks(a, b);
      if (!problems.empty()) {
        RC_FAIL("after restoring the snapshot of height " + std::to_string(snapshot_at) + ": " +
                problems);
      }
    }
    max_id = highest_accepted_id(a, max_id);
  }
  RC_ASSERT(restored->snapshot() == original.snapshot());
}

// --- (d) the in-block phase order ----------------------------------------------------------

int phase_of(const Transaction& tx) {
  return tx.is_cancel() ? 0 : tx.is_post_only_order() ? 1 : 2;
}

// Checks the phase order from the engine's output alone: new order ids are handed out in
// (phase, position) order, cancels only ever see orders from earlier blocks, and post-only
// orders never trade.
std::string phase_order_violations(const std::vector<Transaction>& txs, const BlockResult& block,
                                   OrderId max_id_before) {
  std::vector<std::size_t> executed;
  for (std::size_t i = 0; i < txs.size(); ++i) {
    if (!is_admission_reject(block.results[i].reject)) executed.push_back(i);
  }
  std::stable_sort(executed.begin(), executed.end(), [&](std::size_t a, std::size_t b) {
    return phase_of(txs[a]) < phase_of(txs[b]);
  });
  std::ostringstream out;
  OrderId next_id = max_id_before + 1;
  for (std::size_t i : executed) {
    for (const Event& event : block.results[i].events) {
      if (const auto* accepted = std::get_if<OrderAccepted>(&event)) {
        if (accepted->order_id != next_id) {
          out << "transaction " << i << " (phase " << phase_of(txs[i]) << ") got order id "
              << accepted->order_id << ", expected " << next_id << "\n";
        }
        next_id = accepted->order_id + 1;
      }
      if (const auto* cancelled = std::get_if<OrderCancelled>(&event)) {
        if (phase_of(txs[i]) == 0 && cancelled->order_id > max_id_before) {
          out << "cancel " << i << " cancelled order " << cancelled->order_id
              << " placed in the same block\n";
        }
      }
      if (std::holds_alternative<OrderFilled>(event) && phase_of(txs[i]) == 1) {
        out << "post-only order " << i << " traded\n";
      }
    }
  }
  return out.str();
}

RC_GTEST_PROP(ExchangePropertyTest, BlockPhasesMatchReferenceReordering, ()) {
  const CaseConfig config = *gen_config(Breakers::kOff);
  const std::vector<std::vector<Op>> blocks = *gen_blocks(config);
  const Genesis genesis = make_case_genesis(config);
  const std::vector<AccountId> keys = account_keys(genesis);
  const Names names(keys);
  Exchange exchange(genesis);
  ReferenceBook reference(genesis);
  Signer signer(genesis, config.traders);
  const std::vector<Amount> genesis_totals = exchange.asset_totals();
  Trace trace;
  OrderId max_id = 0;
  for (const std::vector<Op>& block : blocks) {
    std::vector<Transaction> txs = sign_block(block, exchange, keys, keys, max_id, signer);
    std::vector<ReferenceTx> reference_txs;
    for (std::size_t i = 0; i < txs.size(); ++i) {
      reference_txs.push_back(Signer::reference_tx(block[i], txs[i]));
    }
    const std::uint64_t height = exchange.height() + 1;
    BlockResult actual = exchange.execute_block({height, 0}, txs);
    std::vector<ReferenceResult> expected = reference.execute_block(height, reference_txs);
    std::string problems;
    for (std::size_t i = 0; i < txs.size(); ++i) {
      trace.add(height, "[" + std::to_string(i) + "] " + describe(txs[i], names) + " -> " +
                            describe(actual.results[i].reject, actual.results[i].events, names));
      std::string difference = compare_result(actual.results[i], expected[i], names);
      if (!difference.empty()) problems += "transaction " + std::to_string(i) + ": " + difference;
    }
    problems += compare_state(exchange, reference, names) +
                invariant_violations(exchange, genesis_totals, keys) +
                phase_order_violations(txs, actual, max_id);
    if (!problems.empty()) RC_FAIL(trace.text() + problems);
    max_id = highest_accepted_id(actual, max_id);
  }
}

}  // namespace
}  // namespace ballast::exchange::testing
