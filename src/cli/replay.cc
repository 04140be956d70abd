#include "cli/replay.h"

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "exchange/exchange.h"
#include "exchange/json_codec.h"

namespace ballast::cli {
namespace {

using exchange::Exchange;
using exchange::Genesis;
using exchange::Transaction;
using Json = nlohmann::json;

constexpr std::uint64_t kDefaultExpiryBlocks = 100;

// Resolves account names to keys: from NAME.key files, or derived from the name.
class KeyRing {
 public:
  explicit KeyRing(const ReplayOptions& options) : options_(options) {}

  Result<const SecretKey*> key_for(const std::string& name) {
    auto it = keys_.find(name);
    if (it != keys_.end()) return &it->second;
    if (options_.dev_keys) {
      return &keys_.emplace(name, SecretKey::insecure_from_seed(name)).first->second;
    }
    if (options_.keys_dir.empty()) {
      return invalid_argument("no key for account \"" + name + "\": give --keys DIR or --dev-keys");
    }
    BALLAST_ASSIGN_OR_RETURN(SecretKey key, read_key_file(options_.keys_dir + "/" + name + ".key"));
    return &keys_.emplace(name, std::move(key)).first->second;
  }

  Result<PublicKey> public_key_for(const std::string& name_or_hex) {
    if (name_or_hex.size() == 64) {
      auto key = PublicKey::from_hex(name_or_hex);
      if (key.is_ok()) return key;
    }
    BALLAST_ASSIGN_OR_RETURN(const SecretKey* key, key_for(name_or_hex));
    return key->public_key();
  }

 private:
  const ReplayOptions& options_;
  std::map<std::string, SecretKey> keys_;
};

struct ReplayLine {
  std::size_t line_number = 0;
  std::string account;
  std::string action;
  Transaction tx;
};

struct PendingBlock {
  std::optional<std::int64_t> label;    // lines sharing a "block" label share a block
  std::optional<std::int64_t> time_ms;  // block time, if a line gave one
  std::vector<ReplayLine> lines;
};

class Replayer {
 public:
  Replayer(const ReplayOptions& options, const Genesis& genesis, std::ostream& out)
      : options_(options), genesis_(genesis), exchange_(genesis), keys_(options), out_(out) {}

  Status run(std::istream& input);

 private:
  Result<ReplayLine> parse_line(const Json& object, std::size_t line_number);
  Status take_block_time(const Json& object);
  void flush();
  void print_result(const ReplayLine& line, const exchange::TxResult& result);
  void print_market_events(const exchange::BlockResult& block, bool block_start);
  void print_auction_fills(const exchange::BlockResult& block);
  void print_fill(const exchange::OrderFilled& fill, const char* label);
  void print_summary();
  std::string name_of(const PublicKey& key) const;

