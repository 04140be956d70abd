// The genesis file: the assets, markets, initial balances and validator set a network starts
// from. Parsing validates everything; a bad genesis is a clear error, never a half-built state.
// docs/GENESIS.md documents the format.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/hash.h"
#include "exchange/types.h"

namespace ballast::exchange {

struct AssetSpec {
  std::string symbol;
  std::uint32_t decimals = 0;  // for display only: amounts are always integers of units
};

// Circuit-breaker parameters of one market (docs/CIRCUIT_BREAKERS.md). The defaults are those a
// genesis file gets when it leaves a field out; the document gives the reasons for each.
struct BreakerSpec {
  bool enabled = true;
  std::int64_t band_bps = 500;                // trades stay within +/- this of the reference
  std::int64_t reference_window_ms = 30'000;  // the reference is the VWAP over this much time
  std::int64_t limit_state_ms = 5'000;        // a quote at the band this long pauses the market
  std::int64_t pause_ms = 30'000;             // pause after a limit state, then the auction
  std::int64_t velocity_bps = 300;            // a faster move than this ... (0: no velocity rule)
  std::int64_t velocity_window_ms = 2'000;    // ... within this much time ...
  std::int64_t velocity_pause_ms = 5'000;     // ... pauses the market for this long
  std::int64_t auction_ms = 1'000;            // call period between the pause and the uncross
  Price reference_price = 0;                  // the reference before any trade; 0: none
};

struct MarketSpec {
  std::string symbol;  // e.g. "BTC-USD"
  AssetId base = 0;
  AssetId quote = 0;
  Price tick_size = 1;    // prices are multiples of this (quote units per lot)
  Quantity lot_size = 1;  // quantities are multiples of this (base units)
  Quantity min_size = 1;  // smallest order quantity (base units)
  std::int64_t maker_fee_bps = 0;
  std::int64_t taker_fee_bps = 0;
  BreakerSpec breakers{};
};

struct GenesisBalance {
  AssetId asset = 0;
  Amount amount = 0;
};

struct GenesisAccount {
  AccountId key;
  std::vector<GenesisBalance> balances;
};

struct Validator {
  PublicKey key;
  std::uint64_t stake = 0;
};

// Bounds that keep every account's footprint finite.
struct ExchangeLimits {
  std::uint32_t max_open_orders_per_account = 1'000;
};

struct Genesis {
  std::string chain_id;
  AccountId fee_account;     // receives trading and transaction fees
  AssetId tx_fee_asset = 0;  // transaction fees are paid in this asset
  Amount min_tx_fee = 0;
  ExchangeLimits limits;
  std::vector<AssetSpec> assets;
  std::vector<MarketSpec> markets;
  std::vector<GenesisAccount> accounts;
  std::vector<Validator> validators;

  std::optional<AssetId> find_asset(std::string_view symbol) const;
  std::optional<MarketId> find_market(std::string_view symbol) const;
  // Hash of the canonical encoding: two nodes with the same genesis agree on it.
  Hash256 hash() const;
  Bytes encode() const;
  static Result<Genesis> decode(ByteView bytes);
};

Result<Genesis> parse_genesis_json(std::string_view text);
Result<Genesis> load_genesis_file(const std::string& path);
// Checks every rule of docs/GENESIS.md; parse_genesis_json and decode call it.
Status validate_genesis(const Genesis& genesis);

}  // namespace ballast::exchange
