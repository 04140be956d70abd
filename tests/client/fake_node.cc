#include "fake_node.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ballast::client::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

FakeNode::FakeNode()
    : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      port_(acceptor_.local_endpoint().port()),
      thread_([this] { serve(); }) {}

FakeNode::~FakeNode() {
  stopping_ = true;
  // A connection of its own wakes the blocking accept so the thread sees it should stop.
  beast::error_code ignored;
  tcp::socket wake(io_);
  wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
  thread_.join();
}

void FakeNode::answer(const std::string& prefix, unsigned status, const std::string& body) {
  std::lock_guard lock(mutex_);
  for (Route& route : routes_) {
    if (route.prefix == prefix) {
      route.answers.emplace_back(status, body);
      return;
    }
  }
  routes_.push_back({prefix, {{status, body}}});
}

std::vector<FakeRequest> FakeNode::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<exchange::Transaction> FakeNode::transactions() const {
  std::vector<exchange::Transaction> txs;
  for (const FakeRequest& request : requests()) {
    if (!request.target.starts_with("/v1/tx")) continue;
    auto tx = exchange::Transaction::decode(as_bytes(request.body));
    BALLAST_ASSERT_MSG(tx.is_ok(), "a client sent a transaction that does not decode");
    txs.push_back(std::move(tx).value());
  }
  return txs;
}

std::pair<unsigned, std::string> FakeNode::next_answer(const std::string& target) {
  std::lock_guard lock(mutex_);
  for (Route& route : routes_) {
    if (!target.starts_with(route.prefix)) continue;
    auto answer = route.answers.front();
    if (route.answers.size() > 1) route.answers.pop_front();
    return answer;
  }
  return {404, R"({"status":"rejected","code":"not_found","reason":"no_such_endpoint",)"
               R"("message":"no such endpoint"})"};
}

void FakeNode::serve() {
  for (;;) {
    tcp::socket socket(io_);
    beast::error_code error;
    acceptor_.accept(socket, error);
    if (stopping_) return;
    if (error) continue;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request, error);
    if (error) continue;
    std::string target(request.target());
    {
      std::lock_guard lock(mutex_);
      requests_.push_back({std::string(request.method_string()), target, request.body()});
    }
    auto [status, body] = next_answer(target);
    http::response<http::string_body> response(static_cast<http::status>(status), 11);
    response.set(http::field::content_type, "application/json");
    response.body() = body;
    response.prepare_payload();
    http::write(socket, response, error);
    socket.shutdown(tcp::socket::shutdown_both, error);
  }
}

nlohmann::json markets_answer(const exchange::Genesis& genesis) {
  nlohmann::json markets = nlohmann::json::array();
  for (std::size_t id = 0; id < genesis.markets.size(); ++id) {
    const exchange::MarketSpec& spec = genesis.markets[id];
    markets.push_back({{"symbol", spec.symbol},
                       {"id", id},
                       {"base", genesis.assets[spec.base].symbol},
                       {"quote", genesis.assets[spec.quote].symbol}});
  }
  return {{"height", 1}, {"markets", markets}};
}

}  // namespace ballast::client::testing
