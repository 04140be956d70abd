#include "cli/localnet.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "client/node_client.h"
#include "crypto/keys.h"
#include "exchange/genesis.h"
#include "node/config.h"

namespace ballast::cli {
namespace {

namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

constexpr std::uint32_t kMaxValidators = 100;  // API ports sit 100 above the peer ports
constexpr std::uint32_t kMaxTraders = 10'000;
constexpr std::uint16_t kApiPortOffset = 100;
constexpr std::uint64_t kValidatorStake = 100;
constexpr std::int64_t kKillWaitMs = 5'000;

// The tradable world of examples/genesis.json; accounts and validators are added per localnet.
constexpr std::string_view kLocalnetMarkets = R"({
  "chain_id": "ballast-localnet",
  "tx_fee_asset": "USD",
  "min_tx_fee": 1,
  "max_open_orders_per_account": 1000,
  "assets": [
    {"symbol": "BTC", "decimals": 8},
    {"symbol": "ETH", "decimals": 8},
    {"symbol": "USD", "decimals": 2}
  ],
  "markets": [
    {"symbol": "BTC-USD", "base": "BTC", "quote": "USD", "tick_size": 1, "lot_size": 100000,
     "min_size": 100000, "maker_fee_bps": 2, "taker_fee_bps": 5},
    {"symbol": "ETH-USD", "base": "ETH", "quote": "USD", "tick_size": 1, "lot_size": 1000000,
     "min_size": 1000000, "maker_fee_bps": 2, "taker_fee_bps": 5}
  ]
})";
constexpr std::string_view kTraderBalances = R"({"BTC": 1000000000, "ETH": 10000000000,
                                                 "USD": 100000000})";

// ---- Layout of a localnet directory -------------------------------------------------------

fs::path validator_dir(const fs::path& dir, std::uint32_t index) {
  return dir / ("validator-" + std::to_string(index));
}
fs::path config_path(const fs::path& dir, std::uint32_t index) {
  return validator_dir(dir, index) / "config.json";
}
fs::path pid_path(const fs::path& dir, std::uint32_t index) {
  return validator_dir(dir, index) / "node.pid";
}
fs::path log_path(const fs::path& dir, std::uint32_t index) {
  return validator_dir(dir, index) / "node.log";
}
// Written by `stop`, removed by `start`: a supervisor leaves a validator with it alone.
fs::path stopped_marker_path(const fs::path& dir, std::uint32_t index) {
  return validator_dir(dir, index) / "stopped";
}
// The one spelling used both on the command line of a started node and when recognising it.
std::string node_config_argument(const fs::path& dir, std::uint32_t index) {
  return fs::weakly_canonical(fs::absolute(config_path(dir, index))).string();
}

Result<std::uint32_t> validator_count(const fs::path& dir) {
  auto genesis = exchange::load_genesis_file((dir / "genesis.json").string());
  if (!genesis.is_ok()) {
    return Status(
        genesis.status().code(),
        dir.string() + " is not a localnet (ballast localnet init): " + genesis.status().message());
  }
  return static_cast<std::uint32_t>(genesis->validators.size());
}

Result<std::vector<std::uint32_t>> select_validators(std::uint32_t count,
                                                     const std::vector<std::uint32_t>& only) {
  if (only.empty()) {
    std::vector<std::uint32_t> all(count);
    for (std::uint32_t i = 0; i < count; ++i) all[i] = i;
    return all;
  }
  for (std::uint32_t index : only) {
    if (index >= count) {
      return invalid_argument("--only: there is no validator " + std::to_string(index) +
                              " (the localnet has " + std::to_string(count) + ")");
    }
  }
  return only;
}

Status write_text_file(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::trunc);
  file << text;
  file.close();
  if (!file) return io_error("cannot write " + path.string());
  return Status::ok();
}

// ---- Recognising a validator's process ----------------------------------------------------

std::optional<int> read_pid_file(const fs::path& path) {
  std::ifstream file(path);
  long long pid = 0;
  if (!(file >> pid) || pid <= 0 || pid > INT32_MAX) return std::nullopt;
  return static_cast<int>(pid);
}

