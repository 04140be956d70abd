#include "net/transport.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "base/assert.h"
#include "net/session.h"

namespace ballast::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// A frame must fit a 4-byte length with its tag; far below that, this keeps memory sane.
constexpr std::size_t kMaxFrameBytesLimit = 1u << 30;
constexpr std::int64_t kAcceptRetryMs = 100;
// An hour: keeps the backoff arithmetic far from overflow.
constexpr std::int64_t kMaxReconnectMs = 3'600'000;

// Set while a handler runs on this thread, so stop() from a handler fails loudly instead of
// waiting for itself.
thread_local bool t_in_handler = false;

std::string peer_name(const Session& session) {
  std::string name = session.peer_index() ? "validator " + std::to_string(*session.peer_index())
                                          : std::string("unidentified peer");
  if (!session.remote().empty()) name += " (" + session.remote() + ")";
  return name;
}

}  // namespace

Status validate(const TransportConfig& config) {
  if (config.chain_id.empty() || config.chain_id.size() > kMaxChainIdBytes) {
    return invalid_argument("chain id must have 1 to " + std::to_string(kMaxChainIdBytes) +
                            " bytes");
  }
  if (config.max_frame_bytes == 0 || config.max_frame_bytes > kMaxFrameBytesLimit) {
    return invalid_argument("max_frame_bytes must be between 1 and " +
                            std::to_string(kMaxFrameBytesLimit));
  }
  if (config.max_queued_bytes_per_peer < config.max_frame_bytes ||
      config.max_queued_frames_per_peer == 0 || config.max_pending_handshakes == 0) {
    return invalid_argument(
        "a peer's queue must hold at least one largest frame, and one pending handshake");
  }
  if (config.keepalive_interval_ms <= 0 || config.idle_timeout_ms <= config.keepalive_interval_ms ||
      config.handshake_timeout_ms <= 0) {
    return invalid_argument(
        "timeouts must be positive, with idle_timeout_ms above keepalive_interval_ms");
  }
  if (config.reconnect_min_ms <= 0 || config.reconnect_max_ms < config.reconnect_min_ms ||
      config.reconnect_max_ms > kMaxReconnectMs) {
    return invalid_argument("reconnect delays need 0 < reconnect_min_ms <= reconnect_max_ms <= " +
                            std::to_string(kMaxReconnectMs));
  }
  std::set<std::uint32_t> indices;
  for (const PeerAddress& peer : config.peers) {
    if (peer.index == config.self_index || !indices.insert(peer.index).second) {
      return invalid_argument("peer index " + std::to_string(peer.index) +
                              " is our own or listed twice");
    }
  }
  return Status::ok();
}

class TransportCore : public SessionHost, public std::enable_shared_from_this<TransportCore> {
 public:
  TransportCore(asio::io_context& io, TransportConfig config, const SecretKey& identity,
                Transport::FrameHandler on_frame, Transport::PeerHandler on_peer)
      : io_(io),
        config_(std::move(config)),
        settings_{config_.chain_id,
                  config_.self_index,
                  identity,
                  config_.max_frame_bytes,
                  config_.max_queued_bytes_per_peer,
                  config_.max_queued_frames_per_peer,
                  config_.keepalive_interval_ms,
                  config_.idle_timeout_ms,
                  config_.handshake_timeout_ms},
        on_frame_(std::move(on_frame)),
        on_peer_(std::move(on_peer)),
        acceptor_(io),
        accept_retry_timer_(io) {
    BALLAST_ASSERT(sodium_init() >= 0);
    // Built here, never changed after, so senders read the table without a lock. A duplicate
    // index is refused by start().
    for (const PeerAddress& address : config_.peers) {
      auto peer = std::make_unique<PeerSlot>();
      peer->address = address;
      if (address.index > config_.self_index) {
        peer->redial_timer = std::make_unique<asio::steady_timer>(io_);
      }
      slots_.emplace(address.index, std::move(peer));
    }
  }

  Status start();
  void stop();
  std::uint16_t listen_port() const { return listen_port_; }
  bool send(std::uint32_t peer, std::shared_ptr<const Bytes> frame);
  void broadcast(const std::shared_ptr<const Bytes>& frame);
  std::uint64_t session_generation(std::uint32_t peer) const;
  bool send(std::uint32_t peer, std::uint64_t generation, std::shared_ptr<const Bytes> frame);
  std::vector<PeerStats> stats() const;
  std::uint64_t unattributed_rejections() const { return unattributed_rejections_; }

  // SessionHost.
  const SessionSettings& settings() const override { return settings_; }
  std::optional<PublicKey> configured_key(std::uint32_t index) const override;
  void on_established(const std::shared_ptr<Session>& session) override;
  void on_frame(std::uint32_t peer, Bytes frame) override;
  void on_frames_sent(std::uint32_t peer, std::size_t count, std::size_t bytes) override;
  void on_closed(const std::shared_ptr<Session>& session) override;

