// What end-to-end tests of the node's API (docs/API.md) share: signed transactions from the
// localnet's traders, submission in the binary and JSON forms, the check that an answer is a
// documented error, and a parser of the Prometheus text format that also says whether the text
// is valid.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "exchange/transaction.h"
#include "localnet.h"

namespace ballast::e2e {

// The API tests run four validators (Localnet) and trade the localnet's BTC-USD market.
inline const std::vector<std::size_t> kValidators{0, 1, 2, 3};
inline constexpr char kMarket[] = "BTC-USD";
inline constexpr exchange::Quantity kLot = 100'000;  // BTC-USD lot and minimum size

struct OrderOptions {
  exchange::OrderType type = exchange::OrderType::kLimit;
  exchange::TimeInForce time_in_force = exchange::TimeInForce::kGoodTillCancel;
  bool post_only = false;
  exchange::ClientOrderId client_order_id = 0;
};

// A transaction with exactly these fields, signed by `key` for the chain `chain_id`.
exchange::Transaction signed_transaction(const SecretKey& key, const std::string& chain_id,
                                         std::uint64_t nonce, exchange::Amount fee,
                                         exchange::TransactionBody body);

// Signs transactions as the localnet's traders, each with its next nonce and the minimum fee,
// never expiring within a test.
class OrderSigner {
 public:
  explicit OrderSigner(const Localnet& net);

  exchange::Transaction sign(std::size_t trader, exchange::TransactionBody body);
  exchange::Transaction place(std::size_t trader, const std::string& market, exchange::Side side,
                              exchange::Price price, exchange::Quantity quantity,
                              const OrderOptions& options = {});
  exchange::Transaction cancel(std::size_t trader, exchange::OrderRef order);
  exchange::Transaction replace(std::size_t trader, exchange::OrderRef order,
                                exchange::Price new_price, exchange::Quantity new_quantity);
  exchange::Transaction transfer(std::size_t from, std::size_t to, const std::string& asset,
                                 exchange::Amount amount);
  // The body of a limit or market order, for transactions built by hand.
  exchange::PlaceOrder order(const std::string& market, exchange::Side side, exchange::Price price,
                             exchange::Quantity quantity, const OrderOptions& options = {}) const;
  // The nonce the trader's next transaction gets.
  std::uint64_t next_nonce(std::size_t trader) const { return nonces_.at(trader) + 1; }
  // Makes the trader's next transaction use `nonce` (after a hand-made one).
  void skip_to(std::size_t trader, std::uint64_t nonce) { nonces_.at(trader) = nonce - 1; }

 private:
  const Localnet& net_;
  std::vector<std::uint64_t> nonces_;  // the last used, per trader
};

exchange::OrderRef by_client_id(exchange::ClientOrderId id);
exchange::OrderRef by_order_id(exchange::OrderId id);

// The canonical encoding as a request body.
std::string binary_body(const exchange::Transaction& tx);
// The binary form of POST /v1/txs: each encoding after its length, 4 bytes little endian.
std::string length_prefixed(const std::vector<exchange::Transaction>& txs);
// The JSON form of POST /v1/tx.
nlohmann::json transaction_json(const exchange::Transaction& tx, const exchange::Genesis& genesis);

// POST /v1/tx`query` with the binary form, or with the JSON form.
HttpReply submit(std::uint16_t port, const exchange::Transaction& tx,
                 const std::string& query = "");
HttpReply submit_json(std::uint16_t port, const nlohmann::json& tx, const std::string& query = "");
HttpReply get(std::uint16_t port, const std::string& target);

// The string `name` of a JSON object; empty when there is none (or no object at all).
std::string string_field(const nlohmann::json& object, const std::string& name);

// Whether `reply` is the documented error: this HTTP status, a JSON object with "status":
// "rejected" and the given code and reason, and a message for people.
::testing::AssertionResult is_error(const HttpReply& reply, unsigned status,
                                    const std::string& code, const std::string& reason);

// The seed of a randomized test: BALLAST_E2E_SEED when set (to repeat a run), else a fresh one.
std::uint64_t test_seed();

// A parsed Prometheus text exposition (format 0.0.4).
struct PrometheusSamples {
  std::map<std::string, std::string> types;  // family name -> counter, gauge, histogram...
  // Series as `name` or `name{label="value",...}` (labels as written) -> value.
  std::map<std::string, double> samples;

  // The value of a series, or nothing when absent.
  std::optional<double> value(const std::string& series) const;
};

// Parses `text`, or says (in the error) why it is not valid exposition text: a sample of a
// family without a TYPE, a malformed name, label or value, a series given twice, a negative
// counter, histogram buckets that are not cumulative or disagree with the count.
Result<PrometheusSamples> parse_prometheus(const std::string& text);

}  // namespace ballast::e2e
