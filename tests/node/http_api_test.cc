#include "node/http_api.h"

#include <gtest/gtest.h>

#include <array>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

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
  std::uint16_t local_port() const { return stream_.socket().local_endpoint().port(); }

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

// TCP_NODELAY of this process's socket between `local` and `peer` (ports on 127.0.0.1), found
// among the open descriptors; nullopt if there is no such socket. Server and client share the
// process here, so the server's end of a connection can be examined from the test.
std::optional<bool> no_delay_of_socket(std::uint16_t local, std::uint16_t peer) {
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in self{};
    sockaddr_in other{};
    socklen_t self_length = sizeof(self);
    socklen_t other_length = sizeof(other);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &self_length) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&other), &other_length) != 0 ||
        self.sin_family != AF_INET || ntohs(self.sin_port) != local ||
        ntohs(other.sin_port) != peer) {
      continue;
    }
    int value = 0;
    socklen_t length = sizeof(value);
    if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &length) != 0) return std::nullopt;
    return value != 0;
  }
  return std::nullopt;
}

// Whether a TCP connection to 127.0.0.1:port is accepted by anyone.
bool can_connect(std::uint16_t port) {
  asio::io_context io;
  tcp::socket socket(io);
  beast::error_code error;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), error);
  return !error;
}

// What the server handed to the handler, with a way to wait for it. The handler runs on the
// server's thread: it answers GETs at once with what it saw, and POSTs too unless told to defer.
class Recorder {
 public:
  ApiHandlers handlers() {
    ApiHandlers result;
    result.handle = [this](ApiRequest request, ApiHandlers::Reply reply) {
      std::unique_lock lock(mutex_);
      requests_.push_back(request);
      changed_.notify_all();
      if (defer_ && request.method == HttpMethod::kPost) {
        pending_ = std::move(reply);
        return;
      }
      lock.unlock();
      Json query = Json::object();
      for (const auto& [key, value] : request.query) query[key] = value;
      reply(ApiResponse(200, {{"path", request.path}, {"query", query}}));
    };
    result.stream_request = [this](const std::shared_ptr<StreamSession>& session, Json request) {
      std::lock_guard lock(mutex_);
      stream_requests_.push_back(request);
      last_session_ = session;
      changed_.notify_all();
      // Echo, so the test sees the session can be written to.
      session->deliver(std::make_shared<const std::string>(Json{{"echo", request}}.dump()));
    };
    result.stream_closed = [this](std::uint64_t id) {
      std::lock_guard lock(mutex_);
      closed_streams_.push_back(id);
      changed_.notify_all();
    };
    return result;
  }

  // From now on, POSTs wait for the test to reply.
  void defer_replies() {
    std::lock_guard lock(mutex_);
    defer_ = true;
  }

  // The reply of the next deferred POST, once the server has handed it over.
  ApiHandlers::Reply wait_for_pending() {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(changed_.wait_for(lock, kPatience, [&] { return pending_ != nullptr; }));
    return std::exchange(pending_, nullptr);
  }

  std::shared_ptr<StreamSession> wait_for_stream_request() {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(changed_.wait_for(lock, kPatience, [&] { return last_session_ != nullptr; }));
    return last_session_;
  }

  bool wait_for_stream_closed() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return !closed_streams_.empty(); });
  }

  std::vector<ApiRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Sessions must not outlive the io_context they were made on.
  void forget_sessions() {
    std::lock_guard lock(mutex_);
    last_session_.reset();
  }
  std::vector<Json> stream_requests() const {
    std::lock_guard lock(mutex_);
    return stream_requests_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ApiRequest> requests_;
  std::vector<Json> stream_requests_;
  std::shared_ptr<StreamSession> last_session_;
  std::vector<std::uint64_t> closed_streams_;
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
    recorder_.forget_sessions();
  }

  Recorder recorder_;  // outlives the server, whose handlers point to it
  asio::io_context io_;
  std::unique_ptr<HttpApi> api_;
  std::uint16_t port_ = 0;
  std::thread server_;
};

TEST(ParseQueryTest, DecodesPairsAndRefusesBadEscapes) {
  auto pairs = parse_query("depth=5&name=a%20b+c&flag&&x=1&x=2");
  ASSERT_TRUE(pairs.has_value());
  EXPECT_EQ((*pairs)["depth"], "5");
  EXPECT_EQ((*pairs)["name"], "a b c");
  EXPECT_EQ((*pairs)["flag"], "");
  EXPECT_EQ((*pairs)["x"], "2") << "a repeated key keeps its last value";
  EXPECT_FALSE(parse_query("a=%zz").has_value());
  EXPECT_FALSE(parse_query("a=%4").has_value());
  EXPECT_TRUE(parse_query("")->empty());
}

