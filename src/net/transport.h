// The peer transport: carries opaque frames (byte strings) between validators over TCP, each
// session authenticated with the validators' configured keys and encrypted per direction. It
// knows nothing about consensus or the exchange, and never lets one slow, stuck or hostile peer
// stall the others: every failure closes only the session it happened on.
//
// Exactly one session per pair of validators: the lower index dials the higher one and
// redials with exponential backoff and jitter; the higher one accepts, and a new session from
// a peer replaces its old one (the peer restarted). docs/NETWORK.md specifies the protocol.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/keys.h"

namespace ballast::net {

struct PeerAddress {
  std::uint32_t index = 0;
  std::string host;
  std::uint16_t port = 0;  // only used when we dial it (its index is above ours)
  PublicKey key;
};

struct TransportConfig {
  std::string chain_id;  // bound into the handshake: no cross-network sessions
  std::uint32_t self_index = 0;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;   // 0: an ephemeral port, see Transport::listen_port()
  std::vector<PeerAddress> peers;  // every other validator; the index names it
  std::size_t max_frame_bytes = 16 << 20;
  std::size_t max_queued_bytes_per_peer = 64 << 20;  // over it the peer is disconnected
  std::size_t max_queued_frames_per_peer = 100'000;  // likewise
  std::size_t max_pending_handshakes = 64;           // inbound; more connections are closed at once
  std::int64_t keepalive_interval_ms = 1'000;
  std::int64_t idle_timeout_ms = 10'000;  // nothing received for this long: disconnect
  std::int64_t handshake_timeout_ms = 5'000;
  std::int64_t reconnect_min_ms = 100;
  std::int64_t reconnect_max_ms = 1'000;
};

// Fails with a clear message when the configuration cannot work (bad limits, duplicate or
// self peer indices, over-long chain id).
Status validate(const TransportConfig& config);

struct PeerStats {
  std::uint32_t index = 0;
  bool connected = false;
  std::size_t queued_bytes = 0;
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bytes_in = 0;             // frame payloads, before encryption
  std::uint64_t bytes_out = 0;            // likewise
  std::uint64_t disconnects = 0;          // established sessions lost
  std::uint64_t rejected_handshakes = 0;  // handshakes refused while claiming this index
  std::string last_error;
};

class TransportCore;

class Transport {
 public:
  // Both handlers run on an Asio thread, never after stop() has returned, and must not call
  // stop(). Frames of one session arrive in order and between its connected and disconnected
  // events; peer events are serialized across sessions. `on_peer` may be empty.
  using FrameHandler = std::function<void(std::uint32_t peer, Bytes frame)>;
  using PeerHandler = std::function<void(std::uint32_t peer, bool connected)>;

  Transport(boost::asio::io_context& io, TransportConfig config, const SecretKey& identity,
            FrameHandler on_frame, PeerHandler on_peer);
  ~Transport();  // stops
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Validates the configuration, binds and listens, and starts dialing the higher indices.
  Status start();
  std::uint16_t listen_port() const;  // the bound port, once started
  // Closes the listener and every session; handlers are not called once it returns.
  void stop();

  // Thread-safe. Queues a non-empty frame of at most max_frame_bytes (larger is a programming
  // error) for the peer; false when the peer is not connected, or when the frame would take
  // its queue over the bound, in which case that peer is disconnected.
  bool send(std::uint32_t peer, std::shared_ptr<const Bytes> frame);
  void broadcast(std::shared_ptr<const Bytes> frame);

  // Thread-safe. Every session a peer establishes gets the next generation (1, 2, ...); 0 while
  // the peer has none. A caller that must send a new session something before anything else
  // (what the peer missed while it was away) polls this, sends that, and then sends the rest
  // with the generation, so none of it can slip into a newer session ahead of its own catch-up.
  std::uint64_t session_generation(std::uint32_t peer) const;
  // send() into that generation's session only: false once it is no longer the peer's current.
  bool send(std::uint32_t peer, std::uint64_t generation, std::shared_ptr<const Bytes> frame);

  std::vector<PeerStats> stats() const;  // thread-safe, ordered by index
  // Refused inbound handshakes that never named a known validator (garbage, unknown index).
  std::uint64_t unattributed_rejections() const;

 private:
  std::shared_ptr<TransportCore> core_;
};

}  // namespace ballast::net
