#include "exchange/genesis.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/codec.h"

namespace ballast::exchange {
namespace {

using Json = nlohmann::json;

constexpr std::uint8_t kGenesisVersion = 2;  // 2: circuit-breaker parameters per market
constexpr std::size_t kMaxSymbolLength = 32;
constexpr std::size_t kMaxListLength = 1'000'000;
constexpr std::int64_t kMaxFeeBps = 1'000;
constexpr std::int64_t kMaxBandBps = 5'000;
constexpr std::int64_t kMaxWindowMs = 3'600'000;     // one hour
constexpr std::int64_t kMaxDurationMs = 86'400'000;  // one day

// The integer fields of a market's "breakers" object, in encoding order.
struct BreakerField {
  const char* name;
  std::int64_t BreakerSpec::*member;
};
constexpr BreakerField kBreakerFields[] = {
    {"band_bps", &BreakerSpec::band_bps},
    {"reference_window_ms", &BreakerSpec::reference_window_ms},
    {"limit_state_ms", &BreakerSpec::limit_state_ms},
    {"pause_ms", &BreakerSpec::pause_ms},
    {"velocity_bps", &BreakerSpec::velocity_bps},
    {"velocity_window_ms", &BreakerSpec::velocity_window_ms},
    {"velocity_pause_ms", &BreakerSpec::velocity_pause_ms},
    {"auction_ms", &BreakerSpec::auction_ms},
    {"reference_price", &BreakerSpec::reference_price},
};

// JSON integers above 2^53 lose precision in many clients, so amounts may also be strings.
Result<std::int64_t> json_int64(const Json& value, const std::string& what) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX) {
      return invalid_argument(what + " is out of range");
    }
    return value.get<std::int64_t>();
  }
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    std::size_t used = 0;
    try {
      long long parsed = std::stoll(text, &used, 10);
      if (used == text.size() && !text.empty()) return static_cast<std::int64_t>(parsed);
    } catch (const std::exception&) {
    }
    return invalid_argument(what + " is not an integer: \"" + text + "\"");
  }
  return invalid_argument(what + " must be an integer");
}

Result<const Json*> field(const Json& object, const char* name, const std::string& where) {
  auto it = object.find(name);
  if (it == object.end()) return invalid_argument(where + ": missing field \"" + name + "\"");
  return &*it;
}

Result<std::string> string_field(const Json& object, const char* name, const std::string& where) {
  BALLAST_ASSIGN_OR_RETURN(const Json* value, field(object, name, where));
  if (!value->is_string()) return invalid_argument(where + "." + name + " must be a string");
  return value->get<std::string>();
}

Result<std::int64_t> int_field(const Json& object, const char* name, const std::string& where) {
  BALLAST_ASSIGN_OR_RETURN(const Json* value, field(object, name, where));
  return json_int64(*value, where + "." + name);
}

Result<std::int64_t> int_field_or(const Json& object, const char* name, const std::string& where,
                                  std::int64_t fallback) {
  if (!object.contains(name)) return fallback;
  return int_field(object, name, where);
}

Result<PublicKey> key_field(const Json& object, const char* name, const std::string& where) {
  BALLAST_ASSIGN_OR_RETURN(std::string text, string_field(object, name, where));
  auto key = PublicKey::from_hex(text);
  if (!key.is_ok()) return invalid_argument(where + "." + name + ": " + key.status().message());
  return key;
}

Result<AssetId> asset_by_symbol(const Genesis& genesis, const std::string& symbol,
                                const std::string& where) {
  auto asset = genesis.find_asset(symbol);
  if (!asset) return invalid_argument(where + ": unknown asset \"" + symbol + "\"");
  return *asset;
}

