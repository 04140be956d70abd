#include "node/stream.h"

#include <unordered_map>

#include <boost/asio/post.hpp>

#include "exchange/json_codec.h"
#include "node/api_json.h"

namespace ballast::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

std::atomic<std::uint64_t> g_next_session_id{1};

std::shared_ptr<const std::string> serialize(const nlohmann::json& message) {
  return std::make_shared<const std::string>(
      message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// A refused request, as the HTTP errors are: a stable code and reason, and a message for people.
nlohmann::json error_message(const Status& status, const nlohmann::json& id) {
  nlohmann::json message = {{"type", "error"},
                            {"code", status_code_name(status.code())},
                            {"reason", status.reason()},
                            {"message", status.message()}};
  if (!id.is_null()) message["id"] = id;
  return message;
}

}  // namespace

// --- session (I/O threads, on its strand) ------------------------------------------------------

StreamSession::StreamSession(asio::ip::tcp::socket socket, StreamLimits limits,
                             StreamRequestHandler on_request, StreamClosedHandler on_closed)
    : id_(g_next_session_id.fetch_add(1)),
      socket_(std::move(socket)),
      limits_(limits),
      on_request_(std::move(on_request)),
      on_closed_(std::move(on_closed)) {}

StreamSession::~StreamSession() = default;

void StreamSession::start(beast::http::request<beast::http::string_body> upgrade) {
  beast::get_lowest_layer(socket_).expires_never();  // the websocket timeouts take over
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = std::chrono::seconds(10);
  timeouts.idle_timeout = std::chrono::milliseconds(limits_.idle_timeout_ms);
  timeouts.keep_alive_pings = true;
  socket_.set_option(timeouts);
  socket_.read_message_max(limits_.max_request_bytes);
  socket_.text(true);
  socket_.async_accept(upgrade, [self = shared_from_this()](beast::error_code error) {
    if (error) {
      self->finish();
      return;
    }
    self->read();
  });
}

void StreamSession::read() {
  socket_.async_read(buffer_, [self = shared_from_this()](beast::error_code error, std::size_t) {
    self->on_read(error);
  });
}

void StreamSession::on_read(beast::error_code error) {
  if (error) {
    finish();
    return;
  }
  std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  nlohmann::json request = nlohmann::json::parse(text, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    deliver(serialize(error_message(
        invalid_argument("a request is one JSON object").with_reason("malformed_request"), {})));
  } else {
    on_request_(shared_from_this(), std::move(request));
  }
  read();
}

bool StreamSession::deliver(std::shared_ptr<const std::string> message) {
  if (finished_ || slow_consumer_) return false;
  std::size_t count = queued_.fetch_add(1) + 1;
  std::size_t bytes = queued_bytes_.fetch_add(message->size()) + message->size();
  if (count > limits_.max_queued_messages || bytes > limits_.max_queued_bytes) {
    queued_.fetch_sub(1);
    queued_bytes_.fetch_sub(message->size());
    if (!slow_consumer_.exchange(true)) {
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close_slow(); });
    }
    return false;
  }
  asio::post(socket_.get_executor(), [self = shared_from_this(), message = std::move(message)] {
    if (self->closing_) {
      self->queued_.fetch_sub(1);
      self->queued_bytes_.fetch_sub(message->size());
      return;
    }
    self->outbound_.push_back(message);
    if (!self->writing_) self->write_next();
  });
  return true;
}

