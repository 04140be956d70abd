#include "loadgen/block_listener.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace ballast::loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {
constexpr std::int64_t kReconnectDelayMs = 200;
constexpr std::size_t kMaxMessageBytes = 64 << 20;
}  // namespace

class BlockListener::Session : public std::enable_shared_from_this<BlockListener::Session> {
 public:
  Session(asio::io_context& io, Endpoint endpoint, Ledger& ledger,
          std::function<std::int64_t()> now_us)
      : io_(io),
        endpoint_(std::move(endpoint)),
        ledger_(ledger),
        now_us_(std::move(now_us)),
        retry_timer_(io) {}

  void connect() {
    if (stopped_) return;
    subscribed_ = false;
    socket_ = std::make_unique<websocket::stream<beast::tcp_stream>>(io_);
    socket_->read_message_max(kMaxMessageBytes);
    auto& lowest = beast::get_lowest_layer(*socket_);
    lowest.expires_after(std::chrono::seconds(5));
    lowest.async_connect(tcp::endpoint(asio::ip::make_address(endpoint_.host), endpoint_.port),
                         [self = shared_from_this()](beast::error_code error) {
                           if (self->stopped_) return;
                           if (error) return self->retry_later();
                           beast::get_lowest_layer(*self->socket_).expires_never();
                           self->socket_->async_handshake(
                               self->endpoint_.host, "/v1/stream",
                               [self](beast::error_code handshake_error) {
                                 if (self->stopped_) return;
                                 if (handshake_error) return self->retry_later();
                                 self->subscribe();
                               });
                         });
  }

  void stop() {
    stopped_ = true;
    retry_timer_.cancel();
    if (socket_) {
      beast::error_code ignored;
      beast::get_lowest_layer(*socket_).socket().close(ignored);
    }
  }

  std::uint64_t highest_height() const { return highest_height_; }
  bool subscribed() const { return subscribed_; }

 private:
  void subscribe() {
    request_ = R"({"op":"subscribe","channel":"blocks"})";
    socket_->async_write(asio::buffer(request_),
                         [self = shared_from_this()](beast::error_code error, std::size_t) {
                           if (self->stopped_) return;
                           if (error) return self->retry_later();
                           self->read();
                         });
  }

  void read() {
    socket_->async_read(buffer_, [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (self->stopped_) return;
      if (error) return self->retry_later();
      self->on_message();
      self->read();
    });
  }

  void on_message() {
    std::int64_t now = now_us_();
    nlohmann::json message =
        nlohmann::json::parse(beast::buffers_to_string(buffer_.data()), nullptr, false);
    buffer_.consume(buffer_.size());
    if (message.is_discarded()) return;
    if (message.value("type", "") == "subscribed") subscribed_ = true;
    if (message.value("channel", "") != "blocks" || !message.contains("transactions")) return;
    highest_height_ = std::max(highest_height_, message.value("height", std::uint64_t{0}));
    for (const nlohmann::json& tx : message["transactions"]) {
      auto id = Hash256::from_hex(tx.value("hash", ""));
      if (!id.is_ok()) continue;
      bool executed = tx.value("accepted", false);
      ledger_.on_finalized(*id, now, executed, executed ? "" : tx.value("reject", "unknown"));
    }
  }

  // The node went away (crashed, restarted, partitioned): try again until stopped. Blocks
  // finalized meanwhile are heard of through the other nodes, or found after the run.
  void retry_later() {
    subscribed_ = false;
    if (socket_) {
      beast::error_code ignored;
      beast::get_lowest_layer(*socket_).socket().close(ignored);
    }
    retry_timer_.expires_after(std::chrono::milliseconds(kReconnectDelayMs));
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code error) {
      if (!error) self->connect();
    });
  }

  asio::io_context& io_;
  Endpoint endpoint_;
  Ledger& ledger_;
  std::function<std::int64_t()> now_us_;
  asio::steady_timer retry_timer_;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> socket_;
  beast::flat_buffer buffer_;
  std::string request_;
  bool stopped_ = false;
  bool subscribed_ = false;
  std::uint64_t highest_height_ = 0;
};

BlockListener::BlockListener(asio::io_context& io, Endpoint endpoint, Ledger& ledger,
                             std::function<std::int64_t()> now_us)
    : session_(std::make_shared<Session>(io, std::move(endpoint), ledger, std::move(now_us))) {}

BlockListener::~BlockListener() {
  stop();
}

void BlockListener::start() {
  session_->connect();
}
void BlockListener::stop() {
  session_->stop();
}
std::uint64_t BlockListener::highest_height() const {
  return session_->highest_height();
}
bool BlockListener::subscribed() const {
  return session_->subscribed();
}

}  // namespace ballast::loadgen
