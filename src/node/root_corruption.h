// TEST ONLY: an application whose state roots are wrong from a given height on, as if this
// process's memory had been corrupted there. `ballast node --test-corrupt-state-at-height N`
// uses it for the first application the node builds, to show the divergence path end to end:
// the replica sees its root differ from a certified one, stops voting and says why, and the
// node resynchronizes from a peer's snapshot into a fresh (honest) application. It forwards
// everything else unchanged and must never be used outside tests on one machine.
#pragma once

#include "consensus/interfaces.h"

namespace ballast::node {

class RootCorruptingApplication final : public consensus::Application {
 public:
  RootCorruptingApplication(consensus::Application& inner, consensus::Height from_height)
      : inner_(inner), from_height_(from_height) {}

  Status check_transaction(ByteView transaction) override {
    return inner_.check_transaction(transaction);
  }
  std::vector<Bytes> build_payload(consensus::Height height,
                                   std::span<const consensus::Block* const> pending,
                                   std::size_t max_transactions) override {
    return inner_.build_payload(height, pending, max_transactions);
  }
  Status verify_payload(consensus::Height height, std::span<const Bytes> transactions,
                        std::span<const consensus::Block* const> pending) override {
    return inner_.verify_payload(height, transactions, pending);
  }
  Hash256 execute(const consensus::Block& block) override;
  consensus::Height executed_height() const override { return inner_.executed_height(); }
  std::optional<Hash256> root_at(consensus::Height height) const override;
  Bytes snapshot() const override { return inner_.snapshot(); }
  Status restore(ByteView snapshot) override { return inner_.restore(snapshot); }

 private:
  Hash256 corrupted(consensus::Height height, const Hash256& root) const;

  consensus::Application& inner_;
  consensus::Height from_height_;
};

}  // namespace ballast::node
