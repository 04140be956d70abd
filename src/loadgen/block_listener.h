// Follows one node's finalized blocks through its WebSocket stream (the blocks channel) and
// marks every listed transaction of the run finalized in the ledger, at the moment the notice
// arrives. Reconnects when the node goes away (a crashed or restarted validator) and counts the
// blocks it heard of. Runs on the load generator's network thread.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "loadgen/http.h"
#include "loadgen/ledger.h"

namespace ballast::loadgen {

class BlockListener {
 public:
  BlockListener(boost::asio::io_context& io, Endpoint endpoint, Ledger& ledger,
                std::function<std::int64_t()> now_us);
  ~BlockListener();
  void start();
  void stop();
  std::uint64_t highest_height() const;
  // Whether the subscription is live (the node answered "subscribed").
  bool subscribed() const;

 private:
  class Session;
  std::shared_ptr<Session> session_;
};

}  // namespace ballast::loadgen