// True if the process runs `... node --config <config>`. A zombie or vanished process has no
// command line, and a recycled PID runs something else: both are false.
bool is_node_process(int pid, const std::string& config) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> argv;
  for (std::string arg; std::getline(file, arg, '\0');) argv.push_back(arg);
  for (std::size_t i = 0; i + 2 < argv.size(); ++i) {
    if (argv[i] == "node" && argv[i + 1] == "--config" && argv[i + 2] == config) return true;
  }
  return false;
}

// glibc 2.36's <sys/pidfd.h> lacks C linkage for C++, so the system calls are made directly.
int pidfd_open(int pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
void pidfd_send_signal(int fd, int number) {
  ::syscall(SYS_pidfd_send_signal, fd, number, nullptr, 0);
}

// A pidfd pins the process: once it is verified, a signal through it cannot reach a newcomer
// that inherited the PID.
class VerifiedProcess {
 public:
  // Nothing if `pid` is gone or is not the node of `config`.
  static Result<std::optional<VerifiedProcess>> open(int pid, const std::string& config) {
    int fd = pidfd_open(pid);
    if (fd < 0 && errno == ESRCH) return std::optional<VerifiedProcess>();
    if (fd < 0) {
      return io_error("cannot inspect process " + std::to_string(pid) + ": " +
                      std::strerror(errno) + " (process handles need Linux 5.3 or later)");
    }
    VerifiedProcess process(pid, fd);
    if (!is_node_process(pid, config)) return std::optional<VerifiedProcess>();
    return std::optional<VerifiedProcess>(std::move(process));
  }
  VerifiedProcess(VerifiedProcess&& other) noexcept
      : pid_(other.pid_), fd_(std::exchange(other.fd_, -1)) {}
  VerifiedProcess& operator=(VerifiedProcess&&) = delete;
  ~VerifiedProcess() {
    if (fd_ >= 0) ::close(fd_);
  }

  int pid() const { return pid_; }
  void signal(int number) const { pidfd_send_signal(fd_, number); }
  // True once the process has exited (within `timeout_ms`).
  bool wait_exit(std::int64_t timeout_ms) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    pollfd entry{fd_, POLLIN, 0};
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      int ready = ::poll(&entry, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
      if (ready > 0) return true;
      if (ready == 0 || errno != EINTR) return false;
    }
  }

 private:
  VerifiedProcess(int pid, int fd) : pid_(pid), fd_(fd) {}
  int pid_;
  int fd_;
};

Result<std::optional<VerifiedProcess>> running_validator(const fs::path& dir, std::uint32_t index) {
  auto pid = read_pid_file(pid_path(dir, index));
  if (!pid) return std::optional<VerifiedProcess>();
  return VerifiedProcess::open(*pid, node_config_argument(dir, index));
}

// ---- init ---------------------------------------------------------------------------------

Status check_init_options(const LocalnetInitOptions& options) {
  if (options.dir.empty()) return invalid_argument("--dir is required");
  if (options.validators < 1 || options.validators > kMaxValidators) {
    return invalid_argument("--validators must be in 1..100");
  }
  if (options.traders > kMaxTraders) return invalid_argument("--traders must be in 0..10000");
  std::uint32_t highest =
      std::uint32_t{options.base_port} + kApiPortOffset + options.validators - 1;
  if (options.base_port == 0 || highest > 65'535) {
    return invalid_argument("--base-port leaves no room: ports up to " + std::to_string(highest) +
                            " are needed");
  }
  return Status::ok();
}

