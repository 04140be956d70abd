#include "node/config.h"

#include <arpa/inet.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

namespace ballast::node {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::size_t kMaxChainIdLength = 64;  // the genesis rule
constexpr std::uint32_t kMaxThreads = 256;
constexpr std::int64_t kMaxVerifyQueueJobs = 1'000'000;
constexpr std::array<std::string_view, 5> kLogLevelNames = {"trace", "debug", "info", "warn",
                                                            "error"};

// Reads the fields of one JSON object and remembers which it read, so that whatever is left
// over (a misspelled key) is reported instead of silently ignored.
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string where) : object_(object), where_(std::move(where)) {}

  std::string name_of(const char* field) const {
    return where_.empty() ? field : where_ + "." + field;
  }

  // Absent and not required: leaves `out` (the default) unchanged.
  template <typename Integer>
  Status integer(const char* field, Integer& out, bool required = false) {
    BALLAST_ASSIGN_OR_RETURN(const Json* value, find(field, required));
    if (value == nullptr) return Status::ok();
    if (!value->is_number_integer())
      return invalid_argument(name_of(field) + " must be an integer");
    bool fits = value->is_number_unsigned() ? std::in_range<Integer>(value->get<std::uint64_t>())
                                            : std::in_range<Integer>(value->get<std::int64_t>());
    if (!fits) {
      return invalid_argument(name_of(field) + " must be in " +
                              std::to_string(std::numeric_limits<Integer>::min()) + ".." +
                              std::to_string(std::numeric_limits<Integer>::max()));
    }
    out = value->get<Integer>();
    return Status::ok();
  }

  Status string(const char* field, std::string& out, bool required = false) {
    BALLAST_ASSIGN_OR_RETURN(const Json* value, find(field, required));
    if (value == nullptr) return Status::ok();
    if (!value->is_string()) return invalid_argument(name_of(field) + " must be a string");
    out = value->get<std::string>();
    return Status::ok();
  }

  Status address(const char* field, HostPort& out, bool required = false) {
    std::string text;
    BALLAST_RETURN_IF_ERROR(string(field, text, required));
    if (text.empty() && !required) return Status::ok();
    auto parsed = parse_host_port(text);
    if (!parsed.is_ok()) return invalid_argument(name_of(field) + ": " + parsed.status().message());
    out = *parsed;
    return Status::ok();
  }

  // The field if present and an object (nullptr if absent).
  Result<const Json*> object(const char* field) {
    BALLAST_ASSIGN_OR_RETURN(const Json* value, find(field, false));
    if (value != nullptr && !value->is_object()) {
      return invalid_argument(name_of(field) + " must be an object");
    }
    return value;
  }

  Result<const Json*> array(const char* field) {
    BALLAST_ASSIGN_OR_RETURN(const Json* value, find(field, false));
    if (value != nullptr && !value->is_array()) {
      return invalid_argument(name_of(field) + " must be an array");
    }
    return value;
  }

  Status reject_unknown_fields() const {
    for (const auto& [key, value] : object_.items()) {
      if (!read_.contains(key)) {
        return invalid_argument(name_of(key.c_str()) + " is not a known field");
      }
    }
    return Status::ok();
  }

 private:
  Result<const Json*> find(const char* field, bool required) {
    read_.insert(field);
    auto it = object_.find(field);
    if (it != object_.end()) return &*it;
    if (required) return invalid_argument("missing field " + name_of(field));
    return static_cast<const Json*>(nullptr);
  }

  const Json& object_;
  std::string where_;
  std::set<std::string> read_;
};

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  if (path.empty()) return path;  // validation reports it
  std::filesystem::path resolved(path);
  if (resolved.is_relative()) resolved = std::filesystem::absolute(base_dir) / resolved;
  return resolved.lexically_normal().string();
}