Status parse_assets(const Json& root, Genesis& genesis) {
  BALLAST_ASSIGN_OR_RETURN(const Json* assets, field(root, "assets", "genesis"));
  if (!assets->is_array()) return invalid_argument("genesis.assets must be an array");
  for (std::size_t i = 0; i < assets->size(); ++i) {
    std::string where = "genesis.assets[" + std::to_string(i) + "]";
    const Json& entry = (*assets)[i];
    AssetSpec asset;
    BALLAST_ASSIGN_OR_RETURN(asset.symbol, string_field(entry, "symbol", where));
    BALLAST_ASSIGN_OR_RETURN(std::int64_t decimals, int_field_or(entry, "decimals", where, 0));
    if (decimals < 0 || decimals > 18) return invalid_argument(where + ".decimals must be 0..18");
    asset.decimals = static_cast<std::uint32_t>(decimals);
    genesis.assets.push_back(std::move(asset));
  }
  return Status::ok();
}

// Absent fields keep their defaults; an unknown field is an error, because a misspelt one would
// otherwise silently leave a default in force.
Status parse_breakers(const Json& entry, const std::string& where, BreakerSpec& breakers) {
  if (!entry.contains("breakers")) return Status::ok();
  const Json& object = entry["breakers"];
  const std::string at = where + ".breakers";
  if (!object.is_object()) return invalid_argument(at + " must be an object");
  for (const auto& [name, value] : object.items()) {
    bool known = name == "enabled";
    for (const BreakerField& field : kBreakerFields) known = known || name == field.name;
    if (!known) return invalid_argument(at + ": unknown field \"" + name + "\"");
  }
  if (object.contains("enabled")) {
    if (!object["enabled"].is_boolean())
      return invalid_argument(at + ".enabled must be true/false");
    breakers.enabled = object["enabled"].get<bool>();
  }
  for (const BreakerField& field : kBreakerFields) {
    BALLAST_ASSIGN_OR_RETURN(breakers.*field.member,
                             int_field_or(object, field.name, at, breakers.*field.member));
  }
  return Status::ok();
}

Status parse_markets(const Json& root, Genesis& genesis) {
  BALLAST_ASSIGN_OR_RETURN(const Json* markets, field(root, "markets", "genesis"));
  if (!markets->is_array()) return invalid_argument("genesis.markets must be an array");
  for (std::size_t i = 0; i < markets->size(); ++i) {
    std::string where = "genesis.markets[" + std::to_string(i) + "]";
    const Json& entry = (*markets)[i];
    MarketSpec market;
    BALLAST_ASSIGN_OR_RETURN(market.symbol, string_field(entry, "symbol", where));
    BALLAST_ASSIGN_OR_RETURN(std::string base, string_field(entry, "base", where));
    BALLAST_ASSIGN_OR_RETURN(std::string quote, string_field(entry, "quote", where));
    BALLAST_ASSIGN_OR_RETURN(market.base, asset_by_symbol(genesis, base, where));
    BALLAST_ASSIGN_OR_RETURN(market.quote, asset_by_symbol(genesis, quote, where));
    BALLAST_ASSIGN_OR_RETURN(market.tick_size, int_field(entry, "tick_size", where));
    BALLAST_ASSIGN_OR_RETURN(market.lot_size, int_field(entry, "lot_size", where));
    BALLAST_ASSIGN_OR_RETURN(market.min_size,
                             int_field_or(entry, "min_size", where, market.lot_size));
    BALLAST_ASSIGN_OR_RETURN(market.maker_fee_bps, int_field_or(entry, "maker_fee_bps", where, 0));
    BALLAST_ASSIGN_OR_RETURN(market.taker_fee_bps, int_field_or(entry, "taker_fee_bps", where, 0));
    BALLAST_RETURN_IF_ERROR(parse_breakers(entry, where, market.breakers));
    genesis.markets.push_back(std::move(market));
  }
  return Status::ok();
}

