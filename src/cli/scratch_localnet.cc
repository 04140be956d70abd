#include "cli/scratch_localnet.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/localnet.h"

namespace ballast::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::uint16_t kApiPortOffset = 100;  // as `localnet init` lays ports out
constexpr std::int64_t kStartupTimeoutMs = 60'000;

bool port_is_free(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool free = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return free;
}

// A base port whose peer and API ports are all free now, below the kernel's ephemeral range
// so outgoing connections do not take them meanwhile.
Result<std::uint16_t> find_free_base_port(std::uint32_t validators) {
  for (std::uint32_t base = 24'000; base + kApiPortOffset + validators < 32'000; base += 250) {
    bool all_free = true;
    for (std::uint32_t i = 0; i < validators && all_free; ++i) {
      all_free = port_is_free(static_cast<std::uint16_t>(base + i)) &&
                 port_is_free(static_cast<std::uint16_t>(base + kApiPortOffset + i));
    }
    if (all_free) return static_cast<std::uint16_t>(base);
  }
  return resource_exhausted("no block of free loopback ports between 24000 and 32000");
}

Result<fs::path> make_scratch_dir() {
  std::string pattern = (fs::temp_directory_path() / "ballast-scratch-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return io_error("cannot create a directory under " + fs::temp_directory_path().string());
  }
  return fs::path(pattern);
}

Status wait_until_finalizing(const std::vector<loadgen::Endpoint>& nodes) {
  auto deadline = Clock::now() + std::chrono::milliseconds(kStartupTimeoutMs);
  while (Clock::now() < deadline) {
    loadgen::RootComparison roots = loadgen::compare_state_roots(nodes, 1'000);
    bool all_up = std::all_of(roots.heights.begin(), roots.heights.end(),
                              [](std::uint64_t height) { return height >= 2; });
    if (all_up && roots.equal) return Status::ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return failed_precondition("the localnet did not start finalizing within " +
                             std::to_string(kStartupTimeoutMs / 1'000) + " s");
}

}  // namespace

Result<std::unique_ptr<ScratchLocalnet>> ScratchLocalnet::start(
    const ScratchLocalnetOptions& options) {
  fs::path dir = options.dir;
  bool scratch = dir.empty();
  if (scratch) {
    BALLAST_ASSIGN_OR_RETURN(dir, make_scratch_dir());
  }
  std::unique_ptr<ScratchLocalnet> net(
      new ScratchLocalnet(dir, scratch && !options.keep, options.validators));
  BALLAST_RETURN_IF_ERROR(net->launch(options));
  return net;
}

Status ScratchLocalnet::launch(const ScratchLocalnetOptions& options) {
  std::uint16_t base_port = options.base_port;
  if (base_port == 0) {
    BALLAST_ASSIGN_OR_RETURN(base_port, find_free_base_port(options.validators));
  }
  std::ostringstream log;
  LocalnetInitOptions init;
  init.dir = dir_.string();
  init.validators = options.validators;
  init.traders = options.traders;
  init.base_port = base_port;
  init.force = true;
  init.breakers = options.breakers;
  BALLAST_RETURN_IF_ERROR(localnet_init(init, log));
  if (options.relay_peers) BALLAST_RETURN_IF_ERROR(route_peers_through_relay(base_port));
  if (!options.ingress_breaker) BALLAST_RETURN_IF_ERROR(turn_ingress_breakers_off());
  started_ = true;
  LocalnetStartOptions start = start_options();
  if (options.byzantine) {
    for (std::uint32_t i = 0; i < options.validators; ++i) {
      if (i != *options.byzantine) start.only.push_back(i);
    }
    BALLAST_RETURN_IF_ERROR(localnet_start(start, log));
    start.only = {*options.byzantine};
    start.byzantine_equivocate = true;
  }
  BALLAST_RETURN_IF_ERROR(localnet_start(start, log));
  BALLAST_ASSIGN_OR_RETURN(target_, loadgen::read_localnet(dir_.string()));
  return wait_until_finalizing(target_.nodes);
}

LocalnetStartOptions ScratchLocalnet::start_options() const {
  LocalnetStartOptions start;
  start.dir = dir_.string();
  start.exit_with = ::getpid();  // never outlive this command, however it ends
  return start;
}

Status ScratchLocalnet::edit_config(std::uint32_t validator,
                                    const std::function<Status(nlohmann::json& config)>& edit) {
  fs::path path = dir_ / ("validator-" + std::to_string(validator)) / "config.json";
  nlohmann::json config;
  {
    std::ifstream in(path);
    config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  }
  if (config.is_discarded() || !config.is_object()) {
    return failed_precondition("cannot read " + path.string());
  }
  BALLAST_RETURN_IF_ERROR(edit(config));
  std::ofstream out(path);
  out << config.dump(2) << "\n";
  if (!out) return io_error("cannot write " + path.string());
  return Status::ok();
}

// The lower index dials the higher (docs/NETWORK.md), so each pair's one connection goes
// through the link named in the dialer's config.
Status ScratchLocalnet::route_peers_through_relay(std::uint16_t base_port) {
  relay_ = std::make_unique<FaultRelay>();
  for (std::uint32_t from = 0; from < validators_; ++from) {
    BALLAST_RETURN_IF_ERROR(edit_config(from, [&](nlohmann::json& config) -> Status {
      if (!config["peers"].is_array()) {
        return failed_precondition("no peers in validator " + std::to_string(from) + "'s config");
      }
      for (nlohmann::json& peer : config["peers"]) {
        auto to = peer["index"].get<std::uint32_t>();
        if (to <= from) continue;
        BALLAST_ASSIGN_OR_RETURN(
            std::uint16_t port,
            relay_->add_link(from, to, static_cast<std::uint16_t>(base_port + to)));
        peer["address"] = "127.0.0.1:" + std::to_string(port);
      }
      return Status::ok();
    }));
  }
  return Status::ok();
}

Status ScratchLocalnet::turn_ingress_breakers_off() {
  for (std::uint32_t validator = 0; validator < validators_; ++validator) {
    BALLAST_RETURN_IF_ERROR(edit_config(validator, [](nlohmann::json& config) {
      config["ingress"]["breaker_multiple"] = 0;
      return Status::ok();
    }));
  }
  return Status::ok();
}

ScratchLocalnet::~ScratchLocalnet() {
  std::ostringstream ignored;
  if (started_) {
    LocalnetStopOptions stop;
    stop.dir = dir_.string();
    stop.kill = true;  // nothing here needs a clean shutdown, and SIGSTOPped nodes ignore TERM
    (void)localnet_stop(stop, ignored);
  }
  std::error_code error;
  if (remove_) fs::remove_all(dir_, error);
}

}  // namespace ballast::cli
