// A small exchange world for tests: a genesis with named, funded accounts whose keys are
// derived from their names, and helpers that sign and execute transactions one block at a time.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "exchange/exchange.h"

namespace ballast::exchange::testing {

struct MarketParams {
  Price tick_size = 1;
  Quantity lot_size = 1;
  Quantity min_size = 1;
  std::int64_t maker_fee_bps = 0;
  std::int64_t taker_fee_bps = 0;
  BreakerSpec breakers{};  // the genesis defaults unless a test says otherwise
};

// Assets: BASE (id 0), QUOTE (id 1). Market 0 is BASE-QUOTE with the given parameters.
// Every named account starts with `funds` of both assets. Transaction fees are paid in QUOTE.
Genesis make_genesis(const std::vector<std::string>& account_names, Amount funds,
                     const MarketParams& market = {}, Amount min_tx_fee = 0);

inline constexpr AssetId kBase = 0;
inline constexpr AssetId kQuote = 1;
inline constexpr MarketId kMarket = 0;

class TestWorld {
 public:
  explicit TestWorld(const std::vector<std::string>& account_names = {"alice", "bob", "carol"},
                     Amount funds = 1'000'000'000, const MarketParams& market = {},
                     Amount min_tx_fee = 0);

  Exchange& exchange() { return *exchange_; }
  const Genesis& genesis() const { return genesis_; }
  const SecretKey& key(const std::string& name) const;
  const AccountId& id(const std::string& name) const { return key(name).public_key(); }

  // A signed transaction from `name` with the next nonce, fee `fee`, expiring far ahead.
  Transaction make(const std::string& name, TransactionBody body, Amount fee = 0);
  // Executes `txs` as the next block, at the current block time, and returns its result.
  BlockResult run_block(const std::vector<Transaction>& txs);
  // The block time of the blocks that follow (0 until set); it must never go backwards.
  void set_time(std::int64_t time_ms) { time_ms_ = time_ms; }
  void advance_time(std::int64_t elapsed_ms) { time_ms_ += elapsed_ms; }
  std::int64_t time_ms() const { return time_ms_; }
  // The result of the last block run, with its market events and block events.
  const BlockResult& last_block() const { return last_block_; }
  // Signs and executes one transaction in its own block.
  TxResult run(const std::string& name, TransactionBody body, Amount fee = 0);

  TxResult limit(const std::string& name, Side side, Price price, Quantity quantity,
                 TimeInForce tif = TimeInForce::kGoodTillCancel, ClientOrderId client_id = 0,
                 SelfTradePrevention stp = SelfTradePrevention::kCancelNewest,
                 bool post_only = false);

  Balance balance(const std::string& name, AssetId asset) const;
  std::uint64_t nonce(const std::string& name) const;

 private:
  Genesis genesis_;
  std::map<std::string, SecretKey> keys_;
  std::map<std::string, std::uint64_t> nonces_;
  std::unique_ptr<Exchange> exchange_;
  std::int64_t time_ms_ = 0;
  BlockResult last_block_;
};

// Events of one kind from a result, in order.
template <typename E>
std::vector<E> events_of(const TxResult& result) {
  std::vector<E> found;
  for (const Event& event : result.events) {
    if (const auto* typed = std::get_if<E>(&event)) found.push_back(*typed);
  }
  return found;
}

}  // namespace ballast::exchange::testing