  const ReplayOptions& options_;
  const Genesis& genesis_;
  Exchange exchange_;
  KeyRing keys_;
  std::ostream& out_;
  std::map<std::string, std::uint64_t> next_nonce_;
  std::map<PublicKey, std::string> names_;
  PendingBlock pending_;
  std::size_t accepted_ = 0;
  std::size_t rejected_ = 0;
  std::size_t fills_ = 0;
};

Result<ReplayLine> Replayer::parse_line(const Json& object, std::size_t line_number) {
  if (!object.is_object()) return invalid_argument("each line must be a JSON object");
  if (!object.contains("account") || !object["account"].is_string()) {
    return invalid_argument("missing text field \"account\"");
  }
  ReplayLine line;
  line.line_number = line_number;
  line.account = object["account"].get<std::string>();
  line.action = object.value("action", "");
  BALLAST_ASSIGN_OR_RETURN(const SecretKey* key, keys_.key_for(line.account));
  names_.emplace(key->public_key(), line.account);
  auto resolve = [this](const std::string& name) { return keys_.public_key_for(name); };
  BALLAST_ASSIGN_OR_RETURN(line.tx.body, exchange::body_from_json(object, genesis_, resolve));
  std::uint64_t& nonce = next_nonce_[line.account];
  nonce = object.contains("nonce") ? object["nonce"].get<std::uint64_t>() : nonce + 1;
  line.tx.sender = key->public_key();
  line.tx.nonce = nonce;
  line.tx.fee = object.value("fee", genesis_.min_tx_fee);
  std::uint64_t next_height = exchange_.height() + 1;
  line.tx.expiry_height = object.value("expiry_height", next_height + kDefaultExpiryBlocks);
  line.tx.sign(*key, genesis_.chain_id);
  return line;
}

Status Replayer::run(std::istream& input) {
  std::string text;
  std::size_t line_number = 0;
  while (std::getline(input, text)) {
    ++line_number;
    if (text.find_first_not_of(" \t\r") == std::string::npos || text[0] == '#') continue;
    Json object = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded()) {
      return invalid_argument("line " + std::to_string(line_number) + ": not valid JSON");
    }
    std::optional<std::int64_t> label;
    if (object.is_object() && object.contains("block")) {
      if (!object["block"].is_number_integer()) {
        return invalid_argument("line " + std::to_string(line_number) +
                                ": block must be an integer");
      }
      label = object["block"].get<std::int64_t>();
    }
    if (!label || label != pending_.label) flush();
    pending_.label = label;
    if (Status time = take_block_time(object); !time.is_ok()) {
      return invalid_argument("line " + std::to_string(line_number) + ": " + time.message());
    }
    Result<ReplayLine> line = parse_line(object, line_number);
    if (!line.is_ok()) {
      return Status(line.status().code(),
                    "line " + std::to_string(line_number) + ": " + line.status().message());
    }
    pending_.lines.push_back(std::move(line).value());
  }
  flush();
  print_summary();
  return Status::ok();
}

// A line may give its block's time ("time_ms"); the circuit breakers run on it. Blocks without
// one keep the previous block's time.
Status Replayer::take_block_time(const Json& object) {
  if (!object.is_object() || !object.contains("time_ms")) return Status::ok();
  const Json& value = object["time_ms"];
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
    return invalid_argument("time_ms must be a non-negative integer");
  }
  const std::int64_t time_ms = value.get<std::int64_t>();
  if (time_ms < exchange_.block_time_ms()) {
    return invalid_argument("time_ms " + std::to_string(time_ms) +
                            " is before the previous block's " +
                            std::to_string(exchange_.block_time_ms()));
  }
  if (pending_.time_ms && *pending_.time_ms != time_ms) {
    return invalid_argument("lines of one block must agree on time_ms");
  }
  pending_.time_ms = time_ms;
  return Status::ok();
}

void Replayer::flush() {
  if (pending_.lines.empty()) return;
  std::vector<Transaction> txs;
  txs.reserve(pending_.lines.size());
  for (const ReplayLine& line : pending_.lines) txs.push_back(line.tx);
  exchange::BlockContext context{exchange_.height() + 1,
                                 pending_.time_ms.value_or(exchange_.block_time_ms())};
  exchange::BlockResult block = exchange_.execute_block(context, txs);
  if (!options_.json) out_ << "block " << block.height << " at " << context.time_ms << " ms\n";
  // In the order they happened: timers and auctions, the transactions, then the rest.
  print_market_events(block, true);
  print_auction_fills(block);
  for (std::size_t i = 0; i < txs.size(); ++i) print_result(pending_.lines[i], block.results[i]);
  print_market_events(block, false);
  pending_ = PendingBlock{};
}

void Replayer::print_market_events(const exchange::BlockResult& block, bool block_start) {
  for (const exchange::MarketEvent& event : block.market_events) {
    if ((event.phase == exchange::MarketEventPhase::kBlockStart) != block_start) continue;
    if (options_.json) {
      out_ << Json{{"height", block.height},
                   {"market_event", exchange::market_event_to_json(event, genesis_)}}
                  .dump()
           << "\n";
      continue;
    }
    out_ << "  MARKET " << genesis_.markets[event.market].symbol << " "
         << exchange::market_state_name(event.from) << " -> "
         << exchange::market_state_name(event.to) << " ("
         << exchange::market_transition_reason_name(event.reason) << ")";
    if (event.phase == exchange::MarketEventPhase::kTransaction) {
      out_ << " by line " << pending_.lines[event.transaction].line_number;
    }
    if (event.ends_ms > 0) out_ << " until " << event.ends_ms << " ms";
    if (event.reason == exchange::MarketTransitionReason::kAuctionCompleted) {
      out_ << " clearing " << event.matched_quantity << " @ " << event.clearing_price;
    }
    if (event.band_high > 0) {
      out_ << " reference " << event.reference_price << " band " << event.band_low << ".."
           << event.band_high;
    }
    out_ << "\n";
  }
}