// Only what init itself creates is removed, so a mistaken --dir loses no unrelated files.
Status clear_localnet(const fs::path& dir) {
  std::vector<fs::path> doomed = {dir / "keys", dir / "genesis.json"};
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("validator-")) continue;
    std::uint32_t index = 0;
    std::istringstream digits(name.substr(std::strlen("validator-")));
    if (!(digits >> index)) continue;
    BALLAST_ASSIGN_OR_RETURN(auto process, running_validator(dir, index));
    if (process) {
      return failed_precondition("validator " + std::to_string(index) + " is running (pid " +
                                 std::to_string(process->pid()) +
                                 "); stop the localnet before replacing it");
    }
    doomed.push_back(entry.path());
  }
  std::error_code error;
  for (const fs::path& path : doomed) {
    fs::remove_all(path, error);
    if (error) return io_error("cannot remove " + path.string() + ": " + error.message());
  }
  return Status::ok();
}

Status prepare_directory(const LocalnetInitOptions& options) {
  fs::path dir(options.dir);
  std::error_code error;
  if (fs::exists(dir, error)) {
    if (!fs::is_directory(dir)) return failed_precondition(options.dir + " is not a directory");
    if (!fs::is_empty(dir)) {
      if (!options.force) {
        return failed_precondition(options.dir +
                                   " is not empty; pass --force to replace the localnet in it");
      }
      BALLAST_RETURN_IF_ERROR(clear_localnet(dir));
    }
  }
  fs::create_directories(dir / "keys", error);
  if (error) return io_error("cannot create " + (dir / "keys").string() + ": " + error.message());
  fs::permissions(dir / "keys", fs::perms::owner_all, error);
  for (std::uint32_t i = 0; i < options.validators; ++i) {
    fs::create_directories(validator_dir(dir, i) / "data", error);
    if (error) return io_error("cannot create " + validator_dir(dir, i).string());
  }
  return Status::ok();
}

Result<PublicKey> create_key(const fs::path& dir, const std::string& name) {
  SecretKey key = SecretKey::generate();
  BALLAST_RETURN_IF_ERROR(write_key_file((dir / "keys" / (name + ".key")).string(), key));
  return key.public_key();
}

Result<OrderedJson> create_genesis(const fs::path& dir, const LocalnetInitOptions& options,
                                   std::vector<PublicKey>& validator_keys) {
  OrderedJson genesis = OrderedJson::parse(kLocalnetMarkets);
  if (!options.breakers) {
    for (OrderedJson& market : genesis["markets"]) market["breakers"] = {{"enabled", false}};
  }
  BALLAST_ASSIGN_OR_RETURN(PublicKey fee_account, create_key(dir, "fee-account"));
  genesis["fee_account"] = fee_account.hex();
  genesis["accounts"] = OrderedJson::array();
  for (std::uint32_t k = 0; k < options.traders; ++k) {
    BALLAST_ASSIGN_OR_RETURN(PublicKey trader, create_key(dir, "trader-" + std::to_string(k)));
    genesis["accounts"].push_back(
        {{"pubkey", trader.hex()}, {"balances", OrderedJson::parse(kTraderBalances)}});
  }
  genesis["validators"] = OrderedJson::array();
  for (std::uint32_t i = 0; i < options.validators; ++i) {
    BALLAST_ASSIGN_OR_RETURN(PublicKey key, create_key(dir, "validator-" + std::to_string(i)));
    validator_keys.push_back(key);
    genesis["validators"].push_back({{"pubkey", key.hex()}, {"stake", kValidatorStake}});
  }
  return genesis;
}

node::NodeConfig validator_config(const LocalnetInitOptions& options, const std::string& chain_id,
                                  const std::vector<PublicKey>& keys, std::uint32_t index) {
  auto loopback = [](std::uint32_t port) {
    return node::HostPort{"127.0.0.1", static_cast<std::uint16_t>(port)};
  };
  node::NodeConfig config;
  config.chain_id = chain_id;
  config.validator_index = index;
  // Relative to the configuration file, so the directory can be moved as a whole.
  config.key_file = "../keys/validator-" + std::to_string(index) + ".key";
  config.genesis_file = "../genesis.json";
  config.data_dir = "data";
  config.listen = loopback(options.base_port + index);
  config.api_listen = loopback(options.base_port + kApiPortOffset + index);
  for (std::uint32_t peer = 0; peer < keys.size(); ++peer) {
    if (peer != index)
      config.peers.push_back({peer, loopback(options.base_port + peer), keys[peer]});
  }
  return config;
}

