// The JSON the API and the stream speak: one function per kind of answer, so every endpoint
// and every stream message renders a thing the same way. docs/API.md is the reference.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "consensus/interfaces.h"
#include "exchange/exchange.h"
#include "node/core.h"
#include "node/ingress_guard.h"
#include "node/market_feed.h"
#include "node/tx_tracker.h"

namespace ballast::node {

// Every account an event touches (maker and taker, owner, sender and recipient).
std::vector<PublicKey> accounts_involved(const exchange::Event& event);

// An error answer: {"status":"rejected","code":..,"reason":..,"message":..}.
nlohmann::json error_json(const Status& status);
// A refused transaction's answer: error_json(status) with its hash if it has one and, for an
// ingress refusal, the fee floor.
nlohmann::json rejection_json(const Status& status, const std::optional<Hash256>& id,
                              std::optional<std::uint64_t> fee_floor = std::nullopt);

// The answers to each transaction of POST /v1/txs, as JSON text: the same objects as
// {"status":"accepted","hash":..} and rejection_json, written without building a JSON document:
// a flood's refusals are most of what a node answers during one, and building, dumping and
// freeing a document each was a third of the I/O threads' time in a profile of flood-100x
// (docs/CHAOS.md).
std::string accepted_text(const Hash256& id);
std::string rejection_text(const Status& status, const std::optional<Hash256>& id,
                           std::optional<std::uint64_t> fee_floor = std::nullopt);
// {"results":[...]} around those answers.
std::string results_text(const std::vector<std::string>& results);

nlohmann::json status_json(const CoreStatus& status);
// The "ingress" object of GET /v1/status: the breaker's state and the refusals so far.
nlohmann::json ingress_json(const IngressStats& stats);
nlohmann::json tx_record_json(const Hash256& id, const TxRecord& record,
                              const exchange::Genesis& genesis);
// Parameters, best prices and the circuit-breaker status (docs/CIRCUIT_BREAKERS.md) per market.
nlohmann::json markets_json(const exchange::Exchange& exchange);
nlohmann::json book_json(const exchange::Exchange& exchange, exchange::MarketId market,
                         std::size_t depth);
nlohmann::json trade_json(const Trade& trade);
nlohmann::json trades_json(const exchange::Genesis& genesis, exchange::MarketId market,
                           std::uint64_t height, const std::vector<Trade>& trades);
nlohmann::json account_json(const exchange::AccountView& account,
                            const std::vector<exchange::OpenOrder>& open_orders,
                            const exchange::Genesis& genesis);
// GET /v1/blocks/{height}: the block, who finalized it, the root after it if known.
nlohmann::json block_json(const consensus::FinalizedEntry& entry,
                          const std::optional<Hash256>& root_after);

// Stream messages.
nlohmann::json block_notice_json(const consensus::Block& block, const Hash256& hash,
                                 const exchange::BlockResult& result);
nlohmann::json book_snapshot_json(const exchange::Genesis& genesis, const BookSnapshot& snapshot);
nlohmann::json book_delta_json(const exchange::Genesis& genesis, const BookDelta& delta);

}  // namespace ballast::node
