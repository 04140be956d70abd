#include "stream_client.h"

#include <future>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

namespace ballast::e2e {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

StreamClient::StreamClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : timeout_(timeout), socket_(io_) {
  beast::error_code error;
  bool done = false;
  auto on_upgraded = [&](beast::error_code upgrade_error) {
    error = upgrade_error;
    done = true;
  };
  auto on_connected = [&](beast::error_code connect_error) {
    if (!connect_error) return socket_.async_handshake("127.0.0.1", "/v1/stream", on_upgraded);
    error = connect_error;
    done = true;
  };
  beast::get_lowest_layer(socket_).expires_after(timeout);
  beast::get_lowest_layer(socket_).async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), on_connected);
  io_.run();  // the connection's deadline bounds both steps
  if (!done || error) {
    error_ = "connect or upgrade: " + (done ? error.message() : std::string("no answer"));
    return;
  }
  // The server's pings keep the connection alive; the deadline applied to the upgrade only.
  beast::get_lowest_layer(socket_).expires_never();
  connected_ = true;
  io_.restart();
  read_next();
  reader_ = std::thread([this] { io_.run(); });
}

StreamClient::~StreamClient() {
  if (!connected_) return;
  // Closing the socket ends the pending read, after which the reader has no work and returns.
  asio::post(io_, [this] {
    beast::error_code ignored;
    beast::get_lowest_layer(socket_).socket().close(ignored);
  });
  reader_.join();
}

void StreamClient::read_next() {
  socket_.async_read(buffer_, [this](beast::error_code error, std::size_t) {
    if (error) {
      end(error == websocket::error::closed
              ? "closed by the server: " + std::string(socket_.reason().reason.c_str())
              : error.message());
      return;
    }
    {
      std::lock_guard lock(mutex_);
      inbox_.push_back(beast::buffers_to_string(buffer_.data()));
    }
    buffer_.consume(buffer_.size());
    arrived_.notify_all();
    read_next();
  });
}

void StreamClient::end(const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    ended_ = true;
    if (error_.empty()) error_ = why;
  }
  arrived_.notify_all();
}

std::string StreamClient::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

bool StreamClient::ended() const {
  std::lock_guard lock(mutex_);
  return ended_ && inbox_.empty();
}

bool StreamClient::send(const nlohmann::json& message) {
  return send_text(message.dump());
}

bool StreamClient::send_text(const std::string& text) {
  if (!connected_) return false;
  auto written = std::make_shared<std::promise<bool>>();
  std::future<bool> result = written->get_future();
  auto message = std::make_shared<std::string>(text);
  asio::post(io_, [this, written, message] {
    socket_.text(true);
    socket_.async_write(
        asio::buffer(*message),
        [written, message](beast::error_code error, std::size_t) { written->set_value(!error); });
  });
  return result.wait_for(timeout_) == std::future_status::ready && result.get();
}

std::optional<nlohmann::json> StreamClient::receive(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  arrived_.wait_for(lock, timeout, [this] { return !inbox_.empty() || ended_; });
  if (inbox_.empty()) return std::nullopt;
  std::string text = std::move(inbox_.front());
  inbox_.pop_front();
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace ballast::e2e