 private:
  struct PeerSlot {
    PeerAddress address;
    std::atomic<std::uint64_t> frames_in{0};
    std::atomic<std::uint64_t> frames_out{0};
    std::atomic<std::uint64_t> bytes_in{0};
    std::atomic<std::uint64_t> bytes_out{0};
    std::atomic<std::uint64_t> disconnects{0};
    std::atomic<std::uint64_t> rejected_handshakes{0};
    // Under mutex_.
    std::shared_ptr<Session> current;
    std::uint64_t generation = 0;  // of `current`; counts the sessions established
    std::string last_error;
    std::unique_ptr<asio::steady_timer> redial_timer;  // only for peers we dial
    std::uint32_t failed_dials = 0;
  };

  PeerSlot* slot(std::uint32_t index) const;
  bool send_to_current(std::uint32_t index, std::optional<std::uint64_t> generation,
                       std::shared_ptr<const Bytes> frame);
  Status listen();
  void accept_next();  // under mutex_
  void on_accepted(const error_code& error, tcp::socket socket);
  void dial(std::uint32_t index);
  void schedule_redial(PeerSlot& peer);  // under mutex_
  void log_close(const Session& session, CloseKind kind, const std::string& reason);
  template <typename Call>
  void call_handler(Call&& call);

  asio::io_context& io_;
  const TransportConfig config_;
  const SessionSettings settings_;
  const Transport::FrameHandler on_frame_;
  const Transport::PeerHandler on_peer_;
  std::map<std::uint32_t, std::unique_ptr<PeerSlot>> slots_;  // fixed at construction
  std::atomic<std::uint16_t> listen_port_{0};
  std::atomic<bool> stopped_{false};
  std::atomic<int> handlers_running_{0};
  std::atomic<std::uint64_t> unattributed_rejections_{0};

  std::mutex event_mutex_;  // serializes peer events; taken before mutex_
  mutable std::mutex mutex_;
  bool started_ = false;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_timer_;
  std::set<std::shared_ptr<Session>> sessions_;  // every live session
  std::size_t inbound_handshakes_ = 0;
};

TransportCore::PeerSlot* TransportCore::slot(std::uint32_t index) const {
  const auto found = slots_.find(index);
  return found == slots_.end() ? nullptr : found->second.get();
}

std::optional<PublicKey> TransportCore::configured_key(std::uint32_t index) const {
  const PeerSlot* peer = slot(index);
  if (peer == nullptr) return std::nullopt;
  return peer->address.key;
}

Status TransportCore::start() {
  BALLAST_RETURN_IF_ERROR(validate(config_));
  {
    std::lock_guard lock(mutex_);
    BALLAST_ASSERT_MSG(!started_ && !stopped_, "a transport starts once");
    BALLAST_RETURN_IF_ERROR(listen());
    started_ = true;
    accept_next();
  }
  for (const auto& [index, peer] : slots_) {
    if (peer->redial_timer) dial(index);
  }
  return Status::ok();
}

Status TransportCore::listen() {
  error_code error;
  const asio::ip::address address = asio::ip::make_address(config_.listen_host, error);
  if (error) return invalid_argument("listen host '" + config_.listen_host + "' is not an IP");
  const tcp::endpoint endpoint(address, config_.listen_port);
  const std::string where = config_.listen_host + ":" + std::to_string(config_.listen_port);
  if (acceptor_.open(endpoint.protocol(), error) ||
      acceptor_.set_option(tcp::acceptor::reuse_address(true), error) ||
      acceptor_.bind(endpoint, error) ||
      acceptor_.listen(asio::socket_base::max_listen_connections, error)) {
    error_code ignored;
    acceptor_.close(ignored);
    return io_error("cannot listen on " + where + ": " + error.message());
  }
  listen_port_ = acceptor_.local_endpoint(error).port();
  return Status::ok();
}

void TransportCore::accept_next() {
  acceptor_.async_accept([self = shared_from_this()](const error_code& error, tcp::socket socket) {
    self->on_accepted(error, std::move(socket));
  });
}

void TransportCore::on_accepted(const error_code& error, tcp::socket socket) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || error == asio::error::operation_aborted) return;
    if (error) {
      // Out of descriptors or similar: back off briefly rather than spin.
      spdlog::warn("accepting a peer connection failed: {}", error.message());
      accept_retry_timer_.expires_after(std::chrono::milliseconds(kAcceptRetryMs));
      accept_retry_timer_.async_wait([self = shared_from_this()](const error_code& waited) {
        std::lock_guard retry_lock(self->mutex_);
        if (!waited && !self->stopped_) self->accept_next();
      });
      return;
    }
    if (inbound_handshakes_ >= config_.max_pending_handshakes) {
      spdlog::warn("closed an inbound connection: {} handshakes already pending",
                   inbound_handshakes_);
    } else {
      ++inbound_handshakes_;
      session = std::make_shared<Session>(io_, shared_from_this(), std::move(socket));
      sessions_.insert(session);
    }
    accept_next();
  }
  if (session) session->start_accepted();
}

