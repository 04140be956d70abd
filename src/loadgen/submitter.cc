#include "loadgen/submitter.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "loadgen/batch_answer.h"

namespace ballast::loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One keep-alive connection; one request in flight at a time.
class Submitter::Connection : public std::enable_shared_from_this<Submitter::Connection> {
 public:
  explicit Connection(Submitter& owner)
      : owner_(&owner), stream_(owner.io_), retry_timer_(owner.io_) {}

  bool idle() const { return state_ == State::kIdle; }

  void connect() {
    state_ = State::kConnecting;
    auto address = asio::ip::make_address(owner_->endpoint_.host);
    stream_.expires_after(std::chrono::milliseconds(owner_->limits_.request_timeout_ms));
    stream_.async_connect(tcp::endpoint(address, owner_->endpoint_.port),
                          [self = shared_from_this()](beast::error_code error) {
                            if (self->owner_ == nullptr) return;
                            if (error) return self->retry_later();
                            self->state_ = State::kIdle;
                            self->owner_->pump();
                          });
  }

  void send(std::vector<std::uint32_t> batch) {
    BALLAST_ASSERT(state_ == State::kIdle);
    state_ = State::kBusy;
    batch_ = std::move(batch);
    request_ = {};
    request_.method(http::verb::post);
    request_.target("/v1/txs");
    request_.version(11);
    request_.set(http::field::host, owner_->endpoint_.host);
    request_.set(http::field::content_type, "application/octet-stream");
    request_.keep_alive(true);
    std::string& body = request_.body();
    std::int64_t now = owner_->now_us_();
    for (std::uint32_t index : batch_) {
      const Bytes& encoding = owner_->encodings_[index];
      auto length = static_cast<std::uint32_t>(encoding.size());
      for (int shift = 0; shift < 32; shift += 8)
        body += static_cast<char>((length >> shift) & 0xff);
      body.append(encoding.begin(), encoding.end());
      owner_->ledger_.on_sent(index, now);
    }
    request_.prepare_payload();
    response_ = {};
    stream_.expires_after(std::chrono::milliseconds(owner_->limits_.request_timeout_ms));
    http::async_write(stream_, request_,
                      [self = shared_from_this()](beast::error_code error, std::size_t) {
                        if (self->owner_ == nullptr) return;
                        if (error) return self->fail();
                        http::async_read(self->stream_, self->buffer_, self->response_,
                                         [self](beast::error_code read_error, std::size_t) {
                                           if (self->owner_ == nullptr) return;
                                           if (read_error) return self->fail();
                                           self->on_response();
                                         });
                      });
  }

  void stop() {
    owner_ = nullptr;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    retry_timer_.cancel();
  }

 private:
  enum class State { kConnecting, kIdle, kBusy, kRetrying };

  void on_response() {
    Ledger& ledger = owner_->ledger_;
    const std::int64_t now = owner_->now_us_();
    std::optional<BatchAnswer> answer = read_batch_answer(response_.body());
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      if (answer && answer->has_results && i < answer->results.size()) {
        BatchAnswer::Result& result = answer->results[i];
        if (result.accepted) {
          ledger.on_answer(batch_[i], Ack::kAccepted, now);
        } else {
          ledger.on_answer(batch_[i], Ack::kRejected, now,
                           result.reason.empty() ? "unknown" : std::move(result.reason));
        }
      } else {
        // The whole batch was refused (overloaded, malformed): the same reason for each.
        std::string reason = !answer ? "http_" + std::to_string(response_.result_int())
                             : answer->reason.empty() ? "unknown"
                                                      : answer->reason;
        ledger.on_answer(batch_[i], Ack::kRejected, now, reason);
      }
    }
    batch_.clear();
    state_ = State::kIdle;
    owner_->pump();
  }

  // The node may or may not have taken the batch: it is not counted as acknowledged.
  void fail() {
    for (std::uint32_t index : batch_) owner_->ledger_.on_ack(index, Ack::kNoAnswer, "connection");
    batch_.clear();
    beast::error_code ignored;
    stream_.socket().close(ignored);
    retry_later();
  }

  void retry_later() {
    state_ = State::kRetrying;
    retry_timer_.expires_after(std::chrono::milliseconds(owner_->limits_.reconnect_delay_ms));
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code error) {
      if (error || self->owner_ == nullptr) return;
      self->stream_.socket().close();
      self->connect();
    });
  }

  Submitter* owner_;
  beast::tcp_stream stream_;
  asio::steady_timer retry_timer_;
  State state_ = State::kConnecting;
  std::vector<std::uint32_t> batch_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  beast::flat_buffer buffer_;
};

Submitter::Submitter(asio::io_context& io, Endpoint endpoint, SubmitterLimits limits,
                     Ledger& ledger, const std::vector<Bytes>& encodings,
                     std::function<std::int64_t()> now_us)
    : io_(io),
      endpoint_(std::move(endpoint)),
      limits_(limits),
      ledger_(ledger),
      encodings_(encodings),
      now_us_(std::move(now_us)) {
  BALLAST_ASSERT(limits_.connections > 0 && limits_.max_batch > 0);
  waiting_.resize(limits_.connections);
}

Submitter::~Submitter() {
  stop();
}

void Submitter::start() {
  for (std::size_t i = 0; i < limits_.connections; ++i) {
    connections_.push_back(std::make_shared<Connection>(*this));
    connections_.back()->connect();
  }
}

void Submitter::stop() {
  for (auto& connection : connections_) connection->stop();
  connections_.clear();
}

void Submitter::submit(std::vector<std::uint32_t> indices) {
  for (std::uint32_t index : indices) {
    if (queued_ >= limits_.max_queued) {
      ledger_.on_ack(index, Ack::kNotSent, "client_backlog");
      continue;
    }
    waiting_[ledger_.account(index) % waiting_.size()].push_back(index);
    queued_ += 1;
  }
  pump();
}

void Submitter::pump() {
  for (std::size_t lane = 0; lane < connections_.size(); ++lane) {
    std::deque<std::uint32_t>& waiting = waiting_[lane];
    if (waiting.empty() || !connections_[lane]->idle()) continue;
    std::vector<std::uint32_t> batch;
    while (!waiting.empty() && batch.size() < limits_.max_batch) {
      batch.push_back(waiting.front());
      waiting.pop_front();
    }
    queued_ -= batch.size();
    connections_[lane]->send(std::move(batch));
  }
}

}  // namespace ballast::loadgen
