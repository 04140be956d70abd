#include "storage/rocks_storage.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <limits>

#include "storage/rocks_util.h"

namespace ballast::storage {
namespace {

using consensus::Anchor;
using consensus::FinalizedEntry;
using consensus::Height;
using consensus::VotingState;

constexpr std::uint8_t kFormatVersion = 1;
// The latest snapshot restarts this node; the one before it keeps serving a peer that started
// downloading it just before the latest was taken.
constexpr std::size_t kKeptSnapshots = 2;

using rocks::from_rocks;
using rocks::slice;
using rocks::synced;
using rocks::view;

// The Storage interface has no error channel and the replica speaks right after a write
// returns: a write that did not land (or a read that failed) must stop the process.
void require_ok(const rocksdb::Status& status, const char* what) {
  if (status.ok()) return;
  std::string message = std::string("cannot ") + what + ": " + status.ToString();
  BALLAST_ASSERT_MSG(status.ok(), message.c_str());
}

std::string height_text(Height height) {
  return std::to_string(height);
}

// Calls visit(height, value) for each key of `prefix` at or above `from`, in height order, until
// it returns false or an error.
template <typename Visit>
Status scan(rocksdb::DB& db, char prefix, Height from, Visit visit) {
  std::string begin = prefix == keys::kBlockPrefix ? keys::block(from) : keys::snapshot(from);
  std::string end = keys::prefix_end(prefix);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read));
  for (it->Seek(begin); it->Valid(); it->Next()) {
    std::optional<Height> height = keys::height_of(it->key().ToStringView(), prefix);
    if (!height) return corruption("malformed key '" + it->key().ToString(true) + "'");
    Result<bool> more = visit(*height, view(it->value()));
    if (!more.is_ok()) return more.status();
    if (!more.value()) return Status::ok();
  }
  return from_rocks(it->status(), "cannot read stored keys");
}

// What a valid anchor is, whoever supplied it.
Status check_anchor(const Anchor& anchor) {
  if (anchor.block.height == 0) return invalid_argument("an anchor cannot be the genesis block");
  if (anchor.finalization.kind != consensus::VoteKind::kFinalize ||
      anchor.finalization.view != anchor.block.view ||
      anchor.finalization.block != anchor.block.hash()) {
    return invalid_argument("the anchor's certificate does not finalize its block at height " +
                            height_text(anchor.block.height));
  }
  return Status::ok();
}

}  // namespace

RocksStorage::RocksStorage(StorageOptions options, std::unique_ptr<rocksdb::DB> db)
    : options_(std::move(options)), db_(std::move(db)) {}

RocksStorage::~RocksStorage() = default;

Result<std::unique_ptr<RocksStorage>> RocksStorage::open(const std::string& directory,
                                                         StorageOptions options) {
  BALLAST_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, rocks::open_database(directory));
  std::unique_ptr<RocksStorage> storage(new RocksStorage(std::move(options), std::move(db)));
  Status loaded = storage->load();
  if (!loaded.is_ok()) {
    return Status(loaded.code(), "storage directory '" + directory + "': " + loaded.message());
  }
  return storage;
}

// Checks everything stored, so that damage is reported here, as a Status, and never found
// later by a replica that cannot report it.
Status RocksStorage::load() {
  BALLAST_RETURN_IF_ERROR(check_format());
  BALLAST_RETURN_IF_ERROR(load_voting_view());
  BALLAST_ASSIGN_OR_RETURN(auto snapshot_hashes, load_snapshots());
  return load_blocks(snapshot_hashes);
}

