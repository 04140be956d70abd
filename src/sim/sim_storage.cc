#include "sim/sim_storage.h"

namespace ballast::sim {

void SimStorage::persist_voting_state(const consensus::VotingState& state) {
  volatile_voting_ = state;
  sync();
}

void SimStorage::append_finalized(std::span<const consensus::FinalizedEntry> entries) {
  volatile_finalized_.insert(volatile_finalized_.end(), entries.begin(), entries.end());
  sync();
}

void SimStorage::sync() {
  durable_voting_ = volatile_voting_;
  durable_finalized_.insert(durable_finalized_.end(), volatile_finalized_.begin(),
                            volatile_finalized_.end());
  volatile_finalized_.clear();
  syncs_ += 1;
}

void SimStorage::crash() {
  volatile_voting_ = durable_voting_;
  volatile_finalized_.clear();
}

}  // namespace ballast::sim
