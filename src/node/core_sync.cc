// Sync: how a validator that fell behind catches up, and how it helps others do so.
//
// Every validator tells its peers, every sync_status_interval_ms and on connect, how far its
// finalized chain goes, which blocks it still stores and its latest snapshot. A validator more
// than sync_lag_threshold_blocks behind the best peer asks that peer for the next finalized
// blocks; each batch ends in a block finalized by its own certificate, so the batch is checked
// by hash links and one certificate, then executed. If the peer pruned the blocks it needs, it
// fetches the peer's latest snapshot in chunks instead, with a proof: the finalized blocks after
// the snapshot up to one whose certified state root covers the snapshot's height. The snapshot
// is accepted only if replaying the proof on it reproduces that certified root.
#include <spdlog/spdlog.h>

#include "node/core.h"

namespace ballast::node {

namespace {

bool self_certified(const consensus::FinalizedEntry& entry) {
  return entry.finalization.block == entry.block.hash();
}

// Drops entries after the last self-certified one: what is left can be checked.
void trim_to_certified(std::vector<consensus::FinalizedEntry>& entries) {
  while (!entries.empty() && !self_certified(entries.back())) entries.pop_back();
}

}  // namespace

void Core::sync_tick(std::int64_t now) {
  if (now >= next_sync_status_) {
    broadcast_sync_status();
    next_sync_status_ = now + options_.sync_status_interval_ms;
  }
  if (syncing_from_ && now >= sync_deadline_) {
    spdlog::warn("sync from validator {} timed out; trying again", *syncing_from_);
    peer_sync_.erase(*syncing_from_);  // ask someone else unless it speaks up again
    syncing_from_.reset();
    download_.reset();
    maybe_request_sync(now);
  }
}

// A snapshot is offered only once a finalized block certifies a state root at or past its
// height: before that no proof exists and a peer would fetch it only to refuse it (and fall
// back on slower ways of catching up). Until then the previous snapshot is offered.
consensus::Height Core::provable_snapshot_height() const {
  std::optional<consensus::Anchor> tip = replica_->anchor();
  if (!tip) return 0;
  consensus::Height certified = tip->block.state_root_height;
  const std::vector<consensus::Height>& kept = storage_.snapshot_heights();
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
    if (*it <= certified) return *it;
  }
  return 0;
}

SyncStatus Core::own_sync_status() const {
  return SyncStatus{replica_->finalized_height(), storage_.first_height(),
                    provable_snapshot_height()};
}

void Core::broadcast_sync_status() {
  transport_.broadcast(std::make_shared<const Bytes>(encode_wire(own_sync_status())));
}

void Core::on_sync_status(std::uint32_t peer, const SyncStatus& status, std::int64_t now) {
  peer_sync_[peer] = status;
  maybe_request_sync(now);
}

void Core::maybe_request_sync(std::int64_t now) {
  if (syncing_from_) return;
  if (replica_->divergence()) {
    request_resync_snapshot(now);
    return;
  }
  consensus::Height mine = replica_->finalized_height();
  std::optional<std::uint32_t> best;
  for (const auto& [peer, status] : peer_sync_) {
    if (!best || status.finalized_height > peer_sync_.at(*best).finalized_height) best = peer;
  }
  if (!best) return;
  const SyncStatus& status = peer_sync_.at(*best);
  if (status.finalized_height <= mine + options_.sync_lag_threshold_blocks) return;
  bool has_blocks = status.first_block_height != 0 && status.first_block_height <= mine + 1;
  if (has_blocks) {
    spdlog::info("behind by {} blocks: fetching blocks from validator {}",
                 status.finalized_height - mine, *best);
    send_to(*best, BlocksRequest{mine + 1, options_.sync_max_blocks_per_response});
    syncing_from_ = *best;
    sync_deadline_ = now + options_.sync_request_timeout_ms;
  } else if (status.snapshot_height > mine) {
    spdlog::info(
        "behind by {} blocks that validator {} no longer stores: fetching its snapshot "
        "at height {}",
        status.finalized_height - mine, *best, status.snapshot_height);
    start_snapshot_download(*best, status.snapshot_height, now);
  }
}

void Core::start_snapshot_download(std::uint32_t peer, consensus::Height height, std::int64_t now) {
  download_ = std::make_unique<SnapshotDownload>();
  download_->height = height;
  send_to(peer, SnapshotRequest{height, 0});
  syncing_from_ = peer;
  sync_deadline_ = now + options_.sync_request_timeout_ms;
}

// A validator whose state root differs from a certified one cannot trust its own state, so it
// neither votes (the replica stopped) nor syncs blocks onto it: it fetches a peer's snapshot,
// which is accepted only if replaying the certified blocks after it reproduces a certified root,
// and restarts consensus from it (the blocks it stores above it are replayed on the new state).
void Core::request_resync_snapshot(std::int64_t now) {
  if (!divergence_reported_) {
    divergence_reported_ = true;
    spdlog::critical("state diverged, not voting: {}; resynchronizing from a peer's snapshot",
                     *replica_->divergence());
  }
  std::optional<std::uint32_t> best;
  for (const auto& [peer, status] : peer_sync_) {
    if (status.snapshot_height == 0) continue;
    if (!best || status.snapshot_height > peer_sync_.at(*best).snapshot_height) best = peer;
  }
  if (!best) return;  // asked again when the next sync status arrives
  consensus::Height height = peer_sync_.at(*best).snapshot_height;
  spdlog::warn("fetching the snapshot at height {} from validator {} to resynchronize", height,
               *best);
  start_snapshot_download(*best, height, now);
}

