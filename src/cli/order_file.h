// Order files (docs/ORDERS_FORMAT.md), the part every replay shares: reading the JSON lines,
// resolving account names to keys and building each line's signed transaction. Where a line's
// defaults come from (an account's starting nonce, the expiry height) is the caller's business:
// an in-process exchange or a live node.
//
// It never executes or submits a transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "crypto/keys.h"
#include "exchange/genesis.h"
#include "exchange/transaction.h"

namespace ballast::cli {

// Where the keys of the accounts a file names come from.
struct KeySource {
  std::string keys_dir;   // NAME.key files
  bool dev_keys = false;  // derived from the names (examples and tests only)
};

// Resolves account names to keys, reading each key file once.
class KeyRing {
 public:
  explicit KeyRing(KeySource source) : source_(std::move(source)) {}

  Result<const SecretKey*> key_for(const std::string& name);
  // A 64-digit hex public key as itself, anything else as an account name.
  Result<PublicKey> public_key_for(const std::string& name_or_hex);

 private:
  KeySource source_;
  std::map<std::string, SecretKey> keys_;
};

// A line that carries an order (not empty, not a comment), parsed as JSON.
struct OrderLine {
  std::size_t line_number = 0;
  std::optional<std::int64_t> block;  // consecutive lines with one label form one block
  nlohmann::json object;
};

class OrderFileReader {
 public:
  explicit OrderFileReader(std::istream& input) : input_(input) {}

  // The next order line, or nothing at the end of the file. An error names the line.
  Result<std::optional<OrderLine>> next();

 private:
  std::istream& input_;
  std::size_t line_number_ = 0;
};

// What a line that leaves the field out gets.
struct LineDefaults {
  exchange::Amount fee = 0;
  std::uint64_t expiry_height = 0;
};

struct SignedLine {
  std::size_t line_number = 0;
  std::string account;
  std::string action;
  exchange::Transaction tx;
};

// Builds and signs each line's transaction. A line without "nonce" takes its account's previous
// nonce in the file + 1, the account's first such line `last_used_nonce(account)` + 1.
class LineSigner {
 public:
  using NonceSource = std::function<Result<std::uint64_t>(const PublicKey&)>;

  LineSigner(const exchange::Genesis& genesis, KeySource keys, NonceSource last_used_nonce)
      : genesis_(genesis), keys_(std::move(keys)), last_used_nonce_(std::move(last_used_nonce)) {}

  // An error names the line.
  Result<SignedLine> sign(const OrderLine& line, const LineDefaults& defaults);

 private:
  Result<SignedLine> build(const OrderLine& line, const LineDefaults& defaults);
  Result<std::uint64_t> next_nonce(const std::string& account, const PublicKey& key,
                                   std::optional<std::int64_t> given);

  const exchange::Genesis& genesis_;
  KeyRing keys_;
  NonceSource last_used_nonce_;
  std::map<std::string, std::uint64_t> nonces_;  // the last nonce signed, per account
};

// The status with "line N: " in front of its message.
Status at_line(std::size_t line_number, const Status& status);

}  // namespace ballast::cli
