#include "loadgen/workload.h"

#include <charconv>
#include <deque>

#include "base/random.h"

namespace ballast::loadgen {

namespace {

using exchange::MarketSpec;
using exchange::OrderType;
using exchange::Side;
using exchange::TimeInForce;

// The mid price takes a step of one tick up or down this often.
constexpr std::int64_t kMidStepUs = 100'000;
// Resting orders sit 1..kQuoteDepthTicks ticks from the mid; crossing orders reach as far
// through it; market orders accept up to WorkloadOptions::protection_ticks.
constexpr std::int64_t kQuoteDepthTicks = 20;
constexpr std::int64_t kMaxLots = 5;

enum class Action { kRest, kCross, kMarket, kCancel, kReplace };

struct RestingOrder {
  exchange::MarketId market = 0;
  Side side = Side::kBuy;
  exchange::ClientOrderId client_order_id = 0;
  exchange::Price price = 0;
};

struct TraderState {
  std::uint64_t next_nonce = 1;
  // Orders placed to rest, oldest first. Some may have filled meanwhile: cancelling those is
  // refused at execution (order_not_found), as it would be for a real trader.
  std::deque<RestingOrder> resting;
};

class Planner {
 public:
  Planner(const exchange::Genesis& genesis, const std::vector<PublicKey>& accounts,
          const std::vector<std::uint64_t>& first_nonces, const WorkloadOptions& options)
      : genesis_(genesis),
        accounts_(accounts),
        options_(options),
        random_(options.seed),
        mids_(options.markets, options.mid_ticks),
        traders_(accounts.size()) {
    for (std::size_t i = 0; i < accounts.size(); ++i) traders_[i].next_nonce = first_nonces[i];
  }

  std::vector<PlannedTransaction> plan() {
    const std::uint64_t count = options_.rate_per_s * options_.duration_ms / 1'000;
    std::vector<PlannedTransaction> planned;
    planned.reserve(count);
    std::int64_t next_mid_step_us = kMidStepUs;
    for (std::uint64_t i = 0; i < count; ++i) {
      auto due_us = static_cast<std::int64_t>(i * 1'000'000 / options_.rate_per_s);
      while (due_us >= next_mid_step_us) {
        step_mids();
        next_mid_step_us += kMidStepUs;
      }
      planned.push_back(next_transaction(due_us));
    }
    return planned;
  }

