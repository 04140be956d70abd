#include "node/http_api.h"

#include <gtest/gtest.h>

#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ballast::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kPatience = 20s;

struct Reply {
  unsigned status = 0;
  Json body;
  bool keep_alive = false;
};

// A blocking HTTP/1.1 client on one connection to 127.0.0.1. Every operation gives up after
// kPatience, so a server that never answers fails the test instead of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(io_) {
    beast::error_code error;
    stream_.expires_after(kPatience);
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [&](beast::error_code result) { error = result; });
    run();
    EXPECT_FALSE(error) << "connect: " << error.message();
  }

  // A write can fail when the server already answered and closed (413, 503); the answer is
  // still there to read, so the error is only returned.
  beast::error_code send(http::verb method, const std::string& target, const std::string& body = "",
                         const std::string& content_type = "") {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!content_type.empty()) request.set(http::field::content_type, content_type);
    request.body() = body;
    request.prepare_payload();
    beast::error_code error;
    stream_.expires_after(kPatience);
    http::async_write(stream_, request,
                      [&](beast::error_code result, std::size_t) { error = result; });
    run();
    return error;
  }

  Reply receive() {
    http::response<http::string_body> response;
    beast::error_code error;
    stream_.expires_after(kPatience);
    http::async_read(stream_, buffer_, response,
                     [&](beast::error_code result, std::size_t) { error = result; });
    run();
    if (error) {
      ADD_FAILURE() << "no response: " << error.message();
      return {};
    }
    Json body = Json::parse(response.body(), nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(body.is_discarded()) << "not JSON: " << response.body();
    return {response.result_int(), std::move(body), response.keep_alive()};
  }

  Reply request(http::verb method, const std::string& target, const std::string& body = "",
                const std::string& content_type = "") {
    static_cast<void>(send(method, target, body, content_type));
    return receive();
  }

  // Whether the server has closed this connection: the next read ends the stream.
  bool closed_by_server() {
    std::array<char, 64> scratch{};
    beast::error_code error;
    stream_.expires_after(kPatience);
    stream_.async_read_some(asio::buffer(scratch),
                            [&](beast::error_code result, std::size_t) { error = result; });
    run();
    return error == asio::error::eof || error == asio::error::connection_reset;
  }

 private:
  void run() {
    io_.restart();
    io_.run();
  }

  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// Whether a TCP connection to 127.0.0.1:port is accepted by anyone.
bool can_connect(std::uint16_t port) {
  asio::io_context io;
  tcp::socket socket(io);
  beast::error_code error;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), error);
  return !error;
}

struct Submission {
  std::string body;
  bool is_json = false;
};

// What the server handed to the handlers, with a way to wait for it. The handlers run on the
// server's thread.
class Recorder {
 public:
  ApiHandlers handlers() {
    ApiHandlers result;
    result.status = [this](std::optional<std::uint64_t> at_height) {
      std::lock_guard lock(mutex_);
      status_heights_.push_back(at_height);
      Json body = {{"height", 1'234}, {"view", 1'290}, {"sync", "idle"}};
      if (at_height) body["at"] = {{"height", *at_height}, {"state_root", nullptr}};
      return ApiResponse{200, body};
    };
    result.submit_transaction = [this](std::string body, bool is_json, ApiHandlers::Reply reply) {
      std::unique_lock lock(mutex_);
      submissions_.push_back({std::move(body), is_json});
      changed_.notify_all();
      if (defer_) {
        pending_ = std::move(reply);
        return;
      }
      lock.unlock();
      reply(ApiResponse{202, {{"status", "accepted"}, {"hash", "00ff"}}});
    };
    return result;
  }

  // From now on, submissions wait for the test to reply.
  void defer_replies() {
    std::lock_guard lock(mutex_);
    defer_ = true;
  }

  // The reply of the next deferred submission, once the server has handed it over.
  ApiHandlers::Reply wait_for_pending() {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(changed_.wait_for(lock, kPatience, [&] { return pending_ != nullptr; }));
    return std::exchange(pending_, nullptr);
  }

  std::vector<std::optional<std::uint64_t>> status_heights() const {
    std::lock_guard lock(mutex_);
    return status_heights_;
  }
  std::vector<Submission> submissions() const {
    std::lock_guard lock(mutex_);
    return submissions_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::optional<std::uint64_t>> status_heights_;
  std::vector<Submission> submissions_;
  bool defer_ = false;
  ApiHandlers::Reply pending_;
};

class NodeHttpApiTest : public ::testing::Test {
 protected:
  void start(ApiOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    api_ = std::make_unique<HttpApi>(io_, options, recorder_.handlers());
    Status status = api_->start();
    ASSERT_TRUE(status.is_ok()) << status.to_string();
    port_ = api_->port();
    ASSERT_NE(port_, 0);
    server_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (api_) api_->stop();
    io_.stop();  // open keep-alive connections would otherwise keep it running
    if (server_.joinable()) server_.join();
  }