Status RocksStorage::check_format() {
  std::string value;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), keys::kFormat, &value);
  if (got.ok()) {
    if (value.size() != 1) return corruption("malformed storage format marker");
    if (static_cast<std::uint8_t>(value[0]) != kFormatVersion) {
      return failed_precondition("unsupported storage format " +
                                 std::to_string(static_cast<std::uint8_t>(value[0])));
    }
    return Status::ok();
  }
  if (!got.IsNotFound()) return from_rocks(got, "cannot read the storage format");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekToFirst();
  if (it->Valid()) return corruption("stored data without a storage format marker");
  if (!it->status().ok()) return from_rocks(it->status(), "cannot read stored keys");
  std::string marker(1, static_cast<char>(kFormatVersion));
  return from_rocks(db_->Put(synced(), keys::kFormat, marker), "cannot write the storage format");
}

Status RocksStorage::load_voting_view() {
  std::string value;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), keys::kVotingState, &value);
  if (got.IsNotFound()) return Status::ok();
  if (!got.ok()) return from_rocks(got, "cannot read the voting state");
  BALLAST_ASSIGN_OR_RETURN(VotingState state,
                           decode_voting_state(as_bytes(value), options_.limits));
  persisted_view_ = state.view;
  return Status::ok();
}

Result<std::map<Height, Hash256>> RocksStorage::load_snapshots() {
  std::map<Height, Hash256> hashes;
  Status scanned = scan(*db_, keys::kSnapshotPrefix, 0, [&](Height height, ByteView value) {
    Result<StoredSnapshot> snapshot = decode_snapshot(value, options_.limits);
    if (!snapshot.is_ok()) return Result<bool>(snapshot.status());
    const Anchor& anchor = snapshot->anchor;
    if (anchor.block.height != height) {
      return Result<bool>(corruption("the snapshot stored at height " + height_text(height) +
                                     " is of height " + height_text(anchor.block.height)));
    }
    Status valid = check_anchor(anchor);
    if (!valid.is_ok()) return Result<bool>(corruption("stored snapshot: " + valid.message()));
    hashes.emplace(height, anchor.block.hash());
    snapshot_heights_.push_back(height);
    latest_anchor_ = anchor;
    return Result<bool>(true);
  });
  BALLAST_RETURN_IF_ERROR(scanned);
  return hashes;
}

// The stored blocks must be one contiguous chain that agrees with every stored snapshot.
Status RocksStorage::load_blocks(const std::map<Height, Hash256>& snapshot_hashes) {
  Hash256 first_parent;
  Status scanned = scan(*db_, keys::kBlockPrefix, 0, [&](Height height, ByteView value) {
    Result<FinalizedEntry> entry = decode_finalized_entry(value, options_.limits);
    if (!entry.is_ok()) return Result<bool>(entry.status());
    const consensus::Block& block = entry->block;
    std::string where = "the finalized block at height " + height_text(height);
    if (block.height != height) {
      return Result<bool>(corruption(where + " says height " + height_text(block.height)));
    }
    if (first_block_height_ == 0) {
      first_block_height_ = height;
      first_parent = block.parent;
    } else if (height != last_block_height_ + 1) {
      return Result<bool>(corruption("finalized blocks skip from height " +
                                     height_text(last_block_height_) + " to " +
                                     height_text(height)));
    } else if (block.parent != *tip_hash_) {
      return Result<bool>(corruption(where + " does not extend the block below it"));
    }
    tip_hash_ = block.hash();
    auto snapshot = snapshot_hashes.find(height);
    if (snapshot != snapshot_hashes.end() && snapshot->second != *tip_hash_) {
      return Result<bool>(corruption(where + " is not the block of the snapshot there"));
    }
    last_block_height_ = height;
    return Result<bool>(true);
  });
  BALLAST_RETURN_IF_ERROR(scanned);
  return check_chain_meets_anchor(first_parent);
}

