#include "exchange/breakers.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace ballast::exchange {
namespace {

constexpr Price kMaxPrice = std::numeric_limits<Price>::max();
// Window sums stay far below this (it would take ~2^37 trades of the largest notional in one
// bucket); the bound keeps every product of the rounding below inside 128 bits.
constexpr Wide kMaxWindowSum = Wide{1} << 100;

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<std::int64_t>::max() : sum;
}

Price floor_to_tick(Wide price, Price tick) {
  Wide floored = price / tick * tick;
  Wide highest = kMaxPrice / tick * tick;
  return static_cast<Price>(std::min(floored, highest));
}

Price ceil_to_tick(Wide price, Price tick) {
  return static_cast<Price>((price + tick - 1) / tick * tick);
}

std::int64_t bucket_width_ms(std::int64_t window_ms) {
  return window_ms / kWindowBuckets;
}

void encode_wide(Encoder& out, Wide value) {
  out.varint(static_cast<std::uint64_t>(value >> 64));
  out.varint(static_cast<std::uint64_t>(value));
}

Wide decode_wide(Decoder& in, const char* what) {
  Wide high =
      static_cast<Wide>(in.varint_at_most(static_cast<std::uint64_t>(kMaxWindowSum >> 64), what));
  Wide low = static_cast<Wide>(in.varint());
  return (high << 64) | low;
}

std::int64_t decode_time(Decoder& in, const char* what) {
  return static_cast<std::int64_t>(in.varint_at_most(INT64_MAX, what));
}

std::int64_t decode_bucket_index(Decoder& in) {
  return static_cast<std::int64_t>(in.varint_at_most(INT64_MAX, "bucket index")) - 1;
}

// One candidate of the auction: a price range on which demand and supply are constant.
struct Candidate {
  Price low = 0;
  Price high = 0;
  Wide demand = 0;
  Wide supply = 0;
};

struct Ranked {
  Wide volume = -1;
  Wide imbalance = 0;
  Wide distance = 0;
  Price price = 0;
};

Ranked rank(const Candidate& candidate, Price reference) {
  Ranked ranked;
  ranked.volume = std::min(candidate.demand, candidate.supply);
  ranked.imbalance = candidate.demand > candidate.supply ? candidate.demand - candidate.supply
                                                         : candidate.supply - candidate.demand;
  ranked.price = std::clamp(reference, candidate.low, candidate.high);
  ranked.distance =
      ranked.price > reference ? Wide{ranked.price} - reference : Wide{reference} - ranked.price;
  return ranked;
}

bool better(const Ranked& a, const Ranked& b) {
  if (a.volume != b.volume) return a.volume > b.volume;
  if (a.imbalance != b.imbalance) return a.imbalance < b.imbalance;
  if (a.distance != b.distance) return a.distance < b.distance;
  return a.price < b.price;
}

}  // namespace

PriceBand band_around(Price reference, std::int64_t band_bps, Price tick_size) {
  BALLAST_ASSERT(reference > 0 && tick_size > 0 && reference % tick_size == 0);
  BALLAST_ASSERT(band_bps > 0 && band_bps < kBasisPointsPerUnit);
  Wide up = Wide{reference} * (kBasisPointsPerUnit + band_bps) / kBasisPointsPerUnit;
  Wide down = (Wide{reference} * (kBasisPointsPerUnit - band_bps) + kBasisPointsPerUnit - 1) /
              kBasisPointsPerUnit;
  PriceBand band;
  band.high =
      std::max(floor_to_tick(up, tick_size), floor_to_tick(Wide{reference} + tick_size, tick_size));
  band.low = std::max(std::min(ceil_to_tick(down, tick_size), reference - tick_size), tick_size);
  BALLAST_ASSERT(band.low <= reference && reference <= band.high);
  return band;
}

void PriceRange::add(Price price) {
  BALLAST_ASSERT(price > 0);
  if (empty()) {
    low = high = price;
    return;
  }
  low = std::min(low, price);
  high = std::max(high, price);
}

void PriceRange::merge(const PriceRange& other) {
  if (other.empty()) return;
  add(other.low);
  add(other.high);
}

