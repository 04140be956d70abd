#include "node/api_json.h"

#include <iterator>
#include <variant>

#include <fmt/format.h>

#include "exchange/json_codec.h"

namespace ballast::node {

using nlohmann::json;

namespace {

json levels_json(const std::vector<exchange::BookLevel>& levels) {
  json out = json::array();
  for (const exchange::BookLevel& level : levels) {
    out.push_back({level.price, level.quantity, level.orders});
  }
  return out;
}

json best_price(const exchange::Exchange& exchange, exchange::MarketId market,
                exchange::Side side) {
  std::vector<exchange::BookLevel> top = exchange.book(market, side, 1);
  return top.empty() ? json() : json(top.front().price);
}

// Writes `text` as a JSON string the way nlohmann::json does, if it is all ASCII; false for any
// other byte, which the caller leaves to the library's UTF-8 handling.
bool append_ascii_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) return false;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", byte);
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return true;
}

}  // namespace

std::vector<PublicKey> accounts_involved(const exchange::Event& event) {
  if (const auto* fill = std::get_if<exchange::OrderFilled>(&event)) {
    return {fill->maker, fill->taker};
  }
  if (const auto* cancel = std::get_if<exchange::OrderCancelled>(&event)) return {cancel->owner};
  if (const auto* transfer = std::get_if<exchange::Transferred>(&event)) {
    return {transfer->from, transfer->to};
  }
  return {};
}

json error_json(const Status& status) {
  return {{"status", "rejected"},
          {"code", status_code_name(status.code())},
          {"reason", status.reason()},
          {"message", status.message()}};
}

json rejection_json(const Status& status, const std::optional<Hash256>& id,
                    std::optional<std::uint64_t> fee_floor) {
  json body = error_json(status);
  if (fee_floor) body["fee_floor"] = *fee_floor;
  if (id) body["hash"] = id->hex();
  return body;
}

std::string accepted_text(const Hash256& id) {
  return R"({"hash":")" + id.hex() + R"(","status":"accepted"})";
}

// Keys in the order nlohmann::json writes them (sorted), so the text is the one a document of
// the same fields gives.
std::string rejection_text(const Status& status, const std::optional<Hash256>& id,
                           std::optional<std::uint64_t> fee_floor) {
  std::string out;
  out.reserve(160 + status.message().size());
  out += R"({"code":")";
  out += status_code_name(status.code());
  out += '"';
  if (fee_floor) fmt::format_to(std::back_inserter(out), R"(,"fee_floor":{})", *fee_floor);
  if (id) {
    out += R"(,"hash":")";
    out += id->hex();
    out += '"';
  }
  out += R"(,"message":)";
  bool ascii = append_ascii_json_string(out, status.message());
  out += R"(,"reason":)";
  ascii = ascii && append_ascii_json_string(out, status.reason());
  if (!ascii) {
    return rejection_json(status, id, fee_floor)
        .dump(-1, ' ', false, json::error_handler_t::replace);
  }
  out += R"(,"status":"rejected"})";
  return out;
}

std::string results_text(const std::vector<std::string>& results) {
  std::size_t size = 16;
  for (const std::string& result : results) size += result.size() + 1;
  std::string out;
  out.reserve(size);
  out += R"({"results":[)";
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i > 0) out += ',';
    out += results[i];
  }
  out += "]}";
  return out;
}

