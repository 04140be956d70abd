// A deliberately plain model of one market's order book and its traders' balances: the oracle
// the property tests hold the real exchange against.
//
// It is written for obviousness, not speed: all resting orders sit in one unsorted vector and
// every question ("best ask?", "does this cross?", "what is locked?") is a linear scan. It keeps
// no locked balances at all: each account owns a total per asset, and what is locked is
// recomputed from its resting orders whenever it is needed, so the engine's incremental
// lock/unlock bookkeeping is checked against an independent derivation. Fill-or-kill is decided
// by running the order against a copy of the book. It must never share code with src/exchange
// beyond the vocabulary types (events, transactions, genesis).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "exchange/events.h"
#include "exchange/exchange.h"
#include "exchange/genesis.h"
#include "exchange/transaction.h"

namespace ballast::exchange::testing {

struct ReferenceResult {
  RejectCode reject = RejectCode::kNone;
  std::vector<Event> events;
  bool accepted() const { return reject == RejectCode::kNone; }
};

// One transaction as the reference sees it. The reference does no cryptography: the driver says
// whether the signature is valid.
struct ReferenceTx {
  std::size_t account = 0;
  std::uint64_t nonce = 0;
  Amount fee = 0;
  std::uint64_t expiry_height = 0;
  bool signature_valid = true;
  TransactionBody body;
};

class ReferenceBook {
 public:
  // The genesis must list exactly one market and two assets. Accounts are numbered in genesis
  // order; the fee account comes after them.
  explicit ReferenceBook(const Genesis& genesis);

  std::size_t account_count() const { return keys_.size(); }  // the fee account included
  std::size_t fee_account() const { return keys_.size() - 1; }
  const AccountId& key(std::size_t account) const { return keys_.at(account); }
  std::optional<std::size_t> find_account(const AccountId& key) const;

  // A whole block: an admission pass in the given order, then the admitted cancels, then the
  // admitted post-only orders, then everything else, each group in the given order. Results come
  // back in the given order.
  std::vector<ReferenceResult> execute_block(std::uint64_t height,
                                             const std::vector<ReferenceTx>& txs);
  // Admission alone: kNone (nonce used, fee paid) or an admission reject (nothing changed).
  RejectCode admit(const ReferenceTx& tx, std::uint64_t height);
  // Execution of an admitted transaction's body.
  ReferenceResult execute(std::size_t account, const TransactionBody& body);

  // Views, in the shapes the exchange uses.
  std::vector<OpenOrder> resting_orders(Side side) const;         // best price first, then time
  std::vector<OpenOrder> open_orders(std::size_t account) const;  // by order id
  Balance balance(std::size_t account, AssetId asset) const;
  std::uint64_t nonce(std::size_t account) const { return nonces_.at(account); }
  std::vector<Amount> asset_totals() const;
  OrderId next_order_id() const { return next_order_id_; }

 private:
  struct RestingOrder {
    OrderId id = 0;
    std::size_t owner = 0;
    ClientOrderId client_order_id = 0;
    Side side = Side::kBuy;
    Price price = 0;
    Quantity remaining = 0;
    bool post_only = false;
    SelfTradePrevention self_trade_prevention = SelfTradePrevention::kCancelNewest;
    std::uint64_t sequence = 0;
  };
  // An order on its way in (a new order, or a replaced one re-entering the book).
  struct Incoming {
    OrderId id = 0;
    std::size_t owner = 0;
    ClientOrderId client_order_id = 0;
    Side side = Side::kBuy;
    TimeInForce time_in_force = TimeInForce::kGoodTillCancel;
    bool post_only = false;
    SelfTradePrevention self_trade_prevention = SelfTradePrevention::kCancelNewest;
    Price price = 0;
    Quantity remaining = 0;  // still to trade
    Quantity filled = 0;     // traded so far
  };

  ReferenceResult place(std::size_t account, const PlaceOrder& order);
  ReferenceResult cancel(std::size_t account, const CancelOrder& order);
  ReferenceResult cancel_all(std::size_t account, const CancelAll& body);
  ReferenceResult replace(std::size_t account, const ReplaceOrder& body);
  ReferenceResult transfer(std::size_t account, const Transfer& body);

  std::optional<RejectCode> check_price_and_size(Price price, Quantity quantity) const;
  // Funds an order of this shape locks; nullopt if the amount overflows int64.
  std::optional<Amount> lock_for(Side side, Price price, Quantity quantity) const;
  AssetId locked_asset(Side side) const {
    return side == Side::kBuy ? market_.quote : market_.base;
  }
  Amount locked(std::size_t account, AssetId asset) const;
  Amount available(std::size_t account, AssetId asset) const;
  // Index into book_ of the order a reference names, or why there is none.
  std::optional<std::size_t> find_order(std::size_t account, const OrderRef& ref,
                                        RejectCode& why) const;
  std::size_t open_order_count(std::size_t account) const;
  bool crosses(Side side, Price price) const;
  // Index of the highest-priority resting order on `side`, if any.
  std::optional<std::size_t> best(Side side) const;

  // Matches `order` against the book, then rests or cancels what is left.
  void submit(Incoming& order, std::vector<Event>& events);
  void match(Incoming& order, std::vector<Event>& events);
  void fill(Incoming& taker, std::size_t maker_index, Quantity quantity,
            std::vector<Event>& events);
  void remove(std::size_t index, CancelReason reason, std::vector<Event>& events);
  bool fill_or_kill_fillable(const Incoming& order) const;

  MarketSpec market_;
  AssetId fee_asset_ = 0;
  Amount min_tx_fee_ = 0;
  std::size_t max_open_orders_ = 0;

  std::vector<AccountId> keys_;
  std::vector<std::vector<Amount>> owned_;  // [account][asset]: available + locked
  std::vector<std::uint64_t> nonces_;
  std::vector<RestingOrder> book_;  // both sides, in no particular order
  OrderId next_order_id_ = 1;
  std::uint64_t next_sequence_ = 1;
};

}  // namespace ballast::exchange::testing
