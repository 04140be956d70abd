// A localnet of real `ballast node` processes on loopback, for end-to-end tests: created with
// `ballast localnet init`, started and stopped with `ballast localnet start/stop`, observed
// through each node's HTTP API. The destructor kills every process the net started, whatever
// the test's outcome.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/keys.h"
#include "exchange/genesis.h"

namespace ballast::e2e {

struct HttpReply {
  unsigned status = 0;  // 0: no answer (connection refused, timeout)
  nlohmann::json body;  // discarded (is_discarded()) when the body is not JSON
  std::string text;     // the body as received
  std::string content_type;
};

// One synchronous request to 127.0.0.1:port, answered within `timeout`; never throws.
HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::string& content_type = "application/octet-stream",
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

struct CommandResult {
  int exit_code = -1;  // -1: killed at the timeout, or did not exit normally
  std::string out;
  std::string err;
};

// Runs the ballast program with `arguments` and captures its output; a run still going after
// `timeout` is killed.
CommandResult run_ballast(const std::vector<std::string>& arguments,
                          std::chrono::seconds timeout = std::chrono::seconds(120));

// Polls `condition` every 100 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::seconds timeout);

// A block of loopback ports (peers at base + i, APIs at base + 100 + i) claimed by this
// process until destroyed.
class PortBlock {
 public:
  PortBlock(std::uint16_t base, int lock_fd) : base_(base), lock_fd_(lock_fd) {}
  ~PortBlock();
  PortBlock(PortBlock&& other) noexcept;
  PortBlock& operator=(PortBlock&&) = delete;
  std::uint16_t base() const { return base_; }

 private:
  std::uint16_t base_;
  int lock_fd_;
};

// Claims a free block of ports for `validators` validators (see PortBlock).
PortBlock claim_port_block(std::size_t validators);

class Localnet {
 public:
  // `tune` may change each validator's config.json before anything starts.
  explicit Localnet(std::size_t validators,
                    const std::function<void(nlohmann::json&)>& tune = nullptr);
  ~Localnet();
  Localnet(const Localnet&) = delete;
  Localnet& operator=(const Localnet&) = delete;

  // `extra_arguments` go to `ballast localnet start` (its test-only fault flags).
  void start(std::optional<std::size_t> only = std::nullopt,
             const std::vector<std::string>& extra_arguments = {});
  void kill(std::size_t validator);  // SIGKILL through `localnet stop --kill`
  void kill_all();

  std::size_t size() const { return validators_; }
  std::uint16_t api_port(std::size_t validator) const;
  std::uint16_t peer_port(std::size_t validator) const;
  SecretKey validator_key(std::size_t validator) const;
  // GET /v1/status; nothing when the node does not answer.
  std::optional<nlohmann::json> status(std::size_t validator,
                                       std::optional<std::uint64_t> at = std::nullopt) const;
  std::uint64_t height(std::size_t validator) const;  // 0 when down
  std::optional<std::string> root_at(std::size_t validator, std::uint64_t height) const;
  std::string log(std::size_t validator) const;
  // Every validator's /v1/status (or "down"), one per line: what a failed wait prints.
  std::string describe() const;

  // Waits until every listed validator has finalized `height`.
  bool wait_for_height(const std::vector<std::size_t>& validators, std::uint64_t height,
                       std::chrono::seconds timeout) const;
  // The highest height every listed validator reached, and whether their roots agree on it.
  bool roots_agree(const std::vector<std::size_t>& validators) const;

  const exchange::Genesis& genesis() const { return genesis_; }
  const SecretKey& trader(std::size_t index) const { return traders_.at(index); }
  std::size_t traders() const { return traders_.size(); }
  const std::string& directory() const { return directory_; }

 private:
  void run_cli(const std::vector<std::string>& arguments) const;

  std::size_t validators_;
  PortBlock ports_;
  std::string directory_;
  std::uint16_t base_port_;
  exchange::Genesis genesis_;
  std::vector<SecretKey> traders_;
};

// Signs transfers from traders to each other: valid, distinct transactions for load.
class TransferSource {
 public:
  explicit TransferSource(const Localnet& net) : net_(net) {}
  // The next signed transaction's canonical encoding, round-robin over the traders.
  Bytes next();

 private:
  const Localnet& net_;
  std::vector<std::uint64_t> nonces_;
  std::size_t turn_ = 0;
};

}  // namespace ballast::e2e
