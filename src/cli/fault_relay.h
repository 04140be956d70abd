// A fault-injecting TCP relay between validators, for `ballast chaos --scenario partition`:
// each link listens on its own loopback port and forwards to one validator's peer port, and the
// dialing validator's config names the link instead of the peer. Cutting a link closes its
// connections and refuses new ones until it is healed, so the validators really lose each
// other's traffic (their sessions fail, they redial, and get through only after the heal).
//
// Bounded: at most kMaxConnectionsPerLink connections per link (a newer one replaces the
// oldest, as the transport itself would); two forwarding threads per connection. Listens on
// 127.0.0.1 only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"

namespace ballast::cli {

class FaultRelay {
 public:
  FaultRelay();
  ~FaultRelay();  // closes every connection and joins every thread
  FaultRelay(const FaultRelay&) = delete;
  FaultRelay& operator=(const FaultRelay&) = delete;

  // A link for validator `from` dialing validator `to`, forwarding to 127.0.0.1:target_port.
  // Returns the loopback port it listens on.
  Result<std::uint16_t> add_link(std::uint32_t from, std::uint32_t to, std::uint16_t target_port);
  // Cuts every link between a validator of `side` and one outside it, in both directions.
  void cut_between(const std::vector<std::uint32_t>& side);
  void heal_all();
  // Links cut now, and connections refused or closed because of a cut, since the start.
  std::size_t cut_links() const;
  std::uint64_t connections_refused() const { return refused_.load(); }

 private:
  struct Connection;
  struct Link;
  void accept_loop(Link& link);
  void forward(Link& link, int from, int to);
  void finish(Link& link, const std::shared_ptr<Connection>& connection);

  std::vector<std::unique_ptr<Link>> links_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace ballast::cli
