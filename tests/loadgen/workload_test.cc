// The planned order flow of `ballast loadgen`: reproducible from its seed, on schedule, with
// each account's nonces in order, the configured mix, and valid for the exchange: executed
// block by block, nothing is refused but cancels and replaces of orders that filled meanwhile.
#include "loadgen/workload.h"

#include <gtest/gtest.h>

#include <map>

#include "test_world.h"

namespace ballast::loadgen {
namespace {

using exchange::testing::TestWorld;

const std::vector<std::string> kTraders = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};

struct Fixture {
  TestWorld world{kTraders, 1'000'000'000'000, {}, /*min_tx_fee=*/1};
  std::vector<PublicKey> accounts;
  std::vector<std::uint64_t> first_nonces;

  Fixture() {
    for (const std::string& name : kTraders) {
      accounts.push_back(world.id(name));
      first_nonces.push_back(world.nonce(name) + 1);
    }
  }

  std::vector<PlannedTransaction> plan(WorkloadOptions options) {
    options.markets = 1;
    options.nodes = 3;
    auto planned = plan_workload(world.genesis(), accounts, first_nonces, options);
    EXPECT_TRUE(planned.is_ok()) << planned.status().to_string();
    return planned.is_ok() ? std::move(planned).value() : std::vector<PlannedTransaction>{};
  }

