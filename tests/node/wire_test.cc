#include "node/wire.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast::node {
namespace {

using consensus::Anchor;
using consensus::Block;
using consensus::Certificate;
using consensus::FinalizedEntry;
using consensus::Height;
using consensus::SignatureShare;
using consensus::View;
using consensus::VoteKind;

Hash256 hash_of(const std::string& text) {
  return sha256(as_bytes(text));
}

Signature signature_of(std::uint8_t fill) {
  Signature signature;
  signature.bytes.fill(fill);
  return signature;
}

// A block as a proposer would build it: its view above its parent's, some transactions.
Block make_block(Height height, View view) {
  Block block;
  block.view = view;
  block.height = height;
  block.parent = hash_of("parent of " + std::to_string(height));
  block.parent_view = view - 1;
  block.proposer = static_cast<consensus::ValidatorIndex>(height % 4);
  block.timestamp_ms = 1'700'000'000'000 + static_cast<consensus::TimeMs>(height);
  block.state_root_height = height - 1;
  block.state_root = hash_of("root at " + std::to_string(height - 1));
  block.transactions = {Bytes{1, 2, 3}, Bytes(40, static_cast<std::uint8_t>(height)), Bytes{}};
  return block;
}

// Signature bytes are opaque to the wire: any 64 bytes round-trip.
Certificate make_certificate(VoteKind kind, View view, const Hash256& block) {
  Certificate certificate;
  certificate.kind = kind;
  certificate.view = view;
  certificate.block = block;
  for (consensus::ValidatorIndex signer : {0u, 1u, 3u}) {
    certificate.signatures.push_back(
        SignatureShare{signer, signature_of(static_cast<std::uint8_t>(signer + 10))});
  }
  return certificate;
}

FinalizedEntry make_entry(Height height) {
  Block block = make_block(height, height + 2);
  Certificate finalization = make_certificate(VoteKind::kFinalize, block.view, block.hash());
  return FinalizedEntry{std::move(block), std::move(finalization)};
}

Anchor make_anchor(Height height) {
  FinalizedEntry entry = make_entry(height);
  return Anchor{entry.block, entry.finalization, {{0, 7, 0, 12}, {40, 41, 38, 39}}};
}

SnapshotChunk first_chunk() {
  SnapshotChunk chunk;
  chunk.height = 1'000;
  chunk.chunk = 0;
  chunk.chunk_count = 3;
  chunk.total_bytes = 2'500'000;
  chunk.data = Bytes(300, 0xab);
  chunk.anchor = make_anchor(1'000);
  chunk.proof = {make_entry(1'001), make_entry(1'002)};
  return chunk;
}

SnapshotChunk later_chunk() {
  SnapshotChunk chunk;
  chunk.height = 1'000;
  chunk.chunk = 2;
  chunk.chunk_count = 3;
  chunk.total_bytes = 2'500'000;
  chunk.data = Bytes{9, 8, 7};
  return chunk;
}

std::vector<consensus::Message> consensus_messages() {
  Block block = make_block(5, 6);
  consensus::Vote vote{VoteKind::kNotarize, 6, block.hash(), 2, signature_of(0x22)};
  return {consensus::Proposal{block, signature_of(0x11)}, vote,
          make_certificate(VoteKind::kNotarize, 6, block.hash()),
          consensus::BlockRequest{block.hash()}, consensus::BlockResponse{block}};
}

// One of every kind of frame the transport carries.
std::vector<WireMessage> every_message() {
  std::vector<WireMessage> messages;
  for (consensus::Message& message : consensus_messages()) messages.emplace_back(message);
  messages.emplace_back(TransactionBatch{{Bytes{1}, Bytes(100, 0x5a), Bytes{}}});
  messages.emplace_back(SyncStatus{1'234, 200, 1'000});
  messages.emplace_back(BlocksRequest{201, 64});
  messages.emplace_back(BlocksResponse{{make_entry(201), make_entry(202), make_entry(203)}});
  messages.emplace_back(SnapshotRequest{0, 0});
  messages.emplace_back(first_chunk());
  messages.emplace_back(later_chunk());
  return messages;
}

WireMessage round_trip(const WireMessage& message, const WireLimits& limits = {}) {
  Bytes frame = encode_wire(message);
  Result<WireMessage> decoded = decode_wire(frame, limits);
  EXPECT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  if (!decoded.is_ok()) return {};
  EXPECT_EQ(decoded->index(), message.index());
  return std::move(decoded).value();
}

void expect_same_entries(const std::vector<FinalizedEntry>& actual,
                         const std::vector<FinalizedEntry>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].block, expected[i].block) << "entry " << i;
    EXPECT_EQ(actual[i].finalization, expected[i].finalization) << "entry " << i;
  }
}