Status parse_accounts(const Json& root, Genesis& genesis) {
  if (!root.contains("accounts")) return Status::ok();
  const Json& accounts = root["accounts"];
  if (!accounts.is_array()) return invalid_argument("genesis.accounts must be an array");
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    std::string where = "genesis.accounts[" + std::to_string(i) + "]";
    const Json& entry = accounts[i];
    GenesisAccount account;
    BALLAST_ASSIGN_OR_RETURN(account.key, key_field(entry, "pubkey", where));
    if (entry.contains("balances")) {
      const Json& balances = entry["balances"];
      if (!balances.is_object()) return invalid_argument(where + ".balances must be an object");
      for (const auto& [symbol, amount_json] : balances.items()) {
        GenesisBalance balance;
        BALLAST_ASSIGN_OR_RETURN(balance.asset, asset_by_symbol(genesis, symbol, where));
        BALLAST_ASSIGN_OR_RETURN(balance.amount,
                                 json_int64(amount_json, where + ".balances." + symbol));
        account.balances.push_back(balance);
      }
    }
    genesis.accounts.push_back(std::move(account));
  }
  return Status::ok();
}

Status parse_validators(const Json& root, Genesis& genesis) {
  if (!root.contains("validators")) return Status::ok();
  const Json& validators = root["validators"];
  if (!validators.is_array()) return invalid_argument("genesis.validators must be an array");
  for (std::size_t i = 0; i < validators.size(); ++i) {
    std::string where = "genesis.validators[" + std::to_string(i) + "]";
    Validator validator;
    BALLAST_ASSIGN_OR_RETURN(validator.key, key_field(validators[i], "pubkey", where));
    BALLAST_ASSIGN_OR_RETURN(std::int64_t stake, int_field(validators[i], "stake", where));
    if (stake <= 0) return invalid_argument(where + ".stake must be positive");
    validator.stake = static_cast<std::uint64_t>(stake);
    genesis.validators.push_back(validator);
  }
  return Status::ok();
}

Status check_range(std::int64_t value, std::int64_t low, std::int64_t high,
                   const std::string& field, const char* unit) {
  if (value >= low && value <= high) return Status::ok();
  return invalid_argument(field + " must be " + std::to_string(low) + ".." + std::to_string(high) +
                          unit + ", not " + std::to_string(value));
}

Status validate_breakers(const MarketSpec& market, const std::string& where) {
  const BreakerSpec& breakers = market.breakers;
  const std::string at = where + ".breakers.";
  // The band must leave room below the reference, so prices stay positive.
  BALLAST_RETURN_IF_ERROR(check_range(breakers.band_bps, 1, kMaxBandBps, at + "band_bps", " bp"));
  BALLAST_RETURN_IF_ERROR(
      check_range(breakers.velocity_bps, 0, kMaxBandBps, at + "velocity_bps", " bp"));
  for (auto [value, name] : {std::pair{breakers.reference_window_ms, "reference_window_ms"},
                             std::pair{breakers.velocity_window_ms, "velocity_window_ms"}}) {
    // Windows are kept as ten buckets of a whole number of milliseconds.
    BALLAST_RETURN_IF_ERROR(check_range(value, 10, kMaxWindowMs, at + name, " ms"));
    if (value % 10 != 0) return invalid_argument(at + name + " must be a multiple of 10 ms");
  }
  for (auto [value, name] : {std::pair{breakers.limit_state_ms, "limit_state_ms"},
                             std::pair{breakers.pause_ms, "pause_ms"},
                             std::pair{breakers.velocity_pause_ms, "velocity_pause_ms"},
                             std::pair{breakers.auction_ms, "auction_ms"}}) {
    BALLAST_RETURN_IF_ERROR(check_range(value, 0, kMaxDurationMs, at + name, " ms"));
  }
  if (breakers.reference_price < 0 || breakers.reference_price % market.tick_size != 0) {
    return invalid_argument(at + "reference_price must be 0 (none) or a positive multiple of " +
                            "tick_size");
  }
  return Status::ok();
}

