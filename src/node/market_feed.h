// Market data derived from executed blocks, for the API and the stream: the recent trades of
// each market and, while someone watches the books, a mirror of each book's price levels from
// which every block's changes (deltas with a per-market sequence number) are computed. Owned by
// the core thread; no locks, no I/O.
//
// Bounded: at most `max_trades_per_market` trades are kept per market (oldest dropped). It
// never reports a delta that, applied to its last snapshot or delta, would not reproduce the
// exchange's book.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "exchange/exchange.h"

namespace ballast::node {

struct Trade {
  std::uint64_t trade_id = 0;  // (height << 24) | index of the fill in its block: the same on
                               // every node, increasing in execution order
  exchange::Price price = 0;
  exchange::Quantity quantity = 0;
  exchange::Side taker_side = exchange::Side::kBuy;
  exchange::OrderId maker_order_id = 0;
  exchange::OrderId taker_order_id = 0;
  std::uint64_t height = 0;
  std::int64_t time_ms = 0;
};

// One side of a book, best price first.
struct BookSides {
  std::vector<exchange::BookLevel> bids;
  std::vector<exchange::BookLevel> asks;
};

// The levels of one market that changed in one block: each with its new total quantity and
// order count, quantity 0 meaning the level is gone.
struct BookDelta {
  exchange::MarketId market = 0;
  std::uint64_t sequence = 0;  // the sequence after applying this delta
  std::uint64_t height = 0;
  BookSides changed;
};

struct BookSnapshot {
  exchange::MarketId market = 0;
  std::uint64_t sequence = 0;
  std::uint64_t height = 0;
  BookSides book;
};

class MarketFeed {
 public:
  explicit MarketFeed(std::size_t markets, std::size_t max_trades_per_market = 1'000);

  // Records the block's fills as trades; returns them, per market, in execution order.
  std::vector<std::vector<Trade>> on_block(const exchange::BlockResult& result,
                                           std::int64_t time_ms);
  // The newest trades of a market, newest first.
  std::vector<Trade> recent_trades(exchange::MarketId market, std::size_t limit) const;
  // Trades seen by this process (since it started or last reset).
  std::uint64_t trade_count(exchange::MarketId market) const { return trade_counts_.at(market); }

  // Book mirroring. While inactive nothing is diffed; activating takes the current books.
  bool books_active() const { return books_active_; }
  void activate_books(const exchange::Exchange& exchange);
  void deactivate_books() { books_active_ = false; }
  // The exchange after a block: the deltas of the markets whose books changed (none while
  // inactive). The sequence of a market advances once per block that changed its book.
  std::vector<BookDelta> diff_books(const exchange::Exchange& exchange);
  // The mirrored book of a market (active only) with its sequence, to start a subscriber.
  BookSnapshot book_snapshot(exchange::MarketId market) const;
  // The state changed wholesale (a snapshot was installed): trades are forgotten and the books
  // taken again; every market's sequence advances so that old deltas never apply.
  void reset(const exchange::Exchange& exchange);

 private:
  void take_books(const exchange::Exchange& exchange);

  std::size_t max_trades_per_market_;
  std::vector<std::deque<Trade>> trades_;    // per market, oldest first
  std::vector<std::uint64_t> trade_counts_;  // per market
  bool books_active_ = false;
  std::uint64_t height_ = 0;
  std::vector<BookSides> books_;          // per market, when active
  std::vector<std::uint64_t> sequences_;  // per market
};

// The levels of `after` that differ from `before` (both best first, one side): changed or new
// levels with their new values, vanished ones with quantity 0. Ordered by price as the side is.
std::vector<exchange::BookLevel> diff_side(const std::vector<exchange::BookLevel>& before,
                                           const std::vector<exchange::BookLevel>& after,
                                           exchange::Side side);

}  // namespace ballast::node