bool PriceRange::within(Price price, std::int64_t bps) const {
  if (empty()) return true;
  Wide scaled = Wide{price} * kBasisPointsPerUnit;
  return scaled <= Wide{low} * (kBasisPointsPerUnit + bps) &&
         scaled >= Wide{high} * (kBasisPointsPerUnit - bps);
}

AuctionClearing clear_auction(std::span<const BookLevel> bids, std::span<const BookLevel> asks,
                              Price reference, Price tick_size) {
  if (bids.empty() || asks.empty() || bids.front().price < asks.front().price) return {};
  // Only prices between the best ask and the best bid can trade anything.
  const Price lowest = asks.front().price;
  const Price highest = bids.front().price;
  std::vector<Price> prices;
  for (const BookLevel& level : bids) {
    if (level.price < lowest) break;
    prices.push_back(level.price);
  }
  for (const BookLevel& level : asks) {
    if (level.price > highest) break;
    prices.push_back(level.price);
  }
  std::sort(prices.begin(), prices.end());
  prices.erase(std::unique(prices.begin(), prices.end()), prices.end());

  // supply[i]: asks at or below prices[i]; demand[i]: bids at or above prices[i].
  const std::size_t count = prices.size();
  std::vector<Wide> supply(count), demand(count);
  Wide total = 0;
  std::size_t next = 0;
  for (std::size_t i = 0; i < count; ++i) {
    for (; next < asks.size() && asks[next].price <= prices[i]; ++next)
      total += asks[next].quantity;
    supply[i] = total;
  }
  total = 0;
  next = 0;
  for (std::size_t i = count; i-- > 0;) {
    for (; next < bids.size() && bids[next].price >= prices[i]; ++next)
      total += bids[next].quantity;
    demand[i] = total;
  }

  // Each level price is a candidate, and so is each gap between two levels: strictly inside a
  // gap, demand is that of the level above and supply that of the level below, which can
  // balance better than either end.
  Ranked best;
  auto consider = [&](const Candidate& candidate) {
    Ranked ranked = rank(candidate, reference);
    if (best.volume < 0 || better(ranked, best)) best = ranked;
  };
  for (std::size_t i = 0; i < count; ++i) {
    consider({prices[i], prices[i], demand[i], supply[i]});
    if (i + 1 < count && prices[i + 1] - prices[i] > tick_size) {
      consider({prices[i] + tick_size, prices[i + 1] - tick_size, demand[i + 1], supply[i]});
    }
  }
  BALLAST_ASSERT(best.volume > 0 && best.volume <= kMaxPrice);
  return AuctionClearing{best.price, static_cast<Quantity>(best.volume), best.imbalance};
}

namespace {

bool reason_fits(MarketState state, MarketTransitionReason reason) {
  using R = MarketTransitionReason;
  switch (state) {
    case MarketState::kOpen:
      return reason == R::kNone || reason == R::kLimitStateCleared ||
             reason == R::kAuctionCompleted;
    case MarketState::kLimitState:
      return reason == R::kBidAtUpperBand || reason == R::kAskAtLowerBand;
    case MarketState::kPaused:
      return reason == R::kLimitStateTimeout || reason == R::kVelocity;
    case MarketState::kAuction:
      return reason == R::kPauseEnded;
  }
  return false;
}

std::int64_t duration_of(const BreakerSpec& spec, MarketState state,
                         MarketTransitionReason reason) {
  switch (state) {
    case MarketState::kLimitState:
      return spec.limit_state_ms;
    case MarketState::kPaused:
      return reason == MarketTransitionReason::kVelocity ? spec.velocity_pause_ms : spec.pause_ms;
    case MarketState::kAuction:
      return spec.auction_ms;
    case MarketState::kOpen:
      break;
  }
  return 0;
}

}  // namespace

// --- MarketBreaker ---------------------------------------------------------------------------

MarketBreaker::MarketBreaker(const MarketSpec& spec) : enabled_(spec.breakers.enabled) {
  if (spec.breakers.reference_price > 0) set_reference(spec, spec.breakers.reference_price);
}

std::optional<Price> MarketBreaker::reference() const {
  if (reference_ == 0) return std::nullopt;
  return reference_;
}

std::optional<PriceBand> MarketBreaker::band() const {
  if (!enabled_ || reference_ == 0) return std::nullopt;
  return band_;
}

