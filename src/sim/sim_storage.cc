#include "sim/sim_storage.h"

#include <algorithm>

namespace ballast::sim {

void SimStorage::persist_voting_state(const consensus::VotingState& state) {
  written(state);
  if (!sync_on_write_) wrote_unsynced_.voting_state = true;
}

void SimStorage::append_finalized(std::span<const consensus::FinalizedEntry> entries) {
  written(std::vector<consensus::FinalizedEntry>(entries.begin(), entries.end()));
  if (!sync_on_write_) wrote_unsynced_.blocks = true;
}

void SimStorage::written(Write write) {
  unsynced_.push_back(std::move(write));
  if (sync_on_write_) sync();
}

void SimStorage::sync() {
  make_durable(unsynced_.size());
  syncs_ += 1;
}

void SimStorage::crash(std::size_t surviving) {
  make_durable(std::min(surviving, unsynced_.size()));
  unsynced_.clear();
  wrote_unsynced_ = {};
}

void SimStorage::make_durable(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (auto* voting = std::get_if<consensus::VotingState>(&unsynced_[i])) {
      durable_voting_ = std::move(*voting);
    } else {
      auto& entries = std::get<std::vector<consensus::FinalizedEntry>>(unsynced_[i]);
      durable_finalized_.insert(durable_finalized_.end(), entries.begin(), entries.end());
    }
  }
  unsynced_.erase(unsynced_.begin(), unsynced_.begin() + static_cast<std::ptrdiff_t>(count));
}

}  // namespace ballast::sim