 private:
  void step_mids() {
    for (std::int64_t& mid : mids_) {
      mid += random_.chance(500'000) ? 1 : -1;
      mid = std::max<std::int64_t>(mid, kQuoteDepthTicks + options_.protection_ticks + 1);
    }
  }

  Action pick_action(const TraderState& trader) {
    const WorkloadMix& mix = options_.mix;
    std::uint64_t total =
        std::uint64_t{mix.rest} + mix.cross + mix.market + mix.cancel + mix.replace;
    std::uint64_t draw = random_.below(total);
    Action action = draw < mix.rest                            ? Action::kRest
                    : draw < mix.rest + mix.cross              ? Action::kCross
                    : draw < mix.rest + mix.cross + mix.market ? Action::kMarket
                    : draw < total - mix.replace               ? Action::kCancel
                                                               : Action::kReplace;
    bool has_resting = !trader.resting.empty();
    if ((action == Action::kCancel || action == Action::kReplace) && !has_resting) {
      return Action::kRest;
    }
    // Keep each trader's book footprint bounded: past the cap, quoting becomes cancelling.
    if (action == Action::kRest &&
        static_cast<std::int64_t>(trader.resting.size()) >= options_.max_open_orders_per_account) {
      return Action::kCancel;
    }
    return action;
  }

  PlannedTransaction next_transaction(std::int64_t due_us) {
    auto account = static_cast<std::uint32_t>(random_.below(accounts_.size()));
    TraderState& trader = traders_[account];
    PlannedTransaction planned;
    planned.due_us = due_us;
    planned.account = account;
    planned.node = static_cast<std::uint32_t>(account % options_.nodes);
    exchange::Transaction& tx = planned.transaction;
    tx.sender = accounts_[account];
    tx.nonce = trader.next_nonce++;
    tx.expiry_height = options_.expiry_height;
    Action action = pick_action(trader);
    // The nonce doubles as the client order id: unique for the account across runs.
    tx.body = body_for(action, trader, tx.nonce);
    if (action == Action::kCancel) {
      planned.priority = PriorityClass::kCancel;
      tx.fee = options_.normal_fee;
    } else if (random_.below(100) < options_.high_fee_percent) {
      planned.priority = PriorityClass::kHighFee;
      tx.fee = options_.high_fee;
    } else {
      planned.priority = PriorityClass::kNormal;
      tx.fee = options_.normal_fee;
    }
    return planned;
  }

  exchange::TransactionBody body_for(Action action, TraderState& trader,
                                     exchange::ClientOrderId client_order_id) {
    switch (action) {
      case Action::kCancel: {
        RestingOrder order = trader.resting.front();
        trader.resting.pop_front();
        return exchange::CancelOrder{{true, order.client_order_id}};
      }
      case Action::kReplace: {
        std::size_t index = random_.below(trader.resting.size());
        RestingOrder& order = trader.resting[index];
        exchange::Price price = quote_price(order.market, order.side);
        if (price == order.price) price += spec(order.market).tick_size;  // a real change
        order.price = price;
        return exchange::ReplaceOrder{{true, order.client_order_id}, price, lots(order.market)};
      }
      case Action::kRest:
      case Action::kCross:
      case Action::kMarket:
        break;
    }
    auto market = static_cast<exchange::MarketId>(random_.below(mids_.size()));
    Side side = random_.chance((100 - options_.sell_percent) * 10'000) ? Side::kBuy : Side::kSell;
    exchange::PlaceOrder order;
    order.market = market;
    order.side = side;
    order.quantity = lots(market);
    order.client_order_id = client_order_id;
    if (action == Action::kMarket) {
      order.type = OrderType::kMarket;
      order.time_in_force = TimeInForce::kImmediateOrCancel;
      order.price = through_mid(market, side, options_.protection_ticks);
      return order;
    }
    order.price = action == Action::kRest
                      ? quote_price(market, side)
                      : through_mid(market, side, random_.between(1, kQuoteDepthTicks));
    trader.resting.push_back({market, side, order.client_order_id, order.price});
    return order;
  }

  const MarketSpec& spec(exchange::MarketId market) const { return genesis_.markets[market]; }

  // A price on the order's own side of the mid, where it rests.
  exchange::Price quote_price(exchange::MarketId market, Side side) {
    std::int64_t offset = random_.between(1, kQuoteDepthTicks);
    std::int64_t ticks = side == Side::kBuy ? mids_[market] - offset : mids_[market] + offset;
    return ticks * spec(market).tick_size;
  }

  // A price `ticks` through the mid, where it meets the other side.
  exchange::Price through_mid(exchange::MarketId market, Side side, std::int64_t ticks) {
    std::int64_t price = side == Side::kBuy ? mids_[market] + ticks : mids_[market] - ticks;
    return price * spec(market).tick_size;
  }

  exchange::Quantity lots(exchange::MarketId market) {
    const MarketSpec& market_spec = spec(market);
    std::int64_t min_lots = market_spec.min_size / market_spec.lot_size;
    return random_.between(min_lots, min_lots + kMaxLots - 1) * market_spec.lot_size;
  }

  const exchange::Genesis& genesis_;
  const std::vector<PublicKey>& accounts_;
  const WorkloadOptions& options_;
  Random random_;
  std::vector<std::int64_t> mids_;  // per market, in ticks
  std::vector<TraderState> traders_;
};

}  // namespace

std::string_view priority_class_name(PriorityClass priority) {
  switch (priority) {
    case PriorityClass::kCancel:
      return "cancel";
    case PriorityClass::kHighFee:
      return "high_fee";
    case PriorityClass::kNormal:
      return "normal";
  }
  return "unknown";
}

Result<WorkloadMix> parse_mix(std::string_view text) {
  WorkloadMix mix;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      return invalid_argument("--mix items are NAME=WEIGHT, not \"" + std::string(item) + "\"");
    }
    std::string_view name = item.substr(0, equals);
    std::string_view digits = item.substr(equals + 1);
    std::uint32_t weight = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), weight);
    if (error != std::errc() || end != digits.data() + digits.size() || weight > 1'000'000) {
      return invalid_argument("--mix weight of " + std::string(name) + " must be 0..1000000");
    }
    if (name == "rest") {
      mix.rest = weight;
    } else if (name == "cross") {
      mix.cross = weight;
    } else if (name == "market") {
      mix.market = weight;
    } else if (name == "cancel") {
      mix.cancel = weight;
    } else if (name == "replace") {
      mix.replace = weight;
    } else {
      return invalid_argument("--mix knows rest, cross, market, cancel and replace, not " +
                              std::string(name));
    }
  }
  if (std::uint64_t{mix.rest} + mix.cross + mix.market + mix.cancel + mix.replace == 0) {
    return invalid_argument("--mix weights are all zero");
  }
  if (mix.rest + mix.cross + mix.market == 0) {
    return invalid_argument("--mix needs some orders (rest, cross or market) to cancel or replace");
  }
  return mix;
}

Result<std::vector<PlannedTransaction>> plan_workload(
    const exchange::Genesis& genesis, const std::vector<PublicKey>& accounts,
    const std::vector<std::uint64_t>& first_nonces, const WorkloadOptions& options) {
  if (accounts.empty()) return invalid_argument("the load needs at least one funded account");
  if (first_nonces.size() != accounts.size()) return invalid_argument("one nonce per account");
  if (options.markets == 0 || options.markets > genesis.markets.size()) {
    return invalid_argument("--markets must be 1.." + std::to_string(genesis.markets.size()));
  }
  if (options.rate_per_s == 0 || options.duration_ms == 0 || options.nodes == 0) {
    return invalid_argument("rate, duration and nodes must be positive");
  }
  if (options.normal_fee < genesis.min_tx_fee || options.high_fee < options.normal_fee) {
    return invalid_argument("fees must be at least the genesis minimum, high >= normal");
  }
  if (options.sell_percent > 100) return invalid_argument("sell_percent must be 0..100");
  // A market order's protection price must stay a positive price while the mid wanders.
  if (options.protection_ticks < 1 || options.protection_ticks >= options.mid_ticks) {
    return invalid_argument("protection_ticks must be 1..mid_ticks - 1");
  }
  return Planner(genesis, accounts, first_nonces, options).plan();
}

}  // namespace ballast::loadgen
