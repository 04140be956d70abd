#include "cli/chaos_flash_crash.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "client/node_client.h"
#include "loadgen/workload.h"

namespace ballast::cli {
namespace {

using Json = nlohmann::json;
using exchange::Price;
__extension__ using Wide = __int128;

constexpr std::int64_t kBasisPoints = 10'000;
constexpr std::int64_t kMoveWindowMs = 1'000;  // moves are measured within 1 s of block time
constexpr double kWaveFactor = 20;             // the wave's rate, in steady rates
constexpr double kWaveSeconds = 1;
// The wave's market sells accept any price down to half the starting mid: far below the ladder.
constexpr std::int64_t kWaveProtectionPercent = 50;
// The thin book below the steady quotes: one lot every percent, down to -30%, one trader each.
constexpr std::int64_t kLadderLevels = 30;
constexpr std::int64_t kLadderStepBps = 100;
constexpr std::size_t kMinWaveAccounts = 10;
constexpr std::uint64_t kLadderExpiryBlocks = 10'000;
constexpr std::int64_t kLadderWaitMs = 30'000;
// The node keeps its last 1,000 trades per market; polled this often, that covers 5,000
// trades per second.
constexpr std::int64_t kTradesLimit = 1'000;
constexpr std::int64_t kTradesPollMs = 200;
constexpr exchange::MarketId kMarket = 0;  // the market the steady flow trades

Wide magnitude(Price to, Price from) {
  return to > from ? Wide{to} - from : Wide{from} - to;
}

// Follows one market's finalized trades through GET /v1/trades while a run goes on, merged by
// trade id. A poll that comes back full and holds nothing already seen means trades were missed.
class TradeRecorder {
 public:
  TradeRecorder(loadgen::Endpoint node, std::string market)
      : node_(std::move(node)),
        target_("/v1/trades/" + market + "?limit=" + std::to_string(kTradesLimit)) {}
  ~TradeRecorder() { stop(); }
  TradeRecorder(const TradeRecorder&) = delete;
  TradeRecorder& operator=(const TradeRecorder&) = delete;