std::string refusal(ByteView frame, const WireLimits& limits = {}) {
  Result<WireMessage> decoded = decode_wire(frame, limits);
  if (decoded.is_ok()) return "(accepted)";
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  return decoded.status().message();
}

TEST(NodeWireTest, ConsensusMessagesRoundTrip) {
  for (const consensus::Message& message : consensus_messages()) {
    SCOPED_TRACE(std::string(consensus::message_name(message)));
    WireMessage decoded = round_trip(message);
    const auto* inner = std::get_if<consensus::Message>(&decoded);
    ASSERT_NE(inner, nullptr);
    EXPECT_EQ(inner->index(), message.index());
    // The consensus encoding is canonical, so equal encodings mean equal messages.
    EXPECT_EQ(consensus::encode_message(*inner), consensus::encode_message(message));
  }
}

TEST(NodeWireTest, ConsensusFrameIsTheConsensusEncodingBehindAChannelByte) {
  consensus::Message vote = consensus::Vote{VoteKind::kFinalize, 9, hash_of("b"), 1, {}};
  Bytes frame = encode_wire(vote);
  Bytes inner = consensus::encode_message(vote);
  ASSERT_EQ(frame.size(), inner.size() + 1);
  EXPECT_EQ(frame[0], 0);
  EXPECT_TRUE(std::equal(inner.begin(), inner.end(), frame.begin() + 1));
}

TEST(NodeWireTest, TransactionBatchRoundTrips) {
  TransactionBatch batch{{Bytes{1}, Bytes(512, 0x5a), Bytes{}}};
  auto decoded = std::get<TransactionBatch>(round_trip(batch));
  EXPECT_EQ(decoded.transactions, batch.transactions);

  auto empty = std::get<TransactionBatch>(round_trip(TransactionBatch{}));
  EXPECT_TRUE(empty.transactions.empty());
}

