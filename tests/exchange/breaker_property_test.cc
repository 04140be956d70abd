// Property tests of the circuit breakers: random order flow around a drifting price, with block
// time advancing by random steps, so markets hit the band, enter limit states, trip the velocity
// rule, pause, run auctions and reopen. After every block:
//  - every exchange invariant holds (check_invariants, with its state-aware book rules) and every
//    asset is conserved, fees included;
//  - the market events chain: each starts from the state the previous one left, and the last
//    one leaves the state the exchange reports;
//  - auction fills appear only as block events of an auction that reports them, all at its
//    clearing price, adding up to its matched quantity; no transaction trades in a market that
//    is paused when the block's transactions start;
//  - two replicas agree on every root and every event, and a replica restored from a snapshot
//    (taken in the middle of a pause whenever one happens) continues with the same roots.
// RC_PARAMS (e.g. "max_success=500 seed=...") scales or replays a run.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <sstream>

#include "test_world.h"

namespace ballast::exchange::testing {
namespace {

const std::vector<std::string> kTraders = {"alice", "bob", "carol", "dave"};
constexpr Price kStartLevel = 1'000;

struct CaseConfig {
  BreakerSpec breakers;
  std::int64_t maker_fee_bps = 0;
  std::int64_t taker_fee_bps = 0;
};

void showValue(const CaseConfig& config, std::ostream& os) {
  const BreakerSpec& b = config.breakers;
  os << "{band_bps=" << b.band_bps << " reference_window_ms=" << b.reference_window_ms
     << " limit_state_ms=" << b.limit_state_ms << " pause_ms=" << b.pause_ms
     << " velocity_bps=" << b.velocity_bps << " velocity_window_ms=" << b.velocity_window_ms
     << " velocity_pause_ms=" << b.velocity_pause_ms << " auction_ms=" << b.auction_ms
     << " reference_price=" << b.reference_price << " fees=" << config.maker_fee_bps << "/"
     << config.taker_fee_bps << "}";
}

// Short windows and pauses, so a case of a few dozen blocks goes through every state.
CaseConfig draw_config() {
  CaseConfig config;
  BreakerSpec& b = config.breakers;
  b.band_bps = *rc::gen::element<std::int64_t>(200, 500, 1'000);
  b.reference_window_ms = *rc::gen::element<std::int64_t>(1'000, 5'000, 30'000);
  b.limit_state_ms = *rc::gen::element<std::int64_t>(0, 1'000, 3'000);
  b.pause_ms = *rc::gen::element<std::int64_t>(0, 1'000, 4'000);
  b.velocity_bps = *rc::gen::element<std::int64_t>(0, 100, 300);
  b.velocity_window_ms = *rc::gen::element<std::int64_t>(500, 2'000);
  b.velocity_pause_ms = *rc::gen::element<std::int64_t>(0, 500, 2'000);
  b.auction_ms = *rc::gen::element<std::int64_t>(0, 0, 500);
  b.reference_price = *rc::gen::element<Price>(0, kStartLevel);
  config.maker_fee_bps = *rc::gen::element<std::int64_t>(0, 2, 25);
  config.taker_fee_bps = *rc::gen::element<std::int64_t>(0, 5, 50);
  return config;
}

enum class OpKind : std::uint8_t { kPlace, kCancel, kCancelAll, kReplace };

struct Op {
  OpKind kind = OpKind::kPlace;
  std::size_t account = 0;
  PlaceOrder place;
  Price offset = 0;  // from the block's price level
  std::uint32_t pick = 0;
  Quantity new_quantity = 0;
};

struct Block {
  std::int64_t elapsed_ms = 0;
  Price drift = 0;  // the price level moves by this before the block
  std::vector<Op> ops;
};

void showValue(const Block& block, std::ostream& os) {
  os << "{+" << block.elapsed_ms << "ms drift " << block.drift << ", " << block.ops.size()
     << " ops}";
}

Op draw_op() {
  Op op;
  op.kind = *rc::gen::weightedElement<OpKind>({{70, OpKind::kPlace},
                                               {12, OpKind::kCancel},
                                               {3, OpKind::kCancelAll},
                                               {15, OpKind::kReplace}});
  op.account = *rc::gen::inRange<std::size_t>(0, kTraders.size());
  // Mostly near the level, sometimes far: through the band, or a fat finger.
  op.offset = *rc::gen::weightedElement<Price>({{75, *rc::gen::inRange<Price>(-25, 26)},
                                                {20, *rc::gen::inRange<Price>(-120, 121)},
                                                {5, *rc::gen::inRange<Price>(-600, 601)}});
  op.pick = *rc::gen::inRange<std::uint32_t>(0, 1'000);
  op.new_quantity = *rc::gen::element<Quantity>(0, 1, 3, 8);
  PlaceOrder& order = op.place;
  order.market = kMarket;
  order.side = *rc::gen::element(Side::kBuy, Side::kSell);
  order.type =
      *rc::gen::weightedElement<OrderType>({{85, OrderType::kLimit}, {15, OrderType::kMarket}});
  order.time_in_force =
      order.type == OrderType::kMarket
          ? *rc::gen::element(TimeInForce::kImmediateOrCancel, TimeInForce::kFillOrKill)
          : *rc::gen::weightedElement<TimeInForce>({{70, TimeInForce::kGoodTillCancel},
                                                    {20, TimeInForce::kImmediateOrCancel},
                                                    {10, TimeInForce::kFillOrKill}});
  order.post_only = order.type == OrderType::kLimit &&
                    order.time_in_force == TimeInForce::kGoodTillCancel &&
                    *rc::gen::weightedElement<bool>({{80, false}, {20, true}});
  order.self_trade_prevention =
      *rc::gen::element(SelfTradePrevention::kCancelNewest, SelfTradePrevention::kCancelOldest,
                        SelfTradePrevention::kCancelBoth);
  order.quantity = *rc::gen::inRange<Quantity>(1, 10);
  order.client_order_id =
      *rc::gen::weightedElement<ClientOrderId>({{60, 0}, {40, 1 + op.pick % 8}});
  return op;
}

Block draw_block() {
  Block block;
  block.elapsed_ms = *rc::gen::element<std::int64_t>(0, 50, 300, 1'000, 2'500, 6'000);
  block.drift = *rc::gen::weightedElement<Price>(
      {{80, *rc::gen::inRange<Price>(-8, 9)}, {20, *rc::gen::inRange<Price>(-80, 81)}});
  std::size_t count = *rc::gen::inRange<std::size_t>(0, 9);
  for (std::size_t i = 0; i < count; ++i) block.ops.push_back(draw_op());
  return block;
}

rc::Gen<std::vector<Block>> gen_blocks() {
  return rc::gen::scale(0.6, rc::gen::container<std::vector<Block>>(
                                 rc::gen::resize(100, rc::gen::exec([] { return draw_block(); }))));
}

// --- turning operations into transactions ----------------------------------------------------

class Flow {
 public:
  explicit Flow(const CaseConfig& config)
      : world_(kTraders, 1'000'000'000,
               MarketParams{.maker_fee_bps = config.maker_fee_bps,
                            .taker_fee_bps = config.taker_fee_bps,
                            .breakers = config.breakers}) {}

  const Genesis& genesis() const { return world_.genesis(); }

  std::vector<Transaction> sign(const Block& block, const Exchange& state, Price level) {
    std::vector<Transaction> txs;
    for (const Op& op : block.ops) txs.push_back(sign(op, state, level));
    return txs;
  }

 private:
  Transaction sign(const Op& op, const Exchange& state, Price level) {
    const std::string& name = kTraders[op.account];
    std::vector<OpenOrder> own = state.open_orders(world_.id(name));
    const Price price = std::max<Price>(1, level + op.offset);
    switch (op.kind) {
      case OpKind::kPlace: {
        PlaceOrder order = op.place;
        order.price = order.type == OrderType::kMarket
                          ? (order.side == Side::kBuy ? level * 2 : 1)  // protection far away
                          : price;
        return world_.make(name, order);
      }
      case OpKind::kCancel:
        if (own.empty()) return world_.make(name, CancelOrder{OrderRef{false, 1 + op.pick}});
        return world_.make(name, CancelOrder{OrderRef{false, own[op.pick % own.size()].id}});
      case OpKind::kCancelAll:
        return world_.make(name, CancelAll{});
      case OpKind::kReplace: {
        OrderId id = own.empty() ? 1 + op.pick : own[op.pick % own.size()].id;
        return world_.make(name, ReplaceOrder{OrderRef{false, id}, price, op.new_quantity});
      }
    }
    return world_.make(name, CancelAll{});
  }

  TestWorld world_;  // keys, nonces and signing only; the replicas below execute
};

// --- checks ------------------------------------------------------------------------------------

bool trading(MarketState state) {
  return state == MarketState::kOpen || state == MarketState::kLimitState;
}

// The market events chain from `before` to `after`; auction fills match their auction; nothing
// trades in transactions while the market was paused at their start.
std::string event_violations(const BlockResult& block, MarketState before, MarketState after) {
  std::ostringstream out;
  MarketState state = before;
  Quantity auction_volume = 0;
  Price clearing_price = 0;
  MarketState at_transactions = before;
  for (const MarketEvent& event : block.market_events) {
    if (event.from != state) {
      out << "market event from " << market_state_name(event.from) << " but the market was "
          << market_state_name(state) << "\n";
    }
    if (event.from == event.to) out << "market event does not change the state\n";
    if (event.reason == MarketTransitionReason::kAuctionCompleted) {
      auction_volume += event.matched_quantity;
      if (event.matched_quantity > 0) clearing_price = event.clearing_price;
    }
    if (event.phase == MarketEventPhase::kBlockStart) at_transactions = event.to;
    state = event.to;
  }
  if (state != after) {
    out << "events end in " << market_state_name(state) << " but the market is "
        << market_state_name(after) << "\n";
  }
  Quantity filled = 0;
  for (const Event& event : block.block_events) {
    const auto* fill = std::get_if<OrderFilled>(&event);
    if (fill == nullptr) {
      out << "a block event that is not a fill\n";
      continue;
    }
    filled += fill->quantity;
    if (fill->price != clearing_price) out << "auction fill away from the clearing price\n";
    if (fill->maker == fill->taker) out << "auction paired an account with itself\n";
  }
  if (filled != auction_volume) {
    out << "auction fills add up to " << filled << ", the auction reported " << auction_volume
        << "\n";
  }
  if (!trading(at_transactions)) {
    for (const TxResult& result : block.results) {
      for (const Event& event : result.events) {
        if (std::holds_alternative<OrderFilled>(event)) {
          out << "a transaction traded while the market was paused\n";
        }
      }
    }
  }
  return out.str();
}

std::string compare(const BlockResult& a, const BlockResult& b, const std::string& what) {
  std::ostringstream out;
  if (a.state_root != b.state_root) out << what << ": state roots differ\n";
  if (a.market_events != b.market_events) out << what << ": market events differ\n";
  if (a.block_events != b.block_events) out << what << ": block events differ\n";
  for (std::size_t i = 0; i < a.results.size() && i < b.results.size(); ++i) {
    if (a.results[i].reject != b.results[i].reject || a.results[i].events != b.results[i].events) {
      out << what << ": result of transaction " << i << " differs\n";
    }
  }
  return out.str();
}

RC_GTEST_PROP(BreakerPropertyTest, RandomFlowKeepsInvariantsAndReplicasAgree, ()) {
  const CaseConfig config = *rc::gen::exec([] { return draw_config(); });
  const std::vector<Block> blocks = *gen_blocks();
  const std::size_t snapshot_at = *rc::gen::inRange<std::size_t>(0, blocks.size() + 1);
  Flow flow(config);
  Exchange first(flow.genesis());
  Exchange second(flow.genesis());
  std::unique_ptr<Exchange> restored;
  bool restored_in_pause = false;
  const std::vector<Amount> totals = first.asset_totals();
  Price level = kStartLevel;
  std::int64_t time_ms = 0;
  std::map<MarketState, int> seen;
  std::uint64_t auctions_with_fills = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const Block& block = blocks[i];
    level = std::clamp<Price>(level + block.drift, 100, 10'000);
    time_ms += block.elapsed_ms;
    std::vector<Transaction> txs = flow.sign(block, first, level);
    const BlockContext context{first.height() + 1, time_ms};
    const MarketState before = first.market_status(kMarket).state;
    BlockResult a = first.execute_block(context, txs);
    BlockResult b = second.execute_block(context, txs);
    const MarketState after = first.market_status(kMarket).state;
    seen[after] += 1;
    auctions_with_fills += a.block_events.empty() ? 0 : 1;

    std::string problems = compare(a, b, "second replica");
    if (restored) problems += compare(a, restored->execute_block(context, txs), "restored replica");
    Status invariants = first.check_invariants();
    if (!invariants.is_ok()) problems += invariants.to_string() + "\n";
    if (first.asset_totals() != totals) problems += "an asset total changed\n";
    problems += event_violations(a, before, after);
    if (!problems.empty()) {
      RC_FAIL("block " + std::to_string(i) + " at " + std::to_string(time_ms) + " ms: " + problems);
    }
    // Snapshot at the drawn block, or earlier at the first pause.
    if (!restored && (i + 1 == snapshot_at || !trading(after))) {
      auto copy = Exchange::restore(first.snapshot());
      RC_ASSERT(copy.is_ok());
      restored = std::move(copy).value();
      restored_in_pause = !trading(after);
      RC_ASSERT(restored->state_root() == first.state_root());
      RC_ASSERT(restored->market_status(kMarket) == first.market_status(kMarket));
      RC_ASSERT(restored->check_invariants().is_ok());
    }
  }
  RC_ASSERT(first.snapshot() == second.snapshot());
  if (restored) RC_ASSERT(restored->snapshot() == first.snapshot());
  RC_TAG(seen.count(MarketState::kPaused) + seen.count(MarketState::kAuction) > 0 ? "paused"
                                                                                  : "never paused");
  RC_TAG(restored_in_pause ? "restored in a pause" : "restored while trading");
  RC_TAG(auctions_with_fills > 0 ? "auction traded" : "no auction trade");
  RC_TAG(first.market_status(kMarket).limit_states > 0 ? "limit state" : "no limit state");
}

}  // namespace
}  // namespace ballast::exchange::testing
