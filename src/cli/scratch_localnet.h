// A localnet the benchmark and chaos commands start for themselves: in a scratch directory on
// free loopback ports, started at once and stopped (and by default removed) when it goes out
// of scope, whatever happened meanwhile. Its validators run detached, with `node --exit-with`
// this process, so they stop by themselves if it is killed or aborts before that.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "cli/fault_relay.h"
#include "cli/localnet.h"
#include "loadgen/loadgen.h"

namespace ballast::cli {

struct ScratchLocalnetOptions {
  std::uint32_t validators = 4;
  std::uint32_t traders = 2'000;
  std::uint16_t base_port = 0;  // 0: the first free block from 24000 up
  std::string dir;              // empty: a fresh directory under the system's temporary directory
  bool keep = false;     // leave a scratch directory behind (the validators are stopped anyway)
  bool breakers = true;  // false: the genesis turns every market's circuit breakers off
  // false: every validator's ingress breaker off (`ingress.breaker_multiple` 0).
  bool ingress_breaker = true;
  // Route every peer connection through a FaultRelay (relay()), so links can be cut.
  bool relay_peers = false;
  // TEST ONLY: this validator runs `node --byzantine-equivocate` from the start.
  std::optional<std::uint32_t> byzantine;
};

class ScratchLocalnet {
 public:
  // Creates, starts and waits (up to a minute) until every validator finalizes.
  static Result<std::unique_ptr<ScratchLocalnet>> start(const ScratchLocalnetOptions& options);
  ~ScratchLocalnet();
  ScratchLocalnet(const ScratchLocalnet&) = delete;
  ScratchLocalnet& operator=(const ScratchLocalnet&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  const loadgen::LocalnetTarget& target() const { return target_; }
  std::uint32_t validators() const { return validators_; }
  // Whether the directory stays after this object is gone.
  bool kept() const { return !remove_; }
  // The relay between the validators, with relay_peers; null otherwise.
  FaultRelay* relay() const { return relay_.get(); }
  // How its validators are started: in its directory, each stopping by itself once this process
  // has exited. Whoever restarts one (a fault injector) starts it the same way.
  LocalnetStartOptions start_options() const;

 private:
  ScratchLocalnet(std::filesystem::path dir, bool remove, std::uint32_t validators)
      : dir_(std::move(dir)), remove_(remove), validators_(validators) {}
  Status launch(const ScratchLocalnetOptions& options);
  Status route_peers_through_relay(std::uint16_t base_port);
  Status turn_ingress_breakers_off();
  // Reads a validator's config.json, lets `edit` change it, and writes it back.
  Status edit_config(std::uint32_t validator,
                     const std::function<Status(nlohmann::json& config)>& edit);

  std::filesystem::path dir_;
  bool remove_;
  std::uint32_t validators_;
  bool started_ = false;
  loadgen::LocalnetTarget target_;
  std::unique_ptr<FaultRelay> relay_;  // outlives nothing it serves: the nodes stop first
};

}  // namespace ballast::cli
