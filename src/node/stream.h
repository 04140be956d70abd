// The WebSocket stream (/v1/stream): clients subscribe to channels (blocks, trades of a market,
// the book of a market, the events of an account) and receive a JSON message per finalized
// block for each. docs/API.md is the reference for the messages.
//
// Two halves. A StreamSession lives on the I/O threads: it reads a client's requests and writes
// what it is given, through a bounded outbound queue; a client that does not keep up is
// disconnected (never buffered without limit, never allowed to slow anyone else). The
// StreamHub lives on the core thread: it holds the subscriptions and, after every executed
// block, builds each channel's message once and hands it to the subscribers. Subscribing to a
// book registers the subscriber and takes the book's snapshot in the same core-thread step, so
// the deltas that follow apply to exactly that snapshot.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "consensus/messages.h"
#include "exchange/exchange.h"
#include "node/market_feed.h"

namespace ballast::node {

struct StreamLimits {
  std::size_t max_queued_messages = 4'096;   // per session; over it: disconnected
  std::size_t max_queued_bytes = 16 << 20;   // per session; likewise
  std::size_t max_request_bytes = 16 << 10;  // one client message
  std::size_t max_subscriptions = 64;        // per session
  std::int64_t idle_timeout_ms = 60'000;     // no pong for this long: disconnected
};

class StreamSession;
using StreamRequestHandler =
    std::function<void(const std::shared_ptr<StreamSession>& session, nlohmann::json request)>;
using StreamClosedHandler = std::function<void(std::uint64_t session_id)>;

class StreamSession : public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(boost::asio::ip::tcp::socket socket, StreamLimits limits,
                StreamRequestHandler on_request, StreamClosedHandler on_closed);
  ~StreamSession();

  // Completes the WebSocket handshake of `upgrade` and starts reading requests.
  void start(boost::beast::http::request<boost::beast::http::string_body> upgrade);
  // Thread-safe: queues one message. A session whose queue is over its bounds is closed with
  // the reason "slow consumer"; returns false then (or when already closed).
  bool deliver(std::shared_ptr<const std::string> message);
  bool slow_consumer() const { return slow_consumer_; }
  // Unique for the life of the process (addresses are reused, ids are not).
  std::uint64_t id() const { return id_; }

 private:
  void read();
  void on_read(boost::beast::error_code error);
  void write_next();
  void close_slow();
  void finish();

  const std::uint64_t id_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> socket_;
  StreamLimits limits_;
  StreamRequestHandler on_request_;
  StreamClosedHandler on_closed_;
  boost::beast::flat_buffer buffer_;
  // On the session's strand.
  std::deque<std::shared_ptr<const std::string>> outbound_;
  std::size_t outbound_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  // Any thread.
  std::atomic<std::size_t> queued_{0};
  std::atomic<std::size_t> queued_bytes_{0};
  std::atomic<bool> slow_consumer_{false};
  std::atomic<bool> finished_{false};
};

// What one executed block brings to the stream.
struct StreamBlock {
  const consensus::Block* block = nullptr;
  const exchange::BlockResult* result = nullptr;
  const std::vector<std::vector<Trade>>* trades = nullptr;  // per market
  const std::vector<BookDelta>* deltas = nullptr;
};
// `markets` (circuit-breaker transitions of every market) needs no market or account.

class StreamHub {
 public:
  StreamHub(const exchange::Genesis& genesis, StreamLimits limits);

  // A client's request, on the core thread: subscribe or unsubscribe; answers the client.
  // Book subscriptions need the market feed mirroring books (activated here when needed).
  void on_request(const std::shared_ptr<StreamSession>& session, const nlohmann::json& request,
                  MarketFeed& feed, const exchange::Exchange& exchange);
  void on_closed(std::uint64_t session_id);
  // After every executed block, on the core thread.
  void publish(const StreamBlock& block);
  // The state was replaced (a snapshot was installed): book subscribers get fresh snapshots.
  void resend_book_snapshots(const MarketFeed& feed);
  bool wants_books() const;
  std::size_t sessions() const;

 private:
  using Subscribers = std::map<std::uint64_t, std::weak_ptr<StreamSession>>;
  struct Channel {
    std::string name;
    std::optional<exchange::MarketId> market;
    std::optional<PublicKey> account;
  };
  Result<Channel> parse_channel(const nlohmann::json& request) const;
  Subscribers* subscribers_of(const Channel& channel, bool create);
  void subscribe(const std::shared_ptr<StreamSession>& session, const Channel& channel,
                 const nlohmann::json& id, MarketFeed& feed, const exchange::Exchange& exchange);
  void unsubscribe(const std::shared_ptr<StreamSession>& session, const Channel& channel,
                   const nlohmann::json& id);
  // Sends `message` to every live subscriber, forgetting the gone and the dropped ones.
  void send_all(Subscribers& subscribers, const nlohmann::json& message);
  void publish_accounts(const StreamBlock& block);
  void sweep();

  const exchange::Genesis& genesis_;
  StreamLimits limits_;
  Subscribers blocks_;
  std::vector<Subscribers> trades_;  // per market
  std::vector<Subscribers> books_;   // per market
  std::map<PublicKey, Subscribers> accounts_;
  Subscribers markets_;                                       // market state transitions
  std::map<std::uint64_t, std::size_t> subscription_counts_;  // per session id
  std::uint64_t published_ = 0;
};

}  // namespace ballast::node