Result<LogLevel> parse_log_level(const std::string& text) {
  for (std::size_t i = 0; i < kLogLevelNames.size(); ++i) {
    if (text == kLogLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return invalid_argument("log_level must be one of trace, debug, info, warn, error; got \"" +
                          text + "\"");
}

Result<PeerConfig> parse_peer(const Json& entry, const std::string& where) {
  if (!entry.is_object()) return invalid_argument(where + " must be an object");
  ObjectReader reader(entry, where);
  PeerConfig peer;
  std::string key_hex;
  BALLAST_RETURN_IF_ERROR(reader.integer("index", peer.index, true));
  BALLAST_RETURN_IF_ERROR(reader.address("address", peer.address, true));
  BALLAST_RETURN_IF_ERROR(reader.string("public_key", key_hex, true));
  BALLAST_RETURN_IF_ERROR(reader.reject_unknown_fields());
  auto key = PublicKey::from_hex(key_hex);
  if (!key.is_ok()) return invalid_argument(where + ".public_key: " + key.status().message());
  peer.public_key = *key;
  return peer;
}

Status parse_peers(ObjectReader& root, NodeConfig& config) {
  BALLAST_ASSIGN_OR_RETURN(const Json* peers, root.array("peers"));
  if (peers == nullptr) return Status::ok();
  for (std::size_t i = 0; i < peers->size(); ++i) {
    BALLAST_ASSIGN_OR_RETURN(PeerConfig peer,
                             parse_peer((*peers)[i], "peers[" + std::to_string(i) + "]"));
    config.peers.push_back(std::move(peer));
  }
  return Status::ok();
}

// Reads an optional section whose fields are all integers with defaults.
template <typename Settings, typename... Fields>
Status parse_section(ObjectReader& root, const char* name, Settings& settings,
                     std::pair<const char*, Fields Settings::*>... fields) {
  BALLAST_ASSIGN_OR_RETURN(const Json* section, root.object(name));
  if (section == nullptr) return Status::ok();
  ObjectReader reader(*section, name);
  Status status;
  ((status = status.is_ok() ? reader.integer(fields.first, settings.*(fields.second)) : status),
   ...);
  BALLAST_RETURN_IF_ERROR(status);
  return reader.reject_unknown_fields();
}

Status parse_ingress(ObjectReader& root, IngressSettings& ingress) {
  using I = IngressSettings;
  return parse_section(root, "ingress", ingress,
                       std::pair{"connection_rate_per_s", &I::connection_rate_per_s},
                       std::pair{"connection_burst", &I::connection_burst},
                       std::pair{"connection_cancel_rate_per_s", &I::connection_cancel_rate_per_s},
                       std::pair{"connection_cancel_burst", &I::connection_cancel_burst},
                       std::pair{"account_rate_per_s", &I::account_rate_per_s},
                       std::pair{"account_burst", &I::account_burst},
                       std::pair{"max_connections_tracked", &I::max_connections_tracked},
                       std::pair{"max_accounts_tracked", &I::max_accounts_tracked},
                       std::pair{"breaker_multiple", &I::breaker_multiple},
                       std::pair{"breaker_min_baseline_per_s", &I::breaker_min_baseline_per_s},
                       std::pair{"breaker_baseline_window_ms", &I::breaker_baseline_window_ms},
                       std::pair{"breaker_current_window_ms", &I::breaker_current_window_ms},
                       std::pair{"breaker_fee_floor_start", &I::breaker_fee_floor_start},
                       std::pair{"breaker_floor_rise_ms", &I::breaker_floor_rise_ms},
                       std::pair{"breaker_floor_step_ms", &I::breaker_floor_step_ms},
                       std::pair{"breaker_relax_steps", &I::breaker_relax_steps},
                       std::pair{"breaker_quiet_gap_ms", &I::breaker_quiet_gap_ms},
                       std::pair{"breaker_backlog_grace_ms", &I::breaker_backlog_grace_ms},
                       std::pair{"breaker_confirm_multiple", &I::breaker_confirm_multiple},
                       std::pair{"breaker_max_trip_ms", &I::breaker_max_trip_ms});
}

Status parse_sections(ObjectReader& root, NodeConfig& config) {
  using C = ConsensusSettings;
  using M = MempoolSettings;
  using N = NetworkSettings;
  BALLAST_RETURN_IF_ERROR(parse_section(
      root, "consensus", config.consensus, std::pair{"initial_timeout_ms", &C::initial_timeout_ms},
      std::pair{"min_timeout_ms", &C::min_timeout_ms},
      std::pair{"max_timeout_ms", &C::max_timeout_ms},
      std::pair{"empty_block_interval_ms", &C::empty_block_interval_ms},
      std::pair{"block_interval_ms", &C::block_interval_ms},
      std::pair{"max_block_transactions", &C::max_block_transactions}));
  BALLAST_RETURN_IF_ERROR(parse_section(
      root, "mempool", config.mempool, std::pair{"max_transactions", &M::max_transactions},
      std::pair{"max_bytes", &M::max_bytes}, std::pair{"max_per_sender", &M::max_per_sender}));
  BALLAST_RETURN_IF_ERROR(parse_section(
      root, "network", config.network, std::pair{"max_frame_bytes", &N::max_frame_bytes},
      std::pair{"max_queued_bytes_per_peer", &N::max_queued_bytes_per_peer},
      std::pair{"keepalive_interval_ms", &N::keepalive_interval_ms},
      std::pair{"idle_timeout_ms", &N::idle_timeout_ms},
      std::pair{"reconnect_min_ms", &N::reconnect_min_ms},
      std::pair{"reconnect_max_ms", &N::reconnect_max_ms}));
  BALLAST_RETURN_IF_ERROR(parse_section(
      root, "storage", config.storage,
      std::pair{"snapshot_interval_blocks", &StorageSettings::snapshot_interval_blocks},
      std::pair{"retain_blocks", &StorageSettings::retain_blocks}));
  BALLAST_RETURN_IF_ERROR(
      parse_section(root, "sync", config.sync,
                    std::pair{"lag_threshold_blocks", &SyncSettings::lag_threshold_blocks},
                    std::pair{"max_blocks_per_response", &SyncSettings::max_blocks_per_response}));
  BALLAST_RETURN_IF_ERROR(parse_section(
      root, "api", config.api, std::pair{"max_body_bytes", &ApiSettings::max_body_bytes},
      std::pair{"max_connections", &ApiSettings::max_connections}));
  return parse_ingress(root, config.ingress);
}

Status parse_top_level(ObjectReader& root, NodeConfig& config) {
  BALLAST_RETURN_IF_ERROR(root.string("chain_id", config.chain_id, true));
  BALLAST_RETURN_IF_ERROR(root.integer("validator_index", config.validator_index, true));
  BALLAST_RETURN_IF_ERROR(root.string("key_file", config.key_file, true));
  BALLAST_RETURN_IF_ERROR(root.string("genesis_file", config.genesis_file, true));
  BALLAST_RETURN_IF_ERROR(root.string("data_dir", config.data_dir, true));
  BALLAST_RETURN_IF_ERROR(root.address("listen", config.listen, true));
  BALLAST_RETURN_IF_ERROR(root.address("api_listen", config.api_listen, true));
  BALLAST_RETURN_IF_ERROR(root.integer("verify_threads", config.verify_threads));
  BALLAST_RETURN_IF_ERROR(root.integer("verify_queue_jobs", config.verify_queue_jobs));
  BALLAST_RETURN_IF_ERROR(root.integer("io_threads", config.io_threads));
  BALLAST_RETURN_IF_ERROR(root.integer("api_threads", config.api_threads));
  std::string log_level(log_level_name(config.log_level));
  BALLAST_RETURN_IF_ERROR(root.string("log_level", log_level));
  BALLAST_ASSIGN_OR_RETURN(config.log_level, parse_log_level(log_level));
  return Status::ok();
}

template <typename Number>
Status require_positive(Number value, const char* field) {
  if (value <= 0) return invalid_argument(std::string(field) + " must be positive");
  return Status::ok();
}

Status require_at_most(std::int64_t low, const char* low_field, std::int64_t high,
                       const char* high_field) {
  if (low > high) {
    return invalid_argument(std::string(low_field) + " (" + std::to_string(low) +
                            ") must not exceed " + high_field + " (" + std::to_string(high) + ")");
  }
  return Status::ok();
}

Status require_within(std::int64_t value, std::int64_t low, std::int64_t high, const char* field) {
  if (value < low || value > high) {
    return invalid_argument(std::string(field) + " must be in " + std::to_string(low) + ".." +
                            std::to_string(high));
  }
  return Status::ok();
}

Status validate_address(const HostPort& address, const std::string& field) {
  auto parsed = parse_host_port(address.to_string());
  if (!parsed.is_ok()) return invalid_argument(field + ": " + parsed.status().message());
  return Status::ok();
}

Status validate_identity(const NodeConfig& config) {
  if (config.chain_id.empty() || config.chain_id.size() > kMaxChainIdLength) {
    return invalid_argument("chain_id must be 1..64 characters");
  }
  for (const auto& [path, field] :
       {std::pair{&config.key_file, "key_file"}, std::pair{&config.genesis_file, "genesis_file"},
        std::pair{&config.data_dir, "data_dir"}}) {
    if (path->empty()) return invalid_argument(std::string(field) + " must not be empty");
  }
  BALLAST_RETURN_IF_ERROR(validate_address(config.listen, "listen"));
  BALLAST_RETURN_IF_ERROR(validate_address(config.api_listen, "api_listen"));
  if (config.listen == config.api_listen) {
    return invalid_argument("api_listen must differ from listen (" + config.listen.to_string() +
                            ")");
  }
  for (const auto& [threads, field] :
       {std::pair{config.verify_threads, "verify_threads"},
        std::pair{config.io_threads, "io_threads"}, std::pair{config.api_threads, "api_threads"}}) {
    if (threads < 1 || threads > kMaxThreads) {
      return invalid_argument(std::string(field) + " must be in 1..256");
    }
  }
  BALLAST_RETURN_IF_ERROR(
      require_within(config.verify_queue_jobs, 1, kMaxVerifyQueueJobs, "verify_queue_jobs"));
  return Status::ok();
}

Status validate_peers(const NodeConfig& config) {
  std::set<std::uint32_t> indexes;
  std::set<std::pair<std::string, std::uint16_t>> addresses;
  for (std::size_t i = 0; i < config.peers.size(); ++i) {
    const PeerConfig& peer = config.peers[i];
    std::string where = "peers[" + std::to_string(i) + "]";
    BALLAST_RETURN_IF_ERROR(validate_address(peer.address, where + ".address"));
    if (peer.index == config.validator_index) {
      return invalid_argument(where + ".index is this node's own validator_index");
    }
    if (peer.address == config.listen) {
      return invalid_argument(where + ".address is this node's own listen address");
    }
    if (!indexes.insert(peer.index).second) {
      return invalid_argument(where + ".index " + std::to_string(peer.index) + " is listed twice");
    }
    if (!addresses.insert({peer.address.host, peer.address.port}).second) {
      return invalid_argument(where + ".address " + peer.address.to_string() + " is listed twice");
    }
  }
  return Status::ok();
}

Status validate_consensus(const ConsensusSettings& consensus) {
  BALLAST_RETURN_IF_ERROR(require_positive(consensus.min_timeout_ms, "consensus.min_timeout_ms"));
  BALLAST_RETURN_IF_ERROR(
      require_positive(consensus.empty_block_interval_ms, "consensus.empty_block_interval_ms"));
  BALLAST_RETURN_IF_ERROR(
      require_positive(consensus.max_block_transactions, "consensus.max_block_transactions"));
  BALLAST_RETURN_IF_ERROR(require_within(consensus.block_interval_ms, 0,
                                         consensus.empty_block_interval_ms,
                                         "consensus.block_interval_ms"));
  BALLAST_RETURN_IF_ERROR(require_at_most(consensus.min_timeout_ms, "consensus.min_timeout_ms",
                                          consensus.initial_timeout_ms,
                                          "consensus.initial_timeout_ms"));
  return require_at_most(consensus.initial_timeout_ms, "consensus.initial_timeout_ms",
                         consensus.max_timeout_ms, "consensus.max_timeout_ms");
}

Status validate_network(const NetworkSettings& network) {
  BALLAST_RETURN_IF_ERROR(require_positive(network.max_frame_bytes, "network.max_frame_bytes"));
  BALLAST_RETURN_IF_ERROR(
      require_positive(network.keepalive_interval_ms, "network.keepalive_interval_ms"));
  BALLAST_RETURN_IF_ERROR(require_positive(network.reconnect_min_ms, "network.reconnect_min_ms"));
  // A whole frame must fit in a peer's queue, or the largest legal message could never be sent.
  if (network.max_frame_bytes > network.max_queued_bytes_per_peer) {
    return invalid_argument(
        "network.max_frame_bytes must not exceed network.max_queued_bytes_per_peer");
  }
  // A healthy but quiet peer would be dropped between two keepalives otherwise.
  if (network.keepalive_interval_ms >= network.idle_timeout_ms) {
    return invalid_argument("network.keepalive_interval_ms must be below network.idle_timeout_ms");
  }
  return require_at_most(network.reconnect_min_ms, "network.reconnect_min_ms",
                         network.reconnect_max_ms, "network.reconnect_max_ms");
}

Status validate_limits(const NodeConfig& config) {
  for (const auto& [value, field] : {
           std::pair{config.mempool.max_transactions, "mempool.max_transactions"},
           std::pair{config.mempool.max_bytes, "mempool.max_bytes"},
           std::pair{config.mempool.max_per_sender, "mempool.max_per_sender"},
           std::pair{config.storage.snapshot_interval_blocks, "storage.snapshot_interval_blocks"},
           std::pair{config.storage.retain_blocks, "storage.retain_blocks"},
           std::pair{config.sync.lag_threshold_blocks, "sync.lag_threshold_blocks"},
           std::pair{config.sync.max_blocks_per_response, "sync.max_blocks_per_response"},
           std::pair{config.api.max_body_bytes, "api.max_body_bytes"},
           std::pair{config.api.max_connections, "api.max_connections"},
       }) {
    BALLAST_RETURN_IF_ERROR(require_positive(value, field));
  }
  return Status::ok();
}

// Rates and bursts up to a billion: far beyond any real limit, and the token arithmetic (in
// thousandths of a token) cannot overflow.
constexpr std::uint64_t kMaxIngressAmount = 1'000'000'000;
constexpr std::uint64_t kMaxTrackedKeys = 10'000'000;

Status validate_ingress(const IngressSettings& ingress) {
  constexpr auto kAmount = static_cast<std::int64_t>(kMaxIngressAmount);
  constexpr auto kTracked = static_cast<std::int64_t>(kMaxTrackedKeys);
  for (const auto& [value, low, high, field] : {
           std::tuple{ingress.connection_rate_per_s, 1, kAmount, "ingress.connection_rate_per_s"},
           std::tuple{ingress.connection_burst, 1, kAmount, "ingress.connection_burst"},
           std::tuple{ingress.connection_cancel_rate_per_s, 1, kAmount,
                      "ingress.connection_cancel_rate_per_s"},
           std::tuple{ingress.connection_cancel_burst, 1, kAmount,
                      "ingress.connection_cancel_burst"},
           std::tuple{ingress.account_rate_per_s, 1, kAmount, "ingress.account_rate_per_s"},
           std::tuple{ingress.account_burst, 1, kAmount, "ingress.account_burst"},
           std::tuple{ingress.max_connections_tracked, 1, kTracked,
                      "ingress.max_connections_tracked"},
           std::tuple{ingress.max_accounts_tracked, 1, kTracked, "ingress.max_accounts_tracked"},
           std::tuple{ingress.breaker_multiple, 0, kAmount, "ingress.breaker_multiple"},
           std::tuple{ingress.breaker_min_baseline_per_s, 1, kAmount,
                      "ingress.breaker_min_baseline_per_s"},
           std::tuple{ingress.breaker_fee_floor_start, 0, kAmount,
                      "ingress.breaker_fee_floor_start"},
           std::tuple{ingress.breaker_relax_steps, 1, std::int64_t{1'000},
                      "ingress.breaker_relax_steps"},
           std::tuple{ingress.breaker_confirm_multiple, 0, kAmount,
                      "ingress.breaker_confirm_multiple"},
       }) {
    // Above INT64_MAX reads as negative here, and is refused as out of range all the same.
    BALLAST_RETURN_IF_ERROR(require_within(static_cast<std::int64_t>(value), low, high, field));
  }
  // At least one millisecond per slot of the current window (node/ingress_guard.h).
  BALLAST_RETURN_IF_ERROR(require_within(ingress.breaker_current_window_ms, 10, 60'000,
                                         "ingress.breaker_current_window_ms"));
  BALLAST_RETURN_IF_ERROR(require_within(ingress.breaker_baseline_window_ms, 1, 3'600'000,
                                         "ingress.breaker_baseline_window_ms"));
  BALLAST_RETURN_IF_ERROR(
      require_within(ingress.breaker_floor_rise_ms, 1, 3'600'000, "ingress.breaker_floor_rise_ms"));
  BALLAST_RETURN_IF_ERROR(
      require_within(ingress.breaker_floor_step_ms, 1, 3'600'000, "ingress.breaker_floor_step_ms"));
  BALLAST_RETURN_IF_ERROR(
      require_within(ingress.breaker_quiet_gap_ms, 0, 3'600'000, "ingress.breaker_quiet_gap_ms"));
  BALLAST_RETURN_IF_ERROR(require_within(ingress.breaker_backlog_grace_ms, 0, 3'600'000,
                                         "ingress.breaker_backlog_grace_ms"));
  // Shorter than a second, a trip would end before its floor could price anything out.
  if (ingress.breaker_max_trip_ms != 0 &&
      (ingress.breaker_max_trip_ms < 1'000 || ingress.breaker_max_trip_ms > 86'400'000)) {
    return invalid_argument("ingress.breaker_max_trip_ms must be 0 or in 1000..86400000");
  }
  // A baseline no slower than the current rate would follow a flood instead of standing for
  // the time before it.
  if (ingress.breaker_baseline_window_ms <= ingress.breaker_current_window_ms) {
    return invalid_argument(
        "ingress.breaker_baseline_window_ms must exceed ingress.breaker_current_window_ms");
  }
  return Status::ok();
}

OrderedJson ingress_to_json(const IngressSettings& ingress) {
  return {{"connection_rate_per_s", ingress.connection_rate_per_s},
          {"connection_burst", ingress.connection_burst},
          {"connection_cancel_rate_per_s", ingress.connection_cancel_rate_per_s},
          {"connection_cancel_burst", ingress.connection_cancel_burst},
          {"account_rate_per_s", ingress.account_rate_per_s},
          {"account_burst", ingress.account_burst},
          {"max_connections_tracked", ingress.max_connections_tracked},
          {"max_accounts_tracked", ingress.max_accounts_tracked},
          {"breaker_multiple", ingress.breaker_multiple},
          {"breaker_min_baseline_per_s", ingress.breaker_min_baseline_per_s},
          {"breaker_baseline_window_ms", ingress.breaker_baseline_window_ms},
          {"breaker_current_window_ms", ingress.breaker_current_window_ms},
          {"breaker_fee_floor_start", ingress.breaker_fee_floor_start},
          {"breaker_floor_rise_ms", ingress.breaker_floor_rise_ms},
          {"breaker_floor_step_ms", ingress.breaker_floor_step_ms},
          {"breaker_relax_steps", ingress.breaker_relax_steps},
          {"breaker_quiet_gap_ms", ingress.breaker_quiet_gap_ms},
          {"breaker_backlog_grace_ms", ingress.breaker_backlog_grace_ms},
          {"breaker_confirm_multiple", ingress.breaker_confirm_multiple},
          {"breaker_max_trip_ms", ingress.breaker_max_trip_ms}};
}

OrderedJson sections_to_json(const NodeConfig& config) {
  const auto& c = config.consensus;
  const auto& n = config.network;
  OrderedJson json;
  json["consensus"] = {{"initial_timeout_ms", c.initial_timeout_ms},
                       {"min_timeout_ms", c.min_timeout_ms},
                       {"max_timeout_ms", c.max_timeout_ms},
                       {"empty_block_interval_ms", c.empty_block_interval_ms},
                       {"block_interval_ms", c.block_interval_ms},
                       {"max_block_transactions", c.max_block_transactions}};
  json["mempool"] = {{"max_transactions", config.mempool.max_transactions},
                     {"max_bytes", config.mempool.max_bytes},
                     {"max_per_sender", config.mempool.max_per_sender}};
  json["network"] = {{"max_frame_bytes", n.max_frame_bytes},
                     {"max_queued_bytes_per_peer", n.max_queued_bytes_per_peer},
                     {"keepalive_interval_ms", n.keepalive_interval_ms},
                     {"idle_timeout_ms", n.idle_timeout_ms},
                     {"reconnect_min_ms", n.reconnect_min_ms},
                     {"reconnect_max_ms", n.reconnect_max_ms}};
  json["storage"] = {{"snapshot_interval_blocks", config.storage.snapshot_interval_blocks},
                     {"retain_blocks", config.storage.retain_blocks}};
  json["sync"] = {{"lag_threshold_blocks", config.sync.lag_threshold_blocks},
                  {"max_blocks_per_response", config.sync.max_blocks_per_response}};
  json["api"] = {{"max_body_bytes", config.api.max_body_bytes},
                 {"max_connections", config.api.max_connections}};
  json["ingress"] = ingress_to_json(config.ingress);
  return json;
}

}  // namespace

std::string HostPort::to_string() const {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostPort> parse_host_port(std::string_view text) {
  auto malformed = [&](const std::string& why) {
    return invalid_argument("\"" + std::string(text) + "\" is not host:port (" + why + ")");
  };
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return malformed("no port");
  std::string host(text.substr(0, colon));
  std::string_view port_text = text.substr(colon + 1);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  std::array<unsigned char, 16> address{};
  int family = bracketed ? AF_INET6 : AF_INET;
  if (::inet_pton(family, host.c_str(), address.data()) != 1) {
    return malformed(bracketed ? "not an IPv6 address"
                               : "the host must be an IPv4 address, or an IPv6 one in brackets");
  }
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string_view::npos) {
    return malformed("the port must be a number");
  }
  int port = std::stoi(std::string(port_text));
  if (port < 1 || port > 65535) return malformed("the port must be in 1..65535");
  return HostPort{host, static_cast<std::uint16_t>(port)};
}

std::string_view log_level_name(LogLevel level) {
  auto index = static_cast<std::size_t>(level);
  BALLAST_ASSERT(index < kLogLevelNames.size());
  return kLogLevelNames[index];
}

Result<NodeConfig> parse_node_config(std::string_view text, const std::string& base_dir) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return invalid_argument("not valid JSON");
  if (!root.is_object()) return invalid_argument("the configuration must be a JSON object");
  NodeConfig config;
  ObjectReader reader(root, "");
  BALLAST_RETURN_IF_ERROR(parse_top_level(reader, config));
  BALLAST_RETURN_IF_ERROR(parse_peers(reader, config));
  BALLAST_RETURN_IF_ERROR(parse_sections(reader, config));
  BALLAST_RETURN_IF_ERROR(reader.reject_unknown_fields());
  config.key_file = resolve_path(config.key_file, base_dir);
  config.genesis_file = resolve_path(config.genesis_file, base_dir);
  config.data_dir = resolve_path(config.data_dir, base_dir);
  BALLAST_RETURN_IF_ERROR(validate_node_config(config));
  return config;
}

Result<NodeConfig> load_node_config(const std::string& path) {
  std::ifstream file(path);
  if (!file) return io_error("cannot read config file " + path);
  std::stringstream content;
  content << file.rdbuf();
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  auto config = parse_node_config(content.str(), base_dir.empty() ? "." : base_dir);
  if (!config.is_ok()) {
    return Status(config.status().code(), "config file " + path + ": " + config.status().message());
  }
  return config;
}

Status validate_node_config(const NodeConfig& config) {
  BALLAST_RETURN_IF_ERROR(validate_identity(config));
  BALLAST_RETURN_IF_ERROR(validate_peers(config));
  BALLAST_RETURN_IF_ERROR(validate_consensus(config.consensus));
  BALLAST_RETURN_IF_ERROR(validate_network(config.network));
  BALLAST_RETURN_IF_ERROR(validate_ingress(config.ingress));
  return validate_limits(config);
}

std::string to_json(const NodeConfig& config) {
  OrderedJson json;
  json["chain_id"] = config.chain_id;
  json["validator_index"] = config.validator_index;
  json["key_file"] = config.key_file;
  json["genesis_file"] = config.genesis_file;
  json["data_dir"] = config.data_dir;
  json["listen"] = config.listen.to_string();
  json["api_listen"] = config.api_listen.to_string();
  json["peers"] = OrderedJson::array();
  for (const PeerConfig& peer : config.peers) {
    json["peers"].push_back({{"index", peer.index},
                             {"address", peer.address.to_string()},
                             {"public_key", peer.public_key.hex()}});
  }
  json.update(sections_to_json(config));
  json["verify_threads"] = config.verify_threads;
  json["verify_queue_jobs"] = config.verify_queue_jobs;
  json["io_threads"] = config.io_threads;
  json["api_threads"] = config.api_threads;
  json["log_level"] = log_level_name(config.log_level);
  return json.dump(2) + "\n";
}

Status check_against_genesis(const NodeConfig& config, const exchange::Genesis& genesis) {
  if (config.chain_id != genesis.chain_id) {
    return invalid_argument("chain_id \"" + config.chain_id +
                            "\" differs from the genesis chain_id \"" + genesis.chain_id + "\"");
  }
  std::size_t validators = genesis.validators.size();
  if (config.validator_index >= validators) {
    return invalid_argument("validator_index " + std::to_string(config.validator_index) +
                            " is out of range: the genesis has " + std::to_string(validators) +
                            " validators");
  }
  std::set<std::uint32_t> covered;
  for (std::size_t i = 0; i < config.peers.size(); ++i) {
    const PeerConfig& peer = config.peers[i];
    std::string where = "peers[" + std::to_string(i) + "]";
    if (peer.index >= validators) {
      return invalid_argument(where + ".index " + std::to_string(peer.index) +
                              " is out of range: the genesis has " + std::to_string(validators) +
                              " validators");
    }
    if (peer.public_key != genesis.validators[peer.index].key) {
      return invalid_argument(where + ".public_key differs from the genesis key of validator " +
                              std::to_string(peer.index));
    }
    covered.insert(peer.index);
  }
  for (std::uint32_t index = 0; index < validators; ++index) {
    if (index != config.validator_index && !covered.contains(index)) {
      return invalid_argument("peers: no entry for genesis validator " + std::to_string(index));
    }
  }
  return Status::ok();
}

Result<SecretKey> load_validator_key(const NodeConfig& config, const exchange::Genesis& genesis) {
  if (config.validator_index >= genesis.validators.size()) {
    return invalid_argument("validator_index " + std::to_string(config.validator_index) +
                            " is out of range");
  }
  BALLAST_ASSIGN_OR_RETURN(SecretKey key, read_key_file(config.key_file));
  const PublicKey& expected = genesis.validators[config.validator_index].key;
  if (key.public_key() != expected) {
    return permission_denied("key file " + config.key_file + " holds public key " +
                             key.public_key().hex() + ", but genesis validator " +
                             std::to_string(config.validator_index) + " has key " + expected.hex());
  }
  return key;
}

}  // namespace ballast::node
