#include "node/transaction_json.h"

#include <limits>
#include <set>

#include "exchange/json_codec.h"

namespace ballast::node {

namespace {

using Json = nlohmann::json;

Result<std::uint64_t> unsigned_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_unsigned()) {
    return invalid_argument(std::string("\"") + name + "\" must be a non-negative integer");
  }
  return it->get<std::uint64_t>();
}

Result<std::string> text_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return invalid_argument(std::string("\"") + name + "\" must be a string");
  }
  return it->get<std::string>();
}

}  // namespace

Result<exchange::Transaction> transaction_from_json(const Json& object,
                                                    const exchange::Genesis& genesis) {
  if (!object.is_object()) return invalid_argument("a transaction must be a JSON object");
  for (const auto& [key, value] : object.items()) {
    static const std::set<std::string> kKnown = {"sender",        "nonce", "fee",
                                                 "expiry_height", "body",  "signature"};
    if (!kKnown.contains(key)) return invalid_argument("unknown field \"" + key + "\"");
  }
  exchange::Transaction tx;
  BALLAST_ASSIGN_OR_RETURN(std::string sender, text_field(object, "sender"));
  BALLAST_ASSIGN_OR_RETURN(tx.sender, PublicKey::from_hex(sender));
  BALLAST_ASSIGN_OR_RETURN(tx.nonce, unsigned_field(object, "nonce"));
  BALLAST_ASSIGN_OR_RETURN(std::uint64_t fee, unsigned_field(object, "fee"));
  if (fee > static_cast<std::uint64_t>(std::numeric_limits<exchange::Amount>::max())) {
    return invalid_argument("\"fee\" is too large");
  }
  tx.fee = static_cast<exchange::Amount>(fee);
  BALLAST_ASSIGN_OR_RETURN(tx.expiry_height, unsigned_field(object, "expiry_height"));
  auto body = object.find("body");
  if (body == object.end()) return invalid_argument("\"body\" is missing");
  auto resolve = [](const std::string& name) -> Result<exchange::AccountId> {
    return PublicKey::from_hex(name);
  };
  BALLAST_ASSIGN_OR_RETURN(tx.body, exchange::body_from_json(*body, genesis, resolve));
  BALLAST_ASSIGN_OR_RETURN(std::string signature, text_field(object, "signature"));
  BALLAST_ASSIGN_OR_RETURN(Bytes signature_bytes, from_hex(signature));
  if (signature_bytes.size() != tx.signature.bytes.size()) {
    return invalid_argument("\"signature\" must be 64 bytes of hex");
  }
  std::copy(signature_bytes.begin(), signature_bytes.end(), tx.signature.bytes.begin());
  return tx;
}

Result<Bytes> transaction_bytes_from_body(const std::string& body, bool is_json,
                                          const exchange::Genesis& genesis) {
  if (!is_json) {
    Bytes bytes(body.begin(), body.end());
    // Decoded here only to refuse garbage before it costs a worker's time.
    auto decoded = exchange::Transaction::decode(bytes);
    if (!decoded.is_ok()) return decoded.status();
    return bytes;
  }
  Json object = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return invalid_argument("the body is not valid JSON");
  BALLAST_ASSIGN_OR_RETURN(exchange::Transaction tx, transaction_from_json(object, genesis));
  return tx.encode();
}

Result<std::vector<Bytes>> transaction_batch_from_body(const std::string& body, bool is_json,
                                                       const exchange::Genesis& genesis,
                                                       std::size_t max_transactions) {
  std::vector<Bytes> batch;
  auto too_many = [&] {
    return invalid_argument("a batch holds at most " + std::to_string(max_transactions) +
                            " transactions");
  };
  if (is_json) {
    Json array = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (array.is_discarded() || !array.is_array()) {
      return invalid_argument("the body must be a JSON array of transactions");
    }
    if (array.size() > max_transactions) return too_many();
    for (std::size_t i = 0; i < array.size(); ++i) {
      auto tx = transaction_from_json(array[i], genesis);
      if (!tx.is_ok()) {
        return invalid_argument("transaction " + std::to_string(i) + ": " + tx.status().message());
      }
      batch.push_back(tx->encode());
    }
  } else {
    std::size_t at = 0;
    while (at < body.size()) {
      if (body.size() - at < 4) return invalid_argument("truncated length prefix");
      std::uint32_t length = 0;
      for (int i = 3; i >= 0; --i) {
        length = (length << 8) | static_cast<std::uint8_t>(body[at + static_cast<std::size_t>(i)]);
      }
      at += 4;
      if (length == 0 || length > body.size() - at) {
        return invalid_argument("transaction " + std::to_string(batch.size()) +
                                ": length prefix beyond the body");
      }
      if (batch.size() == max_transactions) return too_many();
      batch.emplace_back(body.begin() + static_cast<std::ptrdiff_t>(at),
                         body.begin() + static_cast<std::ptrdiff_t>(at + length));
      at += length;
    }
  }
  if (batch.empty()) return invalid_argument("an empty batch");
  return batch;
}

}  // namespace ballast::node
