// The JSON form of a signed transaction accepted by POST /v1/tx, beside the binary encoding:
// {"sender":"<hex key>","nonce":7,"fee":10,"expiry_height":1000,
//  "body":{"action":"place",...},"signature":"<hex>"}
// The body uses the symbols of docs/TRANSACTIONS.md; the signature is over the canonical
// encoding, so the JSON form is only a transport for the same signed bytes.
#pragma once

#include <nlohmann/json.hpp>

#include "exchange/genesis.h"
#include "exchange/transaction.h"

namespace ballast::node {

Result<exchange::Transaction> transaction_from_json(const nlohmann::json& object,
                                                    const exchange::Genesis& genesis);

// The canonical encoding from a request body in either form.
Result<Bytes> transaction_bytes_from_body(const std::string& body, bool is_json,
                                          const exchange::Genesis& genesis);

// A POST /v1/txs body: a JSON array of transaction objects, or binary: each transaction's
// encoding preceded by its length as 4 bytes little endian. The encodings are not decoded here
// (the verification workers do, per transaction).
Result<std::vector<Bytes>> transaction_batch_from_body(const std::string& body, bool is_json,
                                                       const exchange::Genesis& genesis,
                                                       std::size_t max_transactions);

}  // namespace ballast::node
