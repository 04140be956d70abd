// The `flash-crash` chaos scenario: a wave of market sells at 20 times the steady rate, from
// traders of their own, into a thin book (the steady flow's quotes near the mid, then a ladder of
// one-lot bids a percent apart below it), run twice on fresh scratch localnets: circuit breakers
// on, then off. From the finalized trades it reports, for both, the largest price move within any
// window of block time, and whether with breakers on it stayed within the configured band
// (docs/CHAOS.md).
//
// The move computation is pure; only run_flash_crash talks to a localnet.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string_view>

#include "base/status.h"
#include "cli/chaos.h"
#include "exchange/genesis.h"
#include "exchange/types.h"

namespace ballast::cli {

inline constexpr std::string_view kFlashCrashScenario = "flash-crash";

// A finalized trade as GET /v1/trades lists it.
struct TradePrint {
  std::uint64_t trade_id = 0;  // (height << 24) | index in the block: execution order
  std::int64_t time_ms = 0;    // block time
  exchange::Price price = 0;
};

// A price move from an earlier trade to a later one: |to - from| / from.
struct PriceMove {
  exchange::Price from = 0;  // 0: no move (fewer than two trades within a window)
  exchange::Price to = 0;
  std::int64_t from_time_ms = 0;
  std::int64_t to_time_ms = 0;

  double percent() const;
  // Whether the move is at most `bps` basis points of `from`, exactly (integer arithmetic).
  bool within_bps(std::int64_t bps) const;
  // Whether this move is larger than `other`, exactly.
  bool larger_than(const PriceMove& other) const;
};

enum class MoveDirection { kEither, kDown };

// The largest move (or drop) between two trades less than `window_ms` apart in block time, the
// later measured against the earlier (trades of one block count in execution order). `trades`
// are in execution order, their times never decreasing. O(n).
PriceMove largest_move(std::span<const TradePrint> trades, std::int64_t window_ms,
                       MoveDirection direction = MoveDirection::kEither);

// The largest window (ms of block time) within which the breakers bound every move by the
// velocity limit: two trades less than 90% of the velocity window apart are both in its
// range when the later one fills, and no pause with its auction is that short. 0 when the
// breakers or the velocity rule are off.
std::int64_t velocity_bound_window_ms(const exchange::BreakerSpec& spec);

// Both runs and the combined report; `options.net.breakers` is ignored.
Status run_flash_crash(const ChaosOptions& options, std::ostream& out);

}  // namespace ballast::cli
