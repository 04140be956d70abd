// The load generator's order flow, planned ahead: a deterministic, seeded sequence of
// transactions with the time each is due, the account that sends it and the node it goes to.
// Traders quote limit orders around a mid price that wanders, cross the spread now and then,
// send market orders, cancel and replace their resting orders; a share of them pays a higher
// fee. Sans-IO: no clock, no randomness but the seed, no signing (the runner signs, in
// parallel) and no sending.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exchange/genesis.h"
#include "exchange/transaction.h"

namespace ballast::loadgen {

// What a transaction is measured as: cancels, then high-fee, then normal (the mempool's
// priority order; docs/MEMPOOL.md).
enum class PriorityClass : std::uint8_t { kCancel = 0, kHighFee = 1, kNormal = 2 };
inline constexpr std::size_t kPriorityClasses = 3;
std::string_view priority_class_name(PriorityClass priority);

// Relative weights of what traders do.
struct WorkloadMix {
  std::uint32_t rest = 50;     // a limit order away from the mid, which rests
  std::uint32_t cross = 10;    // a limit order through the mid, which trades and may rest
  std::uint32_t market = 5;    // a market order (IOC) with a protection price
  std::uint32_t cancel = 25;   // cancel one of the trader's resting orders
  std::uint32_t replace = 10;  // move one of them to a new price
};
// Parses "rest=50,cross=10,market=5,cancel=25,replace=10" (any subset; others keep defaults).
Result<WorkloadMix> parse_mix(std::string_view text);

struct WorkloadOptions {
  std::uint64_t rate_per_s = 100;
  std::uint64_t duration_ms = 10'000;
  std::size_t markets = 1;  // the first N markets of the genesis
  WorkloadMix mix;
  exchange::Amount normal_fee = 1;
  exchange::Amount high_fee = 10;
  std::uint32_t high_fee_percent = 20;  // of the non-cancel transactions
  std::uint64_t seed = 1;
  std::uint64_t expiry_height = 1'000'000;  // every transaction's
  std::size_t nodes = 1;                    // account i sends to node i % nodes
  std::int64_t mid_ticks = 6'000;           // starting mid price, in ticks
  std::int64_t max_open_orders_per_account = 40;
  std::uint32_t sell_percent = 50;     // of the orders (not cancels or replaces): sells
  std::int64_t protection_ticks = 50;  // a market order accepts prices this far through the mid
};

struct PlannedTransaction {
  std::int64_t due_us = 0;  // from the start of the run
  std::uint32_t account = 0;
  std::uint32_t node = 0;
  PriorityClass priority = PriorityClass::kNormal;
  exchange::Transaction transaction;  // unsigned
};

// `first_nonces[i]` is the next nonce of account i (its last used nonce + 1).
Result<std::vector<PlannedTransaction>> plan_workload(
    const exchange::Genesis& genesis, const std::vector<PublicKey>& accounts,
    const std::vector<std::uint64_t>& first_nonces, const WorkloadOptions& options);

}  // namespace ballast::loadgen
