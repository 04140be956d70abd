// The replicated exchange: accounts, balances, order books and the circuit breakers of every
// market, advanced one block at a time.
//
// Deterministic and sans-IO: the same genesis and the same blocks give the same events and the
// same state root on every replica. It never reads a clock, file, socket, thread or random
// source. Input that is wrong yields a rejection with a reason and changes nothing (or only the
// nonce and fee, for execution rejects; see docs/TRANSACTIONS.md). A broken internal invariant
// aborts.
#pragma once

#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "crypto/lthash.h"
#include "exchange/breakers.h"
#include "exchange/events.h"
#include "exchange/genesis.h"
#include "exchange/order_book.h"
#include "exchange/transaction.h"

namespace ballast::exchange {

struct BlockContext {
  std::uint64_t height = 0;  // must be the previous height + 1
  std::int64_t time_ms = 0;  // block time agreed by consensus: >= 0, never below the previous
};

enum class SignatureCheck {
  kVerify,           // check every signature here
  kAlreadyVerified,  // the caller verified them (mempool cache, verification pool)
};

struct BlockResult {
  std::uint64_t height = 0;
  std::vector<TxResult> results;  // in the order the transactions were given
  // Every market state change of the block, in the order they happened (block start, then the
  // transactions, then the block end).
  std::vector<MarketEvent> market_events;
  // Order events no transaction caused: the fills of reopening auctions at the block start.
  std::vector<Event> block_events;
  Hash256 state_root;  // all zero from apply_block(): commit() returns the root
};

struct Balance {
  Amount available = 0;
  Amount locked = 0;
  bool operator==(const Balance&) const = default;
};

struct OpenOrder {
  OrderId id = 0;
  ClientOrderId client_order_id = 0;
  MarketId market = 0;
  Side side = Side::kBuy;
  Price price = 0;
  Quantity remaining = 0;
  std::uint64_t sequence = 0;
  bool post_only = false;
  bool operator==(const OpenOrder&) const = default;
};

struct AccountView {
  AccountId key;
  std::uint64_t nonce = 0;
  std::vector<Balance> balances;  // indexed by AssetId
};

class Exchange {
 public:
  explicit Exchange(const Genesis& genesis);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Executes one block: first the circuit-breaker timers that the block's time expires (and the
  // reopening auctions they run), then an admission pass in the given order (signature, account,
  // nonce, expiry, fee), then cancels, then post-only orders, then everything else in the given
  // order, then the limit-state check of every market; then commits it. The same as
  // apply_block() followed by commit().
  //
  // `transaction_ids`, when not empty, are the ids of `txs` (Transaction::id(), one each, in
  // order) that the caller has already computed, so they are not hashed again; passing wrong
  // ids puts wrong ids in the results and nothing else.
  BlockResult execute_block(const BlockContext& context, std::span<const Transaction> txs,
                            SignatureCheck check = SignatureCheck::kVerify,
                            std::span<const Hash256> transaction_ids = {});

  // The two phases of execute_block(), for callers that want to overlap or time them apart.
  // apply_block() executes the block and advances height() but leaves the state root of the
  // result all zero and state_root() at the previous block's root; commit() then folds every
  // entry the block changed into the state commitment and returns the new root. The two must
  // alternate strictly, starting with apply_block(); anything else aborts.
  BlockResult apply_block(const BlockContext& context, std::span<const Transaction> txs,
                          SignatureCheck check = SignatureCheck::kVerify,
                          std::span<const Hash256> transaction_ids = {});
  Hash256 commit();

  std::uint64_t height() const { return height_; }
  std::int64_t block_time_ms() const { return block_time_ms_; }  // of the last block
  const Hash256& state_root() const { return state_root_; }      // as of the last commit
  const Genesis& genesis() const { return genesis_; }
  const Hash256& genesis_hash() const { return genesis_hash_; }

  // The whole state in canonical form; restore() of it yields the same state root.
  Bytes snapshot() const;
  static Result<std::unique_ptr<Exchange>> restore(ByteView snapshot);