Status validate_market(const Genesis& genesis, const MarketSpec& market, const std::string& where) {
  if (market.symbol.empty() || market.symbol.size() > kMaxSymbolLength) {
    return invalid_argument(where + ": symbol must be 1..32 characters");
  }
  if (market.base >= genesis.assets.size() || market.quote >= genesis.assets.size()) {
    return invalid_argument(where + ": unknown asset");
  }
  if (market.base == market.quote) return invalid_argument(where + ": base equals quote");
  if (market.tick_size <= 0) return invalid_argument(where + ": tick_size must be positive");
  if (market.lot_size <= 0) return invalid_argument(where + ": lot_size must be positive");
  if (market.min_size <= 0 || market.min_size % market.lot_size != 0) {
    return invalid_argument(where + ": min_size must be a positive multiple of lot_size");
  }
  for (std::int64_t bps : {market.maker_fee_bps, market.taker_fee_bps}) {
    if (bps < 0 || bps > kMaxFeeBps) {
      return invalid_argument(where + ": fees must be 0..1000 basis points");
    }
  }
  return validate_breakers(market, where);
}

Status validate_balances(const Genesis& genesis) {
  std::vector<Amount> totals(genesis.assets.size(), 0);
  std::set<AccountId> seen;
  for (std::size_t i = 0; i < genesis.accounts.size(); ++i) {
    const GenesisAccount& account = genesis.accounts[i];
    std::string where = "genesis.accounts[" + std::to_string(i) + "]";
    if (!seen.insert(account.key).second) return invalid_argument(where + ": duplicate pubkey");
    std::set<AssetId> assets;
    for (const GenesisBalance& balance : account.balances) {
      if (balance.asset >= genesis.assets.size()) return invalid_argument(where + ": bad asset");
      if (!assets.insert(balance.asset).second) {
        return invalid_argument(where + ": asset listed twice");
      }
      if (balance.amount < 0) return invalid_argument(where + ": negative balance");
      auto total = checked_add(totals[balance.asset], balance.amount);
      if (!total) {
        return invalid_argument("genesis: total supply of " + genesis.assets[balance.asset].symbol +
                                " overflows int64");
      }
      totals[balance.asset] = *total;
    }
  }
  return Status::ok();
}

}  // namespace

std::optional<AssetId> Genesis::find_asset(std::string_view symbol) const {
  for (std::size_t i = 0; i < assets.size(); ++i) {
    if (assets[i].symbol == symbol) return static_cast<AssetId>(i);
  }
  return std::nullopt;
}

std::optional<MarketId> Genesis::find_market(std::string_view symbol) const {
  for (std::size_t i = 0; i < markets.size(); ++i) {
    if (markets[i].symbol == symbol) return static_cast<MarketId>(i);
  }
  return std::nullopt;
}

Status validate_genesis(const Genesis& genesis) {
  if (genesis.chain_id.empty() || genesis.chain_id.size() > 64) {
    return invalid_argument("genesis.chain_id must be 1..64 characters");
  }
  if (genesis.assets.empty()) return invalid_argument("genesis.assets must not be empty");
  std::set<std::string> symbols;
  for (const AssetSpec& asset : genesis.assets) {
    if (asset.symbol.empty() || asset.symbol.size() > kMaxSymbolLength) {
      return invalid_argument("genesis: asset symbols must be 1..32 characters");
    }
    if (!symbols.insert(asset.symbol).second) {
      return invalid_argument("genesis: duplicate asset symbol " + asset.symbol);
    }
  }
  symbols.clear();
  for (std::size_t i = 0; i < genesis.markets.size(); ++i) {
    const MarketSpec& market = genesis.markets[i];
    BALLAST_RETURN_IF_ERROR(
        validate_market(genesis, market, "genesis.markets[" + std::to_string(i) + "]"));
    if (!symbols.insert(market.symbol).second) {
      return invalid_argument("genesis: duplicate market symbol " + market.symbol);
    }
  }
  if (genesis.tx_fee_asset >= genesis.assets.size()) {
    return invalid_argument("genesis.tx_fee_asset is not a listed asset");
  }
  if (genesis.min_tx_fee < 0) return invalid_argument("genesis.min_tx_fee must not be negative");
  if (genesis.limits.max_open_orders_per_account == 0) {
    return invalid_argument("genesis.max_open_orders_per_account must be positive");
  }
  std::set<PublicKey> validators;
  for (const Validator& validator : genesis.validators) {
    if (validator.stake == 0) return invalid_argument("genesis: validator stake must be positive");
    if (!validators.insert(validator.key).second) {
      return invalid_argument("genesis: duplicate validator " + validator.key.hex());
    }
  }
  return validate_balances(genesis);
}

