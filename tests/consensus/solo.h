// One replica under test, driven by hand: the test plays every other validator, signing what they
// would sign with the ChainBuilder, and reads what the replica sends.
#pragma once

#include <memory>
#include <vector>

#include "fixtures.h"

namespace ballast::consensus::testing {

class Solo {
 public:
  Solo(ChainBuilder& chain, ValidatorIndex self, ReplicaConfig config = {})
      : chain_(chain), verifier_(chain.validators().size()), signer_(self), storage_(&counter_) {
    config.chain_id = chain.chain_id();
    config.self = self;
    config_ = config;
    build();
  }
  ~Solo() { replica_.reset(); }

  Replica& replica() { return *replica_; }
  TestApplication& application() { return *application_; }
  MemoryStorage& storage() { return storage_; }
  TestSigner& signer() { return signer_; }
  const TestVerifier& verifier() const { return verifier_; }
  ValidatorIndex self() const { return config_.self; }

  void start(TimeMs now) {
    replica_->start(now);
    collect();
  }
  void deliver(ValidatorIndex from, const Message& message, TimeMs now) {
    replica_->on_message(from, message, now);
    collect();
  }
  void tick(TimeMs now) {
    replica_->on_tick(now);
    collect();
  }
  // While held, messages stay inside the replica (not yet sent), so a restart loses them: a
  // crash after persisting and before sending.
  void hold(bool held) {
    held_ = held;
    if (!held_) collect();
  }
  // Destroys the replica (with anything it had not sent) and builds a new one over the same
  // storage and key with a fresh application, then starts it.
  void restart(TimeMs now) {
    replica_.reset();
    held_ = false;
    build();
    start(now);
  }

  // Everything the replica sent since the last call.
  std::vector<Outgoing> take_sent() { return std::exchange(recent_, {}); }
  const std::vector<Outgoing>& all_sent() const { return all_; }
  const std::vector<FinalizedBlock>& finalized() const { return finalized_; }
  // Own votes sent so far (all, or of one kind / view).
  std::vector<Vote> votes(std::optional<VoteKind> kind = std::nullopt,
                          std::optional<View> view = std::nullopt) const {
    std::vector<Vote> found;
    for (const Outgoing& out : all_) {
      if (const auto* vote = std::get_if<Vote>(out.message.get())) {
        if ((!kind || vote->kind == *kind) && (!view || vote->view == *view)) {
          found.push_back(*vote);
        }
      }
    }
    return found;
  }
  template <typename T>
  std::vector<T> sent_of(const std::vector<Outgoing>& batch) const {
    std::vector<T> found;
    for (const Outgoing& out : batch) {
      if (const auto* item = std::get_if<T>(out.message.get())) found.push_back(*item);
    }
    return found;
  }
  template <typename T>
  std::vector<T> all_of() const {
    return sent_of<T>(all_);
  }
  // Votes that left the replica before any persisted voting state recorded them.
  const std::vector<Vote>& unpersisted_votes() const { return unpersisted_; }

 private:
  void build() {
    application_ = std::make_unique<TestApplication>();
    replica_ = std::make_unique<Replica>(config_, chain_.validators(), signer_, verifier_, storage_,
                                         *application_, chain_.genesis());
  }
  void collect() {
    for (FinalizedBlock& block : replica_->take_finalized()) finalized_.push_back(block);
    if (held_) return;
    std::vector<Outgoing> batch = replica_->take_outgoing();
    std::uint64_t taken = counter_.advance();
    for (const Outgoing& out : batch) {
      if (const auto* vote = std::get_if<Vote>(out.message.get())) {
        auto persisted = storage_.first_recorded(vote->kind, vote->view, vote->block);
        if (!persisted || *persisted > taken) unpersisted_.push_back(*vote);
      }
      recent_.push_back(out);
      all_.push_back(out);
    }
  }

  ChainBuilder& chain_;
  ReplicaConfig config_;
  TestVerifier verifier_;
  TestSigner signer_;
  EventCounter counter_;
  MemoryStorage storage_;
  std::unique_ptr<TestApplication> application_;
  std::unique_ptr<Replica> replica_;
  bool held_ = false;
  std::vector<Outgoing> recent_;
  std::vector<Outgoing> all_;
  std::vector<FinalizedBlock> finalized_;
  std::vector<Vote> unpersisted_;
};

// The first validator index that is none of `avoid`.
inline ValidatorIndex first_other_than(const std::vector<ValidatorIndex>& avoid) {
  for (ValidatorIndex index = 0;; ++index) {
    if (std::find(avoid.begin(), avoid.end(), index) == avoid.end()) return index;
  }
}

// `count` validator indices other than `self`, ascending.
inline std::vector<ValidatorIndex> others(ValidatorIndex self, std::size_t count) {
  std::vector<ValidatorIndex> chosen;
  for (ValidatorIndex index = 0; chosen.size() < count; ++index) {
    if (index != self) chosen.push_back(index);
  }
  return chosen;
}

}  // namespace ballast::consensus::testing
