// Simulated durable storage with crash semantics. Writes land in a volatile buffer and become
// durable only when synced; a crash throws away whatever was not synced. The Storage contract
// says persist calls return only once durable, so both calls sync before returning: a crash
// right after a persist call (before the vote is sent) loses nothing, and everything the
// replica kept only in memory is lost.
#pragma once

#include "consensus/interfaces.h"

namespace ballast::sim {

class SimStorage final : public consensus::Storage {
 public:
  void persist_voting_state(const consensus::VotingState& state) override;
  void append_finalized(std::span<const consensus::FinalizedEntry> entries) override;
  consensus::VotingState load_voting_state() override { return durable_voting_; }
  std::optional<consensus::Anchor> load_anchor() override { return std::nullopt; }
  std::vector<consensus::FinalizedEntry> load_finalized() override { return durable_finalized_; }

  // The process died: unsynced writes are gone.
  void crash();
  std::uint64_t syncs() const { return syncs_; }

 private:
  void sync();

  consensus::VotingState volatile_voting_;
  std::vector<consensus::FinalizedEntry> volatile_finalized_;
  consensus::VotingState durable_voting_;
  std::vector<consensus::FinalizedEntry> durable_finalized_;
  std::uint64_t syncs_ = 0;
};

}  // namespace ballast::sim
