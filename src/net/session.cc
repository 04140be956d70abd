#include "net/session.h"

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "base/assert.h"

namespace ballast::net {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// Reads take what the kernel has, up to this much; a bigger frame grows the buffer to its size.
constexpr std::size_t kReadChunkBytes = 64 << 10;
// One write carries queued frames up to about this much plaintext.
constexpr std::size_t kMaxBatchBytes = 256 << 10;

std::string describe(const error_code& error) {
  if (error == asio::error::eof) return "peer closed the connection";
  return error.message();
}

}  // namespace

Session::Session(asio::io_context& io, std::shared_ptr<SessionHost> host, std::uint32_t peer_index)
    : host_(std::move(host)),
      strand_(asio::make_strand(io)),
      socket_(io),
      resolver_(io),
      timer_(io),
      handshake_(Role::kDialer, settings().chain_id, settings().self_index),
      peer_index_(peer_index) {}

Session::Session(asio::io_context& io, std::shared_ptr<SessionHost> host,
                 asio::ip::tcp::socket socket)
    : host_(std::move(host)),
      strand_(asio::make_strand(io)),
      socket_(std::move(socket)),
      resolver_(io),
      timer_(io),
      handshake_(Role::kAcceptor, settings().chain_id, settings().self_index) {}

void Session::start_dial(std::string host, std::uint16_t port) {
  BALLAST_ASSERT(role() == Role::kDialer);
  remote_ = host + ":" + std::to_string(port);
  asio::post(strand_, [self = shared_from_this(), host = std::move(host), port] {
    if (self->closed_) return;
    self->arm_handshake_deadline();
    self->resolver_.async_resolve(
        host, std::to_string(port),
        asio::bind_executor(self->strand_, [self](const error_code& error,
                                                  asio::ip::tcp::resolver::results_type results) {
          if (self->closed_) return;
          if (error) return self->close(CloseKind::kError, "cannot resolve: " + error.message());
          self->connect_next(results, results.begin());
        }));
  });
}

void Session::connect_next(asio::ip::tcp::resolver::results_type endpoints,
                           asio::ip::tcp::resolver::results_type::const_iterator next) {
  if (next == endpoints.end()) {
    return close(CloseKind::kError, "cannot connect to " + remote_ + ": no address answered");
  }
  error_code ignored;
  socket_.close(ignored);
  socket_.async_connect(
      next->endpoint(), asio::bind_executor(strand_, [self = shared_from_this(), endpoints,
                                                      next](const error_code& error) mutable {
        if (self->closed_) return;
        if (!error) return self->begin_handshake();
        if (std::next(next) != endpoints.end()) return self->connect_next(endpoints, ++next);
        self->close(CloseKind::kError,
                    "cannot connect to " + self->remote_ + ": " + error.message());
      }));
}

void Session::start_accepted() {
  BALLAST_ASSERT(role() == Role::kAcceptor);
  asio::post(strand_, [self = shared_from_this()] {
    if (self->closed_) return;
    self->arm_handshake_deadline();
    self->begin_handshake();
  });
}

void Session::begin_handshake() {
  error_code error;
  const asio::ip::tcp::endpoint endpoint = socket_.remote_endpoint(error);
  if (!error) remote_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), error);  // frames are latency-bound
  phase_ = Phase::kAwaitHello;
  last_receive_ = Clock::now();
  const Bytes& hello = handshake_.hello_message();
  handshake_out_.insert(handshake_out_.end(), hello.begin(), hello.end());
  pump();
  read_more();
}

void Session::arm_handshake_deadline() {
  timer_.expires_after(std::chrono::milliseconds(settings().handshake_timeout_ms));
  timer_.async_wait(asio::bind_executor(
      strand_, [self = shared_from_this()](const error_code& error) { self->on_deadline(error); }));
}

void Session::on_deadline(const error_code& error) {
  if (error == asio::error::operation_aborted || closed_ || phase_ == Phase::kEstablished) return;
  close(
      phase_ == Phase::kConnecting ? CloseKind::kError : CloseKind::kRefused,
      "handshake not completed within " + std::to_string(settings().handshake_timeout_ms) + " ms");
}

