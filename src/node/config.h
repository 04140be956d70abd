// A validator's configuration file (docs/CONFIGURATION.md): parsing, validation and writing.
// Every bad value is a clear error naming the field, and unknown keys are errors, so a typo
// never passes silently as a default. Relative paths resolve against the file's directory.
//
// This module only reads and checks configuration: it never opens sockets, starts threads or
// touches the data directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/keys.h"
#include "exchange/genesis.h"

namespace ballast::node {

// An IP literal and a port: "127.0.0.1:27000" or "[::1]:27000". Names are not resolved, so
// what a node binds and dials is exactly what the file says.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const HostPort&) const = default;
  std::string to_string() const;
};

Result<HostPort> parse_host_port(std::string_view text);

struct PeerConfig {
  std::uint32_t index = 0;  // in the genesis validator list
  HostPort address;
  PublicKey public_key;

  bool operator==(const PeerConfig&) const = default;
};

struct ConsensusSettings {
  std::int64_t initial_timeout_ms = 1'000;
  std::int64_t min_timeout_ms = 50;
  std::int64_t max_timeout_ms = 3'000;
  std::int64_t empty_block_interval_ms = 50;
  std::int64_t block_interval_ms = 0;
  std::uint64_t max_block_transactions = 2'000;

  bool operator==(const ConsensusSettings&) const = default;
};

struct MempoolSettings {
  std::uint64_t max_transactions = 20'000;
  std::uint64_t max_bytes = 8 << 20;
  std::uint64_t max_per_sender = 256;

  bool operator==(const MempoolSettings&) const = default;
};

struct NetworkSettings {
  std::uint64_t max_frame_bytes = 16 << 20;
  std::uint64_t max_queued_bytes_per_peer = 64 << 20;
  std::int64_t keepalive_interval_ms = 1'000;
  std::int64_t idle_timeout_ms = 10'000;
  std::int64_t reconnect_min_ms = 100;
  std::int64_t reconnect_max_ms = 1'000;

  bool operator==(const NetworkSettings&) const = default;
};

struct StorageSettings {
  std::uint64_t snapshot_interval_blocks = 1'000;
  std::uint64_t retain_blocks = 100'000;

  bool operator==(const StorageSettings&) const = default;
};

struct SyncSettings {
  std::uint64_t lag_threshold_blocks = 16;
  std::uint64_t max_blocks_per_response = 256;

  bool operator==(const SyncSettings&) const = default;
};

struct ApiSettings {
  std::uint64_t max_body_bytes = 1 << 20;
  std::uint64_t max_connections = 256;

  bool operator==(const ApiSettings&) const = default;
};

// The ingress defenses (node/ingress_guard.h, docs/CONFIGURATION.md "ingress").
struct IngressSettings {
  std::uint64_t connection_rate_per_s = 2'000;
  std::uint64_t connection_burst = 4'000;
  std::uint64_t connection_cancel_rate_per_s = 20'000;
  std::uint64_t connection_cancel_burst = 40'000;
  std::uint64_t account_rate_per_s = 200;
  std::uint64_t account_burst = 400;
  std::uint64_t max_connections_tracked = 4'096;
  std::uint64_t max_accounts_tracked = 65'536;
  std::uint64_t breaker_multiple = 10;  // 0 disables the breaker
  std::uint64_t breaker_min_baseline_per_s = 50;
  std::int64_t breaker_baseline_window_ms = 20'000;
  std::int64_t breaker_current_window_ms = 100;
  std::uint64_t breaker_fee_floor_start = 0;  // the least floor; 0: twice the genesis min_tx_fee
  std::int64_t breaker_floor_rise_ms = 100;
  std::int64_t breaker_floor_step_ms = 1'000;
  std::uint64_t breaker_relax_steps = 3;
  std::int64_t breaker_quiet_gap_ms = 500;  // 0: no backlog grace after a silence
  std::int64_t breaker_backlog_grace_ms = 300;
  std::uint64_t breaker_confirm_multiple = 2;  // 0: no confirmation over the last second
  std::int64_t breaker_max_trip_ms = 30'000;   // 0: a trip lasts as long as the jump does

  bool operator==(const IngressSettings&) const = default;
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

std::string_view log_level_name(LogLevel level);

struct NodeConfig {
  std::string chain_id;
  std::uint32_t validator_index = 0;
  // Paths: as written by to_json; absolute after load_node_config.
  std::string key_file;
  std::string genesis_file;
  std::string data_dir;
  HostPort listen;
  HostPort api_listen;
  std::vector<PeerConfig> peers;  // every other validator
  ConsensusSettings consensus;
  MempoolSettings mempool;
  NetworkSettings network;
  StorageSettings storage;
  SyncSettings sync;
  ApiSettings api;
  IngressSettings ingress;
  std::uint32_t verify_threads = 1;
  // Batches (a peer's gossip message, a client's request) waiting in each verification lane;
  // a full lane refuses more (clients hear "overloaded", peers' gossip is dropped and held
  // behind, docs/MEMPOOL.md "Holds").
  std::uint32_t verify_queue_jobs = 10'000;
  std::uint32_t io_threads = 1;   // peer traffic
  std::uint32_t api_threads = 1;  // the HTTP API and its streams
  LogLevel log_level = LogLevel::kInfo;

  bool operator==(const NodeConfig&) const = default;
};

// Parses and validates a configuration file; relative paths become absolute, resolved against
// the directory holding `path`.
Result<NodeConfig> load_node_config(const std::string& path);
// Parses and validates configuration text; relative paths resolve against `base_dir`.
Result<NodeConfig> parse_node_config(std::string_view text, const std::string& base_dir);
// Every rule of docs/CONFIGURATION.md that needs no other file.
Status validate_node_config(const NodeConfig& config);
// The configuration as a JSON document (every field, paths as stored) that parses back to it.
std::string to_json(const NodeConfig& config);

// The rules that tie a configuration to its network: same chain id, validator index in range,
// and peers that are exactly the other genesis validators with their genesis keys.
Status check_against_genesis(const NodeConfig& config, const exchange::Genesis& genesis);
// Reads the key file and checks that it is the genesis key of this validator.
Result<SecretKey> load_validator_key(const NodeConfig& config, const exchange::Genesis& genesis);

}  // namespace ballast::node
