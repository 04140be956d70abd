// Market circuit breakers: the state of one market (open, limit state, paused, auction), its
// reference price and price band, the velocity window, and the call-auction clearing price.
//
// Deterministic and sans-IO like the rest of the exchange: time is the block time it is given,
// arithmetic is integer (basis points, 128-bit products), and the memory of a market is fixed
// (time buckets, never one entry per trade). It never touches balances or books: the exchange
// (market_control.cc) applies what it decides. docs/CIRCUIT_BREAKERS.md is the reference.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>

#include "base/codec.h"
#include "exchange/events.h"
#include "exchange/genesis.h"
#include "exchange/order_book.h"

namespace ballast::exchange {

__extension__ using Wide = __int128;

// Trades are kept per time bucket: a window of W ms is kWindowBuckets buckets of W / 10 ms, the
// current one included, so it covers between 0.9 W and W of block time.
inline constexpr std::int64_t kWindowBuckets = 10;
inline constexpr std::int64_t kNoBucket = -1;

struct PriceBand {
  Price low = 0;   // a sell never trades below it, a sell rests no lower
  Price high = 0;  // a buy never trades above it, a buy rests no higher
  bool operator==(const PriceBand&) const = default;
};

// The band around `reference`: +/- band_bps, rounded inwards to the tick, at least one tick
// each side (never below one tick), within int64.
PriceBand band_around(Price reference, std::int64_t band_bps, Price tick_size);

// Lowest and highest trade price of a span of time; empty when high == 0.
struct PriceRange {
  Price low = 0;
  Price high = 0;
  bool empty() const { return high == 0; }
  void add(Price price);
  void merge(const PriceRange& other);
  // Whether a trade at `price` stays within `bps` of every price in the range: it moves no more
  // than bps above the lowest nor below the highest.
  bool within(Price price, std::int64_t bps) const;
  bool operator==(const PriceRange&) const = default;
};

struct AuctionClearing {
  Price price = 0;      // 0 when nothing crosses
  Quantity volume = 0;  // what trades at `price`
  Wide imbalance = 0;   // |demand - supply| at `price`
  bool operator==(const AuctionClearing&) const = default;
};

// The single price at which a call auction of these levels (bids best first, asks best first)
// trades the most; ties go to the smallest imbalance, then to the price closest to `reference`,
// then to the lower price. Every price on the tick grid is considered, not only the levels.
AuctionClearing clear_auction(std::span<const BookLevel> bids, std::span<const BookLevel> asks,
                              Price reference, Price tick_size);

// What an API or metrics reader wants to know about one market. Cheap to build.
struct MarketStatus {
  MarketId market = 0;
  bool breakers_enabled = false;
  MarketState state = MarketState::kOpen;
  MarketTransitionReason reason = MarketTransitionReason::kNone;  // why it entered `state`
  std::int64_t state_entered_ms = 0;  // block time of the transition into `state`
  std::int64_t state_ends_ms = 0;     // when a limit state, pause or auction ends; 0 when open
  std::optional<Price> reference_price;
  std::optional<PriceBand> band;  // none while breakers are off or there is no reference yet
  std::optional<Price> last_trade_price;
  std::optional<Price> last_auction_price;  // clearing price of the last auction that traded
  Quantity last_auction_volume = 0;
  // Transitions since genesis, for metrics.
  std::uint64_t limit_states = 0;
  std::uint64_t limit_pauses = 0;  // pauses after a limit state timed out
  std::uint64_t velocity_pauses = 0;
  std::uint64_t auctions = 0;
  bool operator==(const MarketStatus&) const = default;
};

// The circuit-breaker state of one market. Every field is part of the state commitment and of
// snapshots (encode/decode) except the velocity range, which roll() derives from the buckets.
class MarketBreaker {
 public:
  MarketBreaker() = default;
  explicit MarketBreaker(const MarketSpec& spec);

  MarketState state() const { return state_; }
  // Continuous trading: open or limit state.
  bool trading() const {
    return state_ == MarketState::kOpen || state_ == MarketState::kLimitState;
  }
  std::int64_t state_ends_ms() const { return state_ends_ms_; }
  std::optional<Price> reference() const;
  // The band in force, if breakers are on and there is a reference.
  std::optional<PriceBand> band() const;
  MarketStatus status(MarketId market) const;

