// Sends batches of signed transactions to one node (POST /v1/txs) over a few keep-alive
// connections, and records each node answer in the ledger. Open loop: submit() never waits for
// the node; batches queue while every connection is busy, up to a bound, beyond which
// transactions are not sent (and counted as such) rather than slowing the schedule. Broken
// connections are reopened. Runs on the load generator's network thread.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "loadgen/http.h"
#include "loadgen/ledger.h"

namespace ballast::loadgen {

struct SubmitterLimits {
  std::size_t connections = 4;
  std::size_t max_batch = 500;       // transactions per request
  std::size_t max_queued = 200'000;  // transactions waiting for a connection
  std::int64_t reconnect_delay_ms = 100;
  std::int64_t request_timeout_ms = 30'000;
};

class Submitter {
 public:
  // `encodings[i]` is the signed encoding of ledger entry i.
  Submitter(boost::asio::io_context& io, Endpoint endpoint, SubmitterLimits limits, Ledger& ledger,
            const std::vector<Bytes>& encodings, std::function<std::int64_t()> now_us);
  ~Submitter();
  void start();
  void submit(std::vector<std::uint32_t> indices);
  void stop();
  std::size_t queued() const { return queued_; }

 private:
  class Connection;
  void pump();

  boost::asio::io_context& io_;
  Endpoint endpoint_;
  SubmitterLimits limits_;
  Ledger& ledger_;
  const std::vector<Bytes>& encodings_;
  std::function<std::int64_t()> now_us_;
  // One queue per connection; an account always uses the same one. Nonces may have gaps, so a
  // node admits a later nonce that overtook an earlier one on another connection, and a block
  // may then use it first, leaving the earlier transaction stale.
  std::vector<std::deque<std::uint32_t>> waiting_;
  std::size_t queued_ = 0;
  std::vector<std::shared_ptr<Connection>> connections_;
};

}  // namespace ballast::loadgen
