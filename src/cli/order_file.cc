#include "cli/order_file.h"

#include <istream>

#include "exchange/json_codec.h"

namespace ballast::cli {

using Json = nlohmann::json;

Result<const SecretKey*> KeyRing::key_for(const std::string& name) {
  auto it = keys_.find(name);
  if (it != keys_.end()) return &it->second;
  if (source_.dev_keys) {
    return &keys_.emplace(name, SecretKey::insecure_from_seed(name)).first->second;
  }
  if (source_.keys_dir.empty()) {
    return invalid_argument("no key for account \"" + name + "\": give --keys DIR or --dev-keys");
  }
  BALLAST_ASSIGN_OR_RETURN(SecretKey key, read_key_file(source_.keys_dir + "/" + name + ".key"));
  return &keys_.emplace(name, std::move(key)).first->second;
}

Result<PublicKey> KeyRing::public_key_for(const std::string& name_or_hex) {
  if (name_or_hex.size() == 64) {
    auto key = PublicKey::from_hex(name_or_hex);
    if (key.is_ok()) return key;
  }
  BALLAST_ASSIGN_OR_RETURN(const SecretKey* key, key_for(name_or_hex));
  return key->public_key();
}

Status at_line(std::size_t line_number, const Status& status) {
  return Status(status.code(), "line " + std::to_string(line_number) + ": " + status.message());
}

Result<std::optional<OrderLine>> OrderFileReader::next() {
  std::string text;
  while (std::getline(input_, text)) {
    ++line_number_;
    if (text.find_first_not_of(" \t\r") == std::string::npos || text[0] == '#') continue;
    OrderLine line;
    line.line_number = line_number_;
    line.object = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (line.object.is_discarded()) {
      return at_line(line_number_, invalid_argument("not valid JSON"));
    }
    if (line.object.is_object() && line.object.contains("block")) {
      if (!line.object["block"].is_number_integer()) {
        return at_line(line_number_, invalid_argument("block must be an integer"));
      }
      line.block = line.object["block"].get<std::int64_t>();
    }
    return std::optional<OrderLine>(std::move(line));
  }
  return std::optional<OrderLine>();
}

Result<SignedLine> LineSigner::sign(const OrderLine& line, const LineDefaults& defaults) {
  Result<SignedLine> signed_line = build(line, defaults);
  if (!signed_line.is_ok()) return at_line(line.line_number, signed_line.status());
  return signed_line;
}

Result<SignedLine> LineSigner::build(const OrderLine& line, const LineDefaults& defaults) {
  const Json& object = line.object;
  if (!object.is_object()) return invalid_argument("each line must be a JSON object");
  if (!object.contains("account") || !object["account"].is_string()) {
    return invalid_argument("missing text field \"account\"");
  }
  SignedLine out;
  out.line_number = line.line_number;
  out.account = object["account"].get<std::string>();
  BALLAST_ASSIGN_OR_RETURN(const SecretKey* key, keys_.key_for(out.account));
  auto resolve = [this](const std::string& name) { return keys_.public_key_for(name); };
  BALLAST_ASSIGN_OR_RETURN(out.tx.body, exchange::body_from_json(object, genesis_, resolve));
  out.action = object["action"].get<std::string>();  // body_from_json checked it is text
  BALLAST_ASSIGN_OR_RETURN(auto nonce, exchange::optional_integer_field(object, "nonce"));
  BALLAST_ASSIGN_OR_RETURN(auto fee, exchange::optional_integer_field(object, "fee"));
  BALLAST_ASSIGN_OR_RETURN(auto expiry, exchange::optional_integer_field(object, "expiry_height"));
  out.tx.sender = key->public_key();
  BALLAST_ASSIGN_OR_RETURN(out.tx.nonce, next_nonce(out.account, out.tx.sender, nonce));
  out.tx.fee = fee.value_or(defaults.fee);
  out.tx.expiry_height = expiry ? static_cast<std::uint64_t>(*expiry) : defaults.expiry_height;
  out.tx.sign(*key, genesis_.chain_id);
  return out;
}

Result<std::uint64_t> LineSigner::next_nonce(const std::string& account, const PublicKey& key,
                                             std::optional<std::int64_t> given) {
  auto it = nonces_.find(account);
  if (given) {
    nonces_[account] = static_cast<std::uint64_t>(*given);
  } else if (it == nonces_.end()) {
    BALLAST_ASSIGN_OR_RETURN(std::uint64_t last_used, last_used_nonce_(key));
    nonces_[account] = last_used + 1;
  } else {
    it->second += 1;
  }
  return nonces_[account];
}

}  // namespace ballast::cli
