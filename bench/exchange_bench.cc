// Exchange execution benchmarks: how many operations per second one core executes, with and
// without the state-root commitment, and whether a block's cost depends on the size of the state
// (it must not: the root is an LtHash updated per changed entry). docs/BENCHMARKS.md has results.
//
// A block runs in two phases, Exchange::apply_block (execute the transactions) and
// Exchange::commit (fold the changed entries into the LtHash, return the root); execute_block is
// the two together. The benchmarks time the phases separately where that is the question.
//
// Signature verification is excluded: every block runs with SignatureCheck::kAlreadyVerified, so
// the transactions are built unsigned (signing costs ~50 us each and would dominate setup). For
// the same reason accounts get synthetic 32-byte keys (SHA-256 of a label) rather than real
// curve points; only transfer recipients must parse as x-only keys, and those are checked.
//
// Every stream is pre-generated before timing. Order ids are assigned by the exchange, so the
// mixed stream is generated adaptively on a separate Exchange (execute each block, learn which
// orders rest, build the next block from that) and then replayed on a fresh Exchange built from
// the same genesis; execution is deterministic, so the replay must reproduce every recorded state
// root, and the benchmark checks that it does. Timing is manual: one iteration is one block, and
// the time covers the timed phases and the destruction of the BlockResult (the caller's cost
// too).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "crypto/hash.h"
#include "crypto/lthash.h"
#include "exchange/exchange.h"

namespace ballast::exchange {
namespace {

constexpr AssetId kBase = 0;
constexpr AssetId kQuote = 1;
constexpr MarketId kMarket = 0;
// Resting bids sit on mid-kBand .. mid-1 and resting asks on mid+1 .. mid+kBand: 200 levels.
// Nothing else ever rests (takers are IOC or fully filled), so the two bands never cross.
constexpr Price kMid = 100'000;
constexpr Price kBand = 100;
constexpr Quantity kMaxRestingQuantity = 100;
constexpr Amount kFunds = 1'000'000'000'000;
constexpr std::uint64_t kSeed = 20240611;

// SplitMix64: tiny, fast and identical on every platform (unlike std:: distributions).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [low, high].
  std::int64_t between(std::int64_t low, std::int64_t high) {
    return low + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(high - low + 1));
  }
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }
  bool coin() { return (next() & 1) != 0; }
  Side side() { return coin() ? Side::kBuy : Side::kSell; }

 private:
  std::uint64_t state_;
};

AccountId synthetic_key(const std::string& label) {
  AccountId key;
  key.bytes = sha256(as_bytes("ballast-bench/" + label)).bytes;
  return key;
}

// Assets BASE (0) and QUOTE (1), market 0 BASE-QUOTE (tick 1, lot 1, maker 1 bp, taker 2 bp),
// a 1-unit transaction fee in QUOTE, and `account_count` accounts funded with both assets.
Genesis bench_genesis(std::size_t account_count) {
  Genesis genesis;
  genesis.chain_id = "ballast-bench";
  genesis.fee_account = synthetic_key("fee-account");
  genesis.tx_fee_asset = kQuote;
  genesis.min_tx_fee = 1;
  genesis.assets = {{"BASE", 8}, {"QUOTE", 6}};
  genesis.markets = {{"BASE-QUOTE", kBase, kQuote, 1, 1, 1, 1, 2}};
  genesis.accounts.reserve(account_count);
  for (std::size_t i = 0; i < account_count; ++i) {
    genesis.accounts.push_back(
        {synthetic_key("account-" + std::to_string(i)), {{kBase, kFunds}, {kQuote, kFunds}}});
  }
  BALLAST_ASSERT(validate_genesis(genesis).is_ok());
  return genesis;
}

// Unsigned transactions with the next nonce of each genesis account.
class TxFactory {
 public:
  explicit TxFactory(const Genesis& genesis)
      : genesis_(genesis), nonces_(genesis.accounts.size()) {}

  Transaction make(std::size_t account, TransactionBody body) {
    Transaction tx;
    tx.sender = genesis_.accounts[account].key;
    tx.nonce = ++nonces_[account];
    tx.fee = genesis_.min_tx_fee;
    tx.expiry_height = 1'000'000;
    tx.body = std::move(body);
    return tx;
  }
  const AccountId& key(std::size_t account) const { return genesis_.accounts[account].key; }

 private:
  const Genesis& genesis_;
  std::vector<std::uint64_t> nonces_;
};