void TransportCore::dial(std::uint32_t index) {
  PeerSlot* peer = slot(index);
  BALLAST_ASSERT(peer != nullptr && peer->redial_timer);
  auto session = std::make_shared<Session>(io_, shared_from_this(), index);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    sessions_.insert(session);
  }
  session->start_dial(peer->address.host, peer->address.port);
}

void TransportCore::schedule_redial(PeerSlot& peer) {
  // Exponential backoff with jitter in [delay/2, delay], so restarted validators do not all
  // redial in step.
  const std::uint32_t doublings = std::min<std::uint32_t>(peer.failed_dials, 20);
  const std::int64_t delay_ms =
      std::min(config_.reconnect_max_ms, config_.reconnect_min_ms << doublings);
  const auto half = static_cast<std::uint32_t>(delay_ms / 2);
  const std::int64_t jittered_ms = delay_ms - randombytes_uniform(half + 1);
  ++peer.failed_dials;
  peer.redial_timer->expires_after(std::chrono::milliseconds(jittered_ms));
  peer.redial_timer->async_wait(
      [self = shared_from_this(), index = peer.address.index](const error_code& error) {
        if (!error && !self->stopped_) self->dial(index);
      });
}

template <typename Call>
void TransportCore::call_handler(Call&& call) {
  // Counting before checking pairs with stop(), which sets stopped_ before waiting for zero.
  ++handlers_running_;
  if (!stopped_) {
    t_in_handler = true;
    call();
    t_in_handler = false;
  }
  if (--handlers_running_ == 0) handlers_running_.notify_all();
}

void TransportCore::on_established(const std::shared_ptr<Session>& session) {
  const std::uint32_t index = *session->peer_index();
  PeerSlot* peer = slot(index);
  BALLAST_ASSERT(peer != nullptr);
  std::lock_guard events(event_mutex_);
  std::shared_ptr<Session> replaced;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    if (session->role() == Role::kAcceptor) --inbound_handshakes_;
    if (session->role() == Role::kDialer) peer->failed_dials = 0;
    replaced = std::exchange(peer->current, session);
    ++peer->generation;
  }
  spdlog::info("session with {} established", peer_name(*session));
  if (replaced) {
    replaced->close(CloseKind::kReplaced, "replaced by a new session from the same validator");
    ++peer->disconnects;
    if (on_peer_) call_handler([&] { on_peer_(index, false); });
  }
  if (on_peer_) call_handler([&] { on_peer_(index, true); });
}

void TransportCore::on_frame(std::uint32_t peer, Bytes frame) {
  ++slot(peer)->frames_in;
  slot(peer)->bytes_in += frame.size();
  call_handler([&] { on_frame_(peer, std::move(frame)); });
}

void TransportCore::on_frames_sent(std::uint32_t peer, std::size_t count, std::size_t bytes) {
  slot(peer)->frames_out += count;
  slot(peer)->bytes_out += bytes;
}

void TransportCore::on_closed(const std::shared_ptr<Session>& session) {
  const CloseKind kind = session->close_kind();
  const std::string reason = session->close_reason();
  PeerSlot* peer = session->peer_index() ? slot(*session->peer_index()) : nullptr;
  std::lock_guard events(event_mutex_);
  bool was_current = false;
  {
    std::lock_guard lock(mutex_);
    sessions_.erase(session);
    if (stopped_) return;
    if (session->role() == Role::kAcceptor && !session->was_established()) --inbound_handshakes_;
    if (peer != nullptr) {
      was_current = peer->current == session;
      if (was_current) peer->current.reset();
      peer->last_error = reason;
      if (session->role() == Role::kDialer) schedule_redial(*peer);
    }
  }
  log_close(*session, kind, reason);
  if (kind == CloseKind::kRefused) {
    ++(peer != nullptr ? peer->rejected_handshakes : unattributed_rejections_);
  }
  if (was_current) {
    ++peer->disconnects;
    if (on_peer_) call_handler([&] { on_peer_(peer->address.index, false); });
  }
}

