// `ballast localnet`: init writes a network a node can start from; start, stop and status manage
// exactly the recorded validator processes. A small shell script stands in for `ballast node`
// (the processes are real; only what they run is not a validator).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "cli/localnet.h"
#include "crypto/keys.h"
#include "exchange/genesis.h"
#include "node/config.h"

namespace ballast::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::uint16_t kBasePort = 47'000;  // nothing binds it: the stand-in has no sockets

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

class LocalnetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() /
            ("ballast-localnet-" + std::string(test->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    dir_ = root_ / "net";
  }

  // Whatever a test started dies here, even if the test failed half-way.
  void TearDown() override {
    for (int pid : started_) {
      if (runs_stand_in(pid)) ::kill(pid, SIGKILL);
    }
    if (decoy_ > 0) {
      ::kill(decoy_, SIGKILL);
      ::waitpid(decoy_, nullptr, 0);
    }
    fs::remove_all(root_);
  }

  void init(std::uint32_t validators, bool breakers = true) {
    LocalnetInitOptions options;
    options.dir = dir_.string();
    options.validators = validators;
    options.base_port = kBasePort;
    options.breakers = breakers;
    std::ostringstream out;
    Status status = localnet_init(options, out);
    ASSERT_TRUE(status.is_ok()) << status.to_string();
  }

  // A program whose command line carries `node --config PATH` like the real one, and that
  // runs until signalled.
  std::string stand_in() {
    fs::path script = root_ / "fake-ballast";
    if (!fs::exists(script)) {
      std::ofstream(script) << "#!/bin/sh\nwhile :; do sleep 1; done\n";
      fs::permissions(script, fs::perms::owner_all);
    }
    return script.string();
  }

  bool runs_stand_in(int pid) {
    std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    return cmdline.find((root_ / "fake-ballast").string()) != std::string::npos;
  }

  std::string start(std::vector<std::uint32_t> only = {}) {
    LocalnetStartOptions options;
    options.dir = dir_.string();
    options.binary = stand_in();
    options.only = std::move(only);
    std::ostringstream out;
    Status status = localnet_start(options, out);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    for (std::uint32_t i = 0; i < 8; ++i) {
      if (auto pid = pid_of(i)) started_.insert(*pid);
    }
    return out.str();
  }

  std::string stop(std::vector<std::uint32_t> only = {}) {
    LocalnetStopOptions options;
    options.dir = dir_.string();
    options.only = std::move(only);
    std::ostringstream out;
    Status status = localnet_stop(options, out);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    return out.str();
  }

  nlohmann::json status_json() {
    LocalnetStatusOptions options;
    options.dir = dir_.string();
    options.json = true;
    std::ostringstream out;
    Status status = localnet_status(options, out);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    return nlohmann::json::parse(out.str());
  }

  std::optional<int> pid_of(std::uint32_t index) {
    auto pid = running_validator_pid(dir_.string(), index);
    EXPECT_TRUE(pid.is_ok()) << pid.status().to_string();
    return pid.is_ok() ? *pid : std::nullopt;
  }

  fs::path pid_file(std::uint32_t index) {
    return dir_ / ("validator-" + std::to_string(index)) / "node.pid";
  }

  fs::path root_;
  fs::path dir_;
  std::set<int> started_;
  pid_t decoy_ = -1;
};

TEST_F(LocalnetTest, InitWritesANetworkEveryValidatorCanStartFrom) {
  init(4);
  auto genesis = exchange::load_genesis_file((dir_ / "genesis.json").string());
  ASSERT_TRUE(genesis.is_ok()) << genesis.status().to_string();
  EXPECT_EQ(genesis->chain_id, "ballast-localnet");
  ASSERT_EQ(genesis->validators.size(), 4u);
  EXPECT_TRUE(genesis->find_market("BTC-USD").has_value());
  std::set<std::uint16_t> ports;
  for (std::uint32_t i = 0; i < 4; ++i) {
    fs::path key_path = dir_ / "keys" / ("validator-" + std::to_string(i) + ".key");
    struct stat info {};
    ASSERT_EQ(::stat(key_path.c_str(), &info), 0) << key_path;
    EXPECT_EQ(info.st_mode & 0777, 0600u) << key_path;
    auto config = node::load_node_config(
        (dir_ / ("validator-" + std::to_string(i)) / "config.json").string());
    ASSERT_TRUE(config.is_ok()) << config.status().to_string();
    Status fits = node::check_against_genesis(*config, *genesis);
    EXPECT_TRUE(fits.is_ok()) << fits.to_string();
    auto key = node::load_validator_key(*config, *genesis);
    EXPECT_TRUE(key.is_ok()) << key.status().to_string();
    EXPECT_EQ(config->listen,
              (node::HostPort{"127.0.0.1", static_cast<std::uint16_t>(kBasePort + i)}));
    EXPECT_EQ(config->api_listen.port, kBasePort + 100 + i);
    EXPECT_EQ(config->data_dir, (dir_ / ("validator-" + std::to_string(i)) / "data").string());
    EXPECT_TRUE(fs::is_directory(config->data_dir));
    ports.insert(config->listen.port);
    ports.insert(config->api_listen.port);
  }
  EXPECT_EQ(ports.size(), 8u);
}