void Session::read_more() {
  if (closed_) return;
  make_room();
  socket_.async_read_some(
      asio::buffer(receive_buffer_.data() + receive_end_, receive_buffer_.size() - receive_end_),
      asio::bind_executor(strand_,
                          [self = shared_from_this()](const error_code& error, std::size_t bytes) {
                            self->on_read(error, bytes);
                          }));
}

// Moves the unread bytes to the front, then sizes the buffer for the next read: one chunk, or
// the whole frame being read when it is bigger (its length was checked against the limit).
void Session::make_room() {
  if (receive_begin_ > 0) {
    std::copy(receive_buffer_.begin() + static_cast<std::ptrdiff_t>(receive_begin_),
              receive_buffer_.begin() + static_cast<std::ptrdiff_t>(receive_end_),
              receive_buffer_.begin());
    receive_end_ -= receive_begin_;
    receive_begin_ = 0;
  }
  std::size_t wanted = kReadChunkBytes;
  if (receive_end_ >= kLengthPrefixBytes) {
    wanted = std::max(wanted, kLengthPrefixBytes + read_length_prefix(receive_buffer_.data()));
  }
  if (receive_buffer_.size() < wanted) {
    receive_buffer_.resize(wanted);
  } else if (wanted == kReadChunkBytes && receive_buffer_.size() > kReadChunkBytes &&
             receive_end_ <= kReadChunkBytes) {
    receive_buffer_.resize(kReadChunkBytes);  // release what one large frame needed
    receive_buffer_.shrink_to_fit();
  }
}

void Session::on_read(const error_code& error, std::size_t bytes) {
  if (closed_) return;
  if (error) return close(CloseKind::kError, describe(error));
  receive_end_ += bytes;
  last_receive_ = Clock::now();
  process_received();
  read_more();
}

std::size_t Session::message_limit() const {
  switch (phase_) {
    case Phase::kAwaitHello:
      return kMaxHelloBytes;
    case Phase::kAwaitAuth:
      return kAuthFrameBytes;
    case Phase::kAwaitConfirm:
      return kFrameTagBytes;  // an empty frame
    case Phase::kEstablished:
      return settings().max_frame_bytes + kFrameTagBytes;
    case Phase::kConnecting:
      break;
  }
  BALLAST_ASSERT_MSG(false, "bytes received before the connection was made");
  return 0;
}

// Handles every complete message in the buffer; a length over the limit of the current phase
// closes the session before anything is allocated for it.
void Session::process_received() {
  while (!closed_ && receive_end_ - receive_begin_ >= kLengthPrefixBytes) {
    const std::size_t length = read_length_prefix(receive_buffer_.data() + receive_begin_);
    if (length > message_limit()) {
      const bool handshaking = phase_ != Phase::kEstablished;
      return close(handshaking ? CloseKind::kRefused : CloseKind::kError,
                   "message of " + std::to_string(length) + " bytes is over the limit of " +
                       std::to_string(message_limit()));
    }
    if (receive_end_ - receive_begin_ < kLengthPrefixBytes + length) return;
    const ByteView message(receive_buffer_.data() + receive_begin_ + kLengthPrefixBytes, length);
    receive_begin_ += kLengthPrefixBytes + length;
    handle_message(message);
  }
}

void Session::handle_message(ByteView message) {
  switch (phase_) {
    case Phase::kAwaitHello:
      return handle_hello(message);
    case Phase::kAwaitAuth:
      return handle_auth(message);
    case Phase::kAwaitConfirm:
      return handle_confirm(message);
    case Phase::kEstablished:
      return handle_frame(message);
    case Phase::kConnecting:
      break;
  }
  BALLAST_ASSERT_MSG(false, "message handled before the connection was made");
}