  std::optional<AccountView> account(const AccountId& key) const;
  std::size_t account_count() const { return accounts_.size(); }
  std::vector<BookLevel> book(MarketId market, Side side, std::size_t depth) const;
  // Every resting order of a market, one side, best price first then time priority.
  std::vector<OpenOrder> resting_orders(MarketId market, Side side) const;
  std::vector<OpenOrder> open_orders(const AccountId& key) const;
  // Whether a cancel or replace by `sender` naming `ref` could find an order now: it is open and
  // the sender's, or `ref` is an exchange order id not assigned yet (any id assigned later is).
  bool may_find_order(const AccountId& sender, const OrderRef& ref) const;
  // Whether `key` has an open order (in `market`, when given).
  bool has_open_orders(const AccountId& key, std::optional<MarketId> market) const;
  std::size_t resting_order_count() const { return orders_by_id_.size(); }
  // The circuit-breaker state of a market (docs/CIRCUIT_BREAKERS.md); O(1).
  MarketStatus market_status(MarketId market) const;
  // What a reopening auction of the market's book would do now: price and volume (volume 0 when
  // nothing crosses). O(price levels); meant for the indicative price during a pause.
  AuctionClearing indicative_auction(MarketId market) const;

  // Recomputes non-negativity, locked-equals-required, the books against each market's state
  // (uncrossed while trading; while paused, no account crossing itself) and the consistency of
  // the breaker state from scratch; returns the first violation. For tests and the simulator
  // (O(state)).
  Status check_invariants() const;
  // Per-asset totals over every account (available + locked), fee account included.
  std::vector<Amount> asset_totals() const;

 private:
  struct Account {
    AccountId key;
    std::uint64_t nonce = 0;
    std::vector<Balance> balances;  // indexed by AssetId
    OrderHandle first_order = kNoOrder;
    std::uint32_t open_orders = 0;
    Hash256 committed_digest;  // digest of this entry as of the last commit
    bool committed = false;
    bool dirty = false;
    // Whether `key` parses as a public key, cached for transfers to this account (genesis and
    // snapshot accounts are not checked on the way in). Not part of the state.
    enum class KeyCheck : std::uint8_t { kUnknown, kValid, kInvalid };
    KeyCheck key_check = KeyCheck::kUnknown;
  };
  struct ClientOrderKey {
    AccountIndex account;
    ClientOrderId client_order_id;
    bool operator==(const ClientOrderKey&) const = default;
  };
  struct KeyHasher {
    std::size_t operator()(const PublicKey& key) const;
    std::size_t operator()(const ClientOrderKey& key) const;
  };
  // An order being submitted: not yet in the book, possibly about to rest.
  struct Incoming {
    OrderId id = 0;
    AccountIndex owner = 0;
    MarketId market = 0;
    const MarketSpec* spec = nullptr;
    Side side = Side::kBuy;
    OrderType type = OrderType::kLimit;
    TimeInForce time_in_force = TimeInForce::kGoodTillCancel;
    bool post_only = false;
    SelfTradePrevention self_trade_prevention = SelfTradePrevention::kCancelNewest;
    Price price = 0;
    Quantity remaining = 0;
    ClientOrderId client_order_id = 0;
  };

  struct Rejection {
    RejectCode code;
    std::string message;
  };

  // A market's circuit breaker and its commitment bookkeeping.
  struct MarketEntry {
    MarketBreaker breaker;
    Hash256 committed_digest;
    bool committed = false;
    bool dirty = false;
  };

  // One trade's settlement: who buys and sells, what the buyer locked per lot, at what price.
  struct Trade {
    MarketId market = 0;
    AccountIndex buyer = 0;
    AccountIndex seller = 0;
    Price buyer_limit = 0;
    Price price = 0;
    Quantity quantity = 0;
    bool buyer_is_maker = false;
  };
  struct TradeFees {
    Amount buyer_fee = 0;   // in base
    Amount seller_fee = 0;  // in quote
  };

  // An empty exchange with the configuration of `genesis` and none of its accounts: the
  // starting point of restore().
  struct EmptyTag {};
  Exchange(const Genesis& genesis, const Hash256& genesis_hash, EmptyTag);
  void recompute_commitment();
  static Hash256 account_digest(const Account& account);
  Hash256 order_digest(const Order& order) const;
  Hash256 market_digest(MarketId market) const;
  Hash256 globals_digest() const;

  // Admission and dispatch. admit() sets `sender` when it admits the transaction.
  std::optional<Rejection> admit(const Transaction& tx, std::uint64_t height, SignatureCheck check,
                                 AccountIndex& sender);
  void execute(const Transaction& tx, AccountIndex sender, TxResult& result);
  bool valid_recipient(AccountIndex account);
  std::optional<Rejection> transfer(AccountIndex sender, const Transfer& body, TxResult& result);
  std::optional<Rejection> place(AccountIndex sender, const PlaceOrder& body, TxResult& result);
  std::optional<Rejection> cancel(AccountIndex sender, const CancelOrder& body, TxResult& result);
  std::optional<Rejection> cancel_all(AccountIndex sender, const CancelAll& body, TxResult& result);
  std::optional<Rejection> replace(AccountIndex sender, const ReplaceOrder& body, TxResult& result);

