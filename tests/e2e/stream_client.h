// A blocking client of a node's WebSocket stream (/v1/stream) for end-to-end tests. A thread of
// its own reads every message as it arrives (so the client is never a slow consumer, and a
// receive that times out leaves the connection usable); every operation has a deadline, so a
// server that stops answering fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace ballast::e2e {

class StreamClient {
 public:
  // Connects to 127.0.0.1:port and upgrades; connected() says whether that worked in time.
  explicit StreamClient(std::uint16_t port,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~StreamClient();
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  bool connected() const { return connected_; }
  // Why the connection failed or ended, for test messages.
  std::string error() const;

  // Sends one text message; false when it could not be written in time.
  bool send(const nlohmann::json& message);
  bool send_text(const std::string& text);
  // The next message (JSON), or nothing when none arrives within `timeout` or the connection
  // ended. A message that is not JSON is returned as a discarded value.
  std::optional<nlohmann::json> receive(std::chrono::milliseconds timeout);
  // Whether the server ended the connection (after the messages still to be received).
  bool ended() const;

 private:
  void read_next();
  void end(const std::string& why);

  std::chrono::milliseconds timeout_;
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> socket_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
  std::thread reader_;

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::string> inbox_;
  bool ended_ = false;
  std::string error_;
};

}  // namespace ballast::e2e