json status_json(const CoreStatus& status) {
  json out = {{"validator_index", status.validator_index},
              {"height", status.height},
              {"view", status.view},
              {"leader", status.leader},
              {"state_root", status.state_root},
              {"block_hash", status.block_hash},
              {"peers_connected", status.peers_connected},
              {"mempool_transactions", status.mempool_transactions},
              {"mempool_bytes", status.mempool_bytes},
              {"inbox_queued", status.inbox_queued},
              {"inbox_dropped", status.inbox_dropped},
              {"gossip_missing", status.gossip_missing},
              {"mempool_holds", status.mempool_holds},
              {"views_nullified", status.views_nullified},
              {"transactions_finalized", status.transactions_finalized},
              {"bad_peer_messages", status.bad_peer_messages},
              {"sync", status.sync_state},
              {"snapshot_height", status.snapshot_height},
              {"evidence", status.evidence},
              {"finality_waiters", status.finality_waiters},
              {"stream_sessions", status.stream_sessions},
              {"journaled_transactions", status.journaled_transactions}};
  out["divergence"] = status.divergence ? json(*status.divergence) : json();
  out["evidence_dropped"] = status.evidence_dropped;
  out["evidence_against"] = json::array();
  for (const EvidenceAgainst& against : status.evidence_against) {
    out["evidence_against"].push_back({{"validator", against.validator},
                                       {"proofs", against.proofs},
                                       {"first_view", against.first_view},
                                       {"last_view", against.last_view},
                                       {"last_kind", against.last_kind}});
  }
  out["byzantine"] = status.byzantine;
  return out;
}

json ingress_json(const IngressStats& stats) {
  const BreakerState& breaker = stats.breaker;
  return {{"state", breaker.tripped ? "tripped" : "open"},
          {"fee_floor", breaker.fee_floor},
          {"arrival_per_s", breaker.arrival_per_s},
          {"baseline_per_s", breaker.baseline_per_s},
          {"threshold_per_s", breaker.threshold_per_s},
          {"trips", breaker.trips},
          {"relearned", breaker.relearned},
          {"refused",
           {{"connection", stats.refused_connection},
            {"account", stats.refused_account},
            {"breaker", stats.refused_breaker}}},
          {"connections_tracked", stats.connections_tracked},
          {"accounts_tracked", stats.accounts_tracked}};
}

json tx_record_json(const Hash256& id, const TxRecord& record, const exchange::Genesis& genesis) {
  json out = {{"hash", id.hex()}, {"status", tx_state_name(record.state)}};
  switch (record.state) {
    case TxState::kPending:
      break;
    case TxState::kFinalized:
      out["height"] = record.height;
      out["block_time_ms"] = record.block_time_ms;
      out["position"] = record.position;
      out["result"] = exchange::result_to_json(*record.result, genesis);
      break;
    case TxState::kDropped:
      out["reason"] = record.drop_reason;
      break;
  }
  return out;
}

json markets_json(const exchange::Exchange& exchange) {
  const exchange::Genesis& genesis = exchange.genesis();
  json markets = json::array();
  for (exchange::MarketId id = 0; id < genesis.markets.size(); ++id) {
    const exchange::MarketSpec& spec = genesis.markets[id];
    json market = {{"symbol", spec.symbol},
                   {"id", id},
                   {"base", genesis.assets[spec.base].symbol},
                   {"quote", genesis.assets[spec.quote].symbol},
                   {"tick_size", spec.tick_size},
                   {"lot_size", spec.lot_size},
                   {"min_size", spec.min_size},
                   {"maker_fee_bps", spec.maker_fee_bps},
                   {"taker_fee_bps", spec.taker_fee_bps},
                   {"best_bid", best_price(exchange, id, exchange::Side::kBuy)},
                   {"best_ask", best_price(exchange, id, exchange::Side::kSell)}};
    json status = exchange::market_status_to_json(exchange.market_status(id), genesis);
    status.erase("market");
    market["trading"] = std::move(status);
    markets.push_back(std::move(market));
  }
  return {{"height", exchange.height()}, {"markets", std::move(markets)}};
}

json book_json(const exchange::Exchange& exchange, exchange::MarketId market, std::size_t depth) {
  return {{"market", exchange.genesis().markets[market].symbol},
          {"height", exchange.height()},
          {"bids", levels_json(exchange.book(market, exchange::Side::kBuy, depth))},
          {"asks", levels_json(exchange.book(market, exchange::Side::kSell, depth))}};
}

json trade_json(const Trade& trade) {
  return {{"trade_id", trade.trade_id},
          {"price", trade.price},
          {"quantity", trade.quantity},
          {"taker_side", exchange::side_name(trade.taker_side)},
          {"maker_order_id", trade.maker_order_id},
          {"taker_order_id", trade.taker_order_id},
          {"height", trade.height},
          {"time_ms", trade.time_ms}};
}