  const SecretKey& key_of(std::uint32_t account) const { return world.key(kTraders[account]); }
};

WorkloadOptions options_with(std::uint64_t rate, std::uint64_t duration_ms, std::uint64_t seed) {
  WorkloadOptions options;
  options.rate_per_s = rate;
  options.duration_ms = duration_ms;
  options.seed = seed;
  return options;
}

TEST(WorkloadTest, TheSameSeedPlansTheSameFlowAndAnotherSeedAnother) {
  Fixture fixture;
  auto encode_all = [&](std::uint64_t seed) {
    std::vector<Bytes> encodings;
    for (const PlannedTransaction& planned : fixture.plan(options_with(500, 2'000, seed))) {
      encodings.push_back(planned.transaction.encode());
    }
    return encodings;
  };
  EXPECT_EQ(encode_all(7), encode_all(7));
  EXPECT_NE(encode_all(7), encode_all(8));
}

TEST(WorkloadTest, TransactionsAreDueOnScheduleWithEachAccountsNoncesInOrder) {
  Fixture fixture;
  std::vector<PlannedTransaction> plan = fixture.plan(options_with(400, 2'500, 1));
  ASSERT_EQ(plan.size(), 1'000u) << "rate x duration";
  std::map<std::uint32_t, std::uint64_t> next_nonce;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(plan[i].due_us, static_cast<std::int64_t>(i * 2'500)) << "evenly spaced";
    EXPECT_EQ(plan[i].node, plan[i].account % 3) << "an account always uses one node";
    std::uint64_t expected = next_nonce.contains(plan[i].account) ? next_nonce[plan[i].account] : 1;
    EXPECT_EQ(plan[i].transaction.nonce, expected);
    next_nonce[plan[i].account] = expected + 1;
  }
}

TEST(WorkloadTest, TheMixDecidesWhatIsSentAndCancelsFormTheirOwnPriorityClass) {
  Fixture fixture;
  WorkloadOptions only_quotes = options_with(1'000, 2'000, 3);
  only_quotes.mix = {.rest = 1, .cross = 0, .market = 0, .cancel = 0, .replace = 0};
  only_quotes.max_open_orders_per_account = 1'000'000;
  only_quotes.high_fee_percent = 0;
  for (const PlannedTransaction& planned : fixture.plan(only_quotes)) {
    ASSERT_TRUE(std::holds_alternative<exchange::PlaceOrder>(planned.transaction.body));
    EXPECT_EQ(planned.priority, PriorityClass::kNormal);
  }

  WorkloadOptions default_mix = options_with(1'000, 4'000, 3);
  default_mix.high_fee_percent = 20;
  std::map<PriorityClass, std::size_t> counts;
  for (const PlannedTransaction& planned : fixture.plan(default_mix)) {
    counts[planned.priority] += 1;
    bool is_cancel = std::holds_alternative<exchange::CancelOrder>(planned.transaction.body);
    EXPECT_EQ(is_cancel, planned.priority == PriorityClass::kCancel);
    EXPECT_EQ(planned.transaction.fee, planned.priority == PriorityClass::kHighFee
                                           ? default_mix.high_fee
                                           : default_mix.normal_fee);
  }
  // Cancels are at least a quarter of the flow (more once traders reach their open-order cap),
  // high fees about a fifth of the rest.
  EXPECT_GT(counts[PriorityClass::kCancel], 4'000u / 8);
  EXPECT_GT(counts[PriorityClass::kHighFee], 4'000u / 10);
  EXPECT_GT(counts[PriorityClass::kNormal], 4'000u / 3);
}

TEST(WorkloadTest, TheExchangeAcceptsThePlannedFlowButCancelsOfOrdersThatFilled) {
  Fixture fixture;
  std::vector<PlannedTransaction> plan = fixture.plan(options_with(2'000, 3'000, 5));
  constexpr std::size_t kBlock = 200;
  std::size_t accepted = 0;
  std::size_t fills = 0;
  for (std::size_t start = 0; start < plan.size(); start += kBlock) {
    std::vector<exchange::Transaction> block;
    for (std::size_t i = start; i < std::min(plan.size(), start + kBlock); ++i) {
      plan[i].transaction.sign(fixture.key_of(plan[i].account), fixture.world.genesis().chain_id);
      block.push_back(plan[i].transaction);
    }
    exchange::BlockResult result = fixture.world.run_block(block);
    for (std::size_t i = 0; i < block.size(); ++i) {
      const exchange::TxResult& tx = result.results[i];
      for (const exchange::Event& event : tx.events) {
        fills += std::holds_alternative<exchange::OrderFilled>(event) ? 1 : 0;
      }
      if (tx.accepted()) {
        accepted += 1;
        continue;
      }
      bool targets_an_order = std::holds_alternative<exchange::CancelOrder>(block[i].body) ||
                              std::holds_alternative<exchange::ReplaceOrder>(block[i].body);
      EXPECT_TRUE(targets_an_order && tx.reject == exchange::RejectCode::kOrderNotFound)
          << "transaction " << start + i << " refused: " << tx.message;
    }
  }
  EXPECT_GT(accepted, plan.size() * 3 / 4);
  EXPECT_GT(fills, 0u) << "crosses and market orders trade";
}

TEST(WorkloadTest, ASellWaveIsMarketSellsReachingAsFarAsTheProtectionAllows) {
  Fixture fixture;
  WorkloadOptions wave = options_with(2'000, 1'000, 9);
  wave.mix = {.rest = 0, .cross = 0, .market = 1, .cancel = 0, .replace = 0};
  wave.sell_percent = 100;
  wave.protection_ticks = 3'000;
  const exchange::Price tick = fixture.world.genesis().markets[0].tick_size;
  // The mid wanders one tick per 100 ms: ten steps in a second.
  const exchange::Price highest = (wave.mid_ticks + 10 - wave.protection_ticks) * tick;
  const exchange::Price lowest = (wave.mid_ticks - 10 - wave.protection_ticks) * tick;
  std::vector<PlannedTransaction> plan = fixture.plan(wave);
  ASSERT_EQ(plan.size(), 2'000u);
  for (const PlannedTransaction& planned : plan) {
    const auto* order = std::get_if<exchange::PlaceOrder>(&planned.transaction.body);
    ASSERT_NE(order, nullptr);
    EXPECT_EQ(order->side, exchange::Side::kSell);
    EXPECT_EQ(order->type, exchange::OrderType::kMarket);
    EXPECT_GE(order->price, lowest);
    EXPECT_LE(order->price, highest);
  }

  WorkloadOptions balanced = options_with(2'000, 1'000, 9);
  std::size_t sells = 0;
  std::size_t orders = 0;
  for (const PlannedTransaction& planned : fixture.plan(balanced)) {
    const auto* order = std::get_if<exchange::PlaceOrder>(&planned.transaction.body);
    if (order == nullptr) continue;
    orders += 1;
    sells += order->side == exchange::Side::kSell ? 1 : 0;
  }
  EXPECT_GT(sells, orders / 3) << "by default both sides trade";
  EXPECT_LT(sells, orders * 2 / 3);
}

TEST(WorkloadTest, RefusesImpossibleOptions) {
  Fixture fixture;
  WorkloadOptions options = options_with(100, 1'000, 1);
  options.normal_fee = 0;  // below the genesis minimum of 1
  EXPECT_FALSE(
      plan_workload(fixture.world.genesis(), fixture.accounts, fixture.first_nonces, options)
          .is_ok());
  options = options_with(0, 1'000, 1);
  EXPECT_FALSE(
      plan_workload(fixture.world.genesis(), fixture.accounts, fixture.first_nonces, options)
          .is_ok());
  EXPECT_FALSE(plan_workload(fixture.world.genesis(), {}, {}, options_with(100, 1'000, 1)).is_ok());
  options = options_with(100, 1'000, 1);
  options.sell_percent = 101;
  EXPECT_FALSE(
      plan_workload(fixture.world.genesis(), fixture.accounts, fixture.first_nonces, options)
          .is_ok());
  options = options_with(100, 1'000, 1);
  options.protection_ticks = options.mid_ticks;  // would protect at a price of zero
  EXPECT_FALSE(
      plan_workload(fixture.world.genesis(), fixture.accounts, fixture.first_nonces, options)
          .is_ok());
}

TEST(ParseMixTest, ReadsWeightsAndRefusesUnknownNamesAndEmptyMixes) {
  auto mix = parse_mix("rest=5,cancel=7");
  ASSERT_TRUE(mix.is_ok()) << mix.status().to_string();
  EXPECT_EQ(mix->rest, 5u);
  EXPECT_EQ(mix->cancel, 7u);
  EXPECT_EQ(mix->cross, WorkloadMix{}.cross) << "names left out keep their defaults";
  EXPECT_FALSE(parse_mix("bogus=1").is_ok());
  EXPECT_FALSE(parse_mix("rest=x").is_ok());
  EXPECT_FALSE(parse_mix("rest=0,cross=0,market=0,cancel=0,replace=0").is_ok());
  EXPECT_FALSE(parse_mix("rest=0,cross=0,market=0,cancel=5,replace=0").is_ok())
      << "nothing to cancel";
}

}  // namespace
}  // namespace ballast::loadgen