Status write_localnet(const LocalnetInitOptions& options) {
  fs::path dir(options.dir);
  std::vector<PublicKey> keys;
  BALLAST_ASSIGN_OR_RETURN(OrderedJson genesis_json, create_genesis(dir, options, keys));
  std::string genesis_text = genesis_json.dump(2) + "\n";
  auto genesis = exchange::parse_genesis_json(genesis_text);
  BALLAST_ASSERT_MSG(genesis.is_ok(), genesis.status().to_string().c_str());
  BALLAST_RETURN_IF_ERROR(write_text_file(dir / "genesis.json", genesis_text));
  for (std::uint32_t i = 0; i < options.validators; ++i) {
    node::NodeConfig config = validator_config(options, genesis->chain_id, keys, i);
    Status valid = node::validate_node_config(config);
    BALLAST_ASSERT_MSG(valid.is_ok(), valid.to_string().c_str());
    BALLAST_RETURN_IF_ERROR(write_text_file(config_path(dir, i), node::to_json(config)));
  }
  return Status::ok();
}

// ---- start --------------------------------------------------------------------------------

// Starts `binary args...` in its own session, detached from us (double fork: it is never our
// child, so it needs no reaping and outlives this command), output appended to `log`. Returns
// its PID once exec has succeeded, or the reason it failed.
Result<int> spawn_detached(const std::string& binary, const std::vector<std::string>& args,
                           const fs::path& log) {
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return io_error("cannot open " + log.string() + ": " + std::strerror(errno));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2];
  if (null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return io_error(std::string("cannot set up a process: ") + std::strerror(errno));
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t child = ::fork();
  if (child == 0) {  // only async-signal-safe calls from here to exec
    ::setsid();
    if (::fork() == 0) {
      sigset_t all;
      ::sigemptyset(&all);
      ::sigprocmask(SIG_SETMASK, &all, nullptr);
      pid_t self = ::getpid();
      ssize_t ignored = ::write(report[1], &self, sizeof self);
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      ::execv(binary.c_str(), argv.data());
      int error = errno;
      ignored = ::write(report[1], &error, sizeof error);
      (void)ignored;
      ::_exit(127);
    }
    ::_exit(0);
  }
  ::close(report[1]);
  ::close(log_fd);
  ::close(null_fd);
  if (child > 0) ::waitpid(child, nullptr, 0);
  pid_t pid = -1;
  int exec_error = 0;
  bool forked = child > 0 && ::read(report[0], &pid, sizeof pid) == sizeof pid;
  // The pipe closes on a successful exec, so an empty read means the program is running.
  bool exec_failed = forked && ::read(report[0], &exec_error, sizeof exec_error) > 0;
  ::close(report[0]);
  if (!forked) return io_error("cannot start " + binary + ": fork failed");
  if (exec_failed) return io_error("cannot run " + binary + ": " + std::strerror(exec_error));
  return static_cast<int>(pid);
}

Result<std::string> node_binary(const std::string& requested) {
  std::string binary = requested;
  if (binary.empty()) {
    std::error_code error;
    binary = fs::read_symlink("/proc/self/exe", error).string();
    if (error) return io_error("cannot find this program: " + error.message());
  }
  if (::access(binary.c_str(), X_OK) != 0) {
    return invalid_argument("--binary " + binary + " is not an executable file");
  }
  return binary;
}

// The test-only fault flags `localnet start` passes on to `ballast node`.
std::vector<std::string> test_fault_arguments(const LocalnetStartOptions& options) {
  std::vector<std::string> arguments;
  if (options.byzantine_equivocate) arguments.push_back("--byzantine-equivocate");
  if (options.corrupt_state_at_height) {
    arguments.push_back("--test-corrupt-state-at-height");
    arguments.push_back(std::to_string(*options.corrupt_state_at_height));
  }
  return arguments;
}