void Core::on_blocks_request(std::uint32_t peer, const BlocksRequest& request) {
  std::size_t count = std::min<std::size_t>(request.max_count, options_.wire.max_sync_entries);
  std::vector<consensus::FinalizedEntry> entries =
      storage_.finalized_range(request.from, count, options_.sync_max_response_bytes);
  // A batch finalized by one certificate must travel whole, or it cannot be checked.
  while (!entries.empty() && !self_certified(entries.back()) &&
         entries.size() < options_.wire.max_sync_entries) {
    auto more = storage_.finalized_range(entries.back().block.height + 1, 16,
                                         options_.sync_max_response_bytes);
    if (more.empty()) break;
    entries.insert(entries.end(), more.begin(), more.end());
  }
  if (entries.size() > options_.wire.max_sync_entries) {
    entries.resize(options_.wire.max_sync_entries);
  }
  trim_to_certified(entries);
  send_to(peer, BlocksResponse{std::move(entries)});
}

void Core::on_blocks_response(std::uint32_t peer, BlocksResponse& response, std::int64_t now) {
  if (syncing_from_ != peer || download_) return;  // unsolicited
  syncing_from_.reset();
  std::erase_if(response.entries, [&](const consensus::FinalizedEntry& entry) {
    return entry.block.height <= replica_->finalized_height();
  });
  trim_to_certified(response.entries);
  if (response.entries.empty()) return;
  std::vector<consensus::Block> blocks;
  for (const consensus::FinalizedEntry& entry : response.entries) blocks.push_back(entry.block);
  Status applied = replica_->on_finalized_chain(blocks, response.entries.back().finalization, now);
  if (!applied.is_ok()) {
    bad_peer_messages_ += 1;
    spdlog::warn("blocks from validator {} refused: {}", peer, applied.to_string());
    peer_sync_.erase(peer);
    return;
  }
  spdlog::info("synced to height {} from validator {}", replica_->finalized_height(), peer);
  maybe_request_sync(now);
}

void Core::on_snapshot_request(std::uint32_t peer, const SnapshotRequest& request) {
  if (!serving_snapshot_ || serving_snapshot_->anchor.block.height != request.height) {
    serving_snapshot_ = storage_.snapshot_at(request.height);
  }
  if (!serving_snapshot_ || serving_snapshot_->anchor.block.height != request.height) return;
  const Bytes& state = serving_snapshot_->application_state;
  std::size_t chunk_bytes = options_.wire.max_snapshot_chunk_bytes;
  auto chunk_count = static_cast<std::uint32_t>(
      std::max<std::size_t>(1, (state.size() + chunk_bytes - 1) / chunk_bytes));
  if (request.chunk >= chunk_count) return;
  SnapshotChunk chunk;
  chunk.height = request.height;
  chunk.chunk = request.chunk;
  chunk.chunk_count = chunk_count;
  chunk.total_bytes = state.size();
  std::size_t begin = std::size_t{request.chunk} * chunk_bytes;
  std::size_t end = std::min(state.size(), begin + chunk_bytes);
  chunk.data.assign(state.begin() + static_cast<std::ptrdiff_t>(begin),
                    state.begin() + static_cast<std::ptrdiff_t>(end));
  if (request.chunk == 0) {
    chunk.anchor = serving_snapshot_->anchor;
    // The proof: blocks after the snapshot up to one certifying a root at or past its height.
    consensus::Height height = request.height;
    bool covered = false;
    while (chunk.proof.size() < options_.wire.max_sync_entries) {
      auto more = storage_.finalized_range(height + 1, 16, options_.sync_max_response_bytes);
      if (more.empty()) break;
      for (consensus::FinalizedEntry& entry : more) {
        covered = covered || entry.block.state_root_height >= request.height;
        height = entry.block.height;
        chunk.proof.push_back(std::move(entry));
        if (covered && self_certified(chunk.proof.back())) break;
      }
      if (covered && self_certified(chunk.proof.back())) break;
    }
    if (chunk.proof.size() > options_.wire.max_sync_entries) {
      chunk.proof.resize(options_.wire.max_sync_entries);
    }
    trim_to_certified(chunk.proof);
  }
  send_to(peer, chunk);
}