// Blocks start at height 1 unless a snapshot covers what is below them, and they reach up to
// the latest snapshot (a restart replays from there).
Status RocksStorage::check_chain_meets_anchor(const Hash256& first_parent) {
  if (!latest_anchor_) {
    if (first_block_height_ > 1) {
      return corruption("finalized blocks start at height " + height_text(first_block_height_) +
                        " but no snapshot covers the heights below");
    }
    return Status::ok();
  }
  Height anchor_height = latest_anchor_->block.height;
  Hash256 anchor_hash = latest_anchor_->block.hash();
  if (first_block_height_ == 0) {
    tip_hash_ = anchor_hash;
    return Status::ok();
  }
  if (first_block_height_ > anchor_height + 1 || last_block_height_ < anchor_height) {
    return corruption("finalized blocks " + height_text(first_block_height_) + ".." +
                      height_text(last_block_height_) + " do not meet the snapshot at height " +
                      height_text(anchor_height));
  }
  if (first_block_height_ == anchor_height + 1 && first_parent != anchor_hash) {
    return corruption("the first finalized block does not extend the snapshot's block");
  }
  return Status::ok();
}

// --- consensus::Storage ----------------------------------------------------------------------

void RocksStorage::persist_voting_state(const VotingState& state) {
  // A replica that went back to an earlier view could vote twice in it.
  BALLAST_ASSERT_MSG(state.view >= persisted_view_,
                     "the voting state went back to an earlier view");
  Bytes value = encode_voting_state(state);
  require_ok(db_->Put(consensus_write(unsynced_.voting_state), keys::kVotingState, slice(value)),
             "persist the voting state");
  persisted_view_ = state.view;
}

void RocksStorage::append_finalized(std::span<const FinalizedEntry> entries) {
  if (entries.empty()) return;
  rocksdb::WriteBatch batch;
  consensus::Height height = last_height();
  std::optional<Hash256> tip = tip_hash_;
  for (const FinalizedEntry& entry : entries) {
    const consensus::Block& block = entry.block;
    BALLAST_ASSERT_MSG(block.height == height + 1,
                       "finalized blocks must be appended in height order");
    BALLAST_ASSERT_MSG(!tip || block.parent == *tip,
                       "an appended finalized block must extend the stored chain");
    BALLAST_ASSERT(entry.finalization.kind == consensus::VoteKind::kFinalize);
    Bytes value = encode_finalized_entry(entry);
    require_ok(batch.Put(keys::block(block.height), slice(value)), "append a finalized block");
    height = block.height;
    tip = block.hash();
  }
  require_ok(db_->Write(consensus_write(unsynced_.blocks), &batch), "append finalized blocks");
  if (first_block_height_ == 0) first_block_height_ = entries.front().block.height;
  last_block_height_ = height;
  tip_hash_ = tip;
}

VotingState RocksStorage::load_voting_state() {
  std::string value;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), keys::kVotingState, &value);
  if (got.IsNotFound()) {
    BALLAST_ASSERT_MSG(persisted_view_ == 0, "the stored voting state disappeared");
    return VotingState{};
  }
  require_ok(got, "read the voting state");
  Result<VotingState> state = decode_voting_state(as_bytes(value), options_.limits);
  BALLAST_ASSERT_MSG(state.is_ok(), "the stored voting state no longer decodes");
  BALLAST_ASSERT(state->view == persisted_view_);
  return std::move(state).value();
}

std::optional<Anchor> RocksStorage::load_anchor() {
  return latest_anchor_;
}

std::vector<FinalizedEntry> RocksStorage::load_finalized() {
  Height from = latest_anchor_ ? latest_anchor_->block.height + 1 : 1;
  if (from > last_block_height_) return {};
  std::vector<FinalizedEntry> entries = read_range(from, std::numeric_limits<std::size_t>::max(),
                                                   std::numeric_limits<std::size_t>::max());
  BALLAST_ASSERT(!entries.empty() && entries.back().block.height == last_block_height_);
  BALLAST_ASSERT(!latest_anchor_ || entries.front().block.parent == latest_anchor_->block.hash());
  return entries;
}

// --- snapshots and sync ----------------------------------------------------------------------

Height RocksStorage::last_height() const {
  Height anchor_height = latest_anchor_ ? latest_anchor_->block.height : 0;
  return std::max(last_block_height_, anchor_height);
}