  // Brings the windows to block time `now_ms`: the reference becomes
  // the volume-weighted price of the reference window's trades (unchanged when there were none)
  // and the velocity range that of the velocity window. Returns whether committed state changed.
  bool roll(const MarketSpec& spec, std::int64_t now_ms);
  // A trade at `price` for `lots` lots at block time `now_ms` (the time of the last roll). The
  // first trade of a market without a reference sets the reference at once.
  void record_trade(const MarketSpec& spec, std::int64_t now_ms, Price price, Quantity lots);
  // Whether a fill at `price` keeps within the velocity limit (always, when the rule is off).
  bool velocity_allows(const MarketSpec& spec, Price price) const;
  const PriceRange& velocity_range() const { return velocity_range_; }

  // The reason for a limit state given the best prices, or kNone if no quote is at the band.
  MarketTransitionReason limit_condition(std::optional<Price> best_bid,
                                         std::optional<Price> best_ask) const;
  // Moves to `to` at `now_ms`, until the end the parameters give that state (none for open),
  // and counts it.
  void enter(const BreakerSpec& spec, MarketState to, MarketTransitionReason reason,
             std::int64_t now_ms);
  // After an auction: the windows restart from the clearing trade (done by record_trade), and
  // the reference is the clearing price, or, when nothing traded, the old reference moved into
  // the spread.
  void restart_after_auction(const MarketSpec& spec, const AuctionClearing& clearing,
                             std::optional<Price> best_bid, std::optional<Price> best_ask);
  void reset_windows();

  bool enabled() const { return enabled_; }

  // Canonical form: the digest input and the snapshot record.
  void encode(Encoder& out) const;
  static std::optional<MarketBreaker> decode(Decoder& in, const MarketSpec& spec);
  // Consistency of the fields with each other and with `spec`; empty when fine.
  std::string inconsistency(const MarketSpec& spec, std::int64_t now_ms) const;

 private:
  struct VolumeBucket {
    std::int64_t index = kNoBucket;  // block time / bucket width
    Wide lots = 0;
    Wide notional = 0;  // sum of price x lots
  };
  struct RangeBucket {
    std::int64_t index = kNoBucket;
    PriceRange range;
  };

  void set_reference(const MarketSpec& spec, Price reference);

  bool enabled_ = false;
  MarketState state_ = MarketState::kOpen;
  MarketTransitionReason reason_ = MarketTransitionReason::kNone;
  std::int64_t state_entered_ms_ = 0;
  std::int64_t state_ends_ms_ = 0;
  Price reference_ = 0;  // 0: none yet
  PriceBand band_;       // zero unless enabled_ and reference_ > 0
  Price last_trade_price_ = 0;
  Price last_auction_price_ = 0;
  Quantity last_auction_volume_ = 0;
  std::uint64_t limit_states_ = 0;
  std::uint64_t limit_pauses_ = 0;
  std::uint64_t velocity_pauses_ = 0;
  std::uint64_t auctions_ = 0;
  std::array<VolumeBucket, kWindowBuckets> volume_;
  std::array<RangeBucket, kWindowBuckets> ranges_;
  PriceRange velocity_range_;  // derived: the velocity window as of the last roll plus new trades
};

// The limits on the fills of one incoming order: its own price, the band (a buy never trades
// above it, a sell never below it) and the velocity rule. It follows the order's own fills as
// the market would (a first trade sets the band, every fill widens the velocity range), so a
// fill-or-kill check walks the book exactly as matching then does.
class FillGate {
 public:
  FillGate(const MarketBreaker& breaker, const MarketSpec& spec, Side side, Price limit);
  // Within the order's price and the band.
  bool price_allowed(Price maker_price) const;
  bool velocity_allows(Price maker_price) const;
  void filled(Price price);

 private:
  const MarketSpec& spec_;
  Side side_;
  Price limit_;
  bool enabled_;
  std::optional<PriceBand> band_;
  PriceRange range_;
};

}  // namespace ballast::exchange
