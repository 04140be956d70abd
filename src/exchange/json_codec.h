// JSON forms of transaction bodies, events and results, using symbols (market "BTC-USD",
// asset "USD") instead of numeric ids. Shared by the CLI, the order replay format and the API;
// docs/TRANSACTIONS.md is the reference.
#pragma once

#include <nlohmann/json.hpp>

#include "exchange/breakers.h"
#include "exchange/events.h"
#include "exchange/genesis.h"
#include "exchange/transaction.h"

namespace ballast::exchange {

// Parses the body of a transaction from an object such as
// {"action":"place","market":"BTC-USD","side":"buy","price":5000000,"quantity":1000}.
// `resolve_account` turns a recipient name or hex key into a public key.
Result<TransactionBody> body_from_json(
    const nlohmann::json& object, const Genesis& genesis,
    const std::function<Result<AccountId>(const std::string&)>& resolve_account);

// An optional integer field as every integer of these forms: a JSON integer or a decimal string
// from 0 to 2^63-1; nothing when absent, an error naming the field when anything else.
Result<std::optional<std::int64_t>> optional_integer_field(const nlohmann::json& object,
                                                           const char* name);

nlohmann::json event_to_json(const Event& event, const Genesis& genesis);
nlohmann::json result_to_json(const TxResult& result, const Genesis& genesis);
// A market state change, e.g. {"event":"market_state","market":"BTC-USD","from":"auction",
// "to":"open","reason":"auction_completed",...}.
nlohmann::json market_event_to_json(const MarketEvent& event, const Genesis& genesis);
// The circuit-breaker status of a market, for the API.
nlohmann::json market_status_to_json(const MarketStatus& status, const Genesis& genesis);

}  // namespace ballast::exchange