std::vector<FinalizedEntry> RocksStorage::finalized_range(Height from, std::size_t max_count,
                                                          std::size_t max_bytes) {
  if (first_block_height_ == 0 || from < first_block_height_ || from > last_block_height_) {
    return {};
  }
  return read_range(from, max_count, max_bytes);
}

// Data read here passed open()'s checks; if it fails them now the disk changed under a running
// node, and serving or replaying it would spread the damage.
std::vector<FinalizedEntry> RocksStorage::read_range(Height from, std::size_t max_count,
                                                     std::size_t max_bytes) {
  std::vector<FinalizedEntry> entries;
  std::size_t total_bytes = 0;
  Status scanned = scan(*db_, keys::kBlockPrefix, from, [&](Height height, ByteView value) {
    total_bytes += value.size();
    if (entries.size() >= max_count || (!entries.empty() && total_bytes > max_bytes)) {
      return Result<bool>(false);
    }
    Result<FinalizedEntry> entry = decode_finalized_entry(value, options_.limits);
    BALLAST_ASSERT_MSG(entry.is_ok(), "a stored finalized block no longer decodes");
    BALLAST_ASSERT_MSG(height == from + entries.size() && entry->block.height == height,
                       "stored finalized blocks are no longer contiguous");
    entries.push_back(std::move(entry).value());
    return Result<bool>(true);
  });
  BALLAST_ASSERT_MSG(scanned.is_ok(), scanned.message().c_str());
  return entries;
}

std::optional<StoredSnapshot> RocksStorage::latest_snapshot() {
  if (snapshot_heights_.empty()) return std::nullopt;
  std::optional<StoredSnapshot> snapshot = snapshot_at(snapshot_heights_.back());
  BALLAST_ASSERT(snapshot && snapshot->anchor == *latest_anchor_);
  return snapshot;
}

std::optional<StoredSnapshot> RocksStorage::snapshot_at(Height height) {
  if (std::find(snapshot_heights_.begin(), snapshot_heights_.end(), height) ==
      snapshot_heights_.end()) {
    return std::nullopt;
  }
  std::string value;
  require_ok(db_->Get(rocksdb::ReadOptions(), keys::snapshot(height), &value), "read a snapshot");
  Result<StoredSnapshot> snapshot = decode_snapshot(as_bytes(value), options_.limits);
  BALLAST_ASSERT_MSG(snapshot.is_ok(), "a stored snapshot no longer decodes");
  BALLAST_ASSERT(snapshot->anchor.block.height == height);
  return std::move(snapshot).value();
}

// A snapshot must be of the stored chain: of a stored finalized block, or of the latest anchor
// again.
Status RocksStorage::check_stored_block(const Anchor& anchor) {
  Height height = anchor.block.height;
  Hash256 hash = anchor.block.hash();
  if (latest_anchor_ && latest_anchor_->block.height == height &&
      latest_anchor_->block.hash() == hash) {
    return Status::ok();
  }
  if (first_block_height_ == 0 || height < first_block_height_ || height > last_block_height_) {
    return failed_precondition("no finalized block at height " + height_text(height) +
                               " is stored");
  }
  std::string value;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), keys::block(height), &value);
  if (!got.ok()) return from_rocks(got, "cannot read the block at height " + height_text(height));
  BALLAST_ASSIGN_OR_RETURN(FinalizedEntry stored,
                           decode_finalized_entry(as_bytes(value), options_.limits));
  if (stored.block.hash() != hash) {
    return failed_precondition("the snapshot's block is not the finalized block stored at height " +
                               height_text(height));
  }
  return Status::ok();
}