PlaceOrder limit_order(Side side, Price price, Quantity quantity, TimeInForce time_in_force) {
  PlaceOrder order;
  order.market = kMarket;
  order.side = side;
  order.type = OrderType::kLimit;
  order.time_in_force = time_in_force;
  order.price = price;
  order.quantity = quantity;
  return order;
}

Price resting_price(Rng& rng, Side side) {
  Price distance = rng.between(1, kBand);
  return side == Side::kBuy ? kMid - distance : kMid + distance;
}

BlockContext next_context(const Exchange& exchange) {
  std::uint64_t height = exchange.height() + 1;
  return {height, static_cast<std::int64_t>(height) * 500};
}

std::vector<Hash256> transaction_ids(const std::vector<Transaction>& txs) {
  std::vector<Hash256> ids;
  ids.reserve(txs.size());
  for (const Transaction& tx : txs) ids.push_back(tx.id());
  return ids;
}

// What one timed block covers.
enum class Timed {
  kExecuteBlock,  // execute_block(txs): transaction ids hashed inside, apply and commit
  kApply,         // apply_block(txs, ids): ids passed in (as mempool and consensus do); the
                  // commit() that follows is not timed
  kApplyCommit,   // apply_block(txs, ids) then commit()
};

struct BlockTiming {
  Hash256 root;
  double apply_seconds = 0;
  double commit_seconds = 0;
};

// Runs one block under the manual timer; returns its state root.
// Not inlined, so a profiler can collect exactly the timed region (callgrind --toggle-collect).
[[gnu::noinline]] BlockTiming timed_block(Exchange& exchange, const std::vector<Transaction>& txs,
                                          std::span<const Hash256> ids, Timed timed,
                                          benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  const BlockContext context = next_context(exchange);
  BlockTiming timing;
  const Clock::time_point start = Clock::now();
  Clock::time_point applied;
  {
    BlockResult result;
    if (timed == Timed::kExecuteBlock) {
      result = exchange.execute_block(context, txs, SignatureCheck::kAlreadyVerified);
      timing.root = result.state_root;
      applied = Clock::now();  // not split: all of it counts as apply
    } else {
      result = exchange.apply_block(context, txs, SignatureCheck::kAlreadyVerified, ids);
      applied = Clock::now();
      if (timed == Timed::kApplyCommit) timing.root = exchange.commit();
    }
  }
  const Clock::time_point stop = Clock::now();
  timing.apply_seconds = std::chrono::duration<double>(applied - start).count();
  timing.commit_seconds = std::chrono::duration<double>(stop - applied).count();
  state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
  if (timed == Timed::kApply) timing.root = exchange.commit();  // after the timer stopped
  return timing;
}

// --- the mixed order stream ------------------------------------------------------------------

enum class Op : std::uint8_t { kRestingInsert, kMatchingInsert, kCancel, kReplace };
constexpr std::size_t kOpKinds = 4;

struct MixedStream {
  Genesis genesis;
  std::vector<std::vector<Transaction>> prefill;  // builds the starting book, untimed
  std::vector<std::vector<Transaction>> blocks;   // the timed stream
  std::vector<std::vector<Hash256>> ids;          // the transaction ids of each timed block
  std::vector<Hash256> roots;                     // state root after each timed block
  // What the timed stream did when generated (the replay is identical).
  std::array<std::uint64_t, kOpKinds> planned{};
  std::array<std::uint64_t, kOpKinds> accepted{};
  std::uint64_t resting_inserts_that_rested = 0;
  std::uint64_t matching_inserts_that_filled = 0;
  std::uint64_t fills = 0;
  std::size_t resting_min = SIZE_MAX;
  std::size_t resting_max = 0;
  std::map<RejectCode, std::uint64_t> rejects;
};

class MixedGenerator {
 public:
  MixedGenerator(std::size_t account_count, std::uint64_t seed)
      : genesis_(bench_genesis(account_count)),
        exchange_(genesis_),
        factory_(genesis_),
        rng_(seed) {}

  // Blocks of resting inserts until `orders` orders rest.
  void prefill(std::size_t orders, std::size_t block_size) {
    while (exchange_.resting_order_count() < orders) {
      std::size_t count = std::min(block_size, orders - exchange_.resting_order_count());
      std::vector<Transaction> txs;
      std::vector<Op> ops(count, Op::kRestingInsert);
      std::vector<std::size_t> senders;
      for (std::size_t i = 0; i < count; ++i) add_resting_insert(txs, senders);
      stream_.prefill.push_back(txs);
      run(txs, ops, senders, /*timed=*/false);
    }
  }