TEST_F(NodeHttpApiTest, RequestPartsReachTheHandler) {
  start();
  const std::string binary("\x01\x00\xff\x7f binary", 11);
  const std::string json = R"({"sender":"ab"})";
  Client client(port_);  // one keep-alive connection for every request
  Reply first = client.request(http::verb::post, "/v1/tx", binary, "application/octet-stream");
  Reply second = client.request(http::verb::post, "/v1/tx?wait=finalized", json,
                                "application/json; charset=utf-8");
  Reply third = client.request(http::verb::get, "/v1/book/BTC-USD?depth=5");
  for (const Reply& reply : {first, second, third}) {
    EXPECT_EQ(reply.status, 200u);
    EXPECT_TRUE(reply.keep_alive);
  }
  EXPECT_EQ(third.body["path"], "/v1/book/BTC-USD");
  EXPECT_EQ(third.body["query"]["depth"], "5");
  std::vector<ApiRequest> requests = recorder_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, HttpMethod::kPost);
  EXPECT_EQ(requests[0].body, binary);
  EXPECT_FALSE(requests[0].body_is_json);
  EXPECT_EQ(requests[1].path, "/v1/tx");
  EXPECT_EQ(requests[1].query.at("wait"), "finalized");
  EXPECT_TRUE(requests[1].body_is_json);
  EXPECT_EQ(requests[2].method, HttpMethod::kGet);
}

// Per-connection limits key on the connection id: the same for every request of a keep-alive
// connection, different for another connection.
TEST_F(NodeHttpApiTest, RequestsNameTheConnectionTheyCameOn) {
  start();
  Client first(port_);
  Client second(port_);
  EXPECT_EQ(first.request(http::verb::get, "/a").status, 200u);
  EXPECT_EQ(second.request(http::verb::get, "/b").status, 200u);
  EXPECT_EQ(first.request(http::verb::get, "/c").status, 200u);
  std::vector<ApiRequest> requests = recorder_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_NE(requests[0].connection_id, 0u);
  EXPECT_EQ(requests[0].connection_id, requests[2].connection_id);
  EXPECT_NE(requests[0].connection_id, requests[1].connection_id);
}

// Answers and stream messages leave at once. Regression test: with Nagle's algorithm on the
// server's sockets, a block notice written while the previous one was unacknowledged waited for
// the client's delayed ACK, and a stream subscriber heard of blocks up to 40 ms late.
TEST_F(NodeHttpApiTest, AcceptedConnectionsSendWithoutWaitingForAcknowledgements) {
  start();
  Client client(port_);
  EXPECT_EQ(client.request(http::verb::get, "/v1/status").status, 200u);  // surely accepted
  EXPECT_EQ(no_delay_of_socket(port_, client.local_port()), std::optional<bool>(true));
  EXPECT_EQ(no_delay_of_socket(client.local_port(), port_), std::optional<bool>(false))
      << "the client's own end keeps the default, so the probe does tell them apart";
}

// Media types are case-insensitive (RFC 9110, 8.3.1): "Application/JSON" is JSON. Regression
// test: the API once compared them case-sensitively and refused such a body as garbage.
TEST_F(NodeHttpApiTest, ContentTypeIsMatchedWithoutRegardToCase) {
  start();
  Client client(port_);
  EXPECT_EQ(client.request(http::verb::post, "/v1/tx", "{}", "Application/JSON").status, 200u);
  ASSERT_EQ(recorder_.requests().size(), 1u);
  EXPECT_TRUE(recorder_.requests()[0].body_is_json);
}