Result<Genesis> parse_genesis_json(std::string_view text) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return invalid_argument("genesis is not valid JSON");
  if (!root.is_object()) return invalid_argument("genesis must be a JSON object");
  Genesis genesis;
  BALLAST_ASSIGN_OR_RETURN(genesis.chain_id, string_field(root, "chain_id", "genesis"));
  BALLAST_ASSIGN_OR_RETURN(genesis.fee_account, key_field(root, "fee_account", "genesis"));
  BALLAST_RETURN_IF_ERROR(parse_assets(root, genesis));
  BALLAST_RETURN_IF_ERROR(parse_markets(root, genesis));
  BALLAST_ASSIGN_OR_RETURN(std::string fee_asset, string_field(root, "tx_fee_asset", "genesis"));
  BALLAST_ASSIGN_OR_RETURN(genesis.tx_fee_asset, asset_by_symbol(genesis, fee_asset, "genesis"));
  BALLAST_ASSIGN_OR_RETURN(genesis.min_tx_fee, int_field_or(root, "min_tx_fee", "genesis", 0));
  BALLAST_ASSIGN_OR_RETURN(std::int64_t max_orders,
                           int_field_or(root, "max_open_orders_per_account", "genesis", 1'000));
  if (max_orders <= 0 || max_orders > 1'000'000) {
    return invalid_argument("genesis.max_open_orders_per_account must be 1..1000000");
  }
  genesis.limits.max_open_orders_per_account = static_cast<std::uint32_t>(max_orders);
  BALLAST_RETURN_IF_ERROR(parse_accounts(root, genesis));
  BALLAST_RETURN_IF_ERROR(parse_validators(root, genesis));
  BALLAST_RETURN_IF_ERROR(validate_genesis(genesis));
  return genesis;
}

Result<Genesis> load_genesis_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) return io_error("cannot open genesis file " + path);
  std::stringstream content;
  content << file.rdbuf();
  auto genesis = parse_genesis_json(content.str());
  if (!genesis.is_ok()) {
    return Status(genesis.status().code(), path + ": " + genesis.status().message());
  }
  return genesis;
}

Bytes Genesis::encode() const {
  Encoder out;
  out.u8(kGenesisVersion);
  out.string(chain_id);
  out.raw(fee_account.bytes);
  out.varint(tx_fee_asset);
  out.varint(static_cast<std::uint64_t>(min_tx_fee));
  out.varint(limits.max_open_orders_per_account);
  out.varint(assets.size());
  for (const AssetSpec& asset : assets) {
    out.string(asset.symbol);
    out.varint(asset.decimals);
  }
  out.varint(markets.size());
  for (const MarketSpec& market : markets) {
    out.string(market.symbol);
    out.varint(market.base);
    out.varint(market.quote);
    for (std::int64_t value : {market.tick_size, market.lot_size, market.min_size,
                               market.maker_fee_bps, market.taker_fee_bps}) {
      out.varint(static_cast<std::uint64_t>(value));
    }
    out.boolean(market.breakers.enabled);
    for (const BreakerField& field : kBreakerFields) {
      out.varint(static_cast<std::uint64_t>(market.breakers.*field.member));
    }
  }
  out.varint(accounts.size());
  for (const GenesisAccount& account : accounts) {
    out.raw(account.key.bytes);
    out.varint(account.balances.size());
    for (const GenesisBalance& balance : account.balances) {
      out.varint(balance.asset);
      out.varint(static_cast<std::uint64_t>(balance.amount));
    }
  }
  out.varint(validators.size());
  for (const Validator& validator : validators) {
    out.raw(validator.key.bytes);
    out.varint(validator.stake);
  }
  return out.take();
}

