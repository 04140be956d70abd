#include "test_chain.h"

#include <string>

namespace ballast::storage::testing {

using consensus::Block;
using consensus::Certificate;
using consensus::FinalizedEntry;
using consensus::Height;
using consensus::View;

namespace {

Hash256 tag_hash(std::string_view tag, std::uint64_t value) {
  return sha256(as_bytes(std::string(tag) + std::to_string(value)));
}

Certificate make_certificate(consensus::VoteKind kind, View view, const Hash256& block) {
  Certificate certificate{kind, view, block, {}};
  for (consensus::ValidatorIndex signer = 0; signer < 3; ++signer) {
    consensus::SignatureShare share;
    share.signer = signer;
    share.signature.bytes.fill(static_cast<std::uint8_t>(view * 3 + signer));
    certificate.signatures.push_back(share);
  }
  return certificate;
}

}  // namespace

Block make_block(Height height, const Hash256& parent) {
  Block block;
  block.view = height * 2;
  block.height = height;
  block.parent = parent;
  block.parent_view = height == 0 ? 0 : (height - 1) * 2;
  block.proposer = static_cast<consensus::ValidatorIndex>(height % 4);
  block.timestamp_ms = static_cast<consensus::TimeMs>(height * 100);
  block.state_root_height = height - 1;
  block.state_root = tag_hash("root", height - 1);
  for (std::size_t i = 0; i < height % 3 + 1; ++i) {
    std::string transaction = "tx-" + std::to_string(height) + "-" + std::to_string(i);
    block.transactions.emplace_back(transaction.begin(), transaction.end());
  }
  return block;
}

Certificate make_finalization(const Block& block) {
  return make_certificate(consensus::VoteKind::kFinalize, block.view, block.hash());
}

FinalizedEntry make_entry(Height height, const Hash256& parent) {
  Block block = make_block(height, parent);
  Certificate finalization = make_finalization(block);
  return {std::move(block), std::move(finalization)};
}

std::vector<FinalizedEntry> make_chain(Height first_height, const Hash256& parent,
                                       std::size_t count) {
  std::vector<FinalizedEntry> chain;
  Hash256 previous = parent;
  for (std::size_t i = 0; i < count; ++i) {
    chain.push_back(make_entry(first_height + i, previous));
    previous = chain.back().block.hash();
  }
  return chain;
}

consensus::Anchor make_anchor(const Block& block) {
  consensus::ActivityRecord activity;
  activity.last_missed = {0, block.view - 1, 0, 3};
  activity.last_led = {block.view, 2, 1, 0};
  return {block, make_finalization(block), activity};
}

Bytes make_application_state(Height height, std::size_t size_bytes) {
  Bytes state(size_bytes);
  for (std::size_t i = 0; i < size_bytes; ++i) state[i] = static_cast<std::uint8_t>(height + i);
  return state;
}

StoredSnapshot make_snapshot(const Block& block) {
  return {make_anchor(block), make_application_state(block.height)};
}

consensus::VotingState make_voting_state(View view) {
  consensus::VotingState state;
  state.view = view;
  Block block = make_block(view, tag_hash("parent", view));
  state.votes[view - 1] = {tag_hash("proposed", view), tag_hash("notarized", view), false, true};
  state.votes[view] = {std::nullopt, std::nullopt, true, false};
  state.justification = make_certificate(consensus::VoteKind::kNotarize, view - 1, block.hash());
  state.blocks[view - 1] = block;
  return state;
}

bool same_entry(const FinalizedEntry& a, const FinalizedEntry& b) {
  return encode_finalized_entry(a) == encode_finalized_entry(b);
}

}  // namespace ballast::storage::testing
