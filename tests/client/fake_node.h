// A stand-in for a node's HTTP API on 127.0.0.1 (an ephemeral port): each request gets the next
// canned answer of the first route whose prefix matches its target, and is recorded. Tests of
// the client and of `ballast tx` use it to see what is sent and how answers are read, without
// running a validator.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "exchange/genesis.h"
#include "exchange/transaction.h"

namespace ballast::client::testing {

struct FakeRequest {
  std::string method;
  std::string target;
  std::string body;
};

class FakeNode {
 public:
  FakeNode();
  ~FakeNode();
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Queues an answer for targets starting with `prefix`; a route's last answer repeats.
  void answer(const std::string& prefix, unsigned status, const std::string& body);
  void answer(const std::string& prefix, unsigned status, const nlohmann::json& body) {
    answer(prefix, status, body.dump());
  }
  std::vector<FakeRequest> requests() const;
  // The transactions POSTed to /v1/tx, decoded.
  std::vector<exchange::Transaction> transactions() const;

 private:
  struct Route {
    std::string prefix;
    std::deque<std::pair<unsigned, std::string>> answers;
  };
  void serve();
  std::pair<unsigned, std::string> next_answer(const std::string& target);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<Route> routes_;
  std::vector<FakeRequest> requests_;
  std::thread thread_;
};

// What GET /v1/markets of a node running `genesis` answers (the fields a client reads).
nlohmann::json markets_answer(const exchange::Genesis& genesis);

}  // namespace ballast::client::testing
