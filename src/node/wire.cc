#include "node/wire.h"

#include "base/codec.h"
#include "storage/encoding.h"

namespace ballast::node {

namespace {

using consensus::FinalizedEntry;

enum class Channel : std::uint8_t {
  kConsensus = 0,
  kTransactions = 1,
  kSyncStatus = 2,
  kBlocksRequest = 3,
  kBlocksResponse = 4,
  kSnapshotRequest = 5,
  kSnapshotChunk = 6,
};
constexpr std::uint8_t kVersion = 1;

std::size_t max_block_bytes(const consensus::MessageLimits& limits) {
  return 1'024 + limits.max_block_transactions * (limits.max_transaction_bytes + 8);
}

std::size_t max_certificate_bytes(const consensus::MessageLimits& limits) {
  return 1'024 + limits.max_validators * 80;
}

std::size_t max_entry_bytes(const consensus::MessageLimits& limits) {
  return max_block_bytes(limits) + max_certificate_bytes(limits);
}

// Entries and anchors travel in their stored encodings (storage/encoding.h): one encoding of
// each value everywhere.
template <typename T>
T decode_nested(Decoder& in, const WireLimits& limits, const char* what,
                Result<T> (*decode)(ByteView, const consensus::MessageLimits&)) {
  Bytes bytes =
      in.bytes(max_entry_bytes(limits.consensus) + 64 * limits.consensus.max_validators, what);
  if (!in.ok()) return {};
  Result<T> value = decode(bytes, limits.consensus);
  if (!value.is_ok()) {
    in.fail(std::string(what) + ": " + value.status().message());
    return {};
  }
  return std::move(value).value();
}

void encode_entries(Encoder& out, const std::vector<FinalizedEntry>& entries) {
  out.varint(entries.size());
  for (const FinalizedEntry& entry : entries) out.bytes(storage::encode_finalized_entry(entry));
}

std::vector<FinalizedEntry> decode_entries(Decoder& in, const WireLimits& limits) {
  std::uint64_t count = in.varint_at_most(limits.max_sync_entries, "finalized entries");
  std::vector<FinalizedEntry> entries;
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    entries.push_back(
        decode_nested(in, limits, "finalized entry", &storage::decode_finalized_entry));
  }
  return entries;
}

struct WireEncoder {
  Encoder& out;

  void operator()(const consensus::Message& message) {
    out.u8(static_cast<std::uint8_t>(Channel::kConsensus));
    out.raw(consensus::encode_message(message));
  }
  void operator()(const TransactionBatch& batch) {
    begin(Channel::kTransactions);
    out.varint(batch.transactions.size());
    for (const Bytes& transaction : batch.transactions) out.bytes(transaction);
  }
  void operator()(const SyncStatus& status) {
    begin(Channel::kSyncStatus);
    out.u64(status.finalized_height);
    out.u64(status.first_block_height);
    out.u64(status.snapshot_height);
  }
  void operator()(const BlocksRequest& request) {
    begin(Channel::kBlocksRequest);
    out.u64(request.from);
    out.u32(request.max_count);
  }
  void operator()(const BlocksResponse& response) {
    begin(Channel::kBlocksResponse);
    encode_entries(out, response.entries);
  }
  void operator()(const SnapshotRequest& request) {
    begin(Channel::kSnapshotRequest);
    out.u64(request.height);
    out.u32(request.chunk);
  }
  void operator()(const SnapshotChunk& chunk) {
    begin(Channel::kSnapshotChunk);
    out.u64(chunk.height);
    out.u32(chunk.chunk);
    out.u32(chunk.chunk_count);
    out.u64(chunk.total_bytes);
    out.bytes(chunk.data);
    out.boolean(chunk.anchor.has_value());
    if (chunk.anchor) out.bytes(storage::encode_anchor(*chunk.anchor));
    encode_entries(out, chunk.proof);
  }

  void begin(Channel channel) {
    out.u8(static_cast<std::uint8_t>(channel));
    out.u8(kVersion);
  }
};

Result<WireMessage> decode_body(Channel channel, Decoder& in, const WireLimits& limits) {
  in.expect_version(kVersion, "wire message");
  switch (channel) {
    case Channel::kTransactions: {
      TransactionBatch batch;
      std::uint64_t count = in.varint_at_most(limits.max_gossip_transactions, "transactions");
      for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
        batch.transactions.push_back(
            in.bytes(limits.consensus.max_transaction_bytes, "transaction"));
      }
      return WireMessage{std::move(batch)};
    }
    case Channel::kSyncStatus:
      return WireMessage{SyncStatus{in.u64(), in.u64(), in.u64()}};
    case Channel::kBlocksRequest: {
      BlocksRequest request;
      request.from = in.u64();
      request.max_count = in.u32();
      return WireMessage{request};
    }
    case Channel::kBlocksResponse:
      return WireMessage{BlocksResponse{decode_entries(in, limits)}};
    case Channel::kSnapshotRequest: {
      SnapshotRequest request;
      request.height = in.u64();
      request.chunk = in.u32();
      return WireMessage{request};
    }
    case Channel::kSnapshotChunk: {
      SnapshotChunk chunk;
      chunk.height = in.u64();
      chunk.chunk = in.u32();
      chunk.chunk_count = in.u32();
      chunk.total_bytes = in.u64();
      chunk.data = in.bytes(limits.max_snapshot_chunk_bytes, "snapshot chunk");
      if (in.boolean()) {
        chunk.anchor = decode_nested(in, limits, "anchor", &storage::decode_anchor);
      }
      chunk.proof = decode_entries(in, limits);
      return WireMessage{std::move(chunk)};
    }
    case Channel::kConsensus:
      break;
  }
  return invalid_argument("unknown channel");
}

}  // namespace

Bytes encode_wire(const WireMessage& message) {
  Encoder out;
  std::visit(WireEncoder{out}, message);
  return out.take();
}

Result<WireMessage> decode_wire(ByteView frame, const WireLimits& limits) {
  if (frame.empty()) return invalid_argument("empty frame");
  auto channel = static_cast<Channel>(frame[0]);
  if (channel == Channel::kConsensus) {
    BALLAST_ASSIGN_OR_RETURN(consensus::Message message,
                             consensus::decode_message(frame.subspan(1), limits.consensus));
    return WireMessage{std::move(message)};
  }
  if (frame[0] > static_cast<std::uint8_t>(Channel::kSnapshotChunk)) {
    return invalid_argument("unknown channel " + std::to_string(frame[0]));
  }
  Decoder in(frame.subspan(1));
  auto message = decode_body(channel, in, limits);
  if (Status status = in.finish(); !status.is_ok()) return status;
  return message;
}

}  // namespace ballast::node