TEST_F(NodeHttpApiTest, AReplyFromAnotherThreadLaterIsDelivered) {
  start();
  recorder_.defer_replies();
  Client client(port_);
  ASSERT_FALSE(client.send(http::verb::post, "/v1/tx", "tx", "application/octet-stream"));
  ApiHandlers::Reply reply = recorder_.wait_for_pending();
  ASSERT_TRUE(static_cast<bool>(reply));
  std::thread replier([reply] {
    reply(ApiResponse(
        429, {{"status", "rejected"}, {"code", "resource_exhausted"}, {"reason", "overloaded"}}));
  });
  replier.join();

  Reply answer = client.receive();
  EXPECT_EQ(answer.status, 429u);
  EXPECT_EQ(answer.body["reason"], "overloaded");

  // The connection serves the next request after a late reply.
  ASSERT_FALSE(client.send(http::verb::post, "/v1/tx", "next", "application/octet-stream"));
  recorder_.wait_for_pending()(ApiResponse(202, {{"status", "accepted"}, {"hash", "01"}}));
  EXPECT_EQ(client.receive().body["hash"], "01");
  ASSERT_EQ(recorder_.requests().size(), 2u);
  EXPECT_EQ(recorder_.requests()[1].body, "next");
}

// One request to a server whose every reply is `answer`; the raw response.
http::response<http::string_body> raw_exchange(asio::io_context& server_io, ApiResponse answer,
                                               http::verb method, const std::string& target) {
  ApiHandlers handlers;
  handlers.handle = [answer](ApiRequest, ApiHandlers::Reply reply) { reply(answer); };
  handlers.stream_request = [](const std::shared_ptr<StreamSession>&, Json) {};
  handlers.stream_closed = [](std::uint64_t) {};
  HttpApi api(server_io, ApiOptions{}, handlers);
  EXPECT_TRUE(api.start().is_ok());
  std::thread server([&server_io] { server_io.run(); });
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), api.port()));
  http::request<http::string_body> request{method, target, 11};
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  api.stop();
  server_io.stop();
  server.join();
  return response;
}

TEST_F(NodeHttpApiTest, PlainTextRepliesKeepTheirContentType) {
  http::response<http::string_body> response =
      raw_exchange(io_, ApiResponse::plain(200, "metric 1\n", "text/plain; version=0.0.4"),
                   http::verb::get, "/metrics");
  EXPECT_EQ(response.body(), "metric 1\n");
  EXPECT_EQ(response[http::field::content_type], "text/plain; version=0.0.4");
}

TEST_F(NodeHttpApiTest, ExtraHeadersOfAReplyAreSent) {
  ApiResponse answer(429, {{"status", "rejected"}});
  answer.headers.emplace_back("Retry-After", "1");
  http::response<http::string_body> response =
      raw_exchange(io_, answer, http::verb::post, "/v1/tx");
  EXPECT_EQ(response.result_int(), 429u);
  EXPECT_EQ(response["Retry-After"], "1");
  EXPECT_EQ(response[http::field::content_type], "application/json");
}

TEST_F(NodeHttpApiTest, RefusesABodyOverTheLimit) {
  ApiOptions options;
  options.max_body_bytes = 16;
  start(options);
  {
    Client client(port_);
    EXPECT_EQ(client.request(http::verb::post, "/v1/tx", std::string(16, 'a')).status, 200u);
  }
  Client client(port_);
  Reply reply = client.request(http::verb::post, "/v1/tx", std::string(17, 'a'));
  EXPECT_EQ(reply.status, 413u);
  EXPECT_EQ(reply.body["code"], "invalid_argument");
  EXPECT_EQ(reply.body["reason"], "body_too_large");
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(recorder_.requests().size(), 1u) << "an oversized body never reaches the handler";
}

TEST_F(NodeHttpApiTest, RefusesHeadersOverTheLimit) {
  ApiOptions options;
  options.max_header_bytes = 512;
  start(options);
  Client client(port_);
  Reply reply = client.request(http::verb::get, "/v1/status?pad=" + std::string(600, 'x'));
  EXPECT_EQ(reply.status, 431u);
  EXPECT_EQ(reply.body["reason"], "headers_too_large");
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(recorder_.requests().empty());
}