void Core::on_snapshot_chunk(std::uint32_t peer, SnapshotChunk& chunk, std::int64_t now) {
  if (!download_ || syncing_from_ != peer || chunk.height != download_->height ||
      chunk.chunk != download_->next_chunk) {
    return;  // unsolicited or out of order
  }
  SnapshotDownload& download = *download_;
  if (chunk.chunk == 0) {
    if (chunk.total_bytes > options_.max_snapshot_bytes || !chunk.anchor) {
      spdlog::warn("snapshot from validator {} refused: too large or without anchor", peer);
      download_.reset();
      syncing_from_.reset();
      return;
    }
    download.chunk_count = chunk.chunk_count;
    download.total_bytes = chunk.total_bytes;
    download.anchor = std::move(chunk.anchor);
    download.proof = std::move(chunk.proof);
    download.data.reserve(chunk.total_bytes);
  }
  if (download.data.size() + chunk.data.size() > download.total_bytes ||
      chunk.chunk_count != download.chunk_count) {
    spdlog::warn("snapshot from validator {} refused: chunks do not add up", peer);
    download_.reset();
    syncing_from_.reset();
    return;
  }
  download.data.insert(download.data.end(), chunk.data.begin(), chunk.data.end());
  download.next_chunk += 1;
  sync_deadline_ = now + options_.sync_request_timeout_ms;
  if (download.next_chunk < download.chunk_count) {
    send_to(peer, SnapshotRequest{download.height, download.next_chunk});
    return;
  }
  Status verified = verify_snapshot(download);
  if (verified.is_ok()) {
    install_snapshot(download, now);
  } else {
    bad_peer_messages_ += 1;
    spdlog::warn("snapshot at height {} from validator {} refused: {}", download.height, peer,
                 verified.to_string());
    peer_sync_.erase(peer);
  }
  download_.reset();
  syncing_from_.reset();
  maybe_request_sync(now);
}

Status Core::verify_snapshot(const SnapshotDownload& download) {
  const consensus::Anchor& anchor = *download.anchor;
  if (download.data.size() != download.total_bytes) return corruption("snapshot is incomplete");
  if (anchor.block.height != download.height || download.proof.empty()) {
    return invalid_argument("the snapshot comes without a proof of its state root");
  }
  if (anchor.finalization.kind != consensus::VoteKind::kFinalize ||
      anchor.finalization.block != anchor.block.hash() ||
      !consensus::certificate_valid(anchor.finalization, validators_, *verifier_,
                                    genesis_.chain_id)) {
    return invalid_argument("the anchor's finalization certificate is not valid");
  }
  const consensus::FinalizedEntry& last = download.proof.back();
  if (!self_certified(last) || !consensus::certificate_valid(last.finalization, validators_,
                                                             *verifier_, genesis_.chain_id)) {
    return invalid_argument("the proof's finalization certificate is not valid");
  }
  app::ExchangeApplication scratch(genesis_, options_.application);
  BALLAST_RETURN_IF_ERROR(scratch.restore(download.data));
  if (scratch.executed_height() != anchor.block.height) {
    return invalid_argument("the snapshot is not at the anchor's height");
  }
  Hash256 parent = anchor.block.hash();
  bool root_confirmed = false;
  for (const consensus::FinalizedEntry& entry : download.proof) {
    const consensus::Block& block = entry.block;
    if (block.parent != parent || block.height != scratch.executed_height() + 1) {
      return invalid_argument("the proof's blocks do not chain onto the anchor");
    }
    if (block.state_root_height >= anchor.block.height) {
      std::optional<Hash256> root = scratch.root_at(block.state_root_height);
      if (!root || *root != block.state_root) {
        return invalid_argument(
            "the snapshot's state does not match the certified root at "
            "height " +
            std::to_string(block.state_root_height));
      }
      root_confirmed = true;
    }
    (void)scratch.execute(block);
    parent = block.hash();
  }
  if (!root_confirmed) return invalid_argument("no certified root covers the snapshot");
  return Status::ok();
}

void Core::install_snapshot(const SnapshotDownload& download, std::int64_t now) {
  Status installed = storage_.install_snapshot({*download.anchor, download.data});
  if (!installed.is_ok()) spdlog::critical("installing a snapshot: {}", installed.to_string());
  BALLAST_ASSERT_MSG(installed.is_ok(), "cannot install a snapshot");
  spdlog::info("installed the snapshot at height {}; restarting consensus from it",
               download.height);
  replica_.reset();
  corrupted_application_.reset();
  std::unique_ptr<app::ExchangeApplication> previous = std::move(application_);
  start_consensus(now);
  readmit_journaled();  // this node's clients' transactions, gossiped again
  const std::size_t adopted = application_->adopt_pool(*previous);
  previous.reset();
  spdlog::info("{} pooled transactions kept across the snapshot", adopted);
  market_feed_.reset(application_->exchange());
  stream_.resend_book_snapshots(market_feed_);
  // After a divergence the stored chain may already reach past the proof: nothing to apply.
  std::vector<consensus::Block> blocks;
  for (const consensus::FinalizedEntry& entry : download.proof) {
    if (entry.block.height > replica_->finalized_height()) blocks.push_back(entry.block);
  }
  if (blocks.empty()) return;
  Status applied = replica_->on_finalized_chain(blocks, download.proof.back().finalization, now);
  if (!applied.is_ok()) spdlog::warn("proof blocks not applied: {}", applied.to_string());
}

}  // namespace ballast::node