Status RocksStorage::save_snapshot(const StoredSnapshot& snapshot) {
  const Anchor& anchor = snapshot.anchor;
  Height height = anchor.block.height;
  BALLAST_RETURN_IF_ERROR(check_anchor(anchor));
  if (!snapshot_heights_.empty() && height < snapshot_heights_.back()) {
    return failed_precondition("a snapshot at height " + height_text(height) +
                               " is older than the latest one at height " +
                               height_text(snapshot_heights_.back()));
  }
  BALLAST_RETURN_IF_ERROR(check_stored_block(anchor));
  rocksdb::WriteBatch batch;
  Bytes value = encode_snapshot(snapshot);
  batch.Put(keys::snapshot(height), slice(value));
  std::vector<Height> heights = snapshot_heights_;
  if (heights.empty() || heights.back() != height) heights.push_back(height);
  while (heights.size() > kKeptSnapshots) {
    batch.Delete(keys::snapshot(heights.front()));
    heights.erase(heights.begin());
  }
  Height retain = options_.retain_blocks;
  Height cutoff = height > retain ? height - retain : 0;
  bool prune = first_block_height_ != 0 && cutoff > first_block_height_;
  if (prune) batch.DeleteRange(std::string(1, keys::kBlockPrefix), keys::block(cutoff));
  BALLAST_RETURN_IF_ERROR(
      write_synced(batch, "cannot save the snapshot at height " + height_text(height)));
  snapshot_heights_ = std::move(heights);
  latest_anchor_ = anchor;
  if (prune) first_block_height_ = cutoff;
  return Status::ok();
}

Status RocksStorage::install_snapshot(const StoredSnapshot& snapshot) {
  const Anchor& anchor = snapshot.anchor;
  Height height = anchor.block.height;
  BALLAST_RETURN_IF_ERROR(check_anchor(anchor));
  BALLAST_ASSERT(height < std::numeric_limits<Height>::max());
  // Keep the stored blocks above the snapshot as far as they chain onto it.
  Height kept_last = 0;
  Hash256 kept_hash = anchor.block.hash();
  Status scanned = scan(*db_, keys::kBlockPrefix, height + 1, [&](Height at, ByteView value) {
    Result<FinalizedEntry> entry = decode_finalized_entry(value, options_.limits);
    if (!entry.is_ok()) return Result<bool>(entry.status());
    if (at != (kept_last == 0 ? height : kept_last) + 1 || entry->block.parent != kept_hash) {
      return Result<bool>(false);
    }
    kept_last = at;
    kept_hash = entry->block.hash();
    return Result<bool>(true);
  });
  BALLAST_RETURN_IF_ERROR(scanned);
  rocksdb::WriteBatch batch;
  batch.DeleteRange(std::string(1, keys::kBlockPrefix), keys::block(height + 1));
  batch.DeleteRange(keys::block((kept_last == 0 ? height : kept_last) + 1),
                    keys::prefix_end(keys::kBlockPrefix));
  batch.DeleteRange(std::string(1, keys::kSnapshotPrefix), keys::snapshot(height));
  batch.DeleteRange(keys::snapshot(height + 1), keys::prefix_end(keys::kSnapshotPrefix));
  Bytes value = encode_snapshot(snapshot);
  batch.Put(keys::snapshot(height), slice(value));
  BALLAST_RETURN_IF_ERROR(
      write_synced(batch, "cannot install the snapshot at height " + height_text(height)));
  snapshot_heights_ = {height};
  latest_anchor_ = anchor;
  first_block_height_ = kept_last == 0 ? 0 : height + 1;
  last_block_height_ = kept_last;
  tip_hash_ = kept_hash;
  return Status::ok();
}

rocksdb::WriteOptions RocksStorage::consensus_write(bool& owed) {
  if (options_.sync_consensus_writes) return synced();
  owed = true;
  return rocksdb::WriteOptions();
}

Status RocksStorage::sync_wal() {
  return from_rocks(db_->SyncWAL(), "cannot sync the chain's log");
}

Status RocksStorage::write_synced(rocksdb::WriteBatch& batch, const std::string& what) {
  return from_rocks(db_->Write(synced(), &batch), what);
}

}  // namespace ballast::storage
