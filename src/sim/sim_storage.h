// Simulated durable storage with crash semantics. Writes are kept in order and become durable
// only when synced; a crash keeps at most a prefix of the unsynced ones, as a write-ahead log
// does. By default both calls sync before returning, as a storage that syncs itself does: a
// crash right after a persist call (before the vote is sent) loses nothing, and everything the
// replica kept only in memory is lost. Without `sync_on_write` it behaves as the node's chain
// storage does (docs/STORAGE.md): the writes stay unsynced until the driver calls sync(), which
// it does before sending what the replica emitted after a voting state write.
#pragma once

#include <utility>
#include <variant>
#include <vector>

#include "consensus/interfaces.h"

namespace ballast::sim {

class SimStorage final : public consensus::Storage {
 public:
  explicit SimStorage(bool sync_on_write = true) : sync_on_write_(sync_on_write) {}

  void persist_voting_state(const consensus::VotingState& state) override;
  void append_finalized(std::span<const consensus::FinalizedEntry> entries) override;
  consensus::VotingState load_voting_state() override { return durable_voting_; }
  std::optional<consensus::Anchor> load_anchor() override { return std::nullopt; }
  std::vector<consensus::FinalizedEntry> load_finalized() override { return durable_finalized_; }

  // Makes every write so far durable.
  void sync();
  // The process died: of the unsynced writes, the first `surviving` reached the disk anyway
  // and the rest are gone.
  void crash(std::size_t surviving = 0);
  std::size_t unsynced_writes() const { return unsynced_.size(); }
  // What went in unsynced since the last call (never with sync_on_write).
  consensus::UnsyncedWrites take_unsynced_writes() { return std::exchange(wrote_unsynced_, {}); }
  std::uint64_t syncs() const { return syncs_; }

 private:
  using Write = std::variant<consensus::VotingState, std::vector<consensus::FinalizedEntry>>;
  void written(Write write);
  void make_durable(std::size_t count);  // the first `count` unsynced writes

  bool sync_on_write_;
  consensus::UnsyncedWrites wrote_unsynced_;
  std::vector<Write> unsynced_;  // in the order written
  consensus::VotingState durable_voting_;
  std::vector<consensus::FinalizedEntry> durable_finalized_;
  std::uint64_t syncs_ = 0;
};

}  // namespace ballast::sim
