// A raw TCP connection to a node's API, for end-to-end tests that send what no HTTP library
// would: garbage, truncated requests, lying headers, connections left half-open or reset. Every
// read has a deadline, so a server that stops answering fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ballast::e2e {

struct RawResponse {
  unsigned status = 0;
  std::string body;
  bool keep_alive = false;
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; connected() says whether that worked.
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Writes all of `bytes`; false when the server closed or reset the connection.
  bool send(std::string_view bytes);
  // The next complete HTTP response, or nothing when the server closed without one or did not
  // answer within `timeout`.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout);
  // Whether the server closes the connection within `timeout` (what it sends first is ignored).
  bool closed_by_server(std::chrono::milliseconds timeout);
  // No more bytes from this side; the server may still answer.
  void shutdown_write();
  // Closes at once with a reset instead of an orderly close.
  void reset();

 private:
  // Receives what is there within the deadline: false on end of stream, error or timeout.
  bool receive_more(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string received_;  // bytes not yet parsed
};

// The request line and headers of an upgrade of /v1/stream to a WebSocket.
std::string websocket_upgrade_request();

}  // namespace ballast::e2e
