// One peer connection: the handshake, then sealed frames both ways, keepalives, the idle and
// handshake deadlines, and a bounded send queue. Every socket and timer operation runs on the
// session's own strand; only the queue and the closed flag are shared with other threads, under
// a mutex. A session never decides who may connect: its host supplies the configured keys and
// is told when the session is established or closed, exactly once each.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "crypto/keys.h"
#include "net/frame_cipher.h"
#include "net/handshake.h"

namespace ballast::net {

struct SessionSettings {
  std::string chain_id;
  std::uint32_t self_index = 0;
  SecretKey identity;
  std::size_t max_frame_bytes = 0;
  std::size_t max_queued_bytes = 0;
  std::size_t max_queued_frames = 0;
  std::int64_t keepalive_interval_ms = 0;
  std::int64_t idle_timeout_ms = 0;
  std::int64_t handshake_timeout_ms = 0;
};

// Why a session ended; it decides how the host counts and logs it.
enum class CloseKind {
  kError,     // network error, peer hung up, idle, bad frame after the handshake
  kRefused,   // the peer failed the handshake (bad hello, wrong chain, index or key, too slow)
  kOverflow,  // our send queue to the peer went over its bound
  kReplaced,  // the same validator connected again
  kStopped,   // the transport is stopping
};

class Session;

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual const SessionSettings& settings() const = 0;
  // The key configured for a validator index; nothing for an index we do not know.
  virtual std::optional<PublicKey> configured_key(std::uint32_t index) const = 0;
  // Called on the session's strand.
  virtual void on_established(const std::shared_ptr<Session>& session) = 0;
  virtual void on_frame(std::uint32_t peer, Bytes frame) = 0;
  virtual void on_frames_sent(std::uint32_t peer, std::size_t count, std::size_t bytes) = 0;
  virtual void on_closed(const std::shared_ptr<Session>& session) = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  enum class SendResult { kQueued, kNotConnected, kOverflow };

  // A session that will dial validator `peer_index`.
  Session(boost::asio::io_context& io, std::shared_ptr<SessionHost> host, std::uint32_t peer_index);
  // A session for a connection we accepted.
  Session(boost::asio::io_context& io, std::shared_ptr<SessionHost> host,
          boost::asio::ip::tcp::socket socket);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start_dial(std::string host, std::uint16_t port);
  void start_accepted();

  // Any thread. Queues a frame (non-empty: empty frames are keepalives) once established.
  // Over the queue bound the session is closed and kOverflow returned.
  SendResult send(std::shared_ptr<const Bytes> frame);
  // Any thread; the first call wins. The host hears of it through on_closed.
  void close(CloseKind kind, std::string reason);

  Role role() const { return handshake_.role(); }
  // The validator index: the dialed one, or the one an accepted peer claimed in its hello.
  std::optional<std::uint32_t> peer_index() const { return peer_index_; }
  // Valid in the host's on_closed.
  bool was_established() const { return established_.load(); }
  CloseKind close_kind() const;
  std::string close_reason() const;
  const std::string& remote() const { return remote_; }
  std::size_t queued_bytes() const;

 private:
  enum class Phase { kConnecting, kAwaitHello, kAwaitAuth, kAwaitConfirm, kEstablished };
  using Clock = std::chrono::steady_clock;

  const SessionSettings& settings() const { return host_->settings(); }
  void connect_next(boost::asio::ip::tcp::resolver::results_type endpoints,
                    boost::asio::ip::tcp::resolver::results_type::const_iterator next);
  void begin_handshake();
  void arm_handshake_deadline();
  void on_deadline(const boost::system::error_code& error);
  void read_more();
  void make_room();
  void on_read(const boost::system::error_code& error, std::size_t bytes);
  void process_received();
  std::size_t message_limit() const;
  void handle_message(ByteView message);
  void handle_hello(ByteView body);
  void send_auth();
  void handle_auth(ByteView ciphertext);
  void handle_confirm(ByteView ciphertext);
  void establish();
  void handle_frame(ByteView ciphertext);
  void schedule_tick();
  void on_tick(const boost::system::error_code& error);
  void schedule_pump();
  void pump();
  void on_written(const boost::system::error_code& error, std::size_t frames,
                  std::size_t frame_bytes);
  void shutdown_on_strand();

  std::shared_ptr<SessionHost> host_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer timer_;  // the handshake deadline, then the keepalive/idle tick

  // Strand only.
  Handshake handshake_;
  Phase phase_ = Phase::kConnecting;
  std::optional<std::uint32_t> peer_index_;
  std::optional<PublicKey> peer_key_;
  std::string remote_;
  FrameSealer sealer_;
  FrameOpener opener_;
  Bytes receive_buffer_;
  std::size_t receive_begin_ = 0;
  std::size_t receive_end_ = 0;
  Bytes handshake_out_;  // handshake messages waiting to be written
  Bytes write_buffer_;
  bool writing_ = false;
  bool keepalive_due_ = false;
  Clock::time_point last_receive_;
  Clock::time_point last_send_;

  // Shared with senders, under mutex_.
  mutable std::mutex mutex_;
  std::atomic<bool> closed_{false};  // written under mutex_
  std::atomic<bool> established_{false};
  CloseKind close_kind_ = CloseKind::kError;
  std::string close_reason_;
  std::deque<std::shared_ptr<const Bytes>> queue_;
  std::size_t queued_bytes_ = 0;  // queued plus being written
  std::size_t queued_frames_ = 0;
  bool pump_scheduled_ = false;
};

}  // namespace ballast::net