Status start_validator(const fs::path& dir, std::uint32_t index, const std::string& binary,
                       const LocalnetStartOptions& options, std::ostream& out) {
  BALLAST_ASSIGN_OR_RETURN(auto process, running_validator(dir, index));
  if (process) {
    out << "validator " << index << " already running (pid " << process->pid() << ")\n";
    return Status::ok();
  }
  std::error_code ignored;
  fs::remove(stopped_marker_path(dir, index), ignored);
  std::string config = node_config_argument(dir, index);
  // A broken configuration is reported here rather than by a node that dies in the background.
  auto loaded = node::load_node_config(config);
  if (!loaded.is_ok()) return loaded.status();
  std::vector<std::string> arguments = {"node", "--config", config};
  for (std::string& argument : test_fault_arguments(options)) {
    arguments.push_back(std::move(argument));
  }
  if (options.exit_with) {
    arguments.push_back("--exit-with");
    arguments.push_back(std::to_string(*options.exit_with));
  }
  BALLAST_ASSIGN_OR_RETURN(int pid, spawn_detached(binary, arguments, log_path(dir, index)));
  fs::path pid_file = pid_path(dir, index);
  fs::path temporary = pid_file;
  temporary += ".tmp";
  BALLAST_RETURN_IF_ERROR(write_text_file(temporary, std::to_string(pid) + "\n"));
  std::error_code error;
  fs::rename(temporary, pid_file, error);
  if (error) return io_error("cannot record pid in " + pid_file.string() + ": " + error.message());
  out << "started validator " << index << " (pid " << pid << "), log "
      << log_path(dir, index).string() << "\n";
  return Status::ok();
}

// ---- supervise ----------------------------------------------------------------------------

std::int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One supervised validator: when it went down, when it may start again, how long to wait
// after the next exit.
struct Supervised {
  std::uint32_t index = 0;
  std::int64_t restart_at_ms = -1;  // -1: not waiting to restart
  std::int64_t running_since_ms = 0;
  std::int64_t delay_ms = 0;
  std::uint64_t restarts = 0;
};

constexpr std::int64_t kSupervisePollMs = 100;

// Returns whether the validator still wants supervising (it was not stopped on purpose).
Result<bool> supervise_one(const fs::path& dir, Supervised& validator, const std::string& binary,
                           const LocalnetStartOptions& options, std::int64_t now,
                           std::ostream& out) {
  if (fs::exists(stopped_marker_path(dir, validator.index))) return false;
  BALLAST_ASSIGN_OR_RETURN(auto process, running_validator(dir, validator.index));
  if (process) {
    if (now - validator.running_since_ms >= options.stable_after_ms) {
      validator.delay_ms = options.restart_delay_ms;
    }
    return true;
  }
  if (validator.restart_at_ms < 0) {
    validator.restart_at_ms = now + validator.delay_ms;
    out << "validator " << validator.index << " exited; restarting in " << validator.delay_ms
        << " ms (log " << log_path(dir, validator.index).string() << ")\n"
        << std::flush;
    validator.delay_ms = std::min(2 * validator.delay_ms, options.max_restart_delay_ms);
    return true;
  }
  if (now < validator.restart_at_ms) return true;
  validator.restart_at_ms = -1;
  validator.running_since_ms = now;
  validator.restarts += 1;
  Status started = start_validator(dir, validator.index, binary, options, out);
  if (!started.is_ok()) {
    out << "validator " << validator.index << ": " << started.to_string() << "\n";
  }
  out << std::flush;
  return true;
}

Status supervise(const fs::path& dir, const std::vector<std::uint32_t>& selected,
                 const std::string& binary, const LocalnetStartOptions& options,
                 std::ostream& out) {
  std::vector<Supervised> validators;
  for (std::uint32_t index : selected) {
    validators.push_back({index, -1, monotonic_ms(), options.restart_delay_ms, 0});
  }
  out << "supervising validators";
  for (std::uint32_t index : selected) out << " " << index;
  out << " (restart delay " << options.restart_delay_ms << " ms doubling to "
      << options.max_restart_delay_ms << " ms)\n"
      << std::flush;
  while (options.stop == nullptr || !options.stop->load()) {
    bool any = false;
    for (Supervised& validator : validators) {
      BALLAST_ASSIGN_OR_RETURN(bool wanted,
                               supervise_one(dir, validator, binary, options, monotonic_ms(), out));
      any = any || wanted;
    }
    if (!any) {
      out << "every supervised validator was stopped; supervision ends\n";
      return Status::ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kSupervisePollMs));
  }
  out << "supervision ends; the validators keep running\n";
  return Status::ok();
}

