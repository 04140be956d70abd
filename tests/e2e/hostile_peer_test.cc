// A running validator facing hostile peer connections: garbage, a truncated hello, a frame
// length over the limit, a peer with the wrong key, and, inside a properly authenticated
// session, malformed and replayed frames. Each is refused and logged; the validator keeps
// finalizing with its real peers.
#include <gtest/gtest.h>

#include "localnet.h"
#include "raw_peer.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using net::testing::RawPeer;

const std::vector<std::size_t> kAll{0, 1, 2, 3};

TEST(LocalnetTest, HostilePeersAreRefusedLoggedAndTheValidatorCarriesOn) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s));
  const std::size_t target = 3;  // it accepts sessions from every lower index
  const std::uint16_t port = net.peer_port(target);
  const PublicKey target_key = net.genesis().validators[target].key;
  const std::string& chain = net.genesis().chain_id;

  {
    RawPeer garbage(port);
    garbage.write(Bytes(4'096, 0xAB));
    EXPECT_TRUE(garbage.closed_by_peer());
  }
  {
    RawPeer truncated(port);
    truncated.write(Bytes{0x01, 0x00});  // the start of a hello, then silence
    EXPECT_TRUE(truncated.closed_by_peer());
  }
  {
    RawPeer oversized(port);
    oversized.write(Bytes{0xFF, 0xFF, 0xFF, 0x7F});  // a length far over the frame limit
    EXPECT_TRUE(oversized.closed_by_peer());
  }
  {
    RawPeer impostor(port);
    Status handshake = impostor.handshake(chain, 0, SecretKey::generate(), target_key);
    EXPECT_FALSE(handshake.is_ok());
  }
  {
    RawPeer replayer(port);
    ASSERT_TRUE(replayer.handshake(chain, 0, net.validator_key(0), target_key).is_ok());
    Bytes frame = replayer.seal(Bytes{0x42, 0x42, 0x42});  // authenticated, but meaningless
    replayer.write(frame);
    replayer.write(frame);  // the same ciphertext again: a replay
    EXPECT_TRUE(replayer.closed_by_peer());
  }

  std::string log = net.log(target);
  EXPECT_NE(log.find("refused the handshake"), std::string::npos) << log;
  EXPECT_NE(log.find("malformed frame from validator 0"), std::string::npos) << log;
  std::uint64_t before = net.height(target);
  EXPECT_TRUE(net.wait_for_height(kAll, before + 10, 60s));
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kAll); }, 30s));
  auto status = net.status(target);
  ASSERT_TRUE(status);
  EXPECT_TRUE(wait_until(
      [&] {
        auto now = net.status(target);
        return now && (*now)["peers_connected"] == 3;
      },
      30s));
}

}  // namespace
}  // namespace ballast::e2e