void MarketBreaker::set_reference(const MarketSpec& spec, Price reference) {
  reference_ = reference;
  if (enabled_) band_ = band_around(reference, spec.breakers.band_bps, spec.tick_size);
}

bool MarketBreaker::roll(const MarketSpec& spec, std::int64_t now_ms) {
  const std::int64_t index = now_ms / bucket_width_ms(spec.breakers.reference_window_ms);
  Wide lots = 0;
  Wide notional = 0;
  for (const VolumeBucket& bucket : volume_) {
    if (bucket.index != kNoBucket && bucket.index > index - kWindowBuckets) {
      BALLAST_ASSERT(bucket.index <= index);
      lots += bucket.lots;
      notional += bucket.notional;
    }
  }
  const std::int64_t velocity_index = now_ms / bucket_width_ms(spec.breakers.velocity_window_ms);
  velocity_range_ = {};
  for (const RangeBucket& bucket : ranges_) {
    if (bucket.index != kNoBucket && bucket.index > velocity_index - kWindowBuckets) {
      velocity_range_.merge(bucket.range);
    }
  }
  if (lots == 0) return false;
  // The volume-weighted price, to the nearest tick (halves up).
  const Wide tick_lots = lots * spec.tick_size;
  const Wide ticks = (2 * notional + tick_lots) / (2 * tick_lots);
  const Price reference = static_cast<Price>(std::max<Wide>(ticks, 1) * spec.tick_size);
  if (reference == reference_) return false;
  set_reference(spec, reference);
  return true;
}

void MarketBreaker::record_trade(const MarketSpec& spec, std::int64_t now_ms, Price price,
                                 Quantity lots) {
  BALLAST_ASSERT(price > 0 && lots > 0 && now_ms >= 0);
  last_trade_price_ = price;
  if (reference_ == 0) set_reference(spec, price);
  const std::int64_t index = now_ms / bucket_width_ms(spec.breakers.reference_window_ms);
  VolumeBucket& volume = volume_[static_cast<std::size_t>(index % kWindowBuckets)];
  if (volume.index != index) volume = VolumeBucket{index, 0, 0};
  volume.lots += lots;
  volume.notional += Wide{price} * lots;
  BALLAST_ASSERT_MSG(volume.notional < kMaxWindowSum, "reference window sum overflow");
  const std::int64_t velocity_index = now_ms / bucket_width_ms(spec.breakers.velocity_window_ms);
  RangeBucket& range = ranges_[static_cast<std::size_t>(velocity_index % kWindowBuckets)];
  if (range.index != velocity_index) range = RangeBucket{velocity_index, {}};
  range.range.add(price);
  velocity_range_.add(price);
}

bool MarketBreaker::velocity_allows(const MarketSpec& spec, Price price) const {
  if (!enabled_ || spec.breakers.velocity_bps == 0) return true;
  return velocity_range_.within(price, spec.breakers.velocity_bps);
}

MarketTransitionReason MarketBreaker::limit_condition(std::optional<Price> best_bid,
                                                      std::optional<Price> best_ask) const {
  std::optional<PriceBand> current = band();
  if (!current) return MarketTransitionReason::kNone;
  if (best_bid && *best_bid >= current->high) return MarketTransitionReason::kBidAtUpperBand;
  if (best_ask && *best_ask <= current->low) return MarketTransitionReason::kAskAtLowerBand;
  return MarketTransitionReason::kNone;
}

void MarketBreaker::enter(const BreakerSpec& spec, MarketState to, MarketTransitionReason reason,
                          std::int64_t now_ms) {
  BALLAST_ASSERT(enabled_ && to != state_ && reason_fits(to, reason));
  state_ = to;
  reason_ = reason;
  state_entered_ms_ = now_ms;
  state_ends_ms_ =
      to == MarketState::kOpen ? 0 : saturating_add(now_ms, duration_of(spec, to, reason));
  if (to == MarketState::kLimitState) limit_states_ += 1;
  if (reason == MarketTransitionReason::kLimitStateTimeout) limit_pauses_ += 1;
  if (reason == MarketTransitionReason::kVelocity) velocity_pauses_ += 1;
  if (reason == MarketTransitionReason::kAuctionCompleted) auctions_ += 1;
}