// ---- stop ---------------------------------------------------------------------------------

struct Stopping {
  std::uint32_t index;
  VerifiedProcess process;
};

// Waits for every process, escalating to SIGKILL for those still alive after `grace_ms`.
Status await_exit(const fs::path& dir, std::vector<Stopping>& stopping, std::int64_t grace_ms,
                  std::ostream& out) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  Status result;
  for (const Stopping& entry : stopping) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    bool exited = entry.process.wait_exit(std::max<std::int64_t>(left.count(), 0));
    if (!exited) {
      out << "validator " << entry.index << " (pid " << entry.process.pid()
          << ") did not exit in time; sending SIGKILL\n";
      entry.process.signal(SIGKILL);
      exited = entry.process.wait_exit(kKillWaitMs);
    }
    if (!exited) {
      result = io_error("validator " + std::to_string(entry.index) + " (pid " +
                        std::to_string(entry.process.pid()) + ") survived SIGKILL");
      continue;
    }
    fs::remove(pid_path(dir, entry.index));
    out << "stopped validator " << entry.index << " (pid " << entry.process.pid() << ")\n";
  }
  return result;
}

// ---- status -------------------------------------------------------------------------------

struct ValidatorReport {
  std::uint32_t index = 0;
  std::optional<int> pid;
  std::string api;
  bool reachable = false;
  std::optional<std::uint64_t> height;
  std::optional<std::string> state_root;
};

Result<ValidatorReport> report_validator(const fs::path& dir, std::uint32_t index,
                                         std::int64_t timeout_ms) {
  BALLAST_ASSIGN_OR_RETURN(node::NodeConfig config,
                           node::load_node_config(config_path(dir, index).string()));
  ValidatorReport report;
  report.index = index;
  report.api = "http://" + config.api_listen.to_string();
  BALLAST_ASSIGN_OR_RETURN(auto process, running_validator(dir, index));
  if (process) report.pid = process->pid();
  if (!report.pid) return report;
  client::NodeClient api(client::NodeUrl{config.api_listen.host, config.api_listen.port},
                         client::ClientTimeouts{timeout_ms, timeout_ms});
  auto status = api.get("/v1/status");
  if (!status.is_ok() || status->http_status != 200 || !status->body.is_object()) return report;
  report.reachable = true;
  const nlohmann::json& json = status->body;
  if (json.contains("height") && json["height"].is_number_unsigned()) {
    report.height = json["height"].get<std::uint64_t>();
  }
  if (json.contains("state_root") && json["state_root"].is_string()) {
    report.state_root = json["state_root"].get<std::string>();
  }
  return report;
}

void print_reports_json(const std::vector<ValidatorReport>& reports, std::ostream& out) {
  auto optional = [](const auto& value) {
    return value ? OrderedJson(*value) : OrderedJson(nullptr);
  };
  OrderedJson validators = OrderedJson::array();
  for (const ValidatorReport& report : reports) {
    validators.push_back({{"index", report.index},
                          {"pid", optional(report.pid)},
                          {"api", report.api},
                          {"height", optional(report.height)},
                          {"state_root", optional(report.state_root)}});
  }
  out << OrderedJson{{"validators", validators}}.dump() << "\n";
}

