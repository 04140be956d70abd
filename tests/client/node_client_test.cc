// The client of the node's API: URL parsing, how answers and refusals are read, waiting for
// finality across "pending" answers, and transport failures that name the node.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "client/node_client.h"
#include "fake_node.h"

namespace ballast::client {
namespace {

using nlohmann::json;
using testing::FakeNode;

exchange::Genesis example_genesis() {
  auto genesis = exchange::load_genesis_file(BALLAST_EXAMPLE_GENESIS);
  EXPECT_TRUE(genesis.is_ok());
  return std::move(genesis).value();
}

NodeClient client_of(const FakeNode& node) {
  return NodeClient(NodeUrl{"127.0.0.1", node.port()});
}

exchange::Transaction example_transaction() {
  SecretKey key = SecretKey::insecure_from_seed("alice");
  exchange::Transaction tx;
  tx.sender = key.public_key();
  tx.nonce = 1;
  tx.fee = 1;
  tx.expiry_height = 100;
  tx.body = exchange::CancelAll{};
  tx.sign(key, "ballast-example");
  return tx;
}

void expect_error(const Status& status, const std::string& part) {
  EXPECT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find(part), std::string::npos) << status.to_string();
}

TEST(NodeUrlTest, ParsesHostAndPort) {
  auto url = parse_node_url("http://127.0.0.1:27100");
  ASSERT_TRUE(url.is_ok()) << url.status().to_string();
  EXPECT_EQ(*url, (NodeUrl{"127.0.0.1", 27100}));
  EXPECT_EQ(url->to_string(), "http://127.0.0.1:27100");
  auto named = parse_node_url("HTTP://localhost:80/");
  ASSERT_TRUE(named.is_ok());
  EXPECT_EQ(*named, (NodeUrl{"localhost", 80}));
  auto ipv6 = parse_node_url("http://[::1]:27100");
  ASSERT_TRUE(ipv6.is_ok());
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->to_string(), "http://[::1]:27100");
}

TEST(NodeUrlTest, RefusesAnythingElseWithTheReason) {
  expect_error(parse_node_url("https://127.0.0.1:27100").status(), "plain http only");
  expect_error(parse_node_url("ws://127.0.0.1:27100").status(), "plain http only");
  expect_error(parse_node_url("127.0.0.1:27100").status(), "no http://");
  expect_error(parse_node_url("http://127.0.0.1").status(), "no :PORT");
  expect_error(parse_node_url("http://127.0.0.1:").status(), "port must be a number");
  expect_error(parse_node_url("http://127.0.0.1:0").status(), "port must be a number");
  expect_error(parse_node_url("http://127.0.0.1:65536").status(), "port must be a number");
  expect_error(parse_node_url("http://127.0.0.1:27x").status(), "port must be a number");
  expect_error(parse_node_url("http://127.0.0.1:27100/v1/status").status(), "nothing may follow");
  expect_error(parse_node_url("http://user@host:1").status(), "nothing may follow");
  expect_error(parse_node_url("http://::1:27100").status(), "in brackets");
  expect_error(parse_node_url("http://[::1]27100").status(), "no :PORT");
  expect_error(parse_node_url("http://:27100").status(), "no valid host");
  expect_error(parse_node_url("http://a b:1").status(), "no valid host");
  // Every message shows the expected form.
  expect_error(parse_node_url("nonsense").status(), "http://HOST:PORT");
}

