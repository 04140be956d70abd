#include "node/market_feed.h"

#include <limits>
#include <variant>

namespace ballast::node {

namespace {

constexpr std::size_t kWholeBook = std::numeric_limits<std::size_t>::max();
// Trade ids are (height << 24) | index of the fill in the block: the same on every node.
constexpr int kTradeIndexBits = 24;
constexpr std::uint64_t kTradesPerBlockBound = 1ull << kTradeIndexBits;

BookSides whole_book(const exchange::Exchange& exchange, exchange::MarketId market) {
  return {exchange.book(market, exchange::Side::kBuy, kWholeBook),
          exchange.book(market, exchange::Side::kSell, kWholeBook)};
}

}  // namespace

std::vector<exchange::BookLevel> diff_side(const std::vector<exchange::BookLevel>& before,
                                           const std::vector<exchange::BookLevel>& after,
                                           exchange::Side side) {
  // Best first: bids by falling price, asks by rising price.
  auto ahead = [side](exchange::Price a, exchange::Price b) {
    return side == exchange::Side::kBuy ? a > b : a < b;
  };
  std::vector<exchange::BookLevel> changed;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < before.size() || j < after.size()) {
    if (j == after.size() || (i < before.size() && ahead(before[i].price, after[j].price))) {
      changed.push_back({before[i].price, 0, 0});  // vanished
      ++i;
    } else if (i == before.size() || ahead(after[j].price, before[i].price)) {
      changed.push_back(after[j]);  // new
      ++j;
    } else {
      if (before[i] != after[j]) changed.push_back(after[j]);
      ++i;
      ++j;
    }
  }
  return changed;
}

MarketFeed::MarketFeed(std::size_t markets, std::size_t max_trades_per_market)
    : max_trades_per_market_(max_trades_per_market),
      trades_(markets),
      trade_counts_(markets, 0),
      books_(markets),
      sequences_(markets, 0) {
  BALLAST_ASSERT(max_trades_per_market_ > 0);
}

std::vector<std::vector<Trade>> MarketFeed::on_block(const exchange::BlockResult& result,
                                                     std::int64_t time_ms) {
  height_ = result.height;
  std::vector<std::vector<Trade>> block_trades(trades_.size());
  std::uint64_t index_in_block = 0;
  auto record = [&](const exchange::Event& event) {
    const auto* fill = std::get_if<exchange::OrderFilled>(&event);
    if (fill == nullptr) return;
    BALLAST_ASSERT(fill->market < trades_.size() && index_in_block < kTradesPerBlockBound);
    Trade trade{(result.height << kTradeIndexBits) | index_in_block++,
                fill->price,
                fill->quantity,
                fill->taker_side,
                fill->maker_order_id,
                fill->taker_order_id,
                result.height,
                time_ms};
    trade_counts_[fill->market] += 1;
    block_trades[fill->market].push_back(trade);
    std::deque<Trade>& kept = trades_[fill->market];
    kept.push_back(trade);
    if (kept.size() > max_trades_per_market_) kept.pop_front();
  };
  // The block's own fills (reopening auctions) happen at block start, before any transaction.
  for (const exchange::Event& event : result.block_events) record(event);
  for (const exchange::TxResult& tx : result.results) {
    for (const exchange::Event& event : tx.events) record(event);
  }
  return block_trades;
}

std::vector<Trade> MarketFeed::recent_trades(exchange::MarketId market, std::size_t limit) const {
  const std::deque<Trade>& kept = trades_.at(market);
  std::vector<Trade> newest;
  for (auto it = kept.rbegin(); it != kept.rend() && newest.size() < limit; ++it) {
    newest.push_back(*it);
  }
  return newest;
}

void MarketFeed::take_books(const exchange::Exchange& exchange) {
  for (exchange::MarketId market = 0; market < books_.size(); ++market) {
    books_[market] = whole_book(exchange, market);
  }
}

void MarketFeed::activate_books(const exchange::Exchange& exchange) {
  if (books_active_) return;
  take_books(exchange);
  height_ = exchange.height();
  books_active_ = true;
}

std::vector<BookDelta> MarketFeed::diff_books(const exchange::Exchange& exchange) {
  std::vector<BookDelta> deltas;
  if (!books_active_) return deltas;
  for (exchange::MarketId market = 0; market < books_.size(); ++market) {
    BookSides now = whole_book(exchange, market);
    BookDelta delta;
    delta.changed.bids = diff_side(books_[market].bids, now.bids, exchange::Side::kBuy);
    delta.changed.asks = diff_side(books_[market].asks, now.asks, exchange::Side::kSell);
    if (delta.changed.bids.empty() && delta.changed.asks.empty()) continue;
    delta.market = market;
    delta.sequence = ++sequences_[market];
    delta.height = exchange.height();
    books_[market] = std::move(now);
    deltas.push_back(std::move(delta));
  }
  return deltas;
}

BookSnapshot MarketFeed::book_snapshot(exchange::MarketId market) const {
  BALLAST_ASSERT(books_active_ && market < books_.size());
  return {market, sequences_[market], height_, books_[market]};
}

void MarketFeed::reset(const exchange::Exchange& exchange) {
  for (auto& kept : trades_) kept.clear();
  for (std::uint64_t& sequence : sequences_) sequence += 1;
  height_ = exchange.height();
  if (books_active_) take_books(exchange);
}

}  // namespace ballast::node