void print_reports_text(const std::vector<ValidatorReport>& reports, std::ostream& out) {
  out << std::left << std::setw(11) << "validator" << std::setw(9) << "pid" << std::setw(28)
      << "api" << std::setw(10) << "height"
      << "state_root\n";
  for (const ValidatorReport& report : reports) {
    out << std::setw(11) << report.index << std::setw(9)
        << (report.pid ? std::to_string(*report.pid) : "down") << std::setw(28) << report.api;
    if (!report.pid) {
      out << "-\n";
    } else if (!report.reachable) {
      out << "unreachable\n";
    } else {
      out << std::setw(10) << (report.height ? std::to_string(*report.height) : "?")
          << report.state_root.value_or("?") << "\n";
    }
  }
}

// Turns a failed command into a message and exit code 1 (CLI11 exits with the code given).
void finish(const char* command, const Status& status) {
  if (status.is_ok()) return;
  std::cerr << "ballast localnet " << command << ": " << status.to_string() << "\n";
  throw CLI::RuntimeError(1);
}

void add_only_option(CLI::App& command, std::vector<std::uint32_t>& only) {
  command.add_option("--only", only, "Comma-separated validator indexes (default: all)")
      ->delimiter(',');
}

void add_init(CLI::App& localnet) {
  auto* init = localnet.add_subcommand("init", "Create keys, a genesis and validator configs");
  static LocalnetInitOptions options;
  init->add_option("--validators", options.validators, "Number of validators")
      ->required()
      ->check(CLI::Range(1u, kMaxValidators));
  init->add_option("--dir", options.dir, "Directory to create the localnet in")->required();
  init->add_option("--base-port", options.base_port,
                   "Peer port of validator 0; validator I uses base+I, its API base+100+I")
      ->capture_default_str();
  init->add_option("--traders", options.traders, "Funded demo trader accounts")
      ->check(CLI::Range(0u, kMaxTraders))
      ->capture_default_str();
  init->add_flag("--force", options.force, "Replace the localnet already in --dir");
  init->add_flag("!--no-breakers", options.breakers,
                 "Turn every market's circuit breakers off (to compare against breakers on)");
  init->callback([] { finish("init", localnet_init(options, std::cout)); });
}

void add_start(CLI::App& localnet) {
  auto* start = localnet.add_subcommand("start", "Start the validators that are not running");
  static LocalnetStartOptions options;
  start->add_option("--dir", options.dir, "Localnet directory")->required();
  start->add_option("--binary", options.binary, "The ballast program to run (default: this one)");
  add_only_option(*start, options.only);
  start->add_flag("--supervise", options.supervise,
                  "Stay in the foreground and restart validators that crash, with backoff");
  start->add_flag("--byzantine-equivocate", options.byzantine_equivocate,
                  "TEST ONLY: the started validators deliberately equivocate (docs/CHAOS.md)");
  start->add_option("--test-corrupt-state-at-height", options.corrupt_state_at_height,
                    "TEST ONLY: the started validators' state roots go wrong at this height, "
                    "until they resynchronize (docs/SYNC.md)");
  start->callback([] {
    static std::atomic<bool> stop{false};
    if (options.supervise) {
      options.stop = &stop;
      auto on_signal = [](int) { stop.store(true); };
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
    }
    finish("start", localnet_start(options, std::cout));
  });
}

void add_stop(CLI::App& localnet) {
  auto* stop = localnet.add_subcommand("stop", "Stop the running validators");
  static LocalnetStopOptions options;
  stop->add_option("--dir", options.dir, "Localnet directory")->required();
  add_only_option(*stop, options.only);
  stop->add_flag("--kill", options.kill, "SIGKILL instead of SIGTERM (no clean shutdown)");
  stop->callback([] { finish("stop", localnet_stop(options, std::cout)); });
}

void add_status(CLI::App& localnet) {
  auto* status = localnet.add_subcommand("status", "Show each validator's process and chain");
  static LocalnetStatusOptions options;
  status->add_option("--dir", options.dir, "Localnet directory")->required();
  status->add_flag("--json", options.json, "Print one JSON object");
  status->callback([] { finish("status", localnet_status(options, std::cout)); });
}

}  // namespace

