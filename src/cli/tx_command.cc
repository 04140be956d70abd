#include "cli/tx_command.h"

#include <iostream>

#include "client/node_client.h"
#include "crypto/keys.h"
#include "exchange/genesis.h"
#include "exchange/json_codec.h"
#include "exchange/transaction.h"

namespace ballast::cli {
namespace {

using Json = nlohmann::json;
using client::text_field;

constexpr std::int64_t kMaxWaitTimeoutMs = 3'600'000;
constexpr std::uint64_t kMaxExpiresInBlocks = 1'000'000'000;

// ---- The body from the options ------------------------------------------------------------

void put_text(Json& object, const char* field, const std::string& value) {
  if (!value.empty()) object[field] = value;
}

// Non-negative values go in as JSON unsigned integers, the form body_from_json reads (a
// parsed JSON text holds non-negative numbers so); a negative one stays and is refused there.
void put_integer(Json& object, const char* field, const std::optional<std::int64_t>& value) {
  if (!value) return;
  object[field] = *value >= 0 ? Json(static_cast<std::uint64_t>(*value)) : Json(*value);
}

Status put_order_reference(Json& object, const TxBodyOptions& body) {
  if (body.order_id.has_value() == body.client_order_id.has_value()) {
    return invalid_argument("give exactly one of --order-id and --client-order-id");
  }
  put_integer(object, "order_id", body.order_id);
  put_integer(object, "client_order_id", body.client_order_id);
  return Status::ok();
}

Status put_place(Json& object, const TxBodyOptions& body) {
  if (body.market.empty() || body.side.empty() || !body.price || !body.quantity) {
    return invalid_argument("an order needs --market, --side, --price and --quantity");
  }
  put_text(object, "market", body.market);
  put_text(object, "side", body.side);
  put_text(object, "type", body.type);
  put_text(object, "time_in_force", body.time_in_force);
  put_text(object, "self_trade_prevention", body.self_trade_prevention);
  // A market order's price is its protection price: the worst price it accepts.
  put_integer(object, body.type == "market" ? "protection_price" : "price", body.price);
  put_integer(object, "quantity", body.quantity);
  put_integer(object, "client_order_id", body.client_order_id);
  if (body.post_only) object["post_only"] = true;
  return Status::ok();
}

Status put_replace(Json& object, const TxBodyOptions& body) {
  BALLAST_RETURN_IF_ERROR(put_order_reference(object, body));
  if (!body.price && !body.quantity) return invalid_argument("give --price and/or --quantity");
  put_integer(object, "price", body.price);
  put_integer(object, "quantity", body.quantity);
  return Status::ok();
}

Status put_transfer(Json& object, const TxBodyOptions& body) {
  if (body.to.empty() || body.asset.empty() || !body.amount) {
    return invalid_argument("a transfer needs --to, --asset and --amount");
  }
  object["to"] = body.to;
  object["asset"] = body.asset;
  put_integer(object, "amount", body.amount);
  return Status::ok();
}

// ---- Building and submitting --------------------------------------------------------------

struct Submission {
  client::NodeClient client;
  exchange::Transaction tx;
};

Result<PublicKey> hex_recipient(const std::string& text) {
  auto key = PublicKey::from_hex(text);
  if (!key.is_ok()) return invalid_argument("--to must be a 64-digit hex public key");
  return key;
}

// Everything that can be checked without the node is checked before it is asked anything.
Result<Submission> prepare(const TxOptions& options, const TxBodyOptions& body) {
  BALLAST_ASSIGN_OR_RETURN(Json object, tx_body_object(body));
  BALLAST_ASSIGN_OR_RETURN(exchange::Genesis genesis,
                           exchange::load_genesis_file(options.genesis_path));
  BALLAST_ASSIGN_OR_RETURN(SecretKey key, read_key_file(options.key_path));
  BALLAST_ASSIGN_OR_RETURN(client::NodeUrl url, client::parse_node_url(options.node_url));
  exchange::Transaction tx;
  BALLAST_ASSIGN_OR_RETURN(tx.body, exchange::body_from_json(object, genesis, hex_recipient));
  client::NodeClient client(url);
  BALLAST_RETURN_IF_ERROR(client.check_genesis(genesis));
  tx.sender = key.public_key();
  if (options.nonce) {
    tx.nonce = *options.nonce;
  } else {
    // An unknown account starts from nonce 1; the node then refuses it as unknown_sender.
    BALLAST_ASSIGN_OR_RETURN(std::optional<std::uint64_t> last, client.last_nonce(tx.sender));
    tx.nonce = last.value_or(0) + 1;
  }
  BALLAST_ASSIGN_OR_RETURN(std::uint64_t height, client.height());
  tx.expiry_height = height + options.expires_in_blocks;
  tx.fee = options.fee.value_or(genesis.min_tx_fee);
  tx.sign(key, genesis.chain_id);
  return Submission{std::move(client), std::move(tx)};
}

// ---- Printing the answer ------------------------------------------------------------------

int exit_code(const client::NodeReply& reply, bool waited) {
  std::string status = text_field(reply.body, "status");
  // Waited for but only "accepted": the node had too many waiters until the wait ended.
  if (status == "accepted") return waited ? kTxUnsettled : kTxAccepted;
  if (status == "pending") return kTxUnsettled;
  if (status == "finalized") {
    const Json& result = reply.body.contains("result") ? reply.body["result"] : Json();
    return result.is_object() && result.value("accepted", false) ? kTxAccepted : kTxFailed;
  }
  return kTxFailed;
}

std::string scalar_text(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// "fill maker=<hex> maker_fee=601 ... taker_side=buy": the event's name, then its fields.
void print_event(const Json& event, std::ostream& out) {
  out << "  " << text_field(event, "event");
  for (const auto& [field, value] : event.items()) {
    if (field != "event") out << " " << field << "=" << scalar_text(value);
  }
  out << "\n";
}

void print_finalized(const Json& body, std::ostream& out) {
  const Json& result = body.contains("result") ? body["result"] : Json::object();
  out << "finalized " << text_field(body, "hash") << " at height "
      << scalar_text(body.value("height", Json())) << ", position "
      << scalar_text(body.value("position", Json())) << ": ";
  if (result.value("accepted", false)) {
    out << "accepted\n";
  } else {
    out << "REJECTED " << text_field(result, "reject") << " (" << text_field(result, "message")
        << ")\n";
  }
  if (!result.contains("events") || !result["events"].is_array()) return;
  for (const Json& event : result["events"]) print_event(event, out);
}

void print_refusal(const client::NodeReply& reply, const std::string& url, std::ostream& err) {
  err << "ballast tx: refused by " << url << ": " << client::refusal_status(reply).to_string()
      << "\n";
  if (text_field(reply.body, "reason") == "bad_signature") {
    err << "  the signature covers the chain id: is --genesis this network's genesis file?\n";
  }
}

void print_answer(const client::NodeReply& reply, const TxOptions& options, const std::string& url,
                  std::ostream& out, std::ostream& err) {
  if (options.json) {
    out << reply.body.dump() << "\n";
    return;
  }
  std::string status = text_field(reply.body, "status");
  std::string hash = text_field(reply.body, "hash");
  if (status == "accepted") {
    out << "accepted " << hash << " (pooled, not final yet; --wait waits for finality)\n";
  } else if (status == "finalized") {
    print_finalized(reply.body, out);
  } else if (status == "dropped") {
    out << "dropped " << hash << ": " << text_field(reply.body, "reason") << "\n";
  } else if (status == "pending") {
    out << "still pending " << hash << " after " << options.wait_timeout_ms
        << " ms: the outcome is unknown; ask with GET /v1/tx/" << hash << "\n";
  } else {
    print_refusal(reply, url, err);
  }
}

// ---- Command-line options -----------------------------------------------------------------

template <typename Integer>
CLI::Option* add_optional_integer(CLI::App& command, const std::string& name,
                                  std::optional<Integer>& field, const std::string& help) {
  return command
      .add_option_function<Integer>(
          name, [&field](const Integer& value) { field = value; }, help)
      ->check(CLI::NonNegativeNumber);
}

void add_common_options(CLI::App& command, TxOptions& options) {
  command.add_option("--key", options.key_path, "Key file of the sending account (mode 0600)")
      ->required();
  command
      .add_option("--genesis", options.genesis_path,
                  "The network's genesis file: chain id, market and asset ids, minimum fee")
      ->required();
  command.add_option("--node", options.node_url, "The node's API, http://HOST:PORT")
      ->capture_default_str();
  add_optional_integer(command, "--nonce", options.nonce,
                       "Nonce (default: the account's last used nonce + 1, from the node)");
  add_optional_integer(command, "--fee", options.fee, "Fee (default: the genesis min_tx_fee)");
  command
      .add_option("--expires-in", options.expires_in_blocks,
                  "Expiry: this many blocks after the node's finalized height")
      ->check(CLI::Range(std::uint64_t{1}, kMaxExpiresInBlocks))
      ->capture_default_str();
  command.add_flag("--wait", options.wait, "Wait until finalized; print the result and events");
  command
      .add_option("--timeout-ms", options.wait_timeout_ms, "With --wait: how long to wait at most")
      ->check(CLI::Range(std::int64_t{1}, kMaxWaitTimeoutMs))
      ->capture_default_str();
  command.add_flag("--json", options.json, "Print the node's JSON answer");
}

void add_market_option(CLI::App& command, TxBodyOptions& body, bool required) {
  auto* option = command.add_option("--market", body.market, "Market symbol, e.g. BTC-USD");
  if (required) option->required();
}

void add_order_reference_options(CLI::App& command, TxBodyOptions& body) {
  add_optional_integer(command, "--order-id", body.order_id, "The exchange's order id");
  add_optional_integer(command, "--client-order-id", body.client_order_id,
                       "Your client order id of the order");
}

void add_place_options(CLI::App& command, TxBodyOptions& body) {
  add_market_option(command, body, true);
  command.add_option("--side", body.side, "buy or sell")
      ->required()
      ->check(CLI::IsMember({"buy", "sell"}));
  command.add_option("--type", body.type, "limit (default) or market")
      ->check(CLI::IsMember({"limit", "market"}));
  command
      .add_option("--tif", body.time_in_force,
                  "Time in force: gtc (default for limit), ioc (default for market), fok")
      ->check(CLI::IsMember({"gtc", "ioc", "fok"}));
  command.add_flag("--post-only", body.post_only, "Rejected instead of trading on arrival");
  command
      .add_option("--stp", body.self_trade_prevention,
                  "Self-trade prevention: cancel_newest (default), cancel_oldest, cancel_both")
      ->check(CLI::IsMember({"cancel_newest", "cancel_oldest", "cancel_both"}));
  add_optional_integer(command, "--price", body.price,
                       "Limit price per lot (a market order's protection price)")
      ->required();
  add_optional_integer(command, "--quantity", body.quantity, "Quantity in base units")->required();
  add_optional_integer(command, "--client-order-id", body.client_order_id,
                       "Your id for the order (unique among your open orders)");
}

void add_transfer_options(CLI::App& command, TxBodyOptions& body) {
  command.add_option("--to", body.to, "Recipient: 64-digit hex public key")->required();
  command.add_option("--asset", body.asset, "Asset symbol, e.g. USD")->required();
  add_optional_integer(command, "--amount", body.amount, "Amount in the asset's units")->required();
}

void add_replace_options(CLI::App& command, TxBodyOptions& body) {
  add_order_reference_options(command, body);
  add_optional_integer(command, "--price", body.price, "New price (default: keep)");
  add_optional_integer(command, "--quantity", body.quantity,
                       "New open quantity (default: keep; a pure reduction keeps priority)");
}

}  // namespace

Result<Json> tx_body_object(const TxBodyOptions& body) {
  Json object = {{"action", body.action}};
  if (body.action == "place") {
    BALLAST_RETURN_IF_ERROR(put_place(object, body));
  } else if (body.action == "cancel") {
    BALLAST_RETURN_IF_ERROR(put_order_reference(object, body));
  } else if (body.action == "cancel_all") {
    put_text(object, "market", body.market);
  } else if (body.action == "replace") {
    BALLAST_RETURN_IF_ERROR(put_replace(object, body));
  } else if (body.action == "transfer") {
    BALLAST_RETURN_IF_ERROR(put_transfer(object, body));
  } else {
    return invalid_argument("unknown action \"" + body.action + "\"");
  }
  return object;
}

int run_tx(const TxOptions& options, const TxBodyOptions& body, std::ostream& out,
           std::ostream& err) {
  Result<Submission> submission = prepare(options, body);
  if (!submission.is_ok()) {
    err << "ballast tx: " << submission.status().to_string() << "\n";
    return kTxFailed;
  }
  const client::NodeClient& client = submission->client;
  Result<client::NodeReply> reply =
      options.wait ? client.submit_and_wait(submission->tx, options.wait_timeout_ms)
                   : client.submit(submission->tx);
  if (!reply.is_ok()) {
    err << "ballast tx: " << reply.status().to_string() << "\n";
    return kTxFailed;
  }
  print_answer(*reply, options, client.url().to_string(), out, err);
  return exit_code(*reply, options.wait);
}

void add_tx_command(CLI::App& app) {
  auto* tx = app.add_subcommand("tx", "Sign a transaction with a key file and submit it to a node");
  tx->require_subcommand(1);
  static TxOptions options;
  static TxBodyOptions body;
  struct Kind {
    const char* command;
    const char* action;
    const char* help;
    void (*add_options)(CLI::App&, TxBodyOptions&);
  };
  static const Kind kinds[] = {
      {"transfer", "transfer", "Move funds to another account", add_transfer_options},
      {"order", "place", "Place an order", add_place_options},
      {"cancel", "cancel", "Cancel one of your orders", add_order_reference_options},
      {"cancel-all", "cancel_all", "Cancel all your orders (in one market with --market)",
       [](CLI::App& command, TxBodyOptions& fields) { add_market_option(command, fields, false); }},
      {"replace", "replace", "Change the price or size of one of your orders", add_replace_options},
  };
  for (const Kind& kind : kinds) {
    auto* command = tx->add_subcommand(kind.command, kind.help);
    add_common_options(*command, options);
    kind.add_options(*command, body);
    command->callback([action = kind.action] {
      body.action = action;
      int code = run_tx(options, body, std::cout, std::cerr);
      if (code != 0) throw CLI::RuntimeError(code);
    });
  }
}

}  // namespace ballast::cli