json trades_json(const exchange::Genesis& genesis, exchange::MarketId market, std::uint64_t height,
                 const std::vector<Trade>& trades) {
  json list = json::array();
  for (const Trade& trade : trades) list.push_back(trade_json(trade));
  return {{"channel", "trades"},
          {"market", genesis.markets[market].symbol},
          {"height", height},
          {"trades", std::move(list)}};
}

json account_json(const exchange::AccountView& account,
                  const std::vector<exchange::OpenOrder>& open_orders,
                  const exchange::Genesis& genesis) {
  json balances = json::object();
  for (std::size_t asset = 0; asset < account.balances.size(); ++asset) {
    const exchange::Balance& balance = account.balances[asset];
    if (balance.available == 0 && balance.locked == 0) continue;
    balances[genesis.assets[asset].symbol] = {{"available", balance.available},
                                              {"locked", balance.locked}};
  }
  json orders = json::array();
  for (const exchange::OpenOrder& order : open_orders) {
    orders.push_back({{"order_id", order.id},
                      {"client_order_id", order.client_order_id},
                      {"market", genesis.markets[order.market].symbol},
                      {"side", exchange::side_name(order.side)},
                      {"price", order.price},
                      {"remaining", order.remaining},
                      {"post_only", order.post_only}});
  }
  return {{"account", account.key.hex()},
          {"nonce", account.nonce},
          {"balances", std::move(balances)},
          {"open_orders", std::move(orders)}};
}

json block_json(const consensus::FinalizedEntry& entry, const std::optional<Hash256>& root_after) {
  const consensus::Block& block = entry.block;
  json transactions = json::array();
  for (const Bytes& bytes : block.transactions) transactions.push_back(sha256(bytes).hex());
  json signers = json::array();
  for (const consensus::SignatureShare& share : entry.finalization.signatures) {
    signers.push_back(share.signer);
  }
  return {{"height", block.height},
          {"hash", block.hash().hex()},
          {"view", block.view},
          {"parent", block.parent.hex()},
          {"parent_view", block.parent_view},
          {"proposer", block.proposer},
          {"timestamp_ms", block.timestamp_ms},
          {"state_root_height", block.state_root_height},
          {"state_root", block.state_root.hex()},
          {"state_root_after", root_after ? json(root_after->hex()) : json()},
          {"transactions", std::move(transactions)},
          {"finalization",
           {{"block", entry.finalization.block.hex()},
            {"view", entry.finalization.view},
            {"signers", std::move(signers)}}}};
}

json block_notice_json(const consensus::Block& block, const Hash256& hash,
                       const exchange::BlockResult& result) {
  json transactions = json::array();
  for (const exchange::TxResult& tx : result.results) {
    json entry = {{"hash", tx.tx_id.hex()}, {"accepted", tx.accepted()}};
    if (!tx.accepted()) entry["reject"] = exchange::reject_code_name(tx.reject);
    transactions.push_back(std::move(entry));
  }
  return {{"channel", "blocks"},
          {"height", block.height},
          {"hash", hash.hex()},
          {"view", block.view},
          {"proposer", block.proposer},
          {"time_ms", block.timestamp_ms},
          {"state_root", result.state_root.hex()},
          {"transactions", std::move(transactions)}};
}

json book_snapshot_json(const exchange::Genesis& genesis, const BookSnapshot& snapshot) {
  return {{"channel", "book"},
          {"type", "snapshot"},
          {"market", genesis.markets[snapshot.market].symbol},
          {"sequence", snapshot.sequence},
          {"height", snapshot.height},
          {"bids", levels_json(snapshot.book.bids)},
          {"asks", levels_json(snapshot.book.asks)}};
}

json book_delta_json(const exchange::Genesis& genesis, const BookDelta& delta) {
  return {{"channel", "book"},
          {"type", "delta"},
          {"market", genesis.markets[delta.market].symbol},
          {"sequence", delta.sequence},
          {"height", delta.height},
          {"bids", levels_json(delta.changed.bids)},
          {"asks", levels_json(delta.changed.asks)}};
}

}  // namespace ballast::node