  // Order checks shared by place and replace.
  std::optional<Rejection> check_price_and_size(const MarketSpec& market, Price price,
                                                Quantity quantity) const;
  Result<Amount> required_lock(const MarketSpec& market, Side side, Price price,
                               Quantity quantity) const;
  Result<OrderHandle> find_order(AccountIndex sender, const OrderRef& ref) const;
  bool fill_or_kill_fillable(const Incoming& order) const;

  // Matching and book maintenance (matching.cc).
  void submit(Incoming& order, TxResult& result);
  void match(Incoming& order, TxResult& result);
  void settle_fill(Incoming& taker, OrderHandle maker_handle, Quantity quantity, TxResult& result);
  TradeFees settle_trade(const Trade& trade);
  void cancel_incoming(Incoming& order, CancelReason reason, TxResult& result);
  void rest(const Incoming& order, TxResult& result);
  void cancel_resting(OrderHandle handle, CancelReason reason, TxResult& result);
  void remove_resting(OrderHandle handle);
  void release_lock(AccountIndex owner, const MarketSpec& market, Side side, Price price,
                    Quantity quantity);

  // Circuit breakers (market_control.cc).
  MarketBreaker& breaker(MarketId market) { return markets_[market].breaker; }
  void touch_market(MarketId market);
  // Timers that expired by the block's time, then the reference prices; before the block's
  // transactions, so they never depend on which transactions a block carries.
  void begin_block(BlockResult& block);
  // The limit-state check of every trading market, after the block's transactions.
  void end_block();
  void run_timers(MarketId market, BlockResult& block);
  void run_auction(MarketId market, BlockResult& block);
  void settle_auction_fill(OrderHandle bid, OrderHandle ask, Price price, Quantity quantity,
                           std::vector<Event>& events);
  void transition(MarketId market, MarketState to, MarketTransitionReason reason,
                  MarketEventPhase phase, const AuctionClearing* clearing = nullptr);
  void trip_velocity(MarketId market);
  bool limit_condition_holds(MarketId market) const;
  // The remainder of a GTC order while its market is paused: it rests even if it crosses, but
  // never against an order of its own account (self-trade prevention applies at entry).
  void rest_while_paused(Incoming& order, TxResult& result);
  // A buy rests no higher than the upper band and a sell no lower than the lower band.
  void slide_into_band(Incoming& order);
  Status check_market(MarketId market) const;

  // Accounts and balances.
  AccountIndex account_index_or_create(const AccountId& key);
  std::optional<AccountIndex> find_account(const AccountId& key) const;
  Balance& balance(AccountIndex account, AssetId asset);
  void touch_account(AccountIndex account);
  void touch_order(OrderHandle handle);
  // Folds the dirty entries and the removed orders into the LtHash and sets state_root_.
  void commit_block();

  Genesis genesis_;
  Hash256 genesis_hash_;
  AccountIndex fee_account_ = 0;
  std::uint64_t height_ = 0;
  std::int64_t block_time_ms_ = 0;
  OrderId next_order_id_ = 1;
  std::uint64_t next_sequence_ = 1;
  Hash256 state_root_;

  std::vector<Account> accounts_;
  std::unordered_map<PublicKey, AccountIndex, KeyHasher> account_by_key_;
  OrderPool order_pool_;
  std::vector<std::unique_ptr<OrderBook>> books_;  // indexed by MarketId
  std::unordered_map<OrderId, OrderHandle> orders_by_id_;
  std::unordered_map<ClientOrderKey, OrderHandle, KeyHasher> orders_by_client_id_;
  std::vector<MarketEntry> markets_;  // indexed by MarketId
  // While a block applies: its market events so far and the transaction executing (for events
  // that one transaction causes).
  std::vector<MarketEvent> pending_market_events_;
  std::size_t executing_transaction_ = 0;

  // Commitment: an LtHash over every entry, plus what changed since the last commit. All
  // hashing happens in commit_block(): execution only records what changed.
  LtHash entries_hash_;
  Hash256 committed_globals_digest_;
  bool globals_committed_ = false;
  std::vector<AccountIndex> dirty_accounts_;
  std::vector<OrderId> dirty_orders_;
  std::vector<MarketId> dirty_markets_;
  std::vector<Hash256> removed_digests_;  // committed digests of orders removed since then
  bool applied_ = false;                  // apply_block() ran; commit() is due
};

}  // namespace ballast::exchange