Result<Genesis> Genesis::decode(ByteView bytes) {
  Decoder in(bytes);
  Genesis genesis;
  auto int64_field = [&in](const char* what) {
    return static_cast<std::int64_t>(in.varint_at_most(INT64_MAX, what));
  };
  in.expect_version(kGenesisVersion, "genesis");
  genesis.chain_id = in.string(64, "chain_id");
  in.raw(genesis.fee_account.bytes);
  genesis.tx_fee_asset = static_cast<AssetId>(in.varint_at_most(UINT32_MAX, "tx_fee_asset"));
  genesis.min_tx_fee = int64_field("min_tx_fee");
  genesis.limits.max_open_orders_per_account =
      static_cast<std::uint32_t>(in.varint_at_most(1'000'000, "max_open_orders_per_account"));
  std::uint64_t asset_count = in.varint_at_most(kMaxListLength, "asset count");
  for (std::uint64_t i = 0; i < asset_count && in.ok(); ++i) {
    AssetSpec asset;
    asset.symbol = in.string(kMaxSymbolLength, "asset symbol");
    asset.decimals = static_cast<std::uint32_t>(in.varint_at_most(18, "decimals"));
    genesis.assets.push_back(std::move(asset));
  }
  std::uint64_t market_count = in.varint_at_most(kMaxListLength, "market count");
  for (std::uint64_t i = 0; i < market_count && in.ok(); ++i) {
    MarketSpec market;
    market.symbol = in.string(kMaxSymbolLength, "market symbol");
    market.base = static_cast<AssetId>(in.varint_at_most(UINT32_MAX, "base"));
    market.quote = static_cast<AssetId>(in.varint_at_most(UINT32_MAX, "quote"));
    market.tick_size = int64_field("tick_size");
    market.lot_size = int64_field("lot_size");
    market.min_size = int64_field("min_size");
    market.maker_fee_bps = int64_field("maker_fee_bps");
    market.taker_fee_bps = int64_field("taker_fee_bps");
    market.breakers.enabled = in.boolean();
    for (const BreakerField& field : kBreakerFields) {
      market.breakers.*field.member = int64_field(field.name);
    }
    genesis.markets.push_back(std::move(market));
  }
  std::uint64_t account_count = in.varint_at_most(kMaxListLength, "account count");
  for (std::uint64_t i = 0; i < account_count && in.ok(); ++i) {
    GenesisAccount account;
    in.raw(account.key.bytes);
    std::uint64_t balance_count = in.varint_at_most(asset_count, "balance count");
    for (std::uint64_t j = 0; j < balance_count && in.ok(); ++j) {
      GenesisBalance balance;
      balance.asset = static_cast<AssetId>(in.varint_at_most(UINT32_MAX, "asset"));
      balance.amount = int64_field("amount");
      account.balances.push_back(balance);
    }
    genesis.accounts.push_back(std::move(account));
  }
  std::uint64_t validator_count = in.varint_at_most(kMaxListLength, "validator count");
  for (std::uint64_t i = 0; i < validator_count && in.ok(); ++i) {
    Validator validator;
    in.raw(validator.key.bytes);
    validator.stake = in.varint();
    genesis.validators.push_back(validator);
  }
  BALLAST_RETURN_IF_ERROR(in.finish());
  BALLAST_RETURN_IF_ERROR(validate_genesis(genesis));
  return genesis;
}

Hash256 Genesis::hash() const {
  return sha256(encode());
}

}  // namespace ballast::exchange
