// Deterministic chains, certificates, anchors and voting states for the storage tests and the
// crash child process. Signatures are filler bytes: storage stores certificates, it never
// checks them.
#pragma once

#include <cstddef>
#include <vector>

#include "consensus/interfaces.h"
#include "storage/encoding.h"

namespace ballast::storage::testing {

// The block at `height` on top of `parent`; its content depends only on those two.
consensus::Block make_block(consensus::Height height, const Hash256& parent);
// A finalization certificate for exactly this block.
consensus::Certificate make_finalization(const consensus::Block& block);
consensus::FinalizedEntry make_entry(consensus::Height height, const Hash256& parent);
// `count` consecutive entries from `first_height`, the first on top of `parent`.
std::vector<consensus::FinalizedEntry> make_chain(consensus::Height first_height,
                                                  const Hash256& parent, std::size_t count);
consensus::Anchor make_anchor(const consensus::Block& block);
// Application bytes that depend only on the height.
Bytes make_application_state(consensus::Height height, std::size_t size_bytes = 300);
StoredSnapshot make_snapshot(const consensus::Block& block);
// A voting state with votes, a justification and blocks, that depends only on the view.
consensus::VotingState make_voting_state(consensus::View view);

// FinalizedEntry has no operator==; its canonical encoding is its identity.
bool same_entry(const consensus::FinalizedEntry& a, const consensus::FinalizedEntry& b);

}  // namespace ballast::storage::testing
