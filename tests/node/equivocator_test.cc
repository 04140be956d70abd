// The TEST-ONLY Byzantine mode of a validator (node/equivocator.h): an honest replica's output,
// rewritten, must carry validly signed conflicting messages, and an honest replica that hears
// both faces must record evidence against the validator. Replicas are driven by hand (the
// consensus tests' Solo harness); signatures are the consensus test fixtures'.
#include "node/equivocator.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "fixtures.h"
#include "solo.h"

namespace ballast::node {
namespace {

using consensus::Block;
using consensus::Certificate;
using consensus::Message;
using consensus::Outgoing;
using consensus::Proposal;
using consensus::ValidatorIndex;
using consensus::View;
using consensus::Vote;
using consensus::VoteKind;
using consensus::testing::bytes_of;
using consensus::testing::ChainBuilder;
using consensus::testing::first_other_than;
using consensus::testing::others;
using consensus::testing::Solo;
using consensus::testing::TestSigner;
using consensus::testing::TestVerifier;

// What each peer received, in order.
std::map<ValidatorIndex, std::vector<Message>> by_peer(const std::vector<Outgoing>& sent) {
  std::map<ValidatorIndex, std::vector<Message>> received;
  for (const Outgoing& out : sent) {
    EXPECT_TRUE(out.to.has_value()) << "a Byzantine validator addresses every message";
    received[*out.to].push_back(*out.message);
  }
  return received;
}

std::vector<Vote> votes_of(const std::vector<Message>& messages, VoteKind kind) {
  std::vector<Vote> votes;
  for (const Message& message : messages) {
    if (const auto* vote = std::get_if<Vote>(&message); vote && vote->kind == kind) {
      votes.push_back(*vote);
    }
  }
  return votes;
}

class EquivocatorTest : public ::testing::Test {
 protected:
  ChainBuilder chain_{{1, 1, 1, 1}};
  TestVerifier verifier_{4};
  // The leader's block of view 1, and a validator that is not its leader turned Byzantine.
  const Block block_ = chain_.child(chain_.genesis(), 1, {bytes_of("a")});
  const ValidatorIndex byzantine_ = first_other_than({block_.proposer});
  Solo byzantine_replica_{chain_, byzantine_};
  TestSigner byzantine_signer_{byzantine_};
  Equivocator equivocator_{chain_.chain_id(), byzantine_, 4, byzantine_signer_};