TEST_F(LocalnetTest, InitFundsTradersWhoseKeysItWrites) {
  init(1);
  auto genesis = exchange::load_genesis_file((dir_ / "genesis.json").string());
  ASSERT_TRUE(genesis.is_ok());
  ASSERT_EQ(genesis->accounts.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    auto key = read_key_file((dir_ / "keys" / ("trader-" + std::to_string(k) + ".key")).string());
    ASSERT_TRUE(key.is_ok()) << key.status().to_string();
    EXPECT_EQ(key->public_key(), genesis->accounts[k].key);
    EXPECT_EQ(genesis->accounts[k].balances.size(), 3u);
  }
}

TEST_F(LocalnetTest, InitTurnsEveryMarketsBreakersOffOnlyWhenAsked) {
  init(1);
  auto genesis = exchange::load_genesis_file((dir_ / "genesis.json").string());
  ASSERT_TRUE(genesis.is_ok()) << genesis.status().to_string();
  ASSERT_FALSE(genesis->markets.empty());
  for (const exchange::MarketSpec& market : genesis->markets) {
    EXPECT_TRUE(market.breakers.enabled) << market.symbol;
    EXPECT_EQ(market.breakers.band_bps, exchange::BreakerSpec{}.band_bps) << "the defaults";
  }

  fs::remove_all(dir_);
  init(1, /*breakers=*/false);
  genesis = exchange::load_genesis_file((dir_ / "genesis.json").string());
  ASSERT_TRUE(genesis.is_ok()) << genesis.status().to_string();
  ASSERT_FALSE(genesis->markets.empty());
  for (const exchange::MarketSpec& market : genesis->markets) {
    EXPECT_FALSE(market.breakers.enabled) << market.symbol;
  }
}

TEST_F(LocalnetTest, InitRefusesANonEmptyDirectoryUnlessForced) {
  init(2);
  std::string first_genesis = read_file(dir_ / "genesis.json");
  std::ofstream(dir_ / "notes.txt") << "mine";
  LocalnetInitOptions options;
  options.dir = dir_.string();
  options.validators = 3;
  std::ostringstream out;
  Status refused = localnet_init(options, out);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("--force"), std::string::npos);
  EXPECT_EQ(read_file(dir_ / "genesis.json"), first_genesis);

  options.force = true;
  Status replaced = localnet_init(options, out);
  ASSERT_TRUE(replaced.is_ok()) << replaced.to_string();
  auto genesis = exchange::load_genesis_file((dir_ / "genesis.json").string());
  ASSERT_TRUE(genesis.is_ok());
  EXPECT_EQ(genesis->validators.size(), 3u);
  EXPECT_EQ(read_file(dir_ / "notes.txt"), "mine");  // not ours to delete
}

TEST_F(LocalnetTest, InitRejectsImpossibleOptions) {
  std::ostringstream out;
  LocalnetInitOptions options;
  options.dir = dir_.string();
  options.validators = 0;
  EXPECT_FALSE(localnet_init(options, out).is_ok());
  options.validators = 4;
  options.base_port = 65'500;  // the API ports would pass 65535
  Status status = localnet_init(options, out);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("--base-port"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "genesis.json"));
}

TEST_F(LocalnetTest, StatusOfAStoppedNetReportsEveryValidatorDown) {
  init(3);
  nlohmann::json report = status_json();
  ASSERT_EQ(report["validators"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& validator = report["validators"][i];
    EXPECT_EQ(validator["index"], i);
    EXPECT_TRUE(validator["pid"].is_null());
    EXPECT_TRUE(validator["height"].is_null());
    EXPECT_TRUE(validator["state_root"].is_null());
    EXPECT_EQ(validator["api"], "http://127.0.0.1:" + std::to_string(kBasePort + 100 + i));
  }
  LocalnetStatusOptions options;
  options.dir = dir_.string();
  std::ostringstream text;
  ASSERT_TRUE(localnet_status(options, text).is_ok());
  EXPECT_NE(text.str().find("down"), std::string::npos);
}

TEST_F(LocalnetTest, StartRecordsLiveProcessesAndStopEndsExactlyThose) {
  init(3);
  std::string output = start();
  std::vector<int> pids;
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto pid = pid_of(i);
    ASSERT_TRUE(pid.has_value()) << "validator " << i << " not running; start said:\n" << output;
    EXPECT_EQ(read_file(pid_file(i)), std::to_string(*pid) + "\n");
    pids.push_back(*pid);
  }
  EXPECT_EQ(std::set<int>(pids.begin(), pids.end()).size(), 3u);
  nlohmann::json report = status_json();
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(report["validators"][i]["pid"], pids[i]);
    EXPECT_TRUE(report["validators"][i]["height"].is_null());  // the stand-in has no API
  }

  std::string again = start();
  EXPECT_EQ(again.find("started"), std::string::npos) << again;
  for (std::uint32_t i = 0; i < 3; ++i) EXPECT_EQ(pid_of(i), pids[i]);

  stop();
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(runs_stand_in(pids[i])) << "pid " << pids[i] << " survived stop";
    EXPECT_FALSE(fs::exists(pid_file(i)));
    EXPECT_FALSE(pid_of(i).has_value());
  }
}

