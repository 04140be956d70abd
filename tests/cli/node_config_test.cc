// A validator's configuration file: what parses, what the defaults are, and that every kind of
// mistake is refused with a message naming the field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "node/config.h"

namespace ballast::node {
namespace {

using Json = nlohmann::json;

PublicKey key_of(const std::string& name) {
  return SecretKey::insecure_from_seed(name).public_key();
}

// A complete, valid configuration of validator 0 in a three-validator network.
Json valid_config() {
  return Json{
      {"chain_id", "ballast-test"},
      {"validator_index", 0},
      {"key_file", "keys/validator-0.key"},
      {"genesis_file", "genesis.json"},
      {"data_dir", "validator-0/data"},
      {"listen", "127.0.0.1:27000"},
      {"api_listen", "127.0.0.1:28000"},
      {"peers",
       {{{"index", 1}, {"address", "127.0.0.1:27001"}, {"public_key", key_of("v1").hex()}},
        {{"index", 2}, {"address", "127.0.0.1:27002"}, {"public_key", key_of("v2").hex()}}}}};
}

exchange::Genesis three_validator_genesis() {
  exchange::Genesis genesis;
  genesis.chain_id = "ballast-test";
  for (const char* name : {"v0", "v1", "v2"}) genesis.validators.push_back({key_of(name), 100});
  return genesis;
}

std::filesystem::path fresh_temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

Result<NodeConfig> parse(const Json& json) {
  return parse_node_config(json.dump(), "/srv/net");
}

// Parses `json` expecting an invalid_argument whose message contains `expected`.
void expect_error(const Json& json, const std::string& expected) {
  auto config = parse(json);
  ASSERT_FALSE(config.is_ok()) << "accepted: " << json.dump();
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find(expected), std::string::npos)
      << "message \"" << config.status().message() << "\" does not mention \"" << expected << "\"";
}

TEST(NodeConfigTest, RequiredFieldsAloneGiveTheDocumentedDefaults) {
  auto config = parse(valid_config());
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->listen, (HostPort{"127.0.0.1", 27000}));
  EXPECT_EQ(config->peers.size(), 2u);
  EXPECT_EQ(config->peers[1].public_key, key_of("v2"));
  EXPECT_EQ(config->consensus.initial_timeout_ms, 1000);
  EXPECT_EQ(config->consensus.max_block_transactions, 2000u);
  EXPECT_EQ(config->mempool.max_bytes, 8u << 20);
  EXPECT_EQ(config->network.max_queued_bytes_per_peer, 64u << 20);
  EXPECT_EQ(config->storage.retain_blocks, 100'000u);
  EXPECT_EQ(config->sync.max_blocks_per_response, 256u);
  EXPECT_EQ(config->api.max_connections, 256u);
  EXPECT_EQ(config->ingress.breaker_multiple, 10u);
  EXPECT_EQ(config->ingress.account_rate_per_s, 200u);
  EXPECT_EQ(config->verify_threads, 1u);
  EXPECT_EQ(config->verify_queue_jobs, 10'000u);
  EXPECT_EQ(config->api_threads, 1u);
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
}

TEST(NodeConfigTest, RelativePathsResolveAgainstTheConfigDirectory) {
  Json json = valid_config();
  json["genesis_file"] = "/etc/ballast/genesis.json";
  json["data_dir"] = "../data/./v0";
  auto config = parse(json);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->key_file, "/srv/net/keys/validator-0.key");
  EXPECT_EQ(config->genesis_file, "/etc/ballast/genesis.json");
  EXPECT_EQ(config->data_dir, "/srv/data/v0");
}

TEST(NodeConfigTest, LoadResolvesAgainstTheFilesDirectory) {
  auto dir = fresh_temp_dir("ballast-node-config-test");
  std::ofstream(dir / "config.json") << valid_config().dump(2);
  auto config = load_node_config((dir / "config.json").string());
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->genesis_file, (dir / "genesis.json").string());
  std::filesystem::remove_all(dir);

  auto missing = load_node_config((dir / "absent.json").string());
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find("absent.json"), std::string::npos);
}

