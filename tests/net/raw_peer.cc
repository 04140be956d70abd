#include "raw_peer.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "net/handshake.h"

namespace ballast::net::testing {
namespace {

namespace asio = boost::asio;
constexpr auto kReadTimeout = std::chrono::seconds(10);

}  // namespace

RawPeer::RawPeer(std::uint16_t port) : socket_(io_) {
  socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

void RawPeer::write(ByteView bytes) {
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()));
}

Result<Bytes> RawPeer::read_exact(std::size_t count) {
  Bytes out(count);
  bool done = false;
  boost::system::error_code result;
  asio::async_read(socket_, asio::buffer(out), [&](boost::system::error_code error, std::size_t) {
    result = error;
    done = true;
  });
  io_.restart();
  io_.run_for(kReadTimeout);
  if (!done) {
    socket_.cancel();
    io_.restart();
    io_.run();
    return io_error("read timed out");
  }
  if (result) return io_error(result.message());
  return out;
}

Status RawPeer::handshake(const std::string& chain_id, std::uint32_t index,
                          const SecretKey& identity, const PublicKey& acceptor_key) {
  Handshake handshake(Role::kDialer, chain_id, index);
  write(handshake.hello_message());
  BALLAST_ASSIGN_OR_RETURN(Bytes prefix, read_exact(kLengthPrefixBytes));
  BALLAST_ASSIGN_OR_RETURN(Bytes hello, read_exact(read_length_prefix(prefix.data())));
  if (Result<std::uint32_t> claimed = handshake.read_hello(hello); !claimed.is_ok()) {
    return claimed.status();
  }
  BALLAST_ASSIGN_OR_RETURN(Bytes auth_prefix, read_exact(kLengthPrefixBytes));
  BALLAST_ASSIGN_OR_RETURN(Bytes auth, read_exact(read_length_prefix(auth_prefix.data())));
  BALLAST_RETURN_IF_ERROR(handshake.read_auth(auth, acceptor_key));
  write(handshake.auth_message(identity));
  sealer_ = handshake.take_sealer();
  opener_ = handshake.take_opener();
  BALLAST_ASSIGN_OR_RETURN(Bytes confirmation, read_frame());
  if (!confirmation.empty()) return corruption("the confirmation frame is not empty");
  return Status::ok();
}

Bytes RawPeer::seal(ByteView plaintext) {
  Bytes frame;
  sealer_.seal(plaintext, frame);
  return frame;
}

Result<Bytes> RawPeer::read_frame() {
  BALLAST_ASSIGN_OR_RETURN(Bytes prefix, read_exact(kLengthPrefixBytes));
  BALLAST_ASSIGN_OR_RETURN(Bytes ciphertext, read_exact(read_length_prefix(prefix.data())));
  return opener_.open(ciphertext);
}

bool RawPeer::closed_by_peer() {
  std::array<std::uint8_t, 4096> sink;
  for (;;) {
    bool done = false;
    boost::system::error_code result;
    socket_.async_read_some(asio::buffer(sink), [&](boost::system::error_code error, std::size_t) {
      result = error;
      done = true;
    });
    io_.restart();
    io_.run_for(kReadTimeout);
    if (!done) {
      socket_.cancel();
      io_.restart();
      io_.run();
      return false;
    }
    if (result) return result == asio::error::eof || result == asio::error::connection_reset;
  }
}

}  // namespace ballast::net::testing
