// Durable consensus storage on RocksDB: the replica's voting state, the finalized chain, and the
// application snapshots that a restart or a syncing peer starts from (docs/STORAGE.md).
//
// Every write the replica relies on is durable before anything that depends on it leaves the
// process: synced before the call returns, or (without sync_consensus_writes) by the owner's
// sync_wal() before it sends the replica's messages that follow a voting state write. Every change
// that spans several keys is one atomic batch, and the write-ahead log keeps the writes' order, so
// a kill -9 at any moment leaves the old state or the new one, never a mix. open() checks
// everything stored and reports damage as a Status; data that fails its checks later (the disk
// changed under a running node) aborts the process rather than being served. It must never
// interpret application snapshots (opaque bytes) and never drop a finalized block above the latest
// snapshot. One owner thread: only sync_wal() may be called from another thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "consensus/interfaces.h"
#include "storage/encoding.h"

namespace rocksdb {
class DB;
class WriteBatch;
struct WriteOptions;
}  // namespace rocksdb

namespace ballast::storage {

struct StorageOptions {
  // Finalized blocks kept below the latest snapshot's height, to serve peers that sync.
  std::size_t retain_blocks = 100'000;
  consensus::MessageLimits limits;
  // Whether the voting state and finalized blocks are synced before their writes return. A node
  // turns this off and calls sync_wal() before it sends what depends on them
  // (node/synced_sender.h), so the thread that runs consensus never waits for the disk, and the
  // writes of several rounds share one sync.
  bool sync_consensus_writes = true;
};

class RocksStorage final : public consensus::Storage {
 public:
  // Opens (creating if missing) the database in `directory` and checks everything in it. Fails
  // with failed_precondition if another process (or another open here) holds the directory,
  // with corruption if stored data fails its checks, and io_error if the system refuses.
  static Result<std::unique_ptr<RocksStorage>> open(const std::string& directory,
                                                    StorageOptions options);
  ~RocksStorage() override;
  RocksStorage(const RocksStorage&) = delete;
  RocksStorage& operator=(const RocksStorage&) = delete;

  // consensus::Storage. Both writes are synced before they return unless sync_consensus_writes
  // is off; a write the disk refuses aborts the process, because the replica would otherwise
  // speak without a durable record.
  void persist_voting_state(const consensus::VotingState& state) override;
  void append_finalized(std::span<const consensus::FinalizedEntry> entries) override;
  consensus::VotingState load_voting_state() override;
  // The anchor of the latest snapshot, if any.
  std::optional<consensus::Anchor> load_anchor() override;
  // The finalized entries above the latest snapshot (above genesis without one), height order.
  std::vector<consensus::FinalizedEntry> load_finalized() override;

  // Stores a snapshot of the stored chain durably, then (in the same atomic write) prunes the
  // blocks below its height minus retain_blocks and all but the latest two snapshots. The
  // anchor must be a stored finalized block (or the latest anchor) not below the latest
  // snapshot, finalized by its certificate.
  Status save_snapshot(const StoredSnapshot& snapshot);
  std::optional<StoredSnapshot> latest_snapshot();
  // A kept snapshot by height (a peer may still be downloading the one before the latest).
  std::optional<StoredSnapshot> snapshot_at(consensus::Height height);
  // The heights of the kept snapshots, ascending.
  const std::vector<consensus::Height>& snapshot_heights() const { return snapshot_heights_; }
  // State sync: the chain restarts at this snapshot, durably and atomically. Every other
  // snapshot and every block at or below its height is dropped; blocks above it are kept only
  // as far as they chain onto it. The voting state is kept.
  Status install_snapshot(const StoredSnapshot& snapshot);

  // For peers that sync: up to max_count consecutive entries starting at `from` (none if `from`
  // is pruned or beyond the chain), stopping before the encoded total would pass max_bytes
  // (the first entry is returned whatever its size). Each certificate finalizes its block or a
  // descendant, as it was stored.
  std::vector<consensus::FinalizedEntry> finalized_range(consensus::Height from,
                                                         std::size_t max_count,
                                                         std::size_t max_bytes);
  // What went in unsynced since the last call (never with sync_consensus_writes on).
  consensus::UnsyncedWrites take_unsynced_writes() { return std::exchange(unsynced_, {}); }
  // Makes every write made before the call durable. Thread-safe, and it does not hold up the
  // owner's writes meanwhile.
  Status sync_wal();

  // The highest finalized block stored, or the latest anchor's height, or 0.
  consensus::Height last_height() const;
  // The lowest finalized block still stored (everything below was pruned); 0 if none.
  consensus::Height first_height() const { return first_block_height_; }

 private:
  RocksStorage(StorageOptions options, std::unique_ptr<rocksdb::DB> db);
  Status load();
  Status check_format();
  Status load_voting_view();
  Result<std::map<consensus::Height, Hash256>> load_snapshots();
  Status load_blocks(const std::map<consensus::Height, Hash256>& snapshot_hashes);
  Status check_chain_meets_anchor(const Hash256& first_parent);
  Status check_stored_block(const consensus::Anchor& anchor);
  std::vector<consensus::FinalizedEntry> read_range(consensus::Height from, std::size_t max_count,
                                                    std::size_t max_bytes);
  Status write_synced(rocksdb::WriteBatch& batch, const std::string& what);
  // Unsynced without sync_consensus_writes, and then `owed` is set.
  rocksdb::WriteOptions consensus_write(bool& owed);

  StorageOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  consensus::View persisted_view_ = 0;               // the view of the stored voting state
  std::vector<consensus::Height> snapshot_heights_;  // ascending
  std::optional<consensus::Anchor> latest_anchor_;   // of the highest snapshot
  consensus::Height first_block_height_ = 0;         // 0: no block stored
  consensus::Height last_block_height_ = 0;
  std::optional<Hash256> tip_hash_;  // the last block or the anchor; nothing at genesis
  consensus::UnsyncedWrites unsynced_;
};

}  // namespace ballast::storage