Status localnet_init(const LocalnetInitOptions& options, std::ostream& out) {
  BALLAST_RETURN_IF_ERROR(check_init_options(options));
  BALLAST_RETURN_IF_ERROR(prepare_directory(options));
  BALLAST_RETURN_IF_ERROR(write_localnet(options));
  fs::path dir(options.dir);
  out << "created a localnet of " << options.validators << " validators in " << dir.string()
      << "\n  genesis  " << (dir / "genesis.json").string() << "\n  keys     "
      << (dir / "keys").string() << " (validator-I.key, trader-K.key for " << options.traders
      << " funded traders, fee-account.key)\n";
  for (std::uint32_t i = 0; i < options.validators; ++i) {
    out << "  validator " << i << "  peer 127.0.0.1:" << options.base_port + i
        << "  api http://127.0.0.1:" << options.base_port + kApiPortOffset + i << "\n";
  }
  out << "start it with: ballast localnet start --dir " << dir.string() << "\n";
  return Status::ok();
}

Status localnet_start(const LocalnetStartOptions& options, std::ostream& out) {
  fs::path dir(options.dir);
  BALLAST_ASSIGN_OR_RETURN(std::uint32_t count, validator_count(dir));
  BALLAST_ASSIGN_OR_RETURN(std::vector<std::uint32_t> selected,
                           select_validators(count, options.only));
  BALLAST_ASSIGN_OR_RETURN(std::string binary, node_binary(options.binary));
  for (std::uint32_t index : selected) {
    BALLAST_RETURN_IF_ERROR(start_validator(dir, index, binary, options, out));
  }
  if (!options.supervise) return Status::ok();
  return supervise(dir, selected, binary, options, out);
}

Status localnet_stop(const LocalnetStopOptions& options, std::ostream& out) {
  fs::path dir(options.dir);
  BALLAST_ASSIGN_OR_RETURN(std::uint32_t count, validator_count(dir));
  BALLAST_ASSIGN_OR_RETURN(std::vector<std::uint32_t> selected,
                           select_validators(count, options.only));
  std::vector<Stopping> stopping;
  for (std::uint32_t index : selected) {
    // Before any signal, so a supervisor never takes the exit for a crash.
    BALLAST_RETURN_IF_ERROR(write_text_file(stopped_marker_path(dir, index), "stopped\n"));
    BALLAST_ASSIGN_OR_RETURN(auto process, running_validator(dir, index));
    if (!process) {
      // Whatever the file names (nothing, or a recycled PID) is not this validator.
      if (fs::remove(pid_path(dir, index))) {
        out << "validator " << index << " was not running (removed a stale pid file)\n";
      }
      continue;
    }
    process->signal(options.kill ? SIGKILL : SIGTERM);
    stopping.push_back({index, std::move(*process)});
  }
  if (stopping.empty()) out << "nothing to stop\n";
  return await_exit(dir, stopping, options.grace_ms, out);
}

Status localnet_status(const LocalnetStatusOptions& options, std::ostream& out) {
  fs::path dir(options.dir);
  BALLAST_ASSIGN_OR_RETURN(std::uint32_t count, validator_count(dir));
  std::vector<ValidatorReport> reports;
  for (std::uint32_t index = 0; index < count; ++index) {
    BALLAST_ASSIGN_OR_RETURN(ValidatorReport report,
                             report_validator(dir, index, options.timeout_ms));
    reports.push_back(std::move(report));
  }
  if (options.json) {
    print_reports_json(reports, out);
  } else {
    print_reports_text(reports, out);
  }
  return Status::ok();
}

Result<std::optional<int>> running_validator_pid(const std::string& dir, std::uint32_t index) {
  BALLAST_ASSIGN_OR_RETURN(auto process, running_validator(dir, index));
  if (!process) return std::optional<int>();
  return std::optional<int>(process->pid());
}

void add_localnet_command(CLI::App& app) {
  auto* localnet =
      app.add_subcommand("localnet", "Run a network of validators on this machine's loopback");
  localnet->require_subcommand(1);
  add_init(*localnet);
  add_start(*localnet);
  add_stop(*localnet);
  add_status(*localnet);
}

}  // namespace ballast::cli
