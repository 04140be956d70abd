// The submitter against a stand-in node on 127.0.0.1 that answers slowly: an account's
// transactions reach the node in the order they were submitted, even when another connection
// is idle. Nonces may have gaps, so a later nonce that overtakes an earlier one is admitted,
// and once a block uses it the earlier transaction is stale and dropped.
#include "loadgen/submitter.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "loadgen/ledger.h"

namespace ballast::loadgen {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Accepts keep-alive connections, answers every transaction "accepted" and records each POSTed
// batch's body in the order it admitted them; the very first batch is admitted only after a
// pause, as by a busy node.
class SlowNode {
 public:
  SlowNode() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~SlowNode() {
    stopping_ = true;
    beast::error_code ignored;
    {
      // A blocking accept does not return when the acceptor is closed: wake it with a connection.
      tcp::socket wake(io_);
      wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
    }
    {
      std::lock_guard lock(mutex_);
      for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    accept_thread_.join();
    for (std::thread& thread : connection_threads_) thread.join();
  }

  std::uint16_t port() const { return port_; }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(io_);
      beast::error_code error;
      acceptor_.accept(*socket, error);
      if (error || stopping_) return;
      std::lock_guard lock(mutex_);
      sockets_.push_back(socket);
      connection_threads_.emplace_back([this, socket] { serve(*socket); });
    }
  }

  void serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      beast::error_code error;
      http::read(socket, buffer, request, error);
      if (error) return;
      std::size_t count = 0;
      bool first = !seen_first_.exchange(true);
      for (std::size_t at = 0; at + 4 <= request.body().size(); ++count) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(request.body().data() + at);
        at += 4 + (bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24);
      }
      if (first) std::this_thread::sleep_for(300ms);
      {
        // Recorded when admitted, as a node would: after the pause.
        std::lock_guard lock(mutex_);
        bodies_.push_back(request.body());
      }
      nlohmann::json results = nlohmann::json::array();
      for (std::size_t i = 0; i < count; ++i) results.push_back({{"status", "accepted"}});
      http::response<http::string_body> response(http::status::ok, 11);
      response.set(http::field::content_type, "application/json");
      response.keep_alive(true);
      response.body() = nlohmann::json{{"results", results}}.dump();
      response.prepare_payload();
      http::write(socket, response, error);
      if (error) return;
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> seen_first_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::thread accept_thread_;
  std::vector<std::thread> connection_threads_;
};

TEST(SubmitterTest, AnAccountsTransactionsArriveInOrderWhileAnotherConnectionIsIdle) {
  SlowNode node;
  // Two transactions of account 0, then one of account 1; encodings name them.
  std::vector<PlannedTransaction> plan(3);
  plan[0].account = 0;
  plan[1].account = 0;
  plan[2].account = 1;
  std::vector<Hash256> ids(3);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i].bytes[0] = static_cast<std::uint8_t>(i + 1);
  std::vector<Bytes> encodings = {Bytes{'a', '1'}, Bytes{'a', '2'}, Bytes{'b', '1'}};
  Ledger ledger(plan, ids);

  asio::io_context io;
  auto start = std::chrono::steady_clock::now();
  auto now_us = [start] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
  };
  SubmitterLimits limits;
  limits.connections = 4;
  Submitter submitter(io, Endpoint{"127.0.0.1", node.port()}, limits, ledger, encodings, now_us);
  // run_for returns early once nothing is pending, and then needs a restart.
  auto run_for = [&io](std::chrono::milliseconds duration) {
    io.restart();
    io.run_for(duration);
  };
  submitter.start();
  run_for(200ms);  // every connection is up and idle

  submitter.submit({0});  // held up at the node for a while
  run_for(50ms);
  submitter.submit({1, 2});
  for (int i = 0; i < 250 && ledger.in_flight() + submitter.queued() > 0; ++i) run_for(20ms);
  submitter.stop();
  run_for(20ms);

  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ledger.at(i).ack, Ack::kAccepted) << i;
    // The answer's time is kept for the submit-to-acknowledged latency.
    EXPECT_GE(ledger.at(i).sent_us, 0) << i;
    EXPECT_GE(ledger.at(i).answered_us, ledger.at(i).sent_us) << i;
  }
  std::vector<std::string> bodies = node.bodies();
  auto arrival = [&](const std::string& name) {
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      if (bodies[i].find(name) != std::string::npos) return static_cast<int>(i);
    }
    return -1;
  };
  ASSERT_GE(arrival("a1"), 0);
  EXPECT_LT(arrival("a1"), arrival("a2")) << "the second transaction overtook the first";
  EXPECT_GE(arrival("b1"), 0) << "another account is not held up";
}

}  // namespace
}  // namespace ballast::loadgen