TEST(NodeClientTest, ReadsAnswersAndRefusals) {
  FakeNode node;
  node.answer("/v1/status", 200, json{{"height", 41}});
  node.answer("/v1/accounts/", 404,
              json{{"status", "rejected"},
                   {"code", "not_found"},
                   {"reason", "unknown_account"},
                   {"message", "no account"}});
  NodeClient client = client_of(node);
  auto height = client.height();
  ASSERT_TRUE(height.is_ok()) << height.status().to_string();
  EXPECT_EQ(*height, 41u);
  auto nonce = client.last_nonce(SecretKey::insecure_from_seed("bob").public_key());
  ASSERT_TRUE(nonce.is_ok()) << nonce.status().to_string();
  EXPECT_FALSE(nonce->has_value());

  NodeReply refusal{409, json{{"status", "rejected"},
                              {"code", "failed_precondition"},
                              {"reason", "stale_nonce"},
                              {"message", "nonce 5 is already used (last 5)"}}};
  Status status = refusal_status(refusal);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "stale_nonce: nonce 5 is already used (last 5)");
  EXPECT_EQ(refusal_status(NodeReply{500, json{{"odd", 1}}}).code(), StatusCode::kCorruption);
}

TEST(NodeClientTest, AnAnswerThatIsNotJsonIsAnError) {
  FakeNode node;
  node.answer("/v1/status", 200, std::string("<html>hello</html>"));
  auto height = client_of(node).height();
  expect_error(height.status(), "is not JSON");
  expect_error(height.status(), node.url());
}

TEST(NodeClientTest, SubmitsTheCanonicalEncoding) {
  FakeNode node;
  node.answer("/v1/tx", 202, json{{"status", "accepted"}, {"hash", "ab"}});
  exchange::Transaction tx = example_transaction();
  auto reply = client_of(node).submit(tx);
  ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
  EXPECT_EQ(reply->http_status, 202u);
  auto requests = node.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  Bytes encoded = tx.encode();
  EXPECT_EQ(requests[0].body, std::string(encoded.begin(), encoded.end()));
}

TEST(NodeClientTest, WaitingAsksAgainWhileThePendingTransactionIsUnsettled) {
  FakeNode node;
  node.answer("/v1/tx", 202, json{{"status", "pending"}, {"hash", "ab"}, {"timed_out", true}});
  node.answer("/v1/tx", 200, json{{"status", "finalized"}, {"hash", "ab"}, {"height", 9}});
  auto reply = client_of(node).submit_and_wait(example_transaction(), 30'000);
  ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
  EXPECT_EQ(reply->body["status"], "finalized");
  auto requests = node.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& request : requests) {
    EXPECT_TRUE(request.target.starts_with("/v1/tx?wait=finalized&timeout_ms=")) << request.target;
  }
  EXPECT_EQ(requests[0].body, requests[1].body);
}

TEST(NodeClientTest, AGenesisOfAnotherNetworkIsRefused) {
  exchange::Genesis genesis = example_genesis();
  FakeNode node;
  node.answer("/v1/markets", 200, testing::markets_answer(genesis));
  EXPECT_TRUE(client_of(node).check_genesis(genesis).is_ok());

  exchange::Genesis other = genesis;
  std::swap(other.markets[0], other.markets[1]);
  FakeNode other_node;
  other_node.answer("/v1/markets", 200, testing::markets_answer(other));
  Status status = client_of(other_node).check_genesis(genesis);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  expect_error(status, "does not describe the network of " + other_node.url());
}

TEST(NodeClientTest, ConnectionRefusedNamesTheUrl) {
  std::uint16_t port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens there now
  NodeClient client(NodeUrl{"127.0.0.1", port});
  auto reply = client.get("/v1/status");
  EXPECT_EQ(reply.status().code(), StatusCode::kIoError);
  expect_error(reply.status(), "cannot connect to http://127.0.0.1:" + std::to_string(port));
  expect_error(reply.status(), "connection refused");
}

TEST(NodeClientTest, ASilentServerIsATimeoutNamingTheUrl) {
  // A listening socket that is never accepted from: the connection is made, nothing answers.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::uint16_t port = silent.local_endpoint().port();
  NodeClient client(NodeUrl{"127.0.0.1", port}, ClientTimeouts{1'000, 200});
  auto reply = client.get("/v1/status");
  EXPECT_EQ(reply.status().code(), StatusCode::kIoError);
  expect_error(reply.status(), "no answer from http://127.0.0.1:" + std::to_string(port));
}

}  // namespace
}  // namespace ballast::client