TEST(NodeConfigTest, WrittenConfigurationParsesBackUnchanged) {
  Json json = valid_config();
  json["consensus"] = {{"initial_timeout_ms", 800}, {"min_timeout_ms", 20},
                       {"max_timeout_ms", 9000},    {"empty_block_interval_ms", 10},
                       {"block_interval_ms", 4},    {"max_block_transactions", 5000}};
  json["mempool"] = {{"max_transactions", 7}, {"max_bytes", 70000}, {"max_per_sender", 3}};
  json["network"] = {{"max_frame_bytes", 1000},     {"max_queued_bytes_per_peer", 5000},
                     {"keepalive_interval_ms", 10}, {"idle_timeout_ms", 30},
                     {"reconnect_min_ms", 5},       {"reconnect_max_ms", 50}};
  json["storage"] = {{"snapshot_interval_blocks", 10}, {"retain_blocks", 20}};
  json["sync"] = {{"lag_threshold_blocks", 4}, {"max_blocks_per_response", 8}};
  json["api"] = {{"max_body_bytes", 1024}, {"max_connections", 2}};
  json["ingress"] = {{"connection_rate_per_s", 5},
                     {"connection_burst", 6},
                     {"connection_cancel_rate_per_s", 7},
                     {"connection_cancel_burst", 8},
                     {"account_rate_per_s", 9},
                     {"account_burst", 10},
                     {"max_connections_tracked", 11},
                     {"max_accounts_tracked", 12},
                     {"breaker_multiple", 0},
                     {"breaker_min_baseline_per_s", 13},
                     {"breaker_baseline_window_ms", 14'000},
                     {"breaker_current_window_ms", 500},
                     {"breaker_fee_floor_start", 15},
                     {"breaker_floor_rise_ms", 50},
                     {"breaker_floor_step_ms", 250},
                     {"breaker_relax_steps", 2}};
  json["verify_threads"] = 4;
  json["io_threads"] = 2;
  json["api_threads"] = 3;
  json["log_level"] = "debug";
  json["api_listen"] = "[::1]:28000";
  auto config = parse(json);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->consensus.max_timeout_ms, 9000);
  EXPECT_EQ(config->api_listen, (HostPort{"::1", 28000}));
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
  EXPECT_EQ(config->api_threads, 3u);
  EXPECT_EQ(config->ingress.breaker_fee_floor_start, 15u);
  EXPECT_EQ(config->ingress.breaker_floor_rise_ms, 50);
  EXPECT_EQ(config->ingress.breaker_multiple, 0u) << "0 is allowed: the breaker is off";
  auto again = parse_node_config(to_json(*config), "/elsewhere");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(*again, *config);
}

TEST(NodeConfigTest, UnknownKeysAreErrorsAtEveryLevel) {
  Json json = valid_config();
  json["verify_thread"] = 2;
  expect_error(json, "verify_thread is not a known field");
  json = valid_config();
  json["consensus"] = {{"min_timout_ms", 10}};
  expect_error(json, "consensus.min_timout_ms is not a known field");
  json = valid_config();
  json["peers"][0]["pubkey"] = key_of("v1").hex();
  expect_error(json, "peers[0].pubkey is not a known field");
}

TEST(NodeConfigTest, MissingAndMistypedFieldsAreNamed) {
  Json json = valid_config();
  json.erase("listen");
  expect_error(json, "missing field listen");
  json = valid_config();
  json["peers"][1].erase("public_key");
  expect_error(json, "missing field peers[1].public_key");
  json = valid_config();
  json["validator_index"] = "0";
  expect_error(json, "validator_index must be an integer");
  json = valid_config();
  json["mempool"] = {{"max_bytes", 1.5}};
  expect_error(json, "mempool.max_bytes must be an integer");
  json = valid_config();
  json["validator_index"] = -1;
  expect_error(json, "validator_index must be in 0..4294967295");
  json = valid_config();
  json["network"] = 5;
  expect_error(json, "network must be an object");
  expect_error(Json::array({1, 2}), "must be a JSON object");
  auto not_json = parse_node_config("{\"chain_id\": ", "/");
  ASSERT_FALSE(not_json.is_ok());
  EXPECT_NE(not_json.status().message().find("not valid JSON"), std::string::npos);
}