void MarketBreaker::reset_windows() {
  volume_.fill(VolumeBucket{});
  ranges_.fill(RangeBucket{});
  velocity_range_ = {};
}

void MarketBreaker::restart_after_auction(const MarketSpec& spec, const AuctionClearing& clearing,
                                          std::optional<Price> best_bid,
                                          std::optional<Price> best_ask) {
  BALLAST_ASSERT(reference_ > 0);
  if (clearing.volume > 0) {
    last_auction_price_ = clearing.price;
    last_auction_volume_ = clearing.volume;
    set_reference(spec, clearing.price);
    return;
  }
  // Nothing crossed: the old reference, moved into the spread, so the band follows the book
  // rather than pausing the market again and again at a level nobody quotes.
  Price reference = reference_;
  if (best_bid && reference < *best_bid) reference = *best_bid;
  if (best_ask && reference > *best_ask) reference = *best_ask;
  set_reference(spec, reference);
}

MarketStatus MarketBreaker::status(MarketId market) const {
  MarketStatus status;
  status.market = market;
  status.breakers_enabled = enabled_;
  status.state = state_;
  status.reason = reason_;
  status.state_entered_ms = state_entered_ms_;
  status.state_ends_ms = state_ends_ms_;
  status.reference_price = reference();
  status.band = band();
  if (last_trade_price_ > 0) status.last_trade_price = last_trade_price_;
  if (last_auction_price_ > 0) status.last_auction_price = last_auction_price_;
  status.last_auction_volume = last_auction_volume_;
  status.limit_states = limit_states_;
  status.limit_pauses = limit_pauses_;
  status.velocity_pauses = velocity_pauses_;
  status.auctions = auctions_;
  return status;
}

// --- FillGate -------------------------------------------------------------------------------

FillGate::FillGate(const MarketBreaker& breaker, const MarketSpec& spec, Side side, Price limit)
    : spec_(spec),
      side_(side),
      limit_(limit),
      enabled_(breaker.enabled()),
      band_(breaker.band()),
      range_(breaker.velocity_range()) {}

bool FillGate::price_allowed(Price maker_price) const {
  if (side_ == Side::kBuy) {
    return maker_price <= limit_ && (!band_ || maker_price <= band_->high);
  }
  return maker_price >= limit_ && (!band_ || maker_price >= band_->low);
}

bool FillGate::velocity_allows(Price maker_price) const {
  if (!enabled_ || spec_.breakers.velocity_bps == 0) return true;
  return range_.within(maker_price, spec_.breakers.velocity_bps);
}

void FillGate::filled(Price price) {
  range_.add(price);
  if (enabled_ && !band_) band_ = band_around(price, spec_.breakers.band_bps, spec_.tick_size);
}

// --- canonical form --------------------------------------------------------------------------

void MarketBreaker::encode(Encoder& out) const {
  out.u8(static_cast<std::uint8_t>(state_));
  out.u8(static_cast<std::uint8_t>(reason_));
  for (std::int64_t value : {state_entered_ms_, state_ends_ms_, reference_, band_.low, band_.high,
                             last_trade_price_, last_auction_price_, last_auction_volume_}) {
    out.varint(static_cast<std::uint64_t>(value));
  }
  for (std::uint64_t count : {limit_states_, limit_pauses_, velocity_pauses_, auctions_}) {
    out.varint(count);
  }
  for (const VolumeBucket& bucket : volume_) {
    out.varint(static_cast<std::uint64_t>(bucket.index + 1));
    encode_wide(out, bucket.lots);
    encode_wide(out, bucket.notional);
  }
  for (const RangeBucket& bucket : ranges_) {
    out.varint(static_cast<std::uint64_t>(bucket.index + 1));
    out.varint(static_cast<std::uint64_t>(bucket.range.low));
    out.varint(static_cast<std::uint64_t>(bucket.range.high));
  }
}

