#include "node/equivocator.h"

#include <arpa/inet.h>

#include <array>

namespace ballast::node {

namespace {

using consensus::Message;
using consensus::MessagePtr;
using consensus::Outgoing;
using consensus::Proposal;
using consensus::ValidatorIndex;
using consensus::Vote;
using consensus::VoteKind;

// Views whose second block is remembered: far more than a replica keeps voting in at once.
constexpr std::size_t kRememberedViews = 64;
constexpr std::string_view kForgedBlockTag = "ballast-test-forged-block";

// A block hash no honest proposal has: what the forged notarize vote names outside our views.
Hash256 forged_block_hash(const Hash256& honest) {
  Sha256 hash;
  hash.update(as_bytes(kForgedBlockTag));
  hash.update(honest.view());
  return hash.finish();
}

bool is_loopback(const std::string& host) {
  std::array<std::uint8_t, 16> address{};
  if (::inet_pton(AF_INET, host.c_str(), address.data()) == 1) return address[0] == 127;
  if (::inet_pton(AF_INET6, host.c_str(), address.data()) != 1) return false;
  static constexpr std::array<std::uint8_t, 16> kIpv6Loopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                                 0, 0, 0, 0, 0, 0, 0, 1};
  return address == kIpv6Loopback;
}

}  // namespace

Equivocator::Equivocator(std::string chain_id, ValidatorIndex self, std::size_t validators,
                         consensus::Signer& signer)
    : chain_id_(std::move(chain_id)), self_(self), validators_(validators), signer_(signer) {
  BALLAST_ASSERT(self_ < validators_);
}

bool Equivocator::hears_honest(ValidatorIndex peer) const {
  BALLAST_ASSERT(peer != self_ && peer < validators_);
  const std::size_t position = peer < self_ ? peer : peer - 1;  // among the other validators
  const std::size_t others = validators_ - 1;
  return position < (others + 1) / 2;
}

std::vector<Outgoing> Equivocator::corrupt(std::vector<Outgoing> honest) {
  std::vector<Outgoing> out;
  out.reserve(honest.size() * validators_);
  for (const Outgoing& message : honest) corrupt_one(message, out);
  return out;
}

std::vector<ValidatorIndex> Equivocator::destinations(const Outgoing& honest) const {
  if (honest.to) return {*honest.to};
  std::vector<ValidatorIndex> peers;
  for (ValidatorIndex peer = 0; peer < validators_; ++peer) {
    if (peer != self_) peers.push_back(peer);
  }
  return peers;
}

void Equivocator::corrupt_one(const Outgoing& honest, std::vector<Outgoing>& out) {
  MessagePtr other_face;  // for the upper half, instead of the honest message
  MessagePtr extra;       // for everyone, beside it
  if (const auto* proposal = std::get_if<Proposal>(honest.message.get())) {
    if (proposal->block.proposer == self_) other_face = forged_proposal(*proposal);
  } else if (const auto* vote = std::get_if<Vote>(honest.message.get());
             vote != nullptr && vote->signer == self_) {
    if (vote->kind == VoteKind::kNotarize) other_face = forged_notarize(*vote);
    if (vote->kind == VoteKind::kFinalize) extra = nullify_beside(*vote);
  }
  for (ValidatorIndex peer : destinations(honest)) {
    const bool forged = other_face != nullptr && !hears_honest(peer);
    out.push_back({peer, forged ? other_face : honest.message});
    if (extra != nullptr) out.push_back({peer, extra});
  }
}

MessagePtr Equivocator::forged_proposal(const Proposal& proposal) {
  const Hash256 honest_hash = proposal.block.hash();
  consensus::Block second = proposal.block;
  second.timestamp_ms += 1;  // still a valid block, with another hash
  const Hash256 second_hash = second.hash();
  second_blocks_[second.view] = {honest_hash, second_hash};
  while (second_blocks_.size() > kRememberedViews) second_blocks_.erase(second_blocks_.begin());
  stats_.conflicting_proposals += 1;
  return std::make_shared<const Message>(Proposal{
      std::move(second), signer_.sign(consensus::proposal_digest(chain_id_, second_hash))});
}

MessagePtr Equivocator::forged_notarize(const Vote& vote) {
  Hash256 other_block = forged_block_hash(vote.block);
  if (auto it = second_blocks_.find(vote.view);
      it != second_blocks_.end() && it->second.first == vote.block) {
    other_block = it->second.second;
  }
  stats_.conflicting_votes += 1;
  return std::make_shared<const Message>(sign_vote(VoteKind::kNotarize, vote.view, other_block));
}

MessagePtr Equivocator::nullify_beside(const Vote& finalize) {
  stats_.double_votes += 1;
  return std::make_shared<const Message>(sign_vote(VoteKind::kNullify, finalize.view, Hash256{}));
}

Vote Equivocator::sign_vote(VoteKind kind, consensus::View view, const Hash256& block) {
  return Vote{kind, view, block, self_,
              signer_.sign(consensus::vote_digest(chain_id_, kind, view, block))};
}

Status check_byzantine_allowed(const NodeConfig& config) {
  std::vector<const HostPort*> addresses = {&config.listen, &config.api_listen};
  for (const PeerConfig& peer : config.peers) addresses.push_back(&peer.address);
  for (const HostPort* address : addresses) {
    if (!is_loopback(address->host)) {
      return invalid_argument(
          "--byzantine-equivocate and --test-corrupt-state-at-height are for tests on one "
          "machine only, and " +
          address->to_string() + " is not a loopback address");
    }
  }
  return Status::ok();
}

}  // namespace ballast::node