TEST_F(NodeHttpApiTest, MalformedRequestsGetAJsonErrorAndOthersAreUnaffected) {
  start();
  Client healthy(port_);
  ASSERT_EQ(healthy.request(http::verb::get, "/v1/status").status, 200u);
  for (const std::string& garbage :
       {std::string("NOT HTTP AT ALL\r\n\r\n"), std::string("GET /v1/status HTTP/9.9\r\n\r\n"),
        std::string("POST /v1/tx HTTP/1.1\r\nContent-Length: x\r\n\r\n")}) {
    SCOPED_TRACE(garbage);
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    asio::write(socket, asio::buffer(garbage));
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    beast::error_code error;
    http::read(socket, buffer, response, error);
    ASSERT_FALSE(error) << error.message();
    EXPECT_EQ(response.result_int(), 400u);
    EXPECT_EQ(Json::parse(response.body())["reason"], "malformed_request");
  }
  Client bad_query(port_);
  Reply reply = bad_query.request(http::verb::get, "/v1/status?a=%zz");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_EQ(reply.body["reason"], "malformed_query");
  EXPECT_EQ(healthy.request(http::verb::get, "/v1/status").status, 200u);
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
  EXPECT_EQ(refused.body["reason"], "too_many_connections");
  EXPECT_TRUE(second.closed_by_server());

  EXPECT_EQ(first->request(http::verb::get, "/v1/status").status, 200u);
  EXPECT_EQ(recorder_.requests().size(), 2u) << "a refused request never reaches the handler";

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

// A blocking WebSocket client of /v1/stream.
class StreamClient {
 public:
  explicit StreamClient(std::uint16_t port, const std::string& target = "/v1/stream")
      : socket_(io_) {
    beast::get_lowest_layer(socket_).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    socket_.handshake("127.0.0.1", target, handshake_error_);
  }
  bool handshake_ok() const { return !handshake_error_; }
  void send(const Json& message) { socket_.write(asio::buffer(message.dump())); }
  Json receive() {
    beast::flat_buffer buffer;
    socket_.read(buffer);
    return Json::parse(beast::buffers_to_string(buffer.data()));
  }
  // Reads until the server closes; how it said goodbye.
  beast::websocket::close_reason read_until_closed() {
    beast::flat_buffer buffer;
    beast::error_code error;
    while (!error) {
      socket_.read(buffer, error);
      buffer.consume(buffer.size());
    }
    return socket_.reason();
  }

 private:
  asio::io_context io_;
  beast::websocket::stream<beast::tcp_stream> socket_;
  beast::error_code handshake_error_;
};

TEST_F(NodeHttpApiTest, StreamRequestsReachTheHandlerAndRepliesTheClient) {
  start();
  StreamClient client(port_);
  ASSERT_TRUE(client.handshake_ok());
  client.send({{"op", "subscribe"}, {"channel", "blocks"}});
  EXPECT_EQ(client.receive()["echo"]["channel"], "blocks");
  ASSERT_EQ(recorder_.stream_requests().size(), 1u);
  EXPECT_EQ(api_->open_stream_sessions(), 1u);
}

TEST_F(NodeHttpApiTest, UpgradesElsewhereThanTheStreamAreRefused) {
  start();
  StreamClient client(port_, "/v1/status");
  EXPECT_FALSE(client.handshake_ok());
}

TEST_F(NodeHttpApiTest, AStreamClientThatDoesNotReadIsDisconnectedAsASlowConsumer) {
  ApiOptions options;
  options.stream.max_queued_messages = 8;
  start(options);
  StreamClient client(port_);
  ASSERT_TRUE(client.handshake_ok());
  client.send({{"op", "subscribe"}, {"channel", "blocks"}});
  std::shared_ptr<StreamSession> session = recorder_.wait_for_stream_request();
  ASSERT_NE(session, nullptr);
  // Far more than the socket buffers hold, while the client reads nothing.
  auto big = std::make_shared<const std::string>(std::string(256 << 10, 'x'));
  bool refused = false;
  for (int i = 0; i < 2'000 && !refused; ++i) refused = !session->deliver(big);
  EXPECT_TRUE(refused) << "the bounded queue must refuse at some point";
  EXPECT_TRUE(session->slow_consumer());
  EXPECT_TRUE(recorder_.wait_for_stream_closed());
  beast::websocket::close_reason reason = client.read_until_closed();
  EXPECT_EQ(reason.code, beast::websocket::close_code::policy_error);
  EXPECT_EQ(std::string(reason.reason.c_str()), "slow consumer");
}

TEST_F(NodeHttpApiTest, StreamSessionsOverTheLimitAreRefused) {
  ApiOptions options;
  options.max_stream_sessions = 1;
  start(options);
  StreamClient first(port_);
  ASSERT_TRUE(first.handshake_ok());
  StreamClient second(port_);
  EXPECT_FALSE(second.handshake_ok());
  first.send({{"op", "subscribe"}, {"channel", "blocks"}});
  EXPECT_EQ(first.receive()["echo"]["op"], "subscribe") << "the first session is unaffected";
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