  // The timed stream: ~40% resting inserts, ~20% matching inserts, ~30% cancels, ~10% replaces.
  void generate(std::size_t block_count, std::size_t block_size, std::size_t target_resting) {
    for (std::size_t b = 0; b < block_count; ++b) {
      std::vector<Resting> pickable = resting_orders();
      Price best_bid = exchange_.book(kMarket, Side::kBuy, 1).at(0).price;
      Price best_ask = exchange_.book(kMarket, Side::kSell, 1).at(0).price;
      std::vector<Transaction> txs;
      std::vector<Op> ops;
      std::vector<std::size_t> senders;
      for (std::size_t i = 0; i < block_size; ++i) {
        std::size_t roll = rng_.below(100);
        Op op = roll < 40   ? Op::kRestingInsert
                : roll < 60 ? Op::kMatchingInsert
                : roll < 90 ? Op::kCancel
                            : Op::kReplace;
        if ((op == Op::kCancel || op == Op::kReplace) && pickable.empty()) op = Op::kRestingInsert;
        ops.push_back(op);
        switch (op) {
          case Op::kRestingInsert:
            add_resting_insert(txs, senders);
            break;
          case Op::kMatchingInsert:
            add_matching_insert(txs, senders, best_bid, best_ask);
            break;
          case Op::kCancel:
            add_cancel(txs, senders, take_random(pickable));
            break;
          case Op::kReplace:
            add_replace(txs, senders, take_random(pickable));
            break;
        }
      }
      stream_.blocks.push_back(txs);
      stream_.ids.push_back(transaction_ids(txs));
      run(txs, ops, senders, /*timed=*/true);
      steer(target_resting);
    }
  }

  MixedStream take() {
    stream_.genesis = genesis_;
    return std::move(stream_);
  }

 private:
  struct Resting {
    OrderId id = 0;
    std::size_t owner = 0;
    Side side = Side::kBuy;
    Price price = 0;
    Quantity remaining = 0;
  };

  std::vector<Resting> resting_orders() const {
    std::vector<Resting> orders;
    for (Side side : {Side::kBuy, Side::kSell}) {
      for (const OpenOrder& order : exchange_.resting_orders(kMarket, side)) {
        orders.push_back({order.id, owner_of_.at(order.id), side, order.price, order.remaining});
      }
    }
    return orders;
  }

  Resting take_random(std::vector<Resting>& orders) {
    std::size_t k = rng_.below(orders.size());
    Resting picked = orders[k];
    orders[k] = orders.back();
    orders.pop_back();
    return picked;
  }

  void add_resting_insert(std::vector<Transaction>& txs, std::vector<std::size_t>& senders) {
    std::size_t account = rng_.below(genesis_.accounts.size());
    Side side = rng_.side();
    txs.push_back(factory_.make(
        account, limit_order(side, resting_price(rng_, side), rng_.between(1, kMaxRestingQuantity),
                             TimeInForce::kGoodTillCancel)));
    senders.push_back(account);
  }

  // Half IOC limits two ticks through the touch seen at block start (the remainder, if any, is
  // cancelled), half GTC limits at the far edge of the opposite band (always filled completely,
  // so they never rest).
  void add_matching_insert(std::vector<Transaction>& txs, std::vector<std::size_t>& senders,
                           Price best_bid, Price best_ask) {
    std::size_t account = rng_.below(genesis_.accounts.size());
    Side side = rng_.side();
    Quantity quantity = rng_.between(1, taker_max_quantity_);
    PlaceOrder order;
    if (rng_.coin()) {
      Price price = side == Side::kBuy ? std::min(best_ask + 2, kMid + kBand)
                                       : std::max(best_bid - 2, kMid - kBand);
      order = limit_order(side, price, quantity, TimeInForce::kImmediateOrCancel);
    } else {
      Price price = side == Side::kBuy ? kMid + kBand : kMid - kBand;
      order = limit_order(side, price, quantity, TimeInForce::kGoodTillCancel);
    }
    txs.push_back(factory_.make(account, order));
    senders.push_back(account);
  }