  void start() {
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!stopping_) {
        lock.unlock();
        poll();
        lock.lock();
        wake_.wait_for(lock, std::chrono::milliseconds(kTradesPollMs),
                       [this] { return stopping_; });
      }
    });
  }

  // Stops polling after one last poll, which must succeed: the run's trades are all final then.
  Status finish() {
    stop();
    return poll() ? Status::ok() : io_error("cannot read the trades from " + node_.url());
  }

  std::vector<TradePrint> trades() const {
    std::vector<TradePrint> trades;
    for (const auto& [id, trade] : trades_) trades.push_back(trade);
    return trades;
  }
  bool complete() const { return complete_; }

 private:
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Only the polling thread, or the caller once it has stopped, polls.
  bool poll() {
    auto answer = loadgen::http_get(node_, target_, 2'000);
    if (!answer.is_ok() || answer->status != 200 || !answer->body["trades"].is_array()) {
      return false;
    }
    const Json& listed = answer->body["trades"];
    std::uint64_t newest_seen = trades_.empty() ? 0 : trades_.rbegin()->first;
    std::uint64_t oldest_listed = UINT64_MAX;
    for (const Json& trade : listed) {
      TradePrint print{trade.value("trade_id", std::uint64_t{0}),
                       trade.value("time_ms", std::int64_t{0}), trade.value("price", Price{0})};
      oldest_listed = std::min(oldest_listed, print.trade_id);
      trades_.emplace(print.trade_id, print);
    }
    if (static_cast<std::int64_t>(listed.size()) >= kTradesLimit && oldest_listed > newest_seen) {
      complete_ = false;
    }
    return true;
  }

  loadgen::Endpoint node_;
  std::string target_;
  std::map<std::uint64_t, TradePrint> trades_;
  bool complete_ = true;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

Price ladder_price(const exchange::MarketSpec& market, std::int64_t level) {
  const Price mid = loadgen::WorkloadOptions{}.mid_ticks * market.tick_size;
  const Wide scaled = Wide{mid} * (kBasisPoints - level * kLadderStepBps) / kBasisPoints;
  return static_cast<Price>(scaled / market.tick_size * market.tick_size);
}

// One GTC bid of one lot per ladder level, each from its own trader (the last traders of the
// localnet), waited for until finalized and resting.
Status place_ladder(const ScratchLocalnet& net) {
  const loadgen::LocalnetTarget& target = net.target();
  const exchange::MarketSpec& market = target.genesis.markets[kMarket];
  BALLAST_ASSIGN_OR_RETURN(client::NodeUrl url, client::parse_node_url(target.nodes[0].url()));
  client::NodeClient node(url);
  BALLAST_ASSIGN_OR_RETURN(std::uint64_t height, node.height());
  std::vector<exchange::Transaction> ladder;
  for (std::int64_t level = 1; level <= kLadderLevels; ++level) {
    const SecretKey& trader = target.traders[target.traders.size() - level];
    BALLAST_ASSIGN_OR_RETURN(std::optional<std::uint64_t> last,
                             node.last_nonce(trader.public_key()));
    exchange::PlaceOrder bid;
    bid.market = kMarket;
    bid.side = exchange::Side::kBuy;
    bid.price = ladder_price(market, level);
    bid.quantity = market.min_size;
    bid.client_order_id = last.value_or(0) + 1;
    exchange::Transaction tx;
    tx.sender = trader.public_key();
    tx.nonce = last.value_or(0) + 1;
    tx.fee = std::max<exchange::Amount>(target.genesis.min_tx_fee, 1);
    tx.expiry_height = height + kLadderExpiryBlocks;
    tx.body = bid;
    tx.sign(trader, target.genesis.chain_id);
    BALLAST_ASSIGN_OR_RETURN(client::NodeReply submitted, node.submit(tx));
    if (!submitted.is_success()) return client::refusal_status(submitted);
    ladder.push_back(std::move(tx));
  }
  for (const exchange::Transaction& tx : ladder) {
    BALLAST_ASSIGN_OR_RETURN(client::NodeReply settled, node.submit_and_wait(tx, kLadderWaitMs));
    if (client::text_field(settled.body, "status") != "finalized" ||
        !settled.body["result"].value("accepted", false)) {
      return failed_precondition("a ladder bid did not rest: " + settled.body.dump());
    }
  }
  return Status::ok();
}

ChaosSecondLoad sell_wave(const ChaosOptions& options, const ScratchLocalnet& net) {
  const std::size_t traders = net.target().traders.size();
  const std::size_t first = traders / 2;
  const std::size_t accounts = traders - first - kLadderLevels;
  ChaosSecondLoad wave;
  wave.load = chaos_load_options(net.target(), kWaveFactor * options.rate, kWaveSeconds, first,
                                 accounts, 3);
  loadgen::WorkloadOptions& workload = wave.load.workload;
  workload.mix = {.rest = 0, .cross = 0, .market = 1, .cancel = 0, .replace = 0};
  workload.sell_percent = 100;
  workload.protection_ticks = workload.mid_ticks * kWaveProtectionPercent / 100;
  wave.fault = fmt::format("sell wave of {:.0f} market orders/s for {:.0f} s from {} traders",
                           kWaveFactor * options.rate, kWaveSeconds, accounts);
  return wave;
}

// What one run leaves behind for the combined report.
struct RunResult {
  std::vector<TradePrint> trades;
  bool trades_complete = false;
  Json trading;  // the market's breaker status after the run (GET /v1/markets)
  exchange::BreakerSpec breakers;
  Json report;
};

Result<Json> market_trading(const loadgen::Endpoint& node) {
  auto answer = loadgen::http_get(node, "/v1/markets", 5'000);
  if (!answer.is_ok()) return answer.status();
  if (answer->status != 200 || !answer->body["markets"].is_array() ||
      answer->body["markets"].size() <= kMarket) {
    return io_error("GET /v1/markets of " + node.url() + " answered " +
                    std::to_string(answer->status));
  }
  return answer->body["markets"][kMarket]["trading"];
}

// One run with the breakers on or off: ladder, steady flow, wave, and the trades meanwhile.
Result<RunResult> run_once(ChaosOptions options, bool breakers, std::ostream& out) {
  options.net.breakers = breakers;
  // The wave is 20x the steady flow, so the validators' ingress breakers would refuse it at
  // admission (a flood scenario's subject) and leave the markets' breakers nothing to stop.
  options.net.ingress_breaker = false;
  RunResult result;
  std::unique_ptr<TradeRecorder> recorder;
  ChaosHooks hooks;
  hooks.before_load = [&](const ScratchLocalnet& net) {
    const exchange::MarketSpec& market = net.target().genesis.markets[kMarket];
    result.breakers = market.breakers;
    recorder = std::make_unique<TradeRecorder>(net.target().nodes[0], market.symbol);
    recorder->start();
    return place_ladder(net);
  };
  hooks.second_load = [&](const ScratchLocalnet& net) -> Result<ChaosSecondLoad> {
    return sell_wave(options, net);
  };
  hooks.after_load = [&](const ScratchLocalnet& net, Json&) -> Status {
    BALLAST_RETURN_IF_ERROR(recorder->finish());
    result.trades = recorder->trades();
    result.trades_complete = recorder->complete();
    BALLAST_ASSIGN_OR_RETURN(result.trading, market_trading(net.target().nodes[0]));
    return Status::ok();
  };
  if (!options.json) out << "--- breakers " << (breakers ? "on" : "off") << "\n" << std::flush;
  BALLAST_ASSIGN_OR_RETURN(result.report, run_chaos_once(options, hooks, out));
  return result;
}

Json move_json(const PriceMove& move) {
  if (move.from == 0) return nullptr;
  return {{"from_price", move.from},
          {"to_price", move.to},
          {"from_time_ms", move.from_time_ms},
          {"to_time_ms", move.to_time_ms}};
}

Json run_json(const RunResult& run) {
  PriceMove largest = largest_move(run.trades, kMoveWindowMs);
  PriceMove drop = largest_move(run.trades, kMoveWindowMs, MoveDirection::kDown);
  Price lowest = 0;
  Price highest = 0;
  for (const TradePrint& trade : run.trades) {
    lowest = lowest == 0 ? trade.price : std::min(lowest, trade.price);
    highest = std::max(highest, trade.price);
  }
  Json transitions = Json::object();
  for (const char* counter : {"limit_states", "limit_pauses", "velocity_pauses", "auctions"}) {
    transitions[counter] = run.trading.value(counter, std::uint64_t{0});
  }
  return {{"max_move_pct", largest.percent()},
          {"max_move", move_json(largest)},
          {"max_drop_pct", drop.percent()},
          {"max_drop", move_json(drop)},
          {"trades", run.trades.size()},
          {"trades_complete", run.trades_complete},
          {"lowest_price", lowest},
          {"highest_price", highest},
          {"trips", run.report["breaker_trips"]},
          {"transitions", std::move(transitions)},
          {"state_after", run.trading.value("state", "")},
          {"lost_acknowledged", run.report["lost_acknowledged"]},
          {"state_roots_equal", run.report["state_roots_equal"]}};
}

// The breakers-on run's report, with the losses and roots of both runs and both runs' moves.
Json combined_report(const ChaosOptions& options, const RunResult& on, const RunResult& off) {
  const exchange::BreakerSpec& spec = on.breakers;
  const PriceMove on_move = largest_move(on.trades, kMoveWindowMs);
  Json flash = {{"window_ms", kMoveWindowMs},
                {"band_pct", static_cast<double>(spec.band_bps) / 100.0},
                {"velocity_pct", static_cast<double>(spec.velocity_bps) / 100.0},
                {"velocity_window_ms", spec.velocity_window_ms},
                {"bound_pct", velocity_bound_window_ms(spec) >= kMoveWindowMs
                                  ? Json(static_cast<double>(spec.velocity_bps) / 100.0)
                                  : Json(nullptr)},
                {"wave", {{"orders_per_s", kWaveFactor * options.rate}, {"seconds", kWaveSeconds}}},
                {"ladder", {{"levels", kLadderLevels}, {"step_pct", kLadderStepBps / 100.0}}},
                {"breakers_on", run_json(on)},
                {"breakers_off", run_json(off)},
                {"within_band", on_move.within_bps(spec.band_bps)}};
  flash["breakers_off"]["report"] = off.report;
  flash["breakers_off"]["report"].erase("steady");
  flash["breakers_off"]["report"].erase("flood");
  Json report = on.report;
  report["lost_acknowledged"] = on.report["lost_acknowledged"].get<std::size_t>() +
                                off.report["lost_acknowledged"].get<std::size_t>();
  report["state_roots_equal"] =
      on.report["state_roots_equal"].get<bool>() && off.report["state_roots_equal"].get<bool>();
  report["flash_crash"] = std::move(flash);
  return report;
}

std::string move_text(const Json& run, const char* kind) {
  const Json& move = run[std::string("max_") + kind];
  std::string text =
      fmt::format("{} {:.2f}%", kind, run[std::string("max_") + kind + "_pct"].get<double>());
  if (move.is_null()) return text;
  return text +
         fmt::format(
             " ({} -> {} in {} ms)", move["from_price"].get<Price>(), move["to_price"].get<Price>(),
             move["to_time_ms"].get<std::int64_t>() - move["from_time_ms"].get<std::int64_t>());
}

void print_run_line(const char* name, const Json& run, std::ostream& out) {
  out << fmt::format("  breakers {:<3}: largest {}, {}\n               ", name,
                     move_text(run, "move"), move_text(run, "drop"));
  const Json& transitions = run["transitions"];
  out << fmt::format(
      "lowest {}, {} trades{}; limit states {}, limit pauses {}, velocity pauses {}, "
      "auctions {}\n",
      run["lowest_price"].get<Price>(), run["trades"].get<std::size_t>(),
      run["trades_complete"].get<bool>() ? "" : " (SOME MISSED)",
      transitions["limit_states"].get<std::uint64_t>(),
      transitions["limit_pauses"].get<std::uint64_t>(),
      transitions["velocity_pauses"].get<std::uint64_t>(),
      transitions["auctions"].get<std::uint64_t>());
}

void print_flash_crash(const Json& flash, std::ostream& out) {
  out << fmt::format(
      "flash-crash: band +/-{:.2f}%, velocity {:.2f}% within {} ms; largest move between trades "
      "less than {} ms of block time apart:\n",
      flash["band_pct"].get<double>(), flash["velocity_pct"].get<double>(),
      flash["velocity_window_ms"].get<std::int64_t>(), flash["window_ms"].get<std::int64_t>());
  print_run_line("on", flash["breakers_on"], out);
  print_run_line("off", flash["breakers_off"], out);
  out << "  with breakers on the move stayed within the band: "
      << (flash["within_band"].get<bool>() ? "yes" : "NO") << "\n";
}

}  // namespace

double PriceMove::percent() const {
  if (from == 0) return 0;
  return static_cast<double>(magnitude(to, from)) * 100.0 / static_cast<double>(from);
}

bool PriceMove::within_bps(std::int64_t bps) const {
  return from == 0 || magnitude(to, from) * kBasisPoints <= Wide{from} * bps;
}

bool PriceMove::larger_than(const PriceMove& other) const {
  if (from == 0) return false;
  if (other.from == 0) return true;
  return magnitude(to, from) * other.from > magnitude(other.to, other.from) * from;
}

PriceMove largest_move(std::span<const TradePrint> trades, std::int64_t window_ms,
                       MoveDirection direction) {
  // The earlier trades within the window, as candidates for the lowest and the highest price:
  // against a later price p, |p - q| / q is largest for the lowest q (when p is above it) or
  // the highest q (when p is below it).
  std::deque<std::size_t> lows;
  std::deque<std::size_t> highs;
  PriceMove largest;
  for (std::size_t i = 0; i < trades.size(); ++i) {
    const TradePrint& trade = trades[i];
    BALLAST_ASSERT(i == 0 || trades[i - 1].time_ms <= trade.time_ms);
    for (std::deque<std::size_t>* candidates : {&lows, &highs}) {
      while (!candidates->empty() &&
             trade.time_ms - trades[candidates->front()].time_ms >= window_ms) {
        candidates->pop_front();
      }
      if (candidates->empty()) continue;
      const TradePrint& earlier = trades[candidates->front()];
      if (direction == MoveDirection::kDown && earlier.price <= trade.price) continue;
      PriceMove move{earlier.price, trade.price, earlier.time_ms, trade.time_ms};
      if (move.larger_than(largest)) largest = move;
    }
    while (!lows.empty() && trades[lows.back()].price >= trade.price) lows.pop_back();
    lows.push_back(i);
    while (!highs.empty() && trades[highs.back()].price <= trade.price) highs.pop_back();
    highs.push_back(i);
  }
  return largest;
}

std::int64_t velocity_bound_window_ms(const exchange::BreakerSpec& spec) {
  if (!spec.enabled || spec.velocity_bps == 0) return 0;
  const std::int64_t shortest_halt =
      std::min(spec.pause_ms, spec.velocity_pause_ms) + spec.auction_ms;
  return std::min(spec.velocity_window_ms / 10 * 9, shortest_halt);
}

Status run_flash_crash(const ChaosOptions& options, std::ostream& out) {
  if (options.net.traders < 2 * (kLadderLevels + kMinWaveAccounts)) {
    return invalid_argument("flash-crash needs at least " +
                            std::to_string(2 * (kLadderLevels + kMinWaveAccounts)) +
                            " traders: half steady, the rest the wave and the bid ladder");
  }
  BALLAST_ASSIGN_OR_RETURN(RunResult on, run_once(options, true, out));
  if (!options.json) print_chaos_report(on.report, out);
  BALLAST_ASSIGN_OR_RETURN(RunResult off, run_once(options, false, out));
  if (!options.json) print_chaos_report(off.report, out);
  Json report = combined_report(options, on, off);
  if (options.json) {
    out << report.dump() << "\n";
  } else {
    print_flash_crash(report["flash_crash"], out);
  }
  const Json& flash = report["flash_crash"];
  if (report["lost_acknowledged"].get<std::size_t>() > 0 ||
      !report["state_roots_equal"].get<bool>()) {
    return failed_precondition("acknowledged orders were lost or the state roots differ");
  }
  if (!flash["breakers_on"]["trades_complete"].get<bool>() ||
      !flash["breakers_off"]["trades_complete"].get<bool>()) {
    return failed_precondition("trades were missed, so the moves are not measured");
  }
  if (!flash["within_band"].get<bool>()) {
    return failed_precondition("with breakers on the price moved beyond the band");
  }
  if (flash["breakers_off"]["max_move_pct"].get<double>() <= flash["band_pct"].get<double>()) {
    return failed_precondition(
        "with breakers off the wave moved the price no further than the band: it did not test "
        "the breakers");
  }
  return Status::ok();
}

}  // namespace ballast::cli
