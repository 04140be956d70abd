#include "net/transport.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "net/handshake.h"
#include "raw_peer.h"

namespace ballast::net {
namespace {

using testing::RawPeer;
using namespace std::chrono_literals;

const std::string kChain = "ballast-net-test";
constexpr std::size_t kMaxFrameBytes = 1 << 20;
constexpr auto kPatience = 20s;

SecretKey key_for(std::uint32_t index) {
  return SecretKey::insecure_from_seed("net-test-validator-" + std::to_string(index));
}

std::shared_ptr<const Bytes> frame_of(const std::string& text) {
  const ByteView view = as_bytes(text);
  return std::make_shared<const Bytes>(view.begin(), view.end());
}

std::string text_of(const Bytes& frame) {
  return std::string(frame.begin(), frame.end());
}

// Polls a condition that has no event to wait on (counters in stats()).
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// What a transport handed to its handlers, with a way to wait for it.
class Inbox {
 public:
  void add_frame(std::uint32_t peer, Bytes frame) {
    std::lock_guard lock(mutex_);
    frames_[peer].push_back(std::move(frame));
    changed_.notify_all();
  }
  void set_connected(std::uint32_t peer, bool connected) {
    std::lock_guard lock(mutex_);
    connected_[peer] = connected;
    if (connected) ++connections_[peer];
    changed_.notify_all();
  }
  bool wait_connected(std::uint32_t peer, bool connected) {
    return wait([&] { return connected_[peer] == connected; });
  }
  bool wait_connections(std::uint32_t peer, int count) {
    return wait([&] { return connections_[peer] >= count; });
  }
  bool wait_frames(std::uint32_t peer, std::size_t count) {
    return wait([&] { return frames_[peer].size() >= count; });
  }
  std::vector<Bytes> frames(std::uint32_t peer) {
    std::lock_guard lock(mutex_);
    return frames_[peer];
  }
  int connections(std::uint32_t peer) {
    std::lock_guard lock(mutex_);
    return connections_[peer];
  }

 private:
  template <typename Condition>
  bool wait(Condition condition) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, condition);
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint32_t, std::vector<Bytes>> frames_;
  std::map<std::uint32_t, bool> connected_;
  std::map<std::uint32_t, int> connections_;
};

struct Node {
  Node(boost::asio::io_context& io, const TransportConfig& config, const SecretKey& identity)
      : transport(
            io, config, identity,
            [this](std::uint32_t peer, Bytes frame) { inbox.add_frame(peer, std::move(frame)); },
            [this](std::uint32_t peer, bool connected) { inbox.set_connected(peer, connected); }) {}

  PeerStats stats_of(std::uint32_t peer) const {
    for (const PeerStats& stats : transport.stats()) {
      if (stats.index == peer) return stats;
    }
    ADD_FAILURE() << "no stats for peer " << peer;
    return {};
  }

  Inbox inbox;
  Transport transport;
};

class TransportTest : public ::testing::Test {
 protected:
  ~TransportTest() override {
    nodes_.clear();  // stops every transport while the io threads still run
    work_.reset();
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
  }

  // Validator `index` knowing `peers`; a peer started earlier is dialed on its bound port.
  TransportConfig config_for(std::uint32_t index, const std::vector<std::uint32_t>& peers) {
    TransportConfig config;
    config.chain_id = kChain;
    config.self_index = index;
    config.max_frame_bytes = kMaxFrameBytes;
    config.max_queued_bytes_per_peer = 8 * kMaxFrameBytes;
    config.keepalive_interval_ms = 100;
    config.idle_timeout_ms = 5'000;
    config.handshake_timeout_ms = 2'000;
    config.reconnect_min_ms = 20;
    config.reconnect_max_ms = 200;
    for (std::uint32_t peer : peers) {
      config.peers.push_back({peer, "127.0.0.1", ports_[peer], key_for(peer).public_key()});
    }
    return config;
  }