  void add_cancel(std::vector<Transaction>& txs, std::vector<std::size_t>& senders,
                  const Resting& order) {
    txs.push_back(factory_.make(order.owner, CancelOrder{OrderRef{false, order.id}}));
    senders.push_back(order.owner);
  }

  // Half size reductions (keep priority), half moves to another price in the order's own band
  // with a new size (lose priority).
  void add_replace(std::vector<Transaction>& txs, std::vector<std::size_t>& senders,
                   const Resting& order) {
    ReplaceOrder replace{OrderRef{false, order.id}, 0, 0};
    if (rng_.coin() && order.remaining >= 2) {
      replace.new_quantity = order.remaining / 2;
    } else {
      do {
        replace.new_price = resting_price(rng_, order.side);
      } while (replace.new_price == order.price);
      replace.new_quantity = rng_.between(1, kMaxRestingQuantity);
    }
    txs.push_back(factory_.make(order.owner, replace));
    senders.push_back(order.owner);
  }

  void run(const std::vector<Transaction>& txs, const std::vector<Op>& ops,
           const std::vector<std::size_t>& senders, bool timed) {
    BlockResult block =
        exchange_.execute_block(next_context(exchange_), txs, SignatureCheck::kAlreadyVerified);
    for (std::size_t i = 0; i < txs.size(); ++i) {
      const TxResult& result = block.results[i];
      bool filled = false, rested = false;
      for (const Event& event : result.events) {
        if (const auto* accepted = std::get_if<OrderAccepted>(&event)) {
          owner_of_[accepted->order_id] = senders[i];
        }
        filled = filled || std::holds_alternative<OrderFilled>(event);
        rested = rested || std::holds_alternative<OrderRested>(event);
        if (timed && std::holds_alternative<OrderFilled>(event)) stream_.fills += 1;
      }
      if (!timed) {
        BALLAST_ASSERT_MSG(result.accepted() && rested, "a prefill order did not rest");
        continue;
      }
      auto op = static_cast<std::size_t>(ops[i]);
      stream_.planned[op] += 1;
      if (!result.accepted()) {
        stream_.rejects[result.reject] += 1;
        continue;
      }
      stream_.accepted[op] += 1;
      if (ops[i] == Op::kRestingInsert && rested && !filled) stream_.resting_inserts_that_rested++;
      if (ops[i] == Op::kMatchingInsert && filled) stream_.matching_inserts_that_filled++;
    }
    if (timed) {
      stream_.roots.push_back(block.state_root);
      stream_.resting_min = std::min(stream_.resting_min, exchange_.resting_order_count());
      stream_.resting_max = std::max(stream_.resting_max, exchange_.resting_order_count());
    }
  }

