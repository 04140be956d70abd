#include "node/http_api.h"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace ballast::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// "application/json", in any case, optionally followed by parameters ("; charset=utf-8").
bool is_json_media_type(beast::string_view content_type) {
  beast::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return beast::iequals(media, "application/json");
}

ApiResponse error_response(unsigned status, std::string_view code, std::string_view reason,
                           std::string message) {
  return ApiResponse(status, {{"status", "rejected"},
                              {"code", code},
                              {"reason", reason},
                              {"message", std::move(message)}});
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_digit(text[i + 1]);
      int low = hex_digit(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

HttpMethod method_of(http::verb verb) {
  switch (verb) {
    case http::verb::get:
      return HttpMethod::kGet;
    case http::verb::post:
      return HttpMethod::kPost;
    default:
      return HttpMethod::kOther;
  }
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> pairs;
  while (!query.empty()) {
    std::size_t end = query.find('&');
    std::string_view pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (pair.empty()) continue;
    std::size_t equals = pair.find('=');
    auto key = percent_decode(pair.substr(0, equals));
    auto value = percent_decode(equals == std::string_view::npos ? std::string_view()
                                                                 : pair.substr(equals + 1));
    if (!key || !value) return std::nullopt;
    pairs[*key] = *value;
  }
  return pairs;
}

// What the listener and every session share; sessions hold it, so it outlives the HttpApi
// object for as long as a connection is still open.
struct ServerState {
  ApiOptions options;
  ApiHandlers handlers;
  std::atomic<std::size_t> open_sessions{0};
  std::atomic<std::size_t> open_streams{0};
  std::atomic<std::uint64_t> connections_accepted{0};
};

class HttpApi::Session : public std::enable_shared_from_this<HttpApi::Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)),
        state_(std::move(state)),
        options_(state_->options),
        handlers_(state_->handlers),
        connection_id_(state_->connections_accepted.fetch_add(1) + 1) {
    state_->open_sessions.fetch_add(1);
  }
  ~Session() { state_->open_sessions.fetch_sub(1); }

  void start() { read(); }

  // Too many connections: answer once, then close.
  void refuse() {
    reject(
        error_response(503, "resource_exhausted", "too_many_connections", "too many connections"));
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser_->body_limit(options_.max_body_bytes);
    stream_.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) {
                       self->on_read(error);
                     });
  }

  void on_read(beast::error_code error) {
    if (error == http::error::body_limit) {
      reject(error_response(
          413, "invalid_argument", "body_too_large",
          "request body over " + std::to_string(options_.max_body_bytes) + " bytes"));
      return;
    }
    if (error == http::error::header_limit) {
      reject(error_response(
          431, "invalid_argument", "headers_too_large",
          "request headers over " + std::to_string(options_.max_header_bytes) + " bytes"));
      return;
    }
    if (error == http::error::end_of_stream || error == beast::error::timeout ||
        error == asio::error::connection_reset || error == asio::error::operation_aborted) {
      return;  // closed or idle: nothing to answer
    }
    if (error) {
      reject(error_response(400, "invalid_argument", "malformed_request",
                            "malformed HTTP request: " + error.message()));
      return;
    }
    request_ = parser_->release();
    if (websocket::is_upgrade(request_)) {
      upgrade();
      return;
    }
    dispatch();
  }

  void upgrade() {
    if (request_.target() != "/v1/stream") {
      reject(error_response(404, "not_found", "no_such_endpoint",
                            "WebSocket upgrades are served on /v1/stream only"));
      return;
    }
    // Checked here, as the WebSocket handshake would, so that a refusal is the JSON error.
    if (request_[http::field::host].empty() || request_[http::field::sec_websocket_key].empty() ||
        request_[http::field::sec_websocket_key].size() > 24 ||
        request_[http::field::sec_websocket_version].empty()) {
      reject(error_response(400, "invalid_argument", "malformed_request",
                            "invalid WebSocket upgrade: Host, Sec-WebSocket-Key and "
                            "Sec-WebSocket-Version are required"));
      return;
    }
    if (request_[http::field::sec_websocket_version] != "13") {
      reject(error_response(426, "invalid_argument", "malformed_request",
                            "unsupported WebSocket version: this server speaks 13"));
      return;
    }
    if (state_->open_streams.fetch_add(1) >= options_.max_stream_sessions) {
      state_->open_streams.fetch_sub(1);
      reject(error_response(503, "resource_exhausted", "too_many_streams",
                            "too many stream sessions"));
      return;
    }
    auto state = state_;
    auto session =
        std::make_shared<StreamSession>(stream_.release_socket(), options_.stream,
                                        handlers_.stream_request, [state](std::uint64_t id) {
                                          state->open_streams.fetch_sub(1);
                                          state->handlers.stream_closed(id);
                                        });
    session->start(std::move(request_));
  }

  void dispatch() {
    std::string target(request_.target());
    ApiRequest request;
    request.method = method_of(request_.method());
    if (auto mark = target.find('?'); mark != std::string::npos) {
      auto query = parse_query(std::string_view(target).substr(mark + 1));
      if (!query) {
        reject(
            error_response(400, "invalid_argument", "malformed_query", "malformed query string"));
        return;
      }
      request.query = std::move(*query);
      target.resize(mark);
    }
    request.path = std::move(target);
    request.body = std::move(request_.body());
    request.body_is_json = is_json_media_type(request_[http::field::content_type]);
    request.connection_id = connection_id_;
    bool keep_alive = request_.keep_alive();
    handlers_.handle(std::move(request), [self = shared_from_this(),
                                          keep_alive](ApiResponse response) {
      asio::post(self->stream_.get_executor(), [self, keep_alive, response = std::move(response)] {
        self->respond(response, keep_alive);
      });
    });
  }

  // An error of the server's own, answered before any handler saw the request; then closes.
  void reject(const ApiResponse& response) {
    if (handlers_.refused) handlers_.refused(response.status);
    respond(response, false);
  }

  void respond(const ApiResponse& response, bool keep_alive) {
    auto message = std::make_shared<http::response<http::string_body>>();
    message->version(11);
    message->result(response.status);
    if (response.text) {
      message->set(http::field::content_type, response.text_content_type);
      message->body() = *response.text;
    } else {
      message->set(http::field::content_type, "application/json");
      // Messages may quote what the client sent, which need not be UTF-8.
      message->body() =
          response.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    for (const auto& [name, value] : response.headers) message->set(name, value);
    // 426 Upgrade Required names the WebSocket version the server speaks (RFC 6455 4.4).
    if (response.status == 426) message->set(http::field::sec_websocket_version, "13");
    message->keep_alive(keep_alive);
    message->prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](beast::error_code error, std::size_t) {
                        if (error || !message->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<ServerState> state_;
  const ApiOptions& options_;    // in state_
  const ApiHandlers& handlers_;  // in state_
  const std::uint64_t connection_id_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
};

class HttpApi::Listener : public std::enable_shared_from_this<HttpApi::Listener> {
 public:
  Listener(asio::io_context& io, ApiOptions options, ApiHandlers handlers)
      : io_(io),
        acceptor_(asio::make_strand(io)),
        state_(std::make_shared<ServerState>()),
        options_(state_->options) {
    state_->options = std::move(options);
    state_->handlers = std::move(handlers);
  }

  Status start() {
    beast::error_code error;
    auto address = asio::ip::make_address(options_.host, error);
    if (error) return invalid_argument("API address " + options_.host + ": " + error.message());
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      return io_error("cannot listen for the API on " + options_.host + ":" +
                      std::to_string(options_.port) + ": " + error.message());
    }
    accept();
    return Status::ok();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const ServerState& state() const { return *state_; }

  void stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void accept() {
    acceptor_.async_accept(
        asio::make_strand(io_),
        [self = shared_from_this()](beast::error_code error, tcp::socket socket) {
          if (error == asio::error::operation_aborted) return;
          if (!error) self->admit(std::move(socket));
          self->accept();
        });
  }

  void admit(tcp::socket socket) {
    // Answers and stream messages are small and latency-bound. With Nagle's algorithm a message
    // written while the previous one is unacknowledged waits for the client's delayed ACK (40 ms
    // on Linux): a stream of block notices stalled that long every few blocks.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(std::move(socket), state_);
    if (state_->open_sessions.load() > options_.max_connections) {
      session->refuse();
    } else {
      session->start();
    }
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<ServerState> state_;
  const ApiOptions& options_;  // in state_
};

HttpApi::HttpApi(asio::io_context& io, ApiOptions options, ApiHandlers handlers)
    : listener_(std::make_shared<Listener>(io, std::move(options), std::move(handlers))) {}

HttpApi::~HttpApi() = default;

Status HttpApi::start() {
  return listener_->start();
}
std::uint16_t HttpApi::port() const {
  return listener_->port();
}
void HttpApi::stop() {
  listener_->stop();
}
std::size_t HttpApi::open_connections() const {
  return listener_->state().open_sessions.load();
}
std::size_t HttpApi::open_stream_sessions() const {
  return listener_->state().open_streams.load();
}

}  // namespace ballast::node