  Recorder recorder_;  // outlives the server, whose handlers point to it
  asio::io_context io_;
  std::unique_ptr<HttpApi> api_;
  std::uint16_t port_ = 0;
  std::thread server_;
};

TEST_F(NodeHttpApiTest, StatusReturnsTheHandlersJson) {
  start();
  Client client(port_);
  Reply reply = client.request(http::verb::get, "/v1/status");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, (Json{{"height", 1'234}, {"view", 1'290}, {"sync", "idle"}}));
  ASSERT_EQ(recorder_.status_heights().size(), 1u);
  EXPECT_EQ(recorder_.status_heights()[0], std::nullopt);
}

TEST_F(NodeHttpApiTest, StatusPassesTheRequestedHeight) {
  start();
  Client client(port_);
  Reply reply = client.request(http::verb::get, "/v1/status?at=12");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body["at"]["height"], 12);
  ASSERT_EQ(recorder_.status_heights().size(), 1u);
  EXPECT_EQ(recorder_.status_heights()[0], 12u);
}

TEST_F(NodeHttpApiTest, StatusRefusesAHeightThatIsNotANumber) {
  start();
  for (const char* query : {"at=x", "at=", "at=12x", "at=-1", "at=99999999999999999999"}) {
    SCOPED_TRACE(query);
    Client client(port_);
    Reply reply = client.request(http::verb::get, std::string("/v1/status?") + query);
    EXPECT_EQ(reply.status, 400u);
    EXPECT_EQ(reply.body["status"], "rejected");
    EXPECT_EQ(reply.body["code"], "invalid_argument");
    EXPECT_EQ(reply.body["reason"], "at= must be a height");
  }
  EXPECT_TRUE(recorder_.status_heights().empty()) << "the handler must not see a bad request";
}

TEST_F(NodeHttpApiTest, TransactionBodyAndFormReachTheHandler) {
  start();
  const std::string binary("\x01\x00\xff\x7f binary", 11);
  const std::string json = R"({"sender":"ab"})";
  Client client(port_);  // one keep-alive connection for every request
  Reply first = client.request(http::verb::post, "/v1/tx", binary, "application/octet-stream");
  Reply second = client.request(http::verb::post, "/v1/tx", json, "application/json");
  Reply third = client.request(http::verb::post, "/v1/tx", json, "application/json; charset=utf-8");
  Reply fourth = client.request(http::verb::post, "/v1/tx", binary);

  for (const Reply& reply : {first, second, third, fourth}) {
    EXPECT_EQ(reply.status, 202u);
    EXPECT_EQ(reply.body, (Json{{"status", "accepted"}, {"hash", "00ff"}}));
    EXPECT_TRUE(reply.keep_alive);
  }
  std::vector<Submission> submissions = recorder_.submissions();
  ASSERT_EQ(submissions.size(), 4u);
  EXPECT_EQ(submissions[0].body, binary);
  EXPECT_FALSE(submissions[0].is_json);
  EXPECT_EQ(submissions[1].body, json);
  EXPECT_TRUE(submissions[1].is_json);
  EXPECT_TRUE(submissions[2].is_json);
  EXPECT_EQ(submissions[3].body, binary);
  EXPECT_FALSE(submissions[3].is_json) << "no content type means the binary form";
}

// Media types are case-insensitive (RFC 9110, 8.3.1): "Application/JSON" is JSON. Regression
// test: the API once compared them case-sensitively and refused such a body as garbage.
TEST_F(NodeHttpApiTest, ContentTypeIsMatchedWithoutRegardToCase) {
  start();
  Client client(port_);
  EXPECT_EQ(client.request(http::verb::post, "/v1/tx", "{}", "Application/JSON").status, 202u);
  ASSERT_EQ(recorder_.submissions().size(), 1u);
  EXPECT_TRUE(recorder_.submissions()[0].is_json);
}