void Session::handle_hello(ByteView body) {
  Result<std::uint32_t> claimed = handshake_.read_hello(body);
  if (!claimed.is_ok()) return close(CloseKind::kRefused, claimed.status().message());
  const std::uint32_t index = *claimed;
  if (role() == Role::kDialer && index != *peer_index_) {
    return close(CloseKind::kRefused, "dialed validator " + std::to_string(*peer_index_) +
                                          " but the peer claims index " + std::to_string(index));
  }
  peer_key_ = host_->configured_key(index);
  if (!peer_key_) {
    return close(CloseKind::kRefused,
                 "peer claims unknown validator index " + std::to_string(index));
  }
  peer_index_ = index;
  if (role() == Role::kAcceptor && index > settings().self_index) {
    return close(CloseKind::kRefused, "validator " + std::to_string(index) +
                                          " has the higher index, so it must accept, not dial");
  }
  phase_ = Phase::kAwaitAuth;
  if (role() == Role::kAcceptor) send_auth();  // the dialer proves itself second
}

void Session::send_auth() {
  const Bytes auth = handshake_.auth_message(settings().identity);
  handshake_out_.insert(handshake_out_.end(), auth.begin(), auth.end());
  pump();
}

// Neither side reports a session the other refused: the acceptor proves its identity first,
// the dialer only after checking it, and the dialer waits for the acceptor's confirmation.
void Session::handle_auth(ByteView ciphertext) {
  if (Status verified = handshake_.read_auth(ciphertext, *peer_key_); !verified.is_ok()) {
    return close(CloseKind::kRefused, verified.message());
  }
  if (role() == Role::kDialer) send_auth();
  sealer_ = handshake_.take_sealer();
  opener_ = handshake_.take_opener();
  if (role() == Role::kDialer) {
    phase_ = Phase::kAwaitConfirm;
    return;
  }
  keepalive_due_ = true;  // the confirmation
  establish();
}

void Session::handle_confirm(ByteView ciphertext) {
  Result<Bytes> plaintext = opener_.open(ciphertext);
  if (!plaintext.is_ok() || !plaintext->empty()) {
    return close(CloseKind::kRefused, "the acceptor's confirmation frame is not valid");
  }
  establish();
}

void Session::establish() {
  phase_ = Phase::kEstablished;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    established_ = true;
  }
  last_send_ = Clock::now();
  schedule_tick();  // replaces the handshake deadline
  pump();           // the acceptor's confirmation goes out before any frame
  host_->on_established(shared_from_this());
}

void Session::handle_frame(ByteView ciphertext) {
  Result<Bytes> plaintext = opener_.open(ciphertext);
  if (!plaintext.is_ok()) return close(CloseKind::kError, plaintext.status().message());
  if (plaintext->empty()) return;  // a keepalive
  host_->on_frame(*peer_index_, std::move(plaintext).value());
}

void Session::schedule_tick() {
  // Half the shorter period, so neither the keepalive nor the idle check runs much late.
  const std::int64_t period_ms = std::max<std::int64_t>(
      1, std::min(settings().keepalive_interval_ms, settings().idle_timeout_ms) / 2);
  timer_.expires_after(std::chrono::milliseconds(period_ms));
  timer_.async_wait(asio::bind_executor(
      strand_, [self = shared_from_this()](const error_code& error) { self->on_tick(error); }));
}

void Session::on_tick(const error_code& error) {
  if (error == asio::error::operation_aborted || closed_) return;
  const Clock::time_point now = Clock::now();
  if (now - last_receive_ >= std::chrono::milliseconds(settings().idle_timeout_ms)) {
    return close(CloseKind::kError,
                 "nothing received for " + std::to_string(settings().idle_timeout_ms) + " ms");
  }
  if (!writing_ &&
      now - last_send_ >= std::chrono::milliseconds(settings().keepalive_interval_ms)) {
    keepalive_due_ = true;
    pump();
  }
  schedule_tick();
}