  Node& start(const TransportConfig& config, const SecretKey& identity) {
    auto node = std::make_unique<Node>(io_, config, identity);
    const Status started = node->transport.start();
    EXPECT_TRUE(started.is_ok()) << started.to_string();
    ports_[config.self_index] = node->transport.listen_port();
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }
  Node& start(const TransportConfig& config) { return start(config, key_for(config.self_index)); }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_ = [this] {
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io_.run(); });
    return threads;
  }();
  std::map<std::uint32_t, std::uint16_t> ports_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(TransportTest, FullMeshCarriesFramesBothWaysInOrder) {
  // Higher indices first: each validator dials the ones above it, so their ports must be known.
  Node& node2 = start(config_for(2, {0, 1}));
  Node& node1 = start(config_for(1, {0, 2}));
  Node& node0 = start(config_for(0, {1, 2}));
  const std::map<std::uint32_t, Node*> nodes{{0, &node0}, {1, &node1}, {2, &node2}};
  for (const auto& [index, node] : nodes) {
    for (const auto& [peer, other] : nodes) {
      if (peer != index) {
        ASSERT_TRUE(node->inbox.wait_connected(peer, true)) << index << "-" << peer;
      }
    }
  }

  constexpr int kFrames = 300;
  for (int sequence = 0; sequence < kFrames; ++sequence) {
    for (const auto& [from, node] : nodes) {
      for (const auto& [to, other] : nodes) {
        if (to == from) continue;
        const std::string text =
            std::to_string(from) + ">" + std::to_string(to) + "#" + std::to_string(sequence);
        ASSERT_TRUE(node->transport.send(to, frame_of(text)));
      }
    }
  }
  auto largest = std::make_shared<Bytes>(kMaxFrameBytes);
  for (std::size_t i = 0; i < largest->size(); ++i) (*largest)[i] = static_cast<std::uint8_t>(i);
  ASSERT_TRUE(node0.transport.send(2, largest));
  ASSERT_TRUE(node2.transport.send(0, largest));
  node1.transport.broadcast(frame_of("broadcast"));

  for (const auto& [to, node] : nodes) {
    for (const auto& [from, other] : nodes) {
      if (to == from) continue;
      const bool largest_pair = (to == 0 && from == 2) || (to == 2 && from == 0);
      const std::size_t expected = kFrames + (largest_pair ? 1 : 0) + (from == 1 ? 1 : 0);
      ASSERT_TRUE(node->inbox.wait_frames(from, expected)) << from << ">" << to;
      const std::vector<Bytes> received = node->inbox.frames(from);
      ASSERT_EQ(received.size(), expected);
      for (int sequence = 0; sequence < kFrames; ++sequence) {
        EXPECT_EQ(text_of(received[sequence]),
                  std::to_string(from) + ">" + std::to_string(to) + "#" + std::to_string(sequence));
      }
      if (largest_pair) {
        EXPECT_EQ(received[kFrames], *largest);
      }
      if (from == 1) {
        EXPECT_EQ(text_of(received.back()), "broadcast");
      }
    }
  }
  // A write counts once it completes, which may be just after the peer has the frame.
  EXPECT_TRUE(eventually([&] { return node0.stats_of(2).frames_out == kFrames + 1; }));
  EXPECT_EQ(node2.stats_of(0).frames_in, static_cast<std::uint64_t>(kFrames + 1));
}

TEST_F(TransportTest, RefusesAPeerWhoseKeyIsNotTheConfiguredOne) {
  // Validator 1 expects validator 0 to hold a different key than the one it signs with.
  TransportConfig config1 = config_for(1, {0});
  config1.peers[0].key = SecretKey::insecure_from_seed("someone else").public_key();
  Node& node1 = start(config1);
  Node& node0 = start(config_for(0, {1}));

  // Validator 0 keeps redialing; every attempt is refused.
  ASSERT_TRUE(eventually([&] { return node1.stats_of(0).rejected_handshakes >= 3; }));
  // Neither side ever reports the session: validator 0 waits for a confirmation that never comes.
  EXPECT_EQ(node1.inbox.connections(0), 0);
  EXPECT_EQ(node0.inbox.connections(1), 0);
  EXPECT_FALSE(node0.transport.send(1, frame_of("let me in")));
  EXPECT_TRUE(node1.inbox.frames(0).empty());
  const PeerStats stats = node1.stats_of(0);
  EXPECT_FALSE(stats.connected);
  EXPECT_EQ(stats.frames_in, 0u);
  EXPECT_NE(stats.last_error.find("does not verify"), std::string::npos) << stats.last_error;
}

TEST_F(TransportTest, ADialerRefusesAnAcceptorWhoseKeyIsNotTheConfiguredOne) {
  Node& node1 = start(config_for(1, {0}));
  TransportConfig config0 = config_for(0, {1});
  config0.peers[0].key = SecretKey::insecure_from_seed("someone else").public_key();
  Node& node0 = start(config0);

  ASSERT_TRUE(eventually([&] { return node0.stats_of(1).rejected_handshakes >= 3; }));
  EXPECT_EQ(node0.inbox.connections(1), 0);
  EXPECT_EQ(node1.inbox.connections(0), 0);  // the dialer never proved itself
  EXPECT_FALSE(node1.transport.send(0, frame_of("hello?")));
  EXPECT_NE(node0.stats_of(1).last_error.find("does not verify"), std::string::npos);
}