// Polls `condition` every 20 ms for up to 10 s.
bool eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

TEST_F(LocalnetTest, SuperviseRestartsACrashedValidatorButNotAStoppedOne) {
  init(2);
  std::atomic<bool> stop_supervising{false};
  std::ostringstream out;
  Status supervised;
  LocalnetStartOptions options;
  options.dir = dir_.string();
  options.binary = stand_in();
  options.supervise = true;
  options.restart_delay_ms = 50;
  options.stop = &stop_supervising;
  std::thread supervisor([&] { supervised = localnet_start(options, out); });
  struct JoinGuard {  // the supervisor ends even if an assertion below fails
    std::atomic<bool>& stop;
    std::thread& thread;
    ~JoinGuard() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } guard{stop_supervising, supervisor};

  ASSERT_TRUE(eventually([&] { return pid_of(0) && pid_of(1); }));
  int crashed = *pid_of(0);
  started_.insert({crashed, *pid_of(1)});
  ASSERT_EQ(::kill(crashed, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return pid_of(0) && *pid_of(0) != crashed; }))
      << "validator 0 was not restarted";
  started_.insert(*pid_of(0));

  stop({1});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several supervision rounds
  EXPECT_FALSE(pid_of(1).has_value()) << "a validator stopped on purpose stays stopped";

  stop({0});
  supervisor.join();  // every supervised validator is stopped: supervision ends by itself
  EXPECT_TRUE(supervised.is_ok()) << supervised.to_string();
  EXPECT_NE(out.str().find("validator 0 exited; restarting in 50 ms"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("supervision ends"), std::string::npos) << out.str();

  start({1});  // a later start clears the stop
  EXPECT_TRUE(pid_of(1).has_value());
}

TEST_F(LocalnetTest, OnlySelectsWhichValidatorsStartAndStop) {
  init(3);
  start({0, 2});
  EXPECT_TRUE(pid_of(0).has_value());
  EXPECT_FALSE(pid_of(1).has_value());
  auto survivor = pid_of(2);
  ASSERT_TRUE(survivor.has_value());
  stop({0});
  EXPECT_FALSE(pid_of(0).has_value());
  EXPECT_EQ(pid_of(2), survivor);
  EXPECT_TRUE(fs::exists(pid_file(2)));
  stop();
  EXPECT_FALSE(pid_of(2).has_value());
}

TEST_F(LocalnetTest, APidFileNamingAnotherProcessIsNeverSignalled) {
  init(2);
  decoy_ = ::fork();
  ASSERT_GE(decoy_, 0);
  if (decoy_ == 0) {
    ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // As if validator 0 had died and the kernel handed its PID to an unrelated program.
  std::ofstream(pid_file(0)) << decoy_ << "\n";
  EXPECT_FALSE(pid_of(0).has_value());
  stop();
  EXPECT_EQ(::waitpid(decoy_, nullptr, WNOHANG), 0) << "the decoy was signalled";
  EXPECT_FALSE(fs::exists(pid_file(0)));

  std::ofstream(pid_file(0)) << decoy_ << "\n";
  start({0});
  auto pid = pid_of(0);
  ASSERT_TRUE(pid.has_value());
  EXPECT_NE(*pid, decoy_);
}

TEST_F(LocalnetTest, StartRefusesWhatCannotWork) {
  init(2);
  std::ostringstream out;
  LocalnetStartOptions options;
  options.dir = dir_.string();
  options.binary = (root_ / "no-such-program").string();
  Status missing = localnet_start(options, out);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("no-such-program"), std::string::npos);
  options.binary = stand_in();
  options.only = {5};
  Status unknown = localnet_start(options, out);
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.message().find("no validator 5"), std::string::npos);
  options.dir = (root_ / "elsewhere").string();
  options.only = {};
  EXPECT_FALSE(localnet_start(options, out).is_ok());
}

}  // namespace
}  // namespace ballast::cli
