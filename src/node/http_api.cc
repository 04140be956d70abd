#include "node/http_api.h"

#include <charconv>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ballast::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// "application/json", in any case, optionally followed by parameters ("; charset=utf-8").
bool is_json_media_type(beast::string_view content_type) {
  beast::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return beast::iequals(media, "application/json");
}

ApiResponse error_response(unsigned status, std::string_view code, std::string reason) {
  return {status, {{"status", "rejected"}, {"code", code}, {"reason", std::move(reason)}}};
}

}  // namespace

// What the listener and every session share; sessions hold it, so it outlives the HttpApi
// object for as long as a connection is still open.
struct ServerState {
  ApiOptions options;
  ApiHandlers handlers;
  std::atomic<std::size_t> open_sessions{0};
};

class HttpApi::Session : public std::enable_shared_from_this<HttpApi::Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)),
        state_(std::move(state)),
        options_(state_->options),
        handlers_(state_->handlers) {
    state_->open_sessions.fetch_add(1);
  }
  ~Session() { state_->open_sessions.fetch_sub(1); }

  void start() { read(); }

  // Too many connections: answer once, then close.
  void refuse() {
    respond(error_response(503, "resource_exhausted", "too many connections"), false);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    stream_.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) {
                       self->on_read(error);
                     });
  }

  void on_read(beast::error_code error) {
    if (error == http::error::body_limit) {
      respond(error_response(413, "invalid_argument", "request body too large"), false);
      return;
    }
    if (error) return;  // closed, timed out or malformed: nothing to answer
    request_ = parser_->release();
    route();
  }

  void route() {
    std::string target(request_.target());
    std::string query;
    if (auto mark = target.find('?'); mark != std::string::npos) {
      query = target.substr(mark + 1);
      target.resize(mark);
    }
    if (target == "/v1/status" && request_.method() == http::verb::get) {
      std::optional<std::uint64_t> at;
      if (query.starts_with("at=")) {
        auto [end, error] =
            std::from_chars(query.data() + 3, query.data() + query.size(), at.emplace());
        if (error != std::errc() || end != query.data() + query.size()) {
          respond(error_response(400, "invalid_argument", "at= must be a height"), false);
          return;
        }
      }
      respond(handlers_.status(at), request_.keep_alive());
    } else if (target == "/v1/tx" && request_.method() == http::verb::post) {
      bool is_json = is_json_media_type(request_[http::field::content_type]);
      auto self = shared_from_this();
      handlers_.submit_transaction(
          std::move(request_.body()), is_json, [self](ApiResponse response) {
            asio::post(self->stream_.get_executor(), [self, response = std::move(response)] {
              self->respond(response, self->request_.keep_alive());
            });
          });
    } else if (target == "/v1/status" || target == "/v1/tx") {
      respond(error_response(405, "invalid_argument", "method not allowed"), false);
    } else {
      respond(error_response(404, "not_found", "no such endpoint: " + target), false);
    }
  }

  void respond(const ApiResponse& response, bool keep_alive) {
    auto message = std::make_shared<http::response<http::string_body>>();
    message->version(11);
    message->result(response.status);
    message->set(http::field::content_type, "application/json");
    message->keep_alive(keep_alive);
    message->body() = response.body.dump() + "\n";
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
        options_(state_->options),
        handlers_(state_->handlers) {
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
  const ApiOptions& options_;    // in state_
  const ApiHandlers& handlers_;  // in state_
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

}  // namespace ballast::node