TEST(NodeConfigTest, AddressesMustBeIpAndPort) {
  for (const char* bad : {"localhost:27000", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:27x", "::1:27000", "[::1]:", "[127.0.0.1]:80"}) {
    Json json = valid_config();
    json["listen"] = bad;
    expect_error(json, "listen: \"" + std::string(bad) + "\" is not host:port");
  }
  Json json = valid_config();
  json["peers"][0]["address"] = "10.0.0.1";
  expect_error(json, "peers[0].address");
  json = valid_config();
  json["api_listen"] = "127.0.0.1:27000";
  expect_error(json, "api_listen must differ from listen");
}

TEST(NodeConfigTest, PeersMustBeDistinctAndNotSelf) {
  Json json = valid_config();
  json["peers"][1]["index"] = 0;
  expect_error(json, "peers[1].index is this node's own validator_index");
  json = valid_config();
  json["peers"][1]["index"] = 1;
  expect_error(json, "peers[1].index 1 is listed twice");
  json = valid_config();
  json["peers"][1]["address"] = "127.0.0.1:27001";
  expect_error(json, "peers[1].address 127.0.0.1:27001 is listed twice");
  json = valid_config();
  json["peers"][0]["address"] = "127.0.0.1:27000";
  expect_error(json, "peers[0].address is this node's own listen address");
  json = valid_config();
  json["peers"][0]["public_key"] = "abcd";
  expect_error(json, "peers[0].public_key");
}

TEST(NodeConfigTest, TimersArePositiveAndOrdered) {
  Json json = valid_config();
  json["consensus"] = {{"min_timeout_ms", 0}};
  expect_error(json, "consensus.min_timeout_ms must be positive");
  json["consensus"] = {{"min_timeout_ms", 2000}};
  expect_error(json,
               "consensus.min_timeout_ms (2000) must not exceed consensus.initial_timeout_ms");
  json["consensus"] = {{"initial_timeout_ms", 4000}};
  expect_error(json,
               "consensus.initial_timeout_ms (4000) must not exceed consensus.max_timeout_ms");
  json["consensus"] = {{"empty_block_interval_ms", -5}};
  expect_error(json, "consensus.empty_block_interval_ms must be positive");
  json["consensus"] = {{"block_interval_ms", -1}};
  expect_error(json, "consensus.block_interval_ms must be in 0..50");
  json["consensus"] = {{"block_interval_ms", 60}};
  expect_error(json, "consensus.block_interval_ms must be in 0..50");
  json = valid_config();
  json["network"] = {{"reconnect_min_ms", 6000}};
  expect_error(json, "network.reconnect_min_ms (6000) must not exceed network.reconnect_max_ms");
  json["network"] = {{"keepalive_interval_ms", 10000}};
  expect_error(json, "network.keepalive_interval_ms must be below network.idle_timeout_ms");
}

TEST(NodeConfigTest, LimitsArePositiveAndConsistent) {
  for (const auto& [section, field] :
       {std::pair{"mempool", "max_transactions"}, std::pair{"mempool", "max_bytes"},
        std::pair{"mempool", "max_per_sender"}, std::pair{"consensus", "max_block_transactions"},
        std::pair{"network", "max_frame_bytes"}, std::pair{"storage", "snapshot_interval_blocks"},
        std::pair{"sync", "lag_threshold_blocks"}, std::pair{"sync", "max_blocks_per_response"},
        std::pair{"api", "max_body_bytes"}, std::pair{"api", "max_connections"}}) {
    Json json = valid_config();
    json[section] = {{field, 0}};
    expect_error(json, std::string(section) + "." + field + " must be positive");
  }
  Json json = valid_config();
  json["network"] = {{"max_frame_bytes", 100 << 20}};
  expect_error(json, "network.max_frame_bytes must not exceed network.max_queued_bytes_per_peer");
  json = valid_config();
  json["verify_threads"] = 0;
  expect_error(json, "verify_threads must be in 1..256");
  json = valid_config();
  json["verify_queue_jobs"] = 0;
  expect_error(json, "verify_queue_jobs must be in 1..1000000");
  json = valid_config();
  json["api_threads"] = 257;
  expect_error(json, "api_threads must be in 1..256");
  json = valid_config();
  json["log_level"] = "verbose";
  expect_error(json, "log_level must be one of trace, debug, info, warn, error");
  json = valid_config();
  json["chain_id"] = "";
  expect_error(json, "chain_id must be 1..64 characters");
}

TEST(NodeConfigTest, IngressLimitsAreInRangeAndTheBaselineSlowerThanTheCurrentRate) {
  for (const char* field : {"connection_rate_per_s", "connection_burst",
                            "connection_cancel_rate_per_s", "account_burst", "max_accounts_tracked",
                            "breaker_min_baseline_per_s", "breaker_relax_steps"}) {
    Json json = valid_config();
    json["ingress"] = {{field, 0}};
    expect_error(json, std::string("ingress.") + field + " must be in 1..");
  }
  Json json = valid_config();
  json["ingress"] = {{"account_rate_per_s", 2'000'000'000}};
  expect_error(json, "ingress.account_rate_per_s must be in 1..1000000000");
  json["ingress"] = {{"breaker_current_window_ms", 5}};
  expect_error(json, "ingress.breaker_current_window_ms must be in 10..60000");
  json["ingress"] = {{"breaker_baseline_window_ms", 100}};
  expect_error(json,
               "ingress.breaker_baseline_window_ms must exceed ingress.breaker_current_window_ms");
  json["ingress"] = {{"breaker_quiet_gap_ms", -1}};
  expect_error(json, "ingress.breaker_quiet_gap_ms must be in 0..3600000");
  json["ingress"] = {{"breaker_backlog_grace_ms", 3'600'001}};
  expect_error(json, "ingress.breaker_backlog_grace_ms must be in 0..3600000");
  json["ingress"] = {{"breaker_max_trip_ms", 999}};
  expect_error(json, "ingress.breaker_max_trip_ms must be 0 or in 1000..86400000");
  json["ingress"] = {{"breaker_confirm_multiple", 2'000'000'000}};
  expect_error(json, "ingress.breaker_confirm_multiple must be in 0..1000000000");
  json["ingress"] = {{"breaker_multipl", 10}};
  expect_error(json, "ingress.breaker_multipl is not a known field");
}

TEST(NodeConfigTest, FitsTheGenesisItNames) {
  auto config = parse(valid_config());
  ASSERT_TRUE(config.is_ok());
  exchange::Genesis genesis = three_validator_genesis();
  Status fits = check_against_genesis(*config, genesis);
  EXPECT_TRUE(fits.is_ok()) << fits.to_string();
}

TEST(NodeConfigTest, MismatchesWithTheGenesisAreNamed) {
  auto expect_mismatch = [](const Json& json, const exchange::Genesis& genesis,
                            const std::string& expected) {
    auto config = parse(json);
    ASSERT_TRUE(config.is_ok()) << config.status().to_string();
    Status fits = check_against_genesis(*config, genesis);
    ASSERT_FALSE(fits.is_ok());
    EXPECT_NE(fits.message().find(expected), std::string::npos) << fits.message();
  };
  exchange::Genesis genesis = three_validator_genesis();
  Json json = valid_config();
  json["chain_id"] = "other-net";
  expect_mismatch(json, genesis, "chain_id \"other-net\" differs from the genesis");
  json = valid_config();
  json["validator_index"] = 3;
  json["peers"].push_back(
      {{"index", 0}, {"address", "127.0.0.1:27003"}, {"public_key", key_of("v0").hex()}});
  expect_mismatch(json, genesis, "validator_index 3 is out of range: the genesis has 3");
  json = valid_config();
  json["peers"].erase(1);
  expect_mismatch(json, genesis, "no entry for genesis validator 2");
  json = valid_config();
  json["peers"][0]["public_key"] = key_of("intruder").hex();
  expect_mismatch(json, genesis, "peers[0].public_key differs from the genesis key of validator 1");
  json = valid_config();
  json["peers"][1]["index"] = 7;
  expect_mismatch(json, genesis, "peers[1].index 7 is out of range");
}

TEST(NodeConfigTest, KeyFileMustHoldThisValidatorsGenesisKey) {
  auto dir = fresh_temp_dir("ballast-node-config-key-test");
  std::filesystem::create_directories(dir / "keys");
  ASSERT_TRUE(
      write_key_file((dir / "keys/validator-0.key").string(), SecretKey::insecure_from_seed("v0"))
          .is_ok());
  auto config = parse_node_config(valid_config().dump(), dir.string());
  ASSERT_TRUE(config.is_ok());
  exchange::Genesis genesis = three_validator_genesis();
  auto key = load_validator_key(*config, genesis);
  ASSERT_TRUE(key.is_ok()) << key.status().to_string();
  EXPECT_EQ(key->public_key(), key_of("v0"));

  genesis.validators[0].key = key_of("someone-else");
  auto wrong = load_validator_key(*config, genesis);
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(wrong.status().message().find("genesis validator 0"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ballast::node