TEST_F(TransportTest, RefusesAHigherIndexThatDialsInsteadOfAccepting) {
  Node& node1 = start(config_for(1, {2}));
  RawPeer impostor(node1.transport.listen_port());
  // Index 2 is known, but 2 > 1 means validator 1 dials it; an inbound 2 is refused.
  EXPECT_FALSE(impostor.handshake(kChain, 2, key_for(2), key_for(1).public_key()).is_ok());
  EXPECT_TRUE(eventually([&] { return node1.stats_of(2).rejected_handshakes >= 1; }));
  EXPECT_EQ(node1.inbox.connections(2), 0);
}

class HostileClientTest : public TransportTest {
 protected:
  // Validator 1 serves a raw client that claims validator 0 and a real validator 2.
  void SetUp() override {
    good_ = &start(config_for(2, {1}));
    TransportConfig config = config_for(1, {0, 2});
    config.handshake_timeout_ms = 500;
    config.idle_timeout_ms = 1'000;
    server_ = &start(config);
    ASSERT_TRUE(server_->inbox.wait_connected(2, true));
  }

  // The server still exchanges frames with its good peer.
  void expect_good_peer_served() {
    static int round = 0;
    const std::string text = "still here " + std::to_string(++round);
    const std::size_t at_good = good_->inbox.frames(1).size();
    const std::size_t at_server = server_->inbox.frames(2).size();
    ASSERT_TRUE(server_->transport.send(2, frame_of(text)));
    ASSERT_TRUE(good_->transport.send(1, frame_of(text)));
    ASSERT_TRUE(good_->inbox.wait_frames(1, at_good + 1));
    ASSERT_TRUE(server_->inbox.wait_frames(2, at_server + 1));
    EXPECT_EQ(text_of(good_->inbox.frames(1).back()), text);
    EXPECT_EQ(text_of(server_->inbox.frames(2).back()), text);
    EXPECT_TRUE(server_->stats_of(2).connected);
  }

  std::uint16_t port() const { return server_->transport.listen_port(); }
  Status handshake(RawPeer& peer) {
    return peer.handshake(kChain, 0, key_for(0), key_for(1).public_key());
  }

  Node* good_ = nullptr;
  Node* server_ = nullptr;
};

TEST_F(HostileClientTest, GarbageIsRefused) {
  RawPeer peer(port());
  peer.write(as_bytes("GET / HTTP/1.1\r\nHost: validator\r\n\r\n"));
  EXPECT_TRUE(peer.closed_by_peer());
  EXPECT_TRUE(eventually([&] { return server_->transport.unattributed_rejections() == 1; }));
  expect_good_peer_served();
}

TEST_F(HostileClientTest, ATruncatedHelloTimesOut) {
  RawPeer peer(port());
  Handshake handshake(Role::kDialer, kChain, 0);
  const Bytes& hello = handshake.hello_message();
  peer.write(ByteView(hello).first(hello.size() / 2));
  EXPECT_TRUE(peer.closed_by_peer());
  EXPECT_TRUE(eventually([&] { return server_->transport.unattributed_rejections() == 1; }));
  expect_good_peer_served();
}

TEST_F(HostileClientTest, AHelloForAnotherChainIsRefused) {
  RawPeer peer(port());
  EXPECT_FALSE(peer.handshake("another-chain", 0, key_for(0), key_for(1).public_key()).is_ok());
  EXPECT_TRUE(eventually([&] { return server_->transport.unattributed_rejections() == 1; }));
  EXPECT_EQ(server_->inbox.connections(0), 0);
  expect_good_peer_served();
}

TEST_F(HostileClientTest, ALengthOverTheMaximumClosesTheSession) {
  RawPeer peer(port());
  ASSERT_TRUE(handshake(peer).is_ok());
  ASSERT_TRUE(server_->inbox.wait_connected(0, true));
  Bytes prefix(kLengthPrefixBytes);
  put_length_prefix(kMaxFrameBytes + kFrameTagBytes + 1, prefix.data());
  peer.write(prefix);
  EXPECT_TRUE(peer.closed_by_peer());
  ASSERT_TRUE(server_->inbox.wait_connected(0, false));
  EXPECT_EQ(server_->stats_of(0).disconnects, 1u);
  EXPECT_NE(server_->stats_of(0).last_error.find("over the limit"), std::string::npos);
  expect_good_peer_served();
}