TEST_F(NodeHttpApiTest, AReplyFromAnotherThreadLaterIsDelivered) {
  start();
  recorder_.defer_replies();
  Client client(port_);
  ASSERT_FALSE(client.send(http::verb::post, "/v1/tx", "tx", "application/octet-stream"));
  ApiHandlers::Reply reply = recorder_.wait_for_pending();
  ASSERT_TRUE(static_cast<bool>(reply));
  std::thread replier([reply] {
    reply(ApiResponse{429,
                      {{"status", "rejected"},
                       {"code", "resource_exhausted"},
                       {"reason", "node overloaded: try again"}}});
  });
  replier.join();

  Reply answer = client.receive();
  EXPECT_EQ(answer.status, 429u);
  EXPECT_EQ(answer.body["reason"], "node overloaded: try again");

  // The connection serves the next request after a late reply.
  ASSERT_FALSE(client.send(http::verb::post, "/v1/tx", "next", "application/octet-stream"));
  recorder_.wait_for_pending()(ApiResponse{202, {{"status", "accepted"}, {"hash", "01"}}});
  EXPECT_EQ(client.receive().body["hash"], "01");
  ASSERT_EQ(recorder_.submissions().size(), 2u);
  EXPECT_EQ(recorder_.submissions()[1].body, "next");
}

TEST_F(NodeHttpApiTest, RefusesABodyOverTheLimit) {
  ApiOptions options;
  options.max_body_bytes = 16;
  start(options);
  {
    Client client(port_);
    EXPECT_EQ(client.request(http::verb::post, "/v1/tx", std::string(16, 'a')).status, 202u);
  }
  Client client(port_);
  Reply reply = client.request(http::verb::post, "/v1/tx", std::string(17, 'a'));
  EXPECT_EQ(reply.status, 413u);
  EXPECT_EQ(reply.body["code"], "invalid_argument");
  EXPECT_EQ(reply.body["reason"], "request body too large");
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(recorder_.submissions().size(), 1u) << "an oversized body never reaches the handler";
}

TEST_F(NodeHttpApiTest, UnknownPathIsNotFound) {
  start();
  Client client(port_);
  Reply reply = client.request(http::verb::get, "/v1/nothing?at=1");
  EXPECT_EQ(reply.status, 404u);
  EXPECT_EQ(reply.body["code"], "not_found");
  EXPECT_EQ(reply.body["reason"], "no such endpoint: /v1/nothing");
}

TEST_F(NodeHttpApiTest, WrongMethodIsNotAllowed) {
  start();
  const std::vector<std::pair<http::verb, std::string>> cases = {
      {http::verb::get, "/v1/tx"}, {http::verb::post, "/v1/status"}, {http::verb::put, "/v1/tx"}};
  for (const auto& [method, target] : cases) {
    SCOPED_TRACE(target);
    Client client(port_);
    Reply reply = client.request(method, target, "{}", "application/json");
    EXPECT_EQ(reply.status, 405u);
    EXPECT_EQ(reply.body["reason"], "method not allowed");
  }
  EXPECT_TRUE(recorder_.status_heights().empty());
  EXPECT_TRUE(recorder_.submissions().empty());
}

TEST_F(NodeHttpApiTest, ConnectionsOverTheLimitAreRefusedWhileOthersStayOpen) {
  ApiOptions options;
  options.max_connections = 1;
  start(options);
  auto first = std::make_unique<Client>(port_);
  ASSERT_EQ(first->request(http::verb::get, "/v1/status").status, 200u);

  Client second(port_);
  Reply refused = second.request(http::verb::get, "/v1/status");
  EXPECT_EQ(refused.status, 503u);
  EXPECT_EQ(refused.body["code"], "resource_exhausted");
  EXPECT_EQ(refused.body["reason"], "too many connections");
  EXPECT_TRUE(second.closed_by_server());

  EXPECT_EQ(first->request(http::verb::get, "/v1/status").status, 200u);
  EXPECT_EQ(recorder_.status_heights().size(), 2u) << "a refused request never reaches the handler";

  // Once the first connection closes its place is free again; the server learns of the close
  // asynchronously, so new connections are tried until one is served.
  first.reset();
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  unsigned status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    Client next(port_);
    status = next.request(http::verb::get, "/v1/status").status;
    ASSERT_TRUE(status == 200 || status == 503) << status;
  }
  EXPECT_EQ(status, 200u);
}

TEST_F(NodeHttpApiTest, StopRefusesNewConnections) {
  start();
  ASSERT_TRUE(can_connect(port_));
  api_->stop();
  // The listener closes on the server's thread; wait until connections are refused.
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (can_connect(port_) && std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_FALSE(can_connect(port_));
}

TEST_F(NodeHttpApiTest, StartOnATakenPortIsAClearError) {
  start();
  ApiOptions options;
  options.port = port_;
  HttpApi second(io_, options, recorder_.handlers());
  Status status = second.start();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << status.message();

  // The running server is unaffected.
  Client client(port_);
  EXPECT_EQ(client.request(http::verb::get, "/v1/status").status, 200u);
}

TEST_F(NodeHttpApiTest, StartOnABadAddressIsAClearError) {
  ApiOptions options;
  options.host = "not-an-address";
  HttpApi api(io_, options, recorder_.handlers());
  Status status = api.start();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("not-an-address"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace ballast::node