std::optional<MarketBreaker> MarketBreaker::decode(Decoder& in, const MarketSpec& spec) {
  MarketBreaker breaker(spec);
  const std::uint8_t state = in.u8();
  const std::uint8_t reason = in.u8();
  if (state > kMaxMarketState || reason > kMaxMarketTransitionReason) {
    in.fail("unknown market state or transition reason");
    return std::nullopt;
  }
  breaker.state_ = static_cast<MarketState>(state);
  breaker.reason_ = static_cast<MarketTransitionReason>(reason);
  breaker.state_entered_ms_ = decode_time(in, "state entered time");
  breaker.state_ends_ms_ = decode_time(in, "state end time");
  breaker.reference_ = decode_time(in, "reference price");
  breaker.band_.low = decode_time(in, "band low");
  breaker.band_.high = decode_time(in, "band high");
  breaker.last_trade_price_ = decode_time(in, "last trade price");
  breaker.last_auction_price_ = decode_time(in, "last auction price");
  breaker.last_auction_volume_ = decode_time(in, "last auction volume");
  breaker.limit_states_ = in.varint();
  breaker.limit_pauses_ = in.varint();
  breaker.velocity_pauses_ = in.varint();
  breaker.auctions_ = in.varint();
  for (VolumeBucket& bucket : breaker.volume_) {
    bucket.index = decode_bucket_index(in);
    bucket.lots = decode_wide(in, "window lots");
    bucket.notional = decode_wide(in, "window notional");
  }
  for (RangeBucket& bucket : breaker.ranges_) {
    bucket.index = decode_bucket_index(in);
    bucket.range.low = decode_time(in, "range low");
    bucket.range.high = decode_time(in, "range high");
  }
  if (!in.ok()) return std::nullopt;
  return breaker;
}

std::string MarketBreaker::inconsistency(const MarketSpec& spec, std::int64_t now_ms) const {
  if (!reason_fits(state_, reason_)) return "transition reason does not fit the state";
  if (!enabled_ && (state_ != MarketState::kOpen || reason_ != MarketTransitionReason::kNone ||
                    band_ != PriceBand{})) {
    return "breakers are off but the market has left the open state or has a band";
  }
  if (state_entered_ms_ > now_ms) return "state entered after the last block";
  const std::int64_t expected_end =
      state_ == MarketState::kOpen
          ? 0
          : saturating_add(state_entered_ms_, duration_of(spec.breakers, state_, reason_));
  if (state_ends_ms_ != expected_end) return "state end time does not follow from the state";
  if (reference_ < 0 || reference_ % spec.tick_size != 0) return "reference off the tick grid";
  if (state_ != MarketState::kOpen && reference_ == 0) return "breaker tripped without a reference";
  PriceBand expected_band;
  if (enabled_ && reference_ > 0) {
    expected_band = band_around(reference_, spec.breakers.band_bps, spec.tick_size);
  }
  if (band_ != expected_band) return "band does not follow from the reference";
  const std::int64_t index = now_ms / bucket_width_ms(spec.breakers.reference_window_ms);
  for (std::size_t slot = 0; slot < volume_.size(); ++slot) {
    const VolumeBucket& bucket = volume_[slot];
    if (bucket.index == kNoBucket) {
      if (bucket.lots != 0 || bucket.notional != 0) return "unused bucket holds trades";
      continue;
    }
    if (bucket.index < 0 || bucket.index > index ||
        static_cast<std::size_t>(bucket.index % kWindowBuckets) != slot) {
      return "reference bucket out of place";
    }
    if (bucket.lots <= 0 || bucket.notional < bucket.lots * spec.tick_size) {
      return "reference bucket sums are inconsistent";
    }
  }
  const std::int64_t velocity_index = now_ms / bucket_width_ms(spec.breakers.velocity_window_ms);
  for (std::size_t slot = 0; slot < ranges_.size(); ++slot) {
    const RangeBucket& bucket = ranges_[slot];
    if (bucket.index == kNoBucket) {
      if (!bucket.range.empty() || bucket.range.low != 0) return "unused bucket holds prices";
      continue;
    }
    if (bucket.index < 0 || bucket.index > velocity_index ||
        static_cast<std::size_t>(bucket.index % kWindowBuckets) != slot) {
      return "velocity bucket out of place";
    }
    if (bucket.range.low <= 0 || bucket.range.low > bucket.range.high) {
      return "velocity bucket range is inconsistent";
    }
  }
  return {};
}

}  // namespace ballast::exchange