TEST_F(HostileClientTest, AReplayedFrameClosesTheSession) {
  RawPeer peer(port());
  ASSERT_TRUE(handshake(peer).is_ok());
  const Bytes frame = peer.seal(as_bytes("order 1"));
  peer.write(frame);
  peer.write(frame);
  EXPECT_TRUE(peer.closed_by_peer());
  ASSERT_TRUE(server_->inbox.wait_connected(0, false));
  const std::vector<Bytes> received = server_->inbox.frames(0);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(text_of(received[0]), "order 1");
  EXPECT_NE(server_->stats_of(0).last_error.find("fails authentication"), std::string::npos);
  expect_good_peer_served();
}

TEST_F(HostileClientTest, ATamperedFrameClosesTheSession) {
  RawPeer peer(port());
  ASSERT_TRUE(handshake(peer).is_ok());
  Bytes frame = peer.seal(as_bytes("pay 10"));
  frame[kLengthPrefixBytes] ^= 0x20;
  peer.write(frame);
  EXPECT_TRUE(peer.closed_by_peer());
  ASSERT_TRUE(server_->inbox.wait_connected(0, false));
  EXPECT_TRUE(server_->inbox.frames(0).empty());
  expect_good_peer_served();
}

TEST_F(HostileClientTest, ASilentPeerGetsKeepalivesThenIsDroppedWhenIdle) {
  RawPeer peer(port());
  ASSERT_TRUE(handshake(peer).is_ok());
  Result<Bytes> keepalive = peer.read_frame();
  ASSERT_TRUE(keepalive.is_ok()) << keepalive.status().to_string();
  EXPECT_TRUE(keepalive->empty());
  // It never sends anything, not even keepalives: after idle_timeout_ms it is dropped.
  EXPECT_TRUE(peer.closed_by_peer());
  ASSERT_TRUE(server_->inbox.wait_connected(0, false));
  EXPECT_NE(server_->stats_of(0).last_error.find("nothing received"), std::string::npos);
  expect_good_peer_served();
}

TEST_F(HostileClientTest, APeerThatStopsReadingIsDroppedAtItsQueueBound) {
  RawPeer stuck(port());
  ASSERT_TRUE(handshake(stuck).is_ok());
  ASSERT_TRUE(server_->inbox.wait_connected(0, true));
  // Kernel buffers take a few megabytes first; then the queue fills to its 8 MiB bound.
  const auto chunk = std::make_shared<const Bytes>(64 << 10, std::uint8_t{7});
  std::size_t sent_to_good = 0;
  bool dropped = false;
  for (int batch = 0; batch < 2'000 && !dropped; ++batch) {
    for (int i = 0; i < 16 && !dropped; ++i) dropped = !server_->transport.send(0, chunk);
    for (int i = 0; i < 16; ++i) ASSERT_TRUE(server_->transport.send(2, chunk));
    sent_to_good += 16;
    ASSERT_TRUE(good_->inbox.wait_frames(1, sent_to_good));  // the good peer keeps up
  }
  ASSERT_TRUE(dropped);
  ASSERT_TRUE(server_->inbox.wait_connected(0, false));
  const PeerStats stats = server_->stats_of(0);
  EXPECT_FALSE(stats.connected);
  EXPECT_EQ(stats.queued_bytes, 0u);
  EXPECT_NE(stats.last_error.find("send queue over its bound"), std::string::npos);
  EXPECT_FALSE(server_->transport.send(0, chunk));
  expect_good_peer_served();
}

TEST_F(TransportTest, ADialerReconnectsAfterTheAcceptorRestarts) {
  Node& acceptor = start(config_for(1, {0}));
  Node& dialer = start(config_for(0, {1}));
  ASSERT_TRUE(dialer.inbox.wait_connected(1, true));
  ASSERT_TRUE(dialer.transport.send(1, frame_of("before")));
  ASSERT_TRUE(acceptor.inbox.wait_frames(0, 1));

  const std::uint16_t port = acceptor.transport.listen_port();
  acceptor.transport.stop();
  ASSERT_TRUE(dialer.inbox.wait_connected(1, false));
  TransportConfig config = config_for(1, {0});
  config.listen_port = port;
  Node& restarted = start(config);
  ASSERT_EQ(restarted.transport.listen_port(), port);

  ASSERT_TRUE(dialer.inbox.wait_connected(1, true));
  EXPECT_EQ(dialer.inbox.connections(1), 2);
  ASSERT_TRUE(eventually([&] { return dialer.transport.send(1, frame_of("after")); }));
  ASSERT_TRUE(restarted.inbox.wait_frames(0, 1));
  EXPECT_EQ(text_of(restarted.inbox.frames(0)[0]), "after");
  ASSERT_TRUE(restarted.transport.send(0, frame_of("welcome back")));
  ASSERT_TRUE(dialer.inbox.wait_frames(1, 1));
  EXPECT_EQ(dialer.stats_of(1).disconnects, 1u);
}