TEST(NodeWireTest, SyncMessagesRoundTrip) {
  auto status = std::get<SyncStatus>(round_trip(SyncStatus{1'234, 200, 1'000}));
  EXPECT_EQ(status.finalized_height, 1'234u);
  EXPECT_EQ(status.first_block_height, 200u);
  EXPECT_EQ(status.snapshot_height, 1'000u);

  auto request = std::get<BlocksRequest>(round_trip(BlocksRequest{201, 64}));
  EXPECT_EQ(request.from, 201u);
  EXPECT_EQ(request.max_count, 64u);

  auto snapshot = std::get<SnapshotRequest>(round_trip(SnapshotRequest{1'000, 7}));
  EXPECT_EQ(snapshot.height, 1'000u);
  EXPECT_EQ(snapshot.chunk, 7u);
}

TEST(NodeWireTest, BlocksResponseRoundTripsWithItsEntries) {
  BlocksResponse response{{make_entry(201), make_entry(202), make_entry(203)}};
  auto decoded = std::get<BlocksResponse>(round_trip(response));
  expect_same_entries(decoded.entries, response.entries);

  EXPECT_TRUE(std::get<BlocksResponse>(round_trip(BlocksResponse{})).entries.empty());
}

TEST(NodeWireTest, FirstSnapshotChunkRoundTripsWithAnchorAndProof) {
  SnapshotChunk chunk = first_chunk();
  auto decoded = std::get<SnapshotChunk>(round_trip(chunk));
  EXPECT_EQ(decoded.height, chunk.height);
  EXPECT_EQ(decoded.chunk, chunk.chunk);
  EXPECT_EQ(decoded.chunk_count, chunk.chunk_count);
  EXPECT_EQ(decoded.total_bytes, chunk.total_bytes);
  EXPECT_EQ(decoded.data, chunk.data);
  ASSERT_TRUE(decoded.anchor.has_value());
  EXPECT_EQ(*decoded.anchor, *chunk.anchor);
  expect_same_entries(decoded.proof, chunk.proof);
}

TEST(NodeWireTest, LaterSnapshotChunkRoundTripsWithoutAnchorOrProof) {
  SnapshotChunk chunk = later_chunk();
  auto decoded = std::get<SnapshotChunk>(round_trip(chunk));
  EXPECT_EQ(decoded.chunk, 2u);
  EXPECT_EQ(decoded.data, chunk.data);
  EXPECT_FALSE(decoded.anchor.has_value());
  EXPECT_TRUE(decoded.proof.empty());
}

TEST(NodeWireTest, RefusesAnEmptyFrame) {
  EXPECT_EQ(refusal(Bytes{}), "empty frame");
}

TEST(NodeWireTest, RefusesAnUnknownChannel) {
  for (int channel : {7, 8, 255}) {
    Bytes frame = encode_wire(SyncStatus{1, 1, 0});
    frame[0] = static_cast<std::uint8_t>(channel);
    EXPECT_EQ(refusal(frame), "unknown channel " + std::to_string(channel));
  }
}

TEST(NodeWireTest, RefusesAWrongVersion) {
  for (const WireMessage& message : every_message()) {
    SCOPED_TRACE("kind " + std::to_string(message.index()));
    Bytes frame = encode_wire(message);
    ASSERT_GE(frame.size(), 2u);
    frame[1] = 2;  // consensus frames carry their own version there
    EXPECT_NE(refusal(frame).find("version 2"), std::string::npos) << refusal(frame);
  }
}

TEST(NodeWireTest, RefusesEveryTruncation) {
  for (const WireMessage& message : every_message()) {
    SCOPED_TRACE("kind " + std::to_string(message.index()));
    Bytes frame = encode_wire(message);
    for (std::size_t length = 1; length < frame.size(); ++length) {
      Result<WireMessage> decoded = decode_wire(ByteView(frame).first(length), WireLimits{});
      ASSERT_FALSE(decoded.is_ok())
          << "a prefix of " << length << " of " << frame.size() << " bytes was accepted";
      EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(NodeWireTest, RefusesTrailingBytes) {
  for (const WireMessage& message : every_message()) {
    SCOPED_TRACE("kind " + std::to_string(message.index()));
    Bytes frame = encode_wire(message);
    frame.push_back(0);
    EXPECT_NE(refusal(frame).find("trailing"), std::string::npos) << refusal(frame);
  }
}

TEST(NodeWireTest, GossipBatchIsBoundedByTheLimit) {
  WireLimits limits;
  limits.max_gossip_transactions = 2;
  TransactionBatch at_limit{{Bytes{1}, Bytes{2}}};
  EXPECT_EQ(std::get<TransactionBatch>(round_trip(at_limit, limits)).transactions.size(), 2u);

  TransactionBatch over_limit{{Bytes{1}, Bytes{2}, Bytes{3}}};
  EXPECT_EQ(refusal(encode_wire(over_limit), limits), "transactions is 3, above the limit 2");
}

TEST(NodeWireTest, GossipedTransactionIsBoundedInSize) {
  WireLimits limits;
  limits.consensus.max_transaction_bytes = 8;
  EXPECT_EQ(std::get<TransactionBatch>(round_trip(TransactionBatch{{Bytes(8, 1)}}, limits))
                .transactions.size(),
            1u);
  EXPECT_NE(refusal(encode_wire(TransactionBatch{{Bytes(9, 1)}}), limits).find("exceeds"),
            std::string::npos);
}

TEST(NodeWireTest, SyncEntriesAreBoundedByTheLimit) {
  WireLimits limits;
  limits.max_sync_entries = 2;
  BlocksResponse at_limit{{make_entry(1), make_entry(2)}};
  EXPECT_EQ(std::get<BlocksResponse>(round_trip(at_limit, limits)).entries.size(), 2u);

  BlocksResponse over_limit{{make_entry(1), make_entry(2), make_entry(3)}};
  EXPECT_EQ(refusal(encode_wire(over_limit), limits), "finalized entries is 3, above the limit 2");

  SnapshotChunk long_proof = first_chunk();
  long_proof.proof = {make_entry(1'001), make_entry(1'002), make_entry(1'003)};
  EXPECT_EQ(refusal(encode_wire(long_proof), limits), "finalized entries is 3, above the limit 2");
}

TEST(NodeWireTest, SnapshotChunkIsBoundedInSize) {
  WireLimits limits;
  limits.max_snapshot_chunk_bytes = 64;
  SnapshotChunk at_limit = later_chunk();
  at_limit.data = Bytes(64, 1);
  EXPECT_EQ(std::get<SnapshotChunk>(round_trip(at_limit, limits)).data.size(), 64u);

  SnapshotChunk over_limit = later_chunk();
  over_limit.data = Bytes(65, 1);
  EXPECT_EQ(refusal(encode_wire(over_limit), limits),
            "snapshot chunk length 65 exceeds the limit 64");
}

TEST(NodeWireTest, EntriesAreCheckedAgainstTheConsensusLimits) {
  WireLimits limits;
  limits.consensus.max_block_transactions = 2;  // the entries' blocks carry three
  EXPECT_NE(refusal(encode_wire(BlocksResponse{{make_entry(1)}}), limits).find("finalized entry"),
            std::string::npos);
  EXPECT_NE(refusal(encode_wire(first_chunk()), limits).find("anchor"), std::string::npos);
}

}  // namespace
}  // namespace ballast::node