void StreamSession::write_next() {
  if (outbound_.empty() || closing_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  const std::shared_ptr<const std::string>& message = outbound_.front();
  socket_.async_write(asio::buffer(*message),
                      [self = shared_from_this()](beast::error_code error, std::size_t) {
                        std::size_t size = self->outbound_.front()->size();
                        self->outbound_.pop_front();
                        self->queued_.fetch_sub(1);
                        self->queued_bytes_.fetch_sub(size);
                        if (error) {
                          self->writing_ = false;
                          self->finish();
                          return;
                        }
                        self->write_next();
                      });
}

// A client that reads slower than the node publishes would make the node hold ever more for
// it: it is told why and disconnected.
void StreamSession::close_slow() {
  if (closing_) return;
  closing_ = true;
  // The websocket's handshake timeout bounds the closing handshake too.
  socket_.async_close(websocket::close_reason(websocket::close_code::policy_error, "slow consumer"),
                      [self = shared_from_this()](beast::error_code) { self->finish(); });
}

void StreamSession::finish() {
  if (finished_.exchange(true)) return;
  on_closed_(id_);
}

// --- hub (core thread) -------------------------------------------------------------------------

StreamHub::StreamHub(const exchange::Genesis& genesis, StreamLimits limits)
    : genesis_(genesis),
      limits_(limits),
      trades_(genesis.markets.size()),
      books_(genesis.markets.size()) {}

Result<StreamHub::Channel> StreamHub::parse_channel(const nlohmann::json& request) const {
  auto channel_field = request.find("channel");
  if (channel_field == request.end() || !channel_field->is_string()) {
    return invalid_argument("\"channel\" must be blocks, markets, trades, book or account")
        .with_reason("bad_parameter");
  }
  Channel channel;
  channel.name = channel_field->get<std::string>();
  if (channel.name == "blocks" || channel.name == "markets") return channel;
  if (channel.name == "trades" || channel.name == "book") {
    auto market = request.find("market");
    if (market == request.end() || !market->is_string()) {
      return invalid_argument("\"market\" must name a market").with_reason("bad_parameter");
    }
    auto id = genesis_.find_market(market->get<std::string>());
    if (!id) {
      return not_found("unknown market " + market->get<std::string>())
          .with_reason("unknown_market");
    }
    channel.market = *id;
    return channel;
  }
  if (channel.name == "account") {
    auto account = request.find("account");
    if (account == request.end() || !account->is_string()) {
      return invalid_argument("\"account\" must be a hex public key").with_reason("bad_parameter");
    }
    auto key = PublicKey::from_hex(account->get<std::string>());
    if (!key.is_ok()) return Status(key.status()).with_reason("bad_parameter");
    channel.account = *key;
    return channel;
  }
  return invalid_argument("unknown channel " + channel.name).with_reason("bad_parameter");
}

StreamHub::Subscribers* StreamHub::subscribers_of(const Channel& channel, bool create) {
  if (channel.name == "blocks") return &blocks_;
  if (channel.name == "markets") return &markets_;
  if (channel.name == "trades") return &trades_[*channel.market];
  if (channel.name == "book") return &books_[*channel.market];
  auto it = accounts_.find(*channel.account);
  if (it == accounts_.end()) {
    if (!create) return nullptr;
    it = accounts_.emplace(*channel.account, Subscribers{}).first;
  }
  return &it->second;
}

void StreamHub::on_request(const std::shared_ptr<StreamSession>& session,
                           const nlohmann::json& request, MarketFeed& feed,
                           const exchange::Exchange& exchange) {
  nlohmann::json id = request.contains("id") ? request["id"] : nlohmann::json();
  auto op = request.find("op");
  if (op == request.end() || !op->is_string() || (*op != "subscribe" && *op != "unsubscribe")) {
    session->deliver(serialize(error_message(
        invalid_argument("\"op\" must be subscribe or unsubscribe").with_reason("bad_parameter"),
        id)));
    return;
  }
  auto channel = parse_channel(request);
  if (!channel.is_ok()) {
    session->deliver(serialize(error_message(channel.status(), id)));
    return;
  }
  if (*op == "subscribe") {
    subscribe(session, *channel, id, feed, exchange);
  } else {
    unsubscribe(session, *channel, id);
  }
}

namespace {

nlohmann::json channel_json(const exchange::Genesis& genesis, const std::string& name,
                            std::optional<exchange::MarketId> market,
                            const std::optional<PublicKey>& account) {
  nlohmann::json json = {{"channel", name}};
  if (market) json["market"] = genesis.markets[*market].symbol;
  if (account) json["account"] = account->hex();
  return json;
}

}  // namespace

void StreamHub::subscribe(const std::shared_ptr<StreamSession>& session, const Channel& channel,
                          const nlohmann::json& id, MarketFeed& feed,
                          const exchange::Exchange& exchange) {
  Subscribers& subscribers = *subscribers_of(channel, true);
  nlohmann::json ack = channel_json(genesis_, channel.name, channel.market, channel.account);
  if (!id.is_null()) ack["id"] = id;
  if (!subscribers.contains(session->id())) {
    std::size_t& count = subscription_counts_[session->id()];
    if (count >= limits_.max_subscriptions) {
      session->deliver(
          serialize(error_message(Status(StatusCode::kResourceExhausted,
                                         "at most " + std::to_string(limits_.max_subscriptions) +
                                             " subscriptions per connection")
                                      .with_reason("too_many_subscriptions"),
                                  id)));
      return;
    }
    count += 1;
    subscribers.emplace(session->id(), session);
  }
  ack["type"] = "subscribed";
  session->deliver(serialize(ack));
  if (channel.name == "book") {
    feed.activate_books(exchange);
    session->deliver(serialize(book_snapshot_json(genesis_, feed.book_snapshot(*channel.market))));
  }
}

void StreamHub::unsubscribe(const std::shared_ptr<StreamSession>& session, const Channel& channel,
                            const nlohmann::json& id) {
  Subscribers* subscribers = subscribers_of(channel, false);
  if (subscribers != nullptr && subscribers->erase(session->id()) > 0) {
    subscription_counts_[session->id()] -= 1;
  }
  if (channel.account && subscribers != nullptr && subscribers->empty()) {
    accounts_.erase(*channel.account);
  }
  nlohmann::json ack = channel_json(genesis_, channel.name, channel.market, channel.account);
  ack["type"] = "unsubscribed";
  if (!id.is_null()) ack["id"] = id;
  session->deliver(serialize(ack));
}

void StreamHub::on_closed(std::uint64_t session_id) {
  blocks_.erase(session_id);
  markets_.erase(session_id);
  for (Subscribers& subscribers : trades_) subscribers.erase(session_id);
  for (Subscribers& subscribers : books_) subscribers.erase(session_id);
  for (auto it = accounts_.begin(); it != accounts_.end();) {
    it->second.erase(session_id);
    it = it->second.empty() ? accounts_.erase(it) : std::next(it);
  }
  subscription_counts_.erase(session_id);
}

void StreamHub::send_all(Subscribers& subscribers, const nlohmann::json& message) {
  if (subscribers.empty()) return;
  std::shared_ptr<const std::string> text = serialize(message);
  for (auto it = subscribers.begin(); it != subscribers.end();) {
    std::shared_ptr<StreamSession> session = it->second.lock();
    if (session == nullptr || !session->deliver(text)) {
      // Gone, or dropped as a slow consumer: it will never be sent anything again.
      subscription_counts_.erase(it->first);
      it = subscribers.erase(it);
    } else {
      ++it;
    }
  }
}

void StreamHub::publish(const StreamBlock& block) {
  const consensus::Block& header = *block.block;
  if (!blocks_.empty()) {
    send_all(blocks_, block_notice_json(header, header.hash(), *block.result));
  }
  for (exchange::MarketId market = 0; market < trades_.size(); ++market) {
    const std::vector<Trade>& trades = (*block.trades)[market];
    if (trades.empty() || trades_[market].empty()) continue;
    send_all(trades_[market], trades_json(genesis_, market, header.height, trades));
  }
  if (!markets_.empty() && !block.result->market_events.empty()) {
    nlohmann::json events = nlohmann::json::array();
    for (const exchange::MarketEvent& event : block.result->market_events) {
      events.push_back(exchange::market_event_to_json(event, genesis_));
    }
    send_all(markets_, {{"channel", "markets"},
                        {"height", header.height},
                        {"time_ms", header.timestamp_ms},
                        {"events", std::move(events)}});
  }
  for (const BookDelta& delta : *block.deltas) {
    send_all(books_[delta.market], book_delta_json(genesis_, delta));
  }
  if (!accounts_.empty()) publish_accounts(block);
  if (++published_ % 256 == 0) sweep();
}

// Each subscribed account gets, per block, the results of the transactions it sent and the
// events of others' transactions that touched it (fills as maker, transfers to it, orders
// cancelled by another's self-trade prevention).
void StreamHub::publish_accounts(const StreamBlock& block) {
  std::unordered_map<Hash256, PublicKey, app::Hash256Hasher> senders;
  for (const Bytes& bytes : block.block->transactions) {
    auto tx = exchange::Transaction::decode(bytes);
    if (tx.is_ok()) senders.emplace(sha256(bytes), tx->sender);
  }
  std::map<PublicKey, nlohmann::json> messages;
  auto message_for = [&](const PublicKey& key) -> nlohmann::json* {
    if (!accounts_.contains(key)) return nullptr;
    nlohmann::json& message = messages[key];
    if (message.is_null()) {
      message = {{"channel", "account"},
                 {"account", key.hex()},
                 {"height", block.block->height},
                 {"time_ms", block.block->timestamp_ms},
                 {"transactions", nlohmann::json::array()},
                 {"events", nlohmann::json::array()}};
    }
    return &message;
  };
  // Reopening auctions fill orders at block start, outside any transaction.
  for (const exchange::Event& event : block.result->block_events) {
    for (const PublicKey& involved : accounts_involved(event)) {
      if (nlohmann::json* message = message_for(involved)) {
        (*message)["events"].push_back(exchange::event_to_json(event, genesis_));
      }
    }
  }
  for (const exchange::TxResult& result : block.result->results) {
    auto sender = senders.find(result.tx_id);
    if (sender == senders.end()) continue;
    if (nlohmann::json* own = message_for(sender->second)) {
      (*own)["transactions"].push_back(exchange::result_to_json(result, genesis_));
    }
    for (const exchange::Event& event : result.events) {
      for (const PublicKey& involved : accounts_involved(event)) {
        if (involved == sender->second) continue;
        if (nlohmann::json* other = message_for(involved)) {
          (*other)["events"].push_back(exchange::event_to_json(event, genesis_));
        }
      }
    }
  }
  for (auto& [key, message] : messages) send_all(accounts_.at(key), message);
}

void StreamHub::resend_book_snapshots(const MarketFeed& feed) {
  if (!feed.books_active()) return;
  for (exchange::MarketId market = 0; market < books_.size(); ++market) {
    send_all(books_[market], book_snapshot_json(genesis_, feed.book_snapshot(market)));
  }
}

bool StreamHub::wants_books() const {
  for (const Subscribers& subscribers : books_) {
    if (!subscribers.empty()) return true;
  }
  return false;
}

std::size_t StreamHub::sessions() const {
  return subscription_counts_.size();
}

// Sessions that closed while the core was too busy to hear of it are found here.
void StreamHub::sweep() {
  auto expired = [this](Subscribers& subscribers) {
    std::erase_if(subscribers, [this](auto& entry) {
      if (!entry.second.expired()) return false;
      subscription_counts_.erase(entry.first);
      return true;
    });
  };
  expired(blocks_);
  expired(markets_);
  for (Subscribers& subscribers : trades_) expired(subscribers);
  for (Subscribers& subscribers : books_) expired(subscribers);
  for (auto it = accounts_.begin(); it != accounts_.end();) {
    expired(it->second);
    it = it->second.empty() ? accounts_.erase(it) : std::next(it);
  }
}

}  // namespace ballast::node
