#include "cli/fault_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <deque>

#include "base/assert.h"

namespace ballast::cli {
namespace {

constexpr std::size_t kMaxConnectionsPerLink = 4;
constexpr int kPollMs = 100;  // how often blocked threads look at the stop flag
constexpr std::size_t kChunkBytes = 64 << 10;

struct Worker {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

Result<int> listen_on_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return io_error("relay: socket failed");
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return io_error("relay: cannot listen on 127.0.0.1");
  }
  port = ntohs(address.sin_port);
  return fd;
}

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

bool readable(int fd) {
  pollfd poll_fd{fd, POLLIN, 0};
  return ::poll(&poll_fd, 1, kPollMs) > 0;
}

void reap_finished(std::vector<Worker>& workers) {
  std::erase_if(workers, [](Worker& worker) {
    if (!*worker.done) return false;
    worker.thread.join();
    return true;
  });
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t written = ::send(fd, data, size, MSG_NOSIGNAL);
    if (written <= 0) return false;
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace

// A connection's two sockets. Shut down by whoever cuts it; closed by the last of its two
// forwarding threads. Both under the link's mutex, so a cut never touches a closed (and
// perhaps reused) descriptor.
struct FaultRelay::Connection {
  int client = -1;
  int upstream = -1;
  int users = 2;
  void shut() const {
    ::shutdown(client, SHUT_RDWR);
    ::shutdown(upstream, SHUT_RDWR);
  }
};

struct FaultRelay::Link {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  std::uint16_t target_port = 0;
  int listen_fd = -1;
  std::atomic<bool> cut{false};
  std::mutex mutex;  // guards open, the connections' sockets and workers
  std::deque<std::shared_ptr<Connection>> open;
  std::vector<Worker> workers;
  std::thread acceptor;
};

FaultRelay::FaultRelay() = default;

FaultRelay::~FaultRelay() {
  stopping_ = true;
  for (auto& link : links_) {
    link->acceptor.join();
    std::vector<Worker> workers;
    {
      std::lock_guard lock(link->mutex);
      for (auto& connection : link->open) connection->shut();
      workers.swap(link->workers);
    }
    for (Worker& worker : workers) worker.thread.join();
    ::close(link->listen_fd);
  }
}

Result<std::uint16_t> FaultRelay::add_link(std::uint32_t from, std::uint32_t to,
                                           std::uint16_t target_port) {
  auto link = std::make_unique<Link>();
  link->from = from;
  link->to = to;
  link->target_port = target_port;
  std::uint16_t port = 0;
  BALLAST_ASSIGN_OR_RETURN(link->listen_fd, listen_on_loopback(port));
  Link& added = *link;
  links_.push_back(std::move(link));
  added.acceptor = std::thread([this, &added] { accept_loop(added); });
  return port;
}

void FaultRelay::accept_loop(Link& link) {
  while (!stopping_) {
    if (!readable(link.listen_fd)) continue;
    int client = ::accept4(link.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    int upstream = link.cut ? -1 : connect_to(link.target_port);
    if (upstream < 0) {
      if (link.cut) refused_ += 1;
      ::close(client);  // cut, or the validator behind the link is down
      continue;
    }
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto connection = std::make_shared<Connection>();
    connection->client = client;
    connection->upstream = upstream;
    std::lock_guard lock(link.mutex);
    reap_finished(link.workers);
    if (link.open.size() >= kMaxConnectionsPerLink) {
      link.open.front()->shut();  // its threads end and close it
      link.open.pop_front();
    }
    link.open.push_back(connection);
    for (bool outbound : {true, false}) {
      Worker worker;
      worker.thread = std::thread([this, &link, connection, outbound, done = worker.done] {
        if (outbound) {
          forward(link, connection->client, connection->upstream);
        } else {
          forward(link, connection->upstream, connection->client);
        }
        finish(link, connection);
        *done = true;
      });
      link.workers.push_back(std::move(worker));
    }
  }
}

// One direction ended, so does the other; the last thread out closes the sockets.
void FaultRelay::finish(Link& link, const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(link.mutex);
  connection->shut();
  if (--connection->users > 0) return;
  ::close(connection->client);
  ::close(connection->upstream);
  std::erase(link.open, connection);
}

void FaultRelay::forward(Link& link, int from, int to) {
  std::vector<char> buffer(kChunkBytes);
  while (!stopping_ && !link.cut) {
    if (!readable(from)) continue;
    ssize_t got = ::recv(from, buffer.data(), buffer.size(), 0);
    if (got <= 0 || link.cut) return;  // a byte read after the cut is lost, like on a wire
    if (!write_all(to, buffer.data(), static_cast<std::size_t>(got))) return;
  }
}

void FaultRelay::cut_between(const std::vector<std::uint32_t>& side) {
  auto inside = [&](std::uint32_t v) {
    return std::find(side.begin(), side.end(), v) != side.end();
  };
  for (auto& link : links_) {
    if (inside(link->from) == inside(link->to)) continue;
    link->cut = true;
    std::lock_guard lock(link->mutex);
    for (auto& connection : link->open) {
      connection->shut();
      refused_ += 1;
    }
    link->open.clear();
  }
}

void FaultRelay::heal_all() {
  for (auto& link : links_) link->cut = false;
}

std::size_t FaultRelay::cut_links() const {
  return static_cast<std::size_t>(std::count_if(links_.begin(), links_.end(),
                                                [](const auto& link) { return link->cut.load(); }));
}

}  // namespace ballast::cli