// What a node must send a new session first (what the peer missed) cannot be overtaken: a
// frame sent for one session never slips into the next one.
TEST_F(TransportTest, AFrameForAnEarlierSessionIsNeverCarriedByALaterOne) {
  Node& acceptor = start(config_for(1, {0}));
  Node& dialer = start(config_for(0, {1}));
  ASSERT_TRUE(dialer.inbox.wait_connected(1, true));
  const std::uint64_t first = dialer.transport.session_generation(1);
  EXPECT_GT(first, 0u);
  ASSERT_TRUE(dialer.transport.send(1, first, frame_of("to the first session")));
  ASSERT_TRUE(acceptor.inbox.wait_frames(0, 1));

  const std::uint16_t port = acceptor.transport.listen_port();
  acceptor.transport.stop();
  ASSERT_TRUE(dialer.inbox.wait_connected(1, false));
  EXPECT_EQ(dialer.transport.session_generation(1), 0u) << "no session, no generation";
  EXPECT_FALSE(dialer.transport.send(1, first, frame_of("lost with the first session")));
  TransportConfig config = config_for(1, {0});
  config.listen_port = port;
  Node& restarted = start(config);
  ASSERT_TRUE(dialer.inbox.wait_connected(1, true));

  const std::uint64_t second = dialer.transport.session_generation(1);
  EXPECT_GT(second, first);
  EXPECT_FALSE(dialer.transport.send(1, first, frame_of("meant for the first session")));
  ASSERT_TRUE(dialer.transport.send(1, second, frame_of("catch-up")));
  ASSERT_TRUE(dialer.transport.send(1, frame_of("anything after it")));
  ASSERT_TRUE(restarted.inbox.wait_frames(0, 2));
  std::vector<Bytes> received = restarted.inbox.frames(0);
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(text_of(received[0]), "catch-up");
  EXPECT_EQ(text_of(received[1]), "anything after it");
}

TEST_F(TransportTest, AnInboundSessionReplacesTheOldOneFromTheSameValidator) {
  Node& acceptor = start(config_for(1, {0}));
  RawPeer first(acceptor.transport.listen_port());
  ASSERT_TRUE(first.handshake(kChain, 0, key_for(0), key_for(1).public_key()).is_ok());
  ASSERT_TRUE(acceptor.inbox.wait_connected(0, true));
  RawPeer second(acceptor.transport.listen_port());
  ASSERT_TRUE(second.handshake(kChain, 0, key_for(0), key_for(1).public_key()).is_ok());
  EXPECT_TRUE(first.closed_by_peer());
  EXPECT_TRUE(acceptor.inbox.wait_connections(0, 2));
  second.write(second.seal(as_bytes("from the new session")));
  ASSERT_TRUE(acceptor.inbox.wait_frames(0, 1));
  EXPECT_TRUE(acceptor.stats_of(0).connected);
}

TEST_F(TransportTest, StartFailsClearlyWhenThePortIsTaken) {
  Node& first = start(config_for(1, {0}));
  TransportConfig config = config_for(1, {0});
  config.listen_port = first.transport.listen_port();
  Node second(io_, config, key_for(1));
  const Status started = second.transport.start();
  EXPECT_EQ(started.code(), StatusCode::kIoError);
  EXPECT_NE(started.message().find("cannot listen on 127.0.0.1:"), std::string::npos)
      << started.message();
}

TEST_F(TransportTest, StartRefusesAnUnworkableConfiguration) {
  TransportConfig config = config_for(1, {0});
  config.peers.push_back(config.peers[0]);
  Node duplicate(io_, config, key_for(1));
  EXPECT_EQ(duplicate.transport.start().code(), StatusCode::kInvalidArgument);
  config = config_for(1, {0});
  config.max_queued_bytes_per_peer = config.max_frame_bytes - 1;
  Node tiny_queue(io_, config, key_for(1));
  EXPECT_EQ(tiny_queue.transport.start().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ballast::net
