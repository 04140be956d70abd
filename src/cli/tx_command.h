// `ballast tx transfer|order|cancel|cancel-all|replace`: builds one transaction from options
// that mirror the fields of an order-file line (docs/ORDERS_FORMAT.md), signs it with a key
// file, submits it to a node and prints the node's answer (docs/CLI.md).
//
// It reaches the node through its public API only (client/), and it never signs anything but
// what the options spell out: no option is guessed from the node's answers except the nonce
// and the expiry height, which are documented defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"

namespace ballast::cli {

inline constexpr const char* kDefaultNodeUrl = "http://127.0.0.1:27100";

// Exit codes of `ballast tx`.
inline constexpr int kTxAccepted = 0;   // accepted (with --wait: finalized and accepted)
inline constexpr int kTxFailed = 1;     // refused, rejected, dropped, or no answer at all
inline constexpr int kTxUnsettled = 2;  // --wait: still pending when the wait ended

struct TxOptions {
  std::string key_path;
  std::string node_url = kDefaultNodeUrl;
  std::string genesis_path;
  std::optional<std::uint64_t> nonce;  // default: the account's last used nonce + 1
  std::optional<std::int64_t> fee;     // default: the genesis min_tx_fee
  std::uint64_t expires_in_blocks = 1'000;
  bool wait = false;
  std::int64_t wait_timeout_ms = 60'000;
  bool json = false;
};

// The body, named as the fields of an order-file line; empty or unset means "not given".
struct TxBodyOptions {
  std::string action;  // transfer, place, cancel, cancel_all, replace
  std::string market;
  std::string side;
  std::string type;
  std::string time_in_force;
  std::string self_trade_prevention;
  bool post_only = false;
  std::optional<std::int64_t> price;
  std::optional<std::int64_t> quantity;
  std::optional<std::int64_t> order_id;
  std::optional<std::int64_t> client_order_id;
  std::string to;
  std::string asset;
  std::optional<std::int64_t> amount;
};

// The order-file object for the body, e.g. {"action":"cancel","order_id":42}. Fails, naming
// the command-line options, when the options do not fit the action (a cancel needs exactly one
// of --order-id and --client-order-id, a replace a new price or quantity, ...).
Result<nlohmann::json> tx_body_object(const TxBodyOptions& body);

// Runs one `ballast tx` command and returns its exit code; the answer goes to `out`, local
// errors and refusals (unless --json) to `err`.
int run_tx(const TxOptions& options, const TxBodyOptions& body, std::ostream& out,
           std::ostream& err);

void add_tx_command(CLI::App& app);

}  // namespace ballast::cli