void TransportCore::log_close(const Session& session, CloseKind kind, const std::string& reason) {
  const std::string name = peer_name(session);
  switch (kind) {
    case CloseKind::kRefused:
      spdlog::warn("refused the handshake of {}: {}", name, reason);
      return;
    case CloseKind::kOverflow:
    case CloseKind::kReplaced:
      spdlog::warn("disconnected {}: {}", name, reason);
      return;
    case CloseKind::kError:
      if (session.was_established()) {
        spdlog::warn("lost the session with {}: {}", name, reason);
      } else {
        spdlog::info("no session with {}: {}", name, reason);
      }
      return;
    case CloseKind::kStopped:
      return;
  }
}

void TransportCore::stop() {
  BALLAST_ASSERT_MSG(!t_in_handler, "Transport::stop() called from one of its handlers");
  if (stopped_.exchange(true)) return;
  for (int running = handlers_running_; running != 0; running = handlers_running_) {
    handlers_running_.wait(running);
  }
  std::set<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mutex_);
    error_code ignored;
    acceptor_.close(ignored);
    accept_retry_timer_.cancel();
    for (auto& [index, peer] : slots_) {
      if (peer->redial_timer) peer->redial_timer->cancel();
      peer->current.reset();
    }
    sessions.swap(sessions_);
  }
  for (const std::shared_ptr<Session>& session : sessions) {
    session->close(CloseKind::kStopped, "transport stopped");
  }
}

bool TransportCore::send(std::uint32_t index, std::shared_ptr<const Bytes> frame) {
  return send_to_current(index, std::nullopt, std::move(frame));
}

bool TransportCore::send(std::uint32_t index, std::uint64_t generation,
                         std::shared_ptr<const Bytes> frame) {
  return send_to_current(index, generation, std::move(frame));
}

// Into the peer's current session, provided it is of `generation` when one is given.
bool TransportCore::send_to_current(std::uint32_t index, std::optional<std::uint64_t> generation,
                                    std::shared_ptr<const Bytes> frame) {
  BALLAST_ASSERT_MSG(frame != nullptr && !frame->empty(), "empty frames are keepalives");
  BALLAST_ASSERT_MSG(frame->size() <= config_.max_frame_bytes, "frame over max_frame_bytes");
  PeerSlot* peer = slot(index);
  if (peer == nullptr) return false;
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mutex_);
    if (!generation || peer->generation == *generation) session = peer->current;
  }
  return session != nullptr && session->send(std::move(frame)) == Session::SendResult::kQueued;
}

void TransportCore::broadcast(const std::shared_ptr<const Bytes>& frame) {
  for (const auto& [index, peer] : slots_) send(index, frame);
}

std::uint64_t TransportCore::session_generation(std::uint32_t index) const {
  PeerSlot* peer = slot(index);
  if (peer == nullptr) return 0;
  std::lock_guard lock(mutex_);
  return peer->current ? peer->generation : 0;
}

std::vector<PeerStats> TransportCore::stats() const {
  std::vector<PeerStats> all;
  all.reserve(slots_.size());
  for (const auto& [index, peer] : slots_) {
    PeerStats stats;
    stats.index = index;
    std::shared_ptr<Session> session;
    {
      std::lock_guard lock(mutex_);
      session = peer->current;
      stats.last_error = peer->last_error;
    }
    stats.connected = session != nullptr;
    stats.queued_bytes = session ? session->queued_bytes() : 0;
    stats.frames_in = peer->frames_in;
    stats.frames_out = peer->frames_out;
    stats.bytes_in = peer->bytes_in;
    stats.bytes_out = peer->bytes_out;
    stats.disconnects = peer->disconnects;
    stats.rejected_handshakes = peer->rejected_handshakes;
    all.push_back(std::move(stats));
  }
  return all;
}

Transport::Transport(asio::io_context& io, TransportConfig config, const SecretKey& identity,
                     FrameHandler on_frame, PeerHandler on_peer)
    : core_(std::make_shared<TransportCore>(io, std::move(config), identity, std::move(on_frame),
                                            std::move(on_peer))) {}

Transport::~Transport() {
  core_->stop();
}

Status Transport::start() {
  return core_->start();
}
std::uint16_t Transport::listen_port() const {
  return core_->listen_port();
}
void Transport::stop() {
  core_->stop();
}
bool Transport::send(std::uint32_t peer, std::shared_ptr<const Bytes> frame) {
  return core_->send(peer, std::move(frame));
}
void Transport::broadcast(std::shared_ptr<const Bytes> frame) {
  core_->broadcast(frame);
}
std::uint64_t Transport::session_generation(std::uint32_t peer) const {
  return core_->session_generation(peer);
}
bool Transport::send(std::uint32_t peer, std::uint64_t generation,
                     std::shared_ptr<const Bytes> frame) {
  return core_->send(peer, generation, std::move(frame));
}
std::vector<PeerStats> Transport::stats() const {
  return core_->stats();
}
std::uint64_t Transport::unattributed_rejections() const {
  return core_->unattributed_rejections();
}

}  // namespace ballast::net
