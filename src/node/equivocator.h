// TEST ONLY: a deliberately Byzantine validator, so that chaos tests can show the honest ones
// keep finalizing and record evidence against it (`ballast node --byzantine-equivocate`,
// docs/CHAOS.md). The replica underneath stays honest and never learns what is done in its name:
// this sits between its outbox and the transport and rewrites what it sends.
//
// - A notarize vote goes as signed to the lower half of the peers (by index); the upper half gets
//   a notarize vote for a different block in the same view (equivocation).
// - A proposal goes as built to the lower half; the upper half gets a second, validly signed
//   block for the same view (its timestamp one millisecond later), and the notarize votes sent
//   to them name that second block.
// - A finalize vote goes with a nullify vote for the same view (a double vote).
//
// It must never run on a real network: check_byzantine_allowed() refuses any configuration that
// is not entirely on the loopback interface.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "consensus/interfaces.h"
#include "consensus/replica.h"
#include "node/config.h"

namespace ballast::node {

struct EquivocationStats {
  std::uint64_t conflicting_votes = 0;      // notarize votes forged for another block
  std::uint64_t conflicting_proposals = 0;  // second blocks proposed for a view
  std::uint64_t double_votes = 0;           // nullify votes sent beside a finalize vote
  std::uint64_t total() const { return conflicting_votes + conflicting_proposals + double_votes; }
};

class Equivocator {
 public:
  // `signer` signs as `self`, the same key the replica signs with.
  Equivocator(std::string chain_id, consensus::ValidatorIndex self, std::size_t validators,
              consensus::Signer& signer);

  // What the validator sends instead of `honest`: every message addressed to single peers,
  // some of them replaced or joined by conflicting ones.
  std::vector<consensus::Outgoing> corrupt(std::vector<consensus::Outgoing> honest);
  const EquivocationStats& stats() const { return stats_; }
  // Whether `peer` is shown the honest face (the lower half of the other validators).
  bool hears_honest(consensus::ValidatorIndex peer) const;

 private:
  void corrupt_one(const consensus::Outgoing& honest, std::vector<consensus::Outgoing>& out);
  std::vector<consensus::ValidatorIndex> destinations(const consensus::Outgoing& honest) const;
  consensus::MessagePtr forged_proposal(const consensus::Proposal& proposal);
  consensus::MessagePtr forged_notarize(const consensus::Vote& vote);
  consensus::MessagePtr nullify_beside(const consensus::Vote& finalize);
  consensus::Vote sign_vote(consensus::VoteKind kind, consensus::View view, const Hash256& block);

  std::string chain_id_;
  consensus::ValidatorIndex self_;
  std::size_t validators_;
  consensus::Signer& signer_;
  // Per view we proposed in: our block -> the second block shown to the upper half, so our
  // notarize votes there name it. Bounded by kRememberedViews.
  std::map<consensus::View, std::pair<Hash256, Hash256>> second_blocks_;
  EquivocationStats stats_;
};

// Refuses Byzantine mode unless the validator listens and dials on loopback addresses only: it
// exists for localnets and tests, never for a network anyone relies on.
Status check_byzantine_allowed(const NodeConfig& config);

}  // namespace ballast::node