  // Keeps the book near its target size: takers grow when it is too full, shrink when too thin.
  void steer(std::size_t target_resting) {
    auto excess = static_cast<std::int64_t>(exchange_.resting_order_count()) -
                  static_cast<std::int64_t>(target_resting);
    taker_max_quantity_ = std::clamp<Quantity>(taker_max_quantity_ + excess / 20, 1, 1'000);
  }

  Genesis genesis_;
  Exchange exchange_;
  TxFactory factory_;
  Rng rng_;
  std::unordered_map<OrderId, std::size_t> owner_of_;
  Quantity taker_max_quantity_ = 50;
  MixedStream stream_;
};

constexpr std::size_t kMixedAccounts = 1'000;
constexpr std::size_t kMixedBookOrders = 10'000;
constexpr std::size_t kMixedStreamOps = 300'000;

const MixedStream& mixed_stream(std::size_t block_size) {
  static std::map<std::size_t, std::unique_ptr<MixedStream>> cache;
  auto& slot = cache[block_size];
  if (!slot) {
    MixedGenerator generator(kMixedAccounts, kSeed);
    generator.prefill(kMixedBookOrders, 1'000);
    generator.generate(kMixedStreamOps / block_size, block_size, kMixedBookOrders);
    slot = std::make_unique<MixedStream>(generator.take());
  }
  return *slot;
}

std::unique_ptr<Exchange> replay_prefill(const MixedStream& stream) {
  auto exchange = std::make_unique<Exchange>(stream.genesis);
  for (const auto& txs : stream.prefill) {
    exchange->execute_block(next_context(*exchange), txs, SignatureCheck::kAlreadyVerified);
  }
  return exchange;
}

double share(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// Mixed order operations per second (items_per_second), one block per iteration:
//   execute_block  apply and commit, transaction ids hashed inside (what a plain caller pays)
//   apply          execution only: apply_block with the ids passed in; commit() not timed
//   apply_commit   apply_block with the ids passed in, then commit(); apply_us and commit_us
//                  split the block's time between the two
void BM_MixedOrderOps(benchmark::State& state, Timed timed) {
  const auto block_size = static_cast<std::size_t>(state.range(0));
  const MixedStream& stream = mixed_stream(block_size);
  std::unique_ptr<Exchange> exchange;
  std::size_t next = stream.blocks.size();
  double apply_seconds = 0, commit_seconds = 0;
  for (auto _ : state) {
    if (next == stream.blocks.size()) {  // (re)start the stream; not timed (manual timing)
      exchange = replay_prefill(stream);
      next = 0;
    }
    BlockTiming timing =
        timed_block(*exchange, stream.blocks[next], stream.ids[next], timed, state);
    if (timing.root != stream.roots[next]) {
      state.SkipWithError("replay diverged from the generated stream");
      break;
    }
    apply_seconds += timing.apply_seconds;
    commit_seconds += timing.commit_seconds;
    ++next;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * block_size));
  if (timed == Timed::kApplyCommit) {
    auto per_block_us = [&](double seconds) {
      return benchmark::Counter(seconds * 1e6 / static_cast<double>(state.iterations()));
    };
    state.counters["apply_us"] = per_block_us(apply_seconds);
    state.counters["commit_us"] = per_block_us(commit_seconds);
  }
  std::uint64_t total = 0;
  for (std::uint64_t count : stream.planned) total += count;
  std::uint64_t rejected = 0;
  for (const auto& [code, count] : stream.rejects) rejected += count;
  state.counters["rest_ins"] = share(stream.planned[0], total);
  state.counters["match_ins"] = share(stream.planned[1], total);
  state.counters["cancel"] = share(stream.planned[2], total);
  state.counters["replace"] = share(stream.planned[3], total);
  state.counters["rejected"] = share(rejected, total);
  state.counters["fills/op"] = share(stream.fills, total);
  state.counters["book_min"] = static_cast<double>(stream.resting_min);
  state.counters["book_max"] = static_cast<double>(stream.resting_max);
  const char* what = timed == Timed::kExecuteBlock ? "execute_block, ids hashed inside"
                     : timed == Timed::kApply      ? "apply_block only, ids passed in"
                                                   : "apply_block (ids passed in) + commit";
  std::string label =
      std::string(what) + "; ops/s; accepted: rest " +
      std::to_string(stream.resting_inserts_that_rested) + "/" + std::to_string(stream.planned[0]) +
      " rested, match " + std::to_string(stream.matching_inserts_that_filled) + "/" +
      std::to_string(stream.planned[1]) + " filled, cancel " + std::to_string(stream.accepted[2]) +
      "/" + std::to_string(stream.planned[2]) + ", replace " + std::to_string(stream.accepted[3]) +
      "/" + std::to_string(stream.planned[3]);
  for (const auto& [code, count] : stream.rejects) {
    label += "; " + std::string(reject_code_name(code)) + " " + std::to_string(count);
  }
  state.SetLabel(label);
}
BENCHMARK_CAPTURE(BM_MixedOrderOps, execute_block, Timed::kExecuteBlock)
    ->ArgName("block")
    ->Arg(1'000)
    ->Arg(10'000)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_MixedOrderOps, apply, Timed::kApply)
    ->ArgName("block")
    ->Arg(1'000)
    ->Arg(10'000)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_MixedOrderOps, apply_commit, Timed::kApplyCommit)
    ->ArgName("block")
    ->Arg(1'000)
    ->Arg(10'000)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// --- block cost against state size ---------------------------------------------------------

// Blocks of 10,000 operations, half transfers between random accounts and half resting order
// placements, drawn from `active` accounts spread over a state of `accounts` accounts. With
// active fixed at 1,000 both state sizes change the same number of entries per block, so any
// difference is the cost of a larger state (it should be none beyond cache misses).
//
// The manual time is the whole block: apply_block (transaction ids hashed inside, as
// execute_block does) then commit(). commit_ms is commit() alone, the state-root cost of the
// block; apply_ms the rest. entries/blk counts the entries the commit folds in (accounts
// changed, orders that came to rest, the globals entry); each costs a SHA-256 and one ChaCha20
// expansion if new, two if it replaces a committed digest.
constexpr std::size_t kAccountBlockOps = 10'000;
constexpr std::size_t kAccountBlocks = 10;

class ValidKeys {
 public:
  explicit ValidKeys(const Genesis& genesis)
      : genesis_(genesis), known_(genesis.accounts.size(), kUnknown) {}
  // Transfer recipients must parse as x-only keys; about half of the synthetic keys do.
  bool valid(std::size_t account) {
    if (known_[account] == kUnknown) {
      bool parses = PublicKey::from_bytes(genesis_.accounts[account].key.bytes).is_ok();
      known_[account] = parses ? kValid : kInvalid;
    }
    return known_[account] == kValid;
  }

 private:
  static constexpr std::int8_t kUnknown = -1, kInvalid = 0, kValid = 1;
  const Genesis& genesis_;
  std::vector<std::int8_t> known_;
};

std::vector<std::size_t> pick_active(Rng& rng, std::size_t accounts, std::size_t active) {
  std::vector<std::size_t> chosen;
  if (active >= accounts) {
    chosen.resize(accounts);
    for (std::size_t i = 0; i < accounts; ++i) chosen[i] = i;
    return chosen;
  }
  std::unordered_set<std::size_t> seen;
  while (chosen.size() < active) {
    std::size_t index = rng.below(accounts);
    if (seen.insert(index).second) chosen.push_back(index);
  }
  return chosen;
}

void BM_StateRootPerBlock(benchmark::State& state) {
  const auto account_count = static_cast<std::size_t>(state.range(0));
  const auto active_count = static_cast<std::size_t>(state.range(1));
  const Genesis genesis = bench_genesis(account_count);
  Rng rng(kSeed);
  const std::vector<std::size_t> active = pick_active(rng, account_count, active_count);
  TxFactory factory(genesis);
  ValidKeys keys(genesis);
  std::vector<std::vector<Transaction>> blocks(kAccountBlocks);
  double touched_accounts = 0;
  for (auto& txs : blocks) {
    std::unordered_set<std::size_t> touched;
    for (std::size_t i = 0; i < kAccountBlockOps; ++i) {
      std::size_t sender = active[rng.below(active.size())];
      touched.insert(sender);
      if (i % 2 == 0) {
        std::size_t recipient;
        do {
          recipient = active[rng.below(active.size())];
        } while (recipient == sender || !keys.valid(recipient));
        touched.insert(recipient);
        Transfer transfer{factory.key(recipient), rng.coin() ? kBase : kQuote,
                          rng.between(1, 1'000)};
        txs.push_back(factory.make(sender, transfer));
      } else {
        Side side = rng.side();
        txs.push_back(factory.make(
            sender, limit_order(side, resting_price(rng, side), rng.between(1, kMaxRestingQuantity),
                                TimeInForce::kGoodTillCancel)));
      }
    }
    touched_accounts += static_cast<double>(touched.size());
  }
  Exchange exchange(genesis);
  const std::size_t book_before = exchange.resting_order_count();

  std::size_t next = 0;
  double apply_seconds = 0, commit_seconds = 0;
  for (auto _ : state) {
    BALLAST_ASSERT_MSG(next < blocks.size(), "run with Iterations(kAccountBlocks)");
    BlockTiming timing = timed_block(exchange, blocks[next++], {}, Timed::kApplyCommit, state);
    apply_seconds += timing.apply_seconds;
    commit_seconds += timing.commit_seconds;
  }
  const double rested_per_block =
      static_cast<double>(exchange.resting_order_count() - book_before) / kAccountBlocks;
  // The fixed cost of a commit: an empty block changes only the globals entry.
  auto start = std::chrono::steady_clock::now();
  constexpr int kEmptyBlocks = 100;
  for (int i = 0; i < kEmptyBlocks; ++i) {
    exchange.execute_block(next_context(exchange), {}, SignatureCheck::kAlreadyVerified);
  }
  auto stop = std::chrono::steady_clock::now();
  const auto blocks_run = static_cast<double>(state.iterations());
  state.counters["apply_ms"] = apply_seconds * 1e3 / blocks_run;
  state.counters["commit_ms"] = commit_seconds * 1e3 / blocks_run;
  // +1: the fee account; +1: the globals entry.
  state.counters["entries/blk"] = touched_accounts / kAccountBlocks + 1 + rested_per_block + 1;
  state.counters["empty_block_us"] =
      std::chrono::duration<double, std::micro>(stop - start).count() / kEmptyBlocks;
  state.counters["accounts_touched/blk"] = touched_accounts / kAccountBlocks;
  state.counters["book"] = static_cast<double>(exchange.resting_order_count());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kAccountBlockOps));
  state.SetLabel("one block of 10,000 ops (half transfers, half resting orders): apply + commit");
}
BENCHMARK(BM_StateRootPerBlock)
    ->ArgNames({"accounts", "active"})
    ->Args({1'000, 1'000})
    ->Args({1'000'000, 1'000})
    ->Args({1'000'000, 1'000'000})
    ->Iterations(kAccountBlocks)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// --- kernels that make up a block's cost ---------------------------------------------------

// What commit() pays per changed entry: SHA-256 of the entry's ~60-byte encoding, then one
// LtHash update(old digest, new digest): two 2 KiB ChaCha20 expansions and one pass over the
// lanes.
void BM_StateRootEntryUpdate(benchmark::State& state) {
  LtHash set;
  std::array<std::uint8_t, 64> encoding{};
  Hash256 old_digest = sha256(encoding);
  set.add(old_digest);
  std::uint64_t counter = 0;
  for (auto _ : state) {
    ++counter;
    std::memcpy(encoding.data(), &counter, sizeof counter);
    Hash256 new_digest = sha256(encoding);
    set.update(old_digest, new_digest);
    old_digest = new_digest;
  }
  benchmark::DoNotOptimize(set);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel("changed entries/s");
}
BENCHMARK(BM_StateRootEntryUpdate);

void BM_LtHashAdd(benchmark::State& state) {
  LtHash set;
  Hash256 digest;
  std::uint64_t counter = 0;
  for (auto _ : state) {
    ++counter;
    std::memcpy(digest.bytes.data(), &counter, sizeof counter);
    set.add(digest);
  }
  benchmark::DoNotOptimize(set);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_LtHashAdd);

// apply_block computes every transaction's id (canonical encoding + SHA-256) unless the caller
// passes the ids in.
void BM_TransactionId(benchmark::State& state) {
  Genesis genesis = bench_genesis(1);
  TxFactory factory(genesis);
  Transaction tx =
      factory.make(0, limit_order(Side::kBuy, kMid - 5, 10, TimeInForce::kGoodTillCancel));
  for (auto _ : state) {
    Hash256 id = tx.id();
    benchmark::DoNotOptimize(id);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TransactionId);

// A transfer validates its recipient as a curve point (PublicKey::from_bytes) once per account:
// when it creates the account, or the first time an account from genesis or a snapshot
// receives one.
void BM_RecipientKeyCheck(benchmark::State& state) {
  PublicKey key = SecretKey::insecure_from_seed("recipient").public_key();
  for (auto _ : state) {
    bool valid = PublicKey::from_bytes(key.bytes).is_ok();
    benchmark::DoNotOptimize(valid);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_RecipientKeyCheck);

// --- snapshot and restore of the 10,000-order book -----------------------------------------

void BM_Snapshot(benchmark::State& state) {
  std::unique_ptr<Exchange> exchange = replay_prefill(mixed_stream(1'000));
  std::size_t size_bytes = 0;
  for (auto _ : state) {
    Bytes snapshot = exchange->snapshot();
    size_bytes = snapshot.size();
    benchmark::DoNotOptimize(snapshot.data());
  }
  state.counters["bytes"] = static_cast<double>(size_bytes);
  state.counters["orders"] = static_cast<double>(exchange->resting_order_count());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size_bytes));
}
BENCHMARK(BM_Snapshot)->Unit(benchmark::kMicrosecond);

void BM_SnapshotRestore(benchmark::State& state) {
  std::unique_ptr<Exchange> exchange = replay_prefill(mixed_stream(1'000));
  const Bytes snapshot = exchange->snapshot();
  for (auto _ : state) {
    auto restored = Exchange::restore(snapshot);
    if (!restored.is_ok() || (*restored)->state_root() != exchange->state_root()) {
      state.SkipWithError("restore failed or changed the state root");
      break;
    }
  }
  state.counters["bytes"] = static_cast<double>(snapshot.size());
  state.counters["orders"] = static_cast<double>(exchange->resting_order_count());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * snapshot.size()));
}
BENCHMARK(BM_SnapshotRestore)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ballast::exchange

BENCHMARK_MAIN();
