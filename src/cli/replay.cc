#include "cli/replay.h"

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/live_replay.h"
#include "cli/order_file.h"
#include "exchange/exchange.h"
#include "exchange/json_codec.h"

namespace ballast::cli {
namespace {

using exchange::Exchange;
using exchange::Genesis;
using exchange::Transaction;
using Json = nlohmann::json;

struct PendingBlock {
  std::optional<std::int64_t> label;    // lines sharing a "block" label share a block
  std::optional<std::int64_t> time_ms;  // block time, if a line gave one
  std::vector<SignedLine> lines;
};

class Replayer {
 public:
  Replayer(const ReplayOptions& options, const Genesis& genesis, std::ostream& out)
      : options_(options),
        genesis_(genesis),
        exchange_(genesis),
        // The exchange starts at genesis, where no account has used a nonce.
        signer_(genesis, KeySource{options.keys_dir, options.dev_keys},
                [](const PublicKey&) -> Result<std::uint64_t> { return std::uint64_t{0}; }),
        out_(out) {}

  Status run(std::istream& input);

 private:
  Status take_block_time(const nlohmann::json& object);
  void flush();
  void print_result(const SignedLine& line, const exchange::TxResult& result);
  void print_market_events(const exchange::BlockResult& block, bool block_start);
  void print_auction_fills(const exchange::BlockResult& block);
  void print_fill(const exchange::OrderFilled& fill, const char* label);
  void print_summary();
  std::string name_of(const PublicKey& key) const;

  const ReplayOptions& options_;
  const Genesis& genesis_;
  Exchange exchange_;
  LineSigner signer_;
  std::ostream& out_;
  std::map<PublicKey, std::string> names_;
  PendingBlock pending_;
  std::size_t accepted_ = 0;
  std::size_t rejected_ = 0;
  std::size_t fills_ = 0;
};

Status Replayer::run(std::istream& input) {
  OrderFileReader reader(input);
  for (;;) {
    BALLAST_ASSIGN_OR_RETURN(std::optional<OrderLine> line, reader.next());
    if (!line) break;
    if (!line->block || line->block != pending_.label) flush();
    pending_.label = line->block;
    if (Status time = take_block_time(line->object); !time.is_ok()) {
      return invalid_argument("line " + std::to_string(line->line_number) + ": " + time.message());
    }
    LineDefaults defaults{genesis_.min_tx_fee, exchange_.height() + 1 + options_.expires_in_blocks};
    BALLAST_ASSIGN_OR_RETURN(SignedLine signed_line, signer_.sign(*line, defaults));
    names_.emplace(signed_line.tx.sender, signed_line.account);
    pending_.lines.push_back(std::move(signed_line));
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
  for (const SignedLine& line : pending_.lines) txs.push_back(line.tx);
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

void Replayer::print_result(const SignedLine& line, const exchange::TxResult& result) {
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
  if (!options.node_url.empty()) return run_live_replay(options, genesis, input, out);
  Replayer replayer(options, genesis, out);
  return replayer.run(input);
}

void add_live_replay_options(CLI::App& replay, ReplayOptions& options) {
  replay.add_option("--node", options.node_url,
                    "Submit each line to this node (http://HOST:PORT) and wait for finality");
  replay
      .add_option("--expires-in", options.expires_in_blocks,
                  "Default expiry: this many blocks after the line's block (with --node: after "
                  "the node's finalized height)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000}))
      ->capture_default_str();
  replay
      .add_option("--timeout-ms", options.wait_timeout_ms,
                  "With --node: the longest wait for one line's finality")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}))
      ->capture_default_str();
}

}  // namespace ballast::cli