  bool validly_signed(const Vote& vote) {
    return verifier_.verify(
        vote.signer, consensus::vote_digest(chain_.chain_id(), vote.kind, vote.view, vote.block),
        vote.signature);
  }
  bool validly_signed(const Proposal& proposal) {
    return verifier_.verify(proposal.block.proposer,
                            consensus::proposal_digest(chain_.chain_id(), proposal.block.hash()),
                            proposal.signature);
  }
  // What the Byzantine validator's honest replica sends on the leader's proposal of view 1.
  std::vector<Outgoing> honest_notarize() {
    byzantine_replica_.start(0);
    (void)byzantine_replica_.take_sent();
    byzantine_replica_.deliver(block_.proposer, chain_.propose(block_), 10);
    return byzantine_replica_.take_sent();
  }
};

TEST_F(EquivocatorTest, LowerHalfOfThePeersHearsTheHonestFace) {
  TestSigner signer(3);
  Equivocator last(chain_.chain_id(), 3, 4, signer);
  EXPECT_TRUE(last.hears_honest(0));
  EXPECT_TRUE(last.hears_honest(1));
  EXPECT_FALSE(last.hears_honest(2));
  Equivocator first(chain_.chain_id(), 0, 4, signer);
  EXPECT_TRUE(first.hears_honest(1));
  EXPECT_TRUE(first.hears_honest(2));
  EXPECT_FALSE(first.hears_honest(3));
}

TEST_F(EquivocatorTest, NotarizeVoteGetsAValidlySignedTwinForAnotherBlock) {
  const Block& block = block_;
  const ValidatorIndex byzantine = byzantine_;
  Equivocator& equivocator = equivocator_;
  auto received = by_peer(equivocator.corrupt(honest_notarize()));

  std::set<Hash256> blocks;
  for (ValidatorIndex peer : others(byzantine, 3)) {
    std::vector<Vote> votes = votes_of(received[peer], VoteKind::kNotarize);
    ASSERT_EQ(votes.size(), 1u) << "peer " << peer;
    EXPECT_EQ(votes[0].view, 1u);
    EXPECT_EQ(votes[0].signer, byzantine);
    EXPECT_TRUE(validly_signed(votes[0]));
    EXPECT_EQ(votes[0].block == block.hash(), equivocator.hears_honest(peer)) << "peer " << peer;
    blocks.insert(votes[0].block);
  }
  EXPECT_EQ(blocks.size(), 2u) << "two different blocks, one view";
  EXPECT_EQ(equivocator.stats().conflicting_votes, 1u);
}

TEST_F(EquivocatorTest, HonestReplicaHearingBothNotarizeVotesRecordsEvidence) {
  const Block& block = block_;
  const ValidatorIndex byzantine = byzantine_;
  Equivocator& equivocator = equivocator_;
  auto received = by_peer(equivocator.corrupt(honest_notarize()));
  const ValidatorIndex honest_peer = first_other_than({byzantine, block.proposer});
  const ValidatorIndex forged_peer = byzantine == 3 ? 2 : 3;
  ASSERT_FALSE(equivocator.hears_honest(forged_peer));

  Solo honest(chain_, honest_peer);
  honest.start(0);
  for (ValidatorIndex peer : {honest_peer, forged_peer}) {
    for (const Message& message : received[peer]) honest.deliver(byzantine, message, 20);
  }
  ASSERT_EQ(honest.replica().evidence().size(), 1u);
  EXPECT_EQ(honest.replica().evidence()[0].validator, byzantine);
  EXPECT_EQ(honest.replica().evidence()[0].view, 1u);
  EXPECT_EQ(honest.replica().evidence()[0].what, "two notarize votes");
}

TEST_F(EquivocatorTest, FinalizeVoteGoesWithANullifyVoteAndThatIsEvidence) {
  const Block& block = block_;
  const ValidatorIndex byzantine = byzantine_;
  Equivocator& equivocator = equivocator_;
  (void)honest_notarize();
  byzantine_replica_.deliver(
      block.proposer,
      chain_.certificate(VoteKind::kNotarize, 1, block.hash(), others(byzantine, 3)), 20);
  auto received = by_peer(equivocator.corrupt(byzantine_replica_.take_sent()));

  const ValidatorIndex peer = first_other_than({byzantine});
  std::vector<Vote> finalize = votes_of(received[peer], VoteKind::kFinalize);
  std::vector<Vote> nullify = votes_of(received[peer], VoteKind::kNullify);
  ASSERT_EQ(finalize.size(), 1u);
  ASSERT_EQ(nullify.size(), 1u);
  EXPECT_EQ(nullify[0].view, finalize[0].view);
  EXPECT_TRUE(validly_signed(nullify[0]));
  EXPECT_EQ(equivocator.stats().double_votes, 1u);

  Solo honest(chain_, peer);
  honest.start(0);
  honest.deliver(byzantine, finalize[0], 30);
  honest.deliver(byzantine, nullify[0], 31);
  ASSERT_EQ(honest.replica().evidence().size(), 1u);
  EXPECT_EQ(honest.replica().evidence()[0].validator, byzantine);
  EXPECT_EQ(honest.replica().evidence()[0].what, "finalize and nullify");
}

TEST_F(EquivocatorTest, LeaderProposesTwoValidBlocksAndVotesForEachWhereItShowsIt) {
  const ValidatorIndex byzantine = chain_.leader(1, chain_.genesis());
  consensus::ReplicaConfig config;
  config.empty_block_interval_ms = 0;  // propose at once
  Solo replica(chain_, byzantine, config);
  replica.application().queue("a");
  replica.start(0);
  TestSigner signer(byzantine);
  Equivocator equivocator(chain_.chain_id(), byzantine, 4, signer);
  auto received = by_peer(equivocator.corrupt(replica.take_sent()));

  std::map<ValidatorIndex, Proposal> shown;
  for (ValidatorIndex peer : others(byzantine, 3)) {
    for (const Message& message : received[peer]) {
      if (const auto* proposal = std::get_if<Proposal>(&message)) shown.emplace(peer, *proposal);
    }
    ASSERT_TRUE(shown.contains(peer)) << "peer " << peer;
    EXPECT_TRUE(validly_signed(shown[peer]));
    EXPECT_EQ(shown[peer].block.view, 1u);
    std::vector<Vote> votes = votes_of(received[peer], VoteKind::kNotarize);
    ASSERT_EQ(votes.size(), 1u);
    EXPECT_EQ(votes[0].block, shown[peer].block.hash()) << "the vote names the block shown";
  }
  const ValidatorIndex honest_peer = first_other_than({byzantine});
  const ValidatorIndex forged_peer = byzantine == 3 ? 2 : 3;
  EXPECT_NE(shown[honest_peer].block.hash(), shown[forged_peer].block.hash());

  // Each face alone is a proposal an honest replica votes for; both together are evidence.
  Solo honest(chain_, honest_peer);
  honest.start(0);
  honest.deliver(byzantine, shown[forged_peer], 10);
  ASSERT_EQ(honest.votes(VoteKind::kNotarize).size(), 1u);
  EXPECT_EQ(honest.votes(VoteKind::kNotarize)[0].block, shown[forged_peer].block.hash());
  honest.deliver(byzantine, shown[honest_peer], 11);
  ASSERT_EQ(honest.replica().evidence().size(), 1u);
  EXPECT_EQ(honest.replica().evidence()[0].what, "two proposals");
}

TEST_F(EquivocatorTest, OtherValidatorsMessagesPassUnchanged) {
  TestSigner signer(3);
  Equivocator equivocator(chain_.chain_id(), 3, 4, signer);
  Certificate certificate = chain_.certificate(VoteKind::kNullify, 1, Hash256{}, {0, 1, 2});
  std::vector<Outgoing> honest = {
      {std::nullopt, std::make_shared<const Message>(certificate)},
      {1, std::make_shared<const Message>(chain_.vote(VoteKind::kNullify, 1, Hash256{}, 3))}};
  std::vector<Outgoing> sent = equivocator.corrupt(honest);
  ASSERT_EQ(sent.size(), 4u) << "the broadcast to three peers, the vote to one";
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(sent[i].message, honest[0].message);
  EXPECT_EQ(sent[3].to, 1u);
  EXPECT_EQ(sent[3].message, honest[1].message);
  EXPECT_EQ(equivocator.stats().total(), 0u);
}

NodeConfig config_on(const std::string& host) {
  NodeConfig config;
  config.listen = {"127.0.0.1", 27'000};
  config.api_listen = {"::1", 27'100};
  config.peers.push_back({1, {"127.0.0.2", 27'001}, {}});
  config.peers.push_back({2, {host, 27'002}, {}});
  return config;
}

TEST(ByzantineAllowedTest, OnlyOnLoopbackAddresses) {
  EXPECT_TRUE(check_byzantine_allowed(config_on("127.0.0.1")).is_ok());
  Status refused = check_byzantine_allowed(config_on("10.0.0.7"));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("10.0.0.7"), std::string::npos) << refused.message();
  EXPECT_FALSE(check_byzantine_allowed(config_on("::2")).is_ok());
}

}  // namespace
}  // namespace ballast::node