Session::SendResult Session::send(std::shared_ptr<const Bytes> frame) {
  BALLAST_ASSERT_MSG(frame != nullptr && !frame->empty(), "empty frames are keepalives");
  BALLAST_ASSERT_MSG(frame->size() <= settings().max_frame_bytes, "frame over max_frame_bytes");
  std::string overflow;
  {
    std::lock_guard lock(mutex_);
    if (closed_ || !established_) return SendResult::kNotConnected;
    if (queued_bytes_ + frame->size() <= settings().max_queued_bytes &&
        queued_frames_ < settings().max_queued_frames) {
      queued_bytes_ += frame->size();
      ++queued_frames_;
      queue_.push_back(std::move(frame));
      if (pump_scheduled_) return SendResult::kQueued;
      pump_scheduled_ = true;
    } else {
      overflow = "send queue over its bound with " + std::to_string(queued_frames_) +
                 " frames and " + std::to_string(queued_bytes_) + " bytes waiting: peer too slow";
    }
  }
  if (!overflow.empty()) {
    close(CloseKind::kOverflow, std::move(overflow));
    return SendResult::kOverflow;
  }
  schedule_pump();
  return SendResult::kQueued;
}

void Session::schedule_pump() {
  asio::post(strand_, [self = shared_from_this()] {
    {
      std::lock_guard lock(self->mutex_);
      self->pump_scheduled_ = false;
    }
    self->pump();
  });
}

// Writes the pending handshake messages and a batch of queued frames (or a due keepalive) in
// one go; the next batch starts when this write completes, so at most one write is in flight.
void Session::pump() {
  if (writing_ || closed_) return;
  std::vector<std::shared_ptr<const Bytes>> batch;
  std::size_t batch_bytes = 0;
  if (phase_ == Phase::kEstablished) {
    std::lock_guard lock(mutex_);
    while (!queue_.empty() && batch_bytes < kMaxBatchBytes) {
      batch_bytes += queue_.front()->size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  write_buffer_.clear();
  if (write_buffer_.capacity() > 4 * kMaxBatchBytes) write_buffer_.shrink_to_fit();
  write_buffer_.swap(handshake_out_);
  if (keepalive_due_) sealer_.seal({}, write_buffer_);
  keepalive_due_ = false;
  for (const std::shared_ptr<const Bytes>& frame : batch) sealer_.seal(*frame, write_buffer_);
  if (write_buffer_.empty()) return;
  writing_ = true;
  last_send_ = Clock::now();
  asio::async_write(
      socket_, asio::buffer(write_buffer_),
      asio::bind_executor(strand_, [self = shared_from_this(), frames = batch.size(), batch_bytes](
                                       const error_code& error, std::size_t) {
        self->on_written(error, frames, batch_bytes);
      }));
}

void Session::on_written(const error_code& error, std::size_t frames, std::size_t frame_bytes) {
  writing_ = false;
  if (error) return close(CloseKind::kError, "write failed: " + describe(error));
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;  // close() already emptied the queue and its counts
    BALLAST_ASSERT(queued_frames_ >= frames && queued_bytes_ >= frame_bytes);
    queued_frames_ -= frames;
    queued_bytes_ -= frame_bytes;
  }
  if (frames > 0) host_->on_frames_sent(*peer_index_, frames, frame_bytes);
  pump();
}

void Session::close(CloseKind kind, std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    close_kind_ = kind;
    close_reason_ = std::move(reason);
    queue_.clear();  // frees the memory now; the socket closes on the strand
    queued_bytes_ = 0;
    queued_frames_ = 0;
  }
  asio::post(strand_, [self = shared_from_this()] { self->shutdown_on_strand(); });
}

void Session::shutdown_on_strand() {
  error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  resolver_.cancel();
  host_->on_closed(shared_from_this());
}

CloseKind Session::close_kind() const {
  std::lock_guard lock(mutex_);
  return close_kind_;
}

std::string Session::close_reason() const {
  std::lock_guard lock(mutex_);
  return close_reason_;
}

std::size_t Session::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_bytes_;
}

}  // namespace ballast::net