void Replayer::print_auction_fills(const exchange::BlockResult& block) {
  for (const exchange::Event& event : block.block_events) {
    const auto* fill = std::get_if<exchange::OrderFilled>(&event);
    if (fill == nullptr) continue;
    ++fills_;
    if (options_.json) {
      out_ << Json{{"height", block.height},
                   {"auction_event", exchange::event_to_json(event, genesis_)}}
                  .dump()
           << "\n";
    } else {
      print_fill(*fill, "AUCTION FILL");
    }
  }
}

void Replayer::print_fill(const exchange::OrderFilled& fill, const char* label) {
  out_ << "    " << label << " " << genesis_.markets[fill.market].symbol << " " << fill.quantity
       << " @ " << fill.price << "  maker " << name_of(fill.maker) << " #" << fill.maker_order_id
       << " (fee " << fill.maker_fee << ")  taker " << name_of(fill.taker) << " #"
       << fill.taker_order_id << " " << exchange::side_name(fill.taker_side) << " (fee "
       << fill.taker_fee << ")\n";
}

std::string Replayer::name_of(const PublicKey& key) const {
  auto it = names_.find(key);
  return it != names_.end() ? it->second : key.hex().substr(0, 12);
}

void Replayer::print_result(const ReplayLine& line, const exchange::TxResult& result) {
  result.accepted() ? ++accepted_ : ++rejected_;
  if (options_.json) {
    Json json = exchange::result_to_json(result, genesis_);
    json["line"] = line.line_number;
    json["account"] = line.account;
    json["height"] = exchange_.height();
    out_ << json.dump() << "\n";
    for (const auto& event : result.events)
      fills_ += std::holds_alternative<exchange::OrderFilled>(event);
    return;
  }
  out_ << "  line " << line.line_number << " " << line.account << " " << line.action << ": ";
  if (!result.accepted()) {
    out_ << "REJECTED " << exchange::reject_code_name(result.reject) << " (" << result.message
         << ")\n";
    return;
  }
  out_ << "accepted\n";
  for (const exchange::Event& event : result.events) {
    if (const auto* fill = std::get_if<exchange::OrderFilled>(&event)) {
      ++fills_;
      print_fill(*fill, "FILL");
    } else {
      out_ << "    " << exchange::event_to_json(event, genesis_).dump() << "\n";
    }
  }
}

void Replayer::print_summary() {
  if (options_.json) {
    Json markets = Json::array();
    for (std::size_t m = 0; m < genesis_.markets.size(); ++m) {
      markets.push_back(exchange::market_status_to_json(
          exchange_.market_status(static_cast<exchange::MarketId>(m)), genesis_));
    }
    out_ << Json{{"summary", true},
                 {"height", exchange_.height()},
                 {"accepted", accepted_},
                 {"rejected", rejected_},
                 {"fills", fills_},
                 {"markets", std::move(markets)},
                 {"state_root", exchange_.state_root().hex()}}
                .dump()
         << "\n";
    return;
  }
  for (std::size_t m = 0; m < genesis_.markets.size(); ++m) {
    auto market = static_cast<exchange::MarketId>(m);
    exchange::MarketStatus status = exchange_.market_status(market);
    out_ << "\nbook " << genesis_.markets[m].symbol << " ("
         << exchange::market_state_name(status.state);
    if (status.band) {
      out_ << ", reference " << *status.reference_price << ", band " << status.band->low << ".."
           << status.band->high;
    }
    out_ << ")\n";
    auto asks = exchange_.book(market, exchange::Side::kSell, options_.book_depth);
    for (auto it = asks.rbegin(); it != asks.rend(); ++it) {
      out_ << "  ask " << it->price << "  " << it->quantity << " (" << it->orders << " orders)\n";
    }
    out_ << "  ----\n";
    for (const auto& level : exchange_.book(market, exchange::Side::kBuy, options_.book_depth)) {
      out_ << "  bid " << level.price << "  " << level.quantity << " (" << level.orders
           << " orders)\n";
    }
  }
  out_ << "\nblocks " << exchange_.height() << ", transactions accepted " << accepted_
       << ", rejected " << rejected_ << ", fills " << fills_ << "\n";
  out_ << "state root at height " << exchange_.height() << ": " << exchange_.state_root().hex()
       << "\n";
}

}  // namespace

Status run_replay(const ReplayOptions& options, std::ostream& out) {
  BALLAST_ASSIGN_OR_RETURN(Genesis genesis, exchange::load_genesis_file(options.genesis_path));
  std::ifstream input(options.orders_path);
  if (!input) return io_error("cannot open order file " + options.orders_path);
  Replayer replayer(options, genesis, out);
  return replayer.run(input);
}

}  // namespace ballast::cli
