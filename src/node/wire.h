// The node-to-node envelope: every frame the transport carries starts with a channel byte
// that says what follows: a consensus message, a batch of gossiped transactions, or one of the
// sync messages a lagging validator uses to fetch finalized blocks and snapshots. Decoding is
// strict (the canonical codec's rules) and bounded by the limits given.
#pragma once

#include <variant>
#include <vector>

#include "consensus/interfaces.h"

namespace ballast::node {

struct WireLimits {
  consensus::MessageLimits consensus;
  std::size_t max_gossip_transactions = 4'096;
  std::size_t max_sync_entries = 1'024;
  std::size_t max_snapshot_chunk_bytes = 1 << 20;
};

struct TransactionBatch {
  std::vector<Bytes> transactions;
};

// What a validator has: peers use it to notice that they lag and whom to ask.
struct SyncStatus {
  consensus::Height finalized_height = 0;
  consensus::Height first_block_height = 0;  // blocks below were pruned (0: none stored)
  consensus::Height snapshot_height = 0;     // latest snapshot (0: none)
};

struct BlocksRequest {
  consensus::Height from = 0;
  std::uint32_t max_count = 0;
};

struct BlocksResponse {
  std::vector<consensus::FinalizedEntry> entries;  // consecutive heights from the request
};

struct SnapshotRequest {
  consensus::Height height = 0;  // 0: the latest
  std::uint32_t chunk = 0;
};

// One chunk of a snapshot. The first chunk also carries the anchor and a proof that the
// snapshot's state is the certified one: the finalized blocks after the anchor up to one that
// carries a state root for the anchor's height or later, ending with a self-certified entry.
struct SnapshotChunk {
  consensus::Height height = 0;
  std::uint32_t chunk = 0;
  std::uint32_t chunk_count = 0;
  std::uint64_t total_bytes = 0;
  Bytes data;
  std::optional<consensus::Anchor> anchor;       // first chunk only
  std::vector<consensus::FinalizedEntry> proof;  // first chunk only
};

using WireMessage = std::variant<consensus::Message, TransactionBatch, SyncStatus, BlocksRequest,
                                 BlocksResponse, SnapshotRequest, SnapshotChunk>;

Bytes encode_wire(const WireMessage& message);
Result<WireMessage> decode_wire(ByteView frame, const WireLimits& limits);

}  // namespace ballast::node
