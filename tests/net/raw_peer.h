// A hand-driven TCP client for the transport tests: it can send arbitrary bytes, or run the real
// handshake (net/handshake.h) as a dialer and then send chosen frames, such as a replayed or
// altered one, that a well-behaved transport never would. Every read gives up after 10 s.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/keys.h"
#include "net/frame_cipher.h"

namespace ballast::net::testing {

class RawPeer {
 public:
  explicit RawPeer(std::uint16_t port);  // connects to 127.0.0.1:port

  void write(ByteView bytes);
  // The dialer's side of the handshake, claiming `index` and signing with `identity`; the
  // acceptor must prove `acceptor_key` and then confirm.
  Status handshake(const std::string& chain_id, std::uint32_t index, const SecretKey& identity,
                   const PublicKey& acceptor_key);
  // The next frame of the session as it goes on the wire (length prefix and ciphertext).
  Bytes seal(ByteView plaintext);
  // Reads the next frame and opens it; an empty result is a keepalive.
  Result<Bytes> read_frame();
  // Reads and discards until the other side closes the connection; false if it stays open.
  bool closed_by_peer();

 private:
  Result<Bytes> read_exact(std::size_t count);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  FrameSealer sealer_;
  FrameOpener opener_;
};

}  // namespace ballast::net::testing
