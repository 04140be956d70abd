// One replica driven by hand: the test plays the other validators. Covers proposing, every
// notarize-vote condition, certificate checks, timers, evidence, missing blocks, state-root
// divergence and restart from storage.
#include "consensus/replica.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "fixtures.h"
#include "solo.h"

namespace ballast::consensus {
namespace {

using testing::bytes_of;
using testing::ChainBuilder;
using testing::first_other_than;
using testing::others;
using testing::Solo;
using testing::test_signature;

Hash256 hash_of(const std::string& text) {
  return sha256(as_bytes(text));
}

// A configuration whose retransmission never fires before the view timer and whose leaders never
// wait to propose an empty block, so that next_deadline() is the view deadline, with the timer
// bounds the timer tests assume.
ReplicaConfig timer_config() {
  ReplicaConfig config;
  config.empty_block_interval_ms = 0;
  config.timers.initial_timeout_ms = 1'000;
  config.timers.min_timeout_ms = 50;
  config.timers.max_timeout_ms = 10'000;
  config.timers.latency_multiplier = 4;
  config.timers.max_retransmit_interval_ms = 1'000'000;
  return config;
}

bool has_vote(const std::vector<Vote>& votes, VoteKind kind, View view) {
  return std::any_of(votes.begin(), votes.end(),
                     [&](const Vote& vote) { return vote.kind == kind && vote.view == view; });
}

class ReplicaTest : public ::testing::Test {
 protected:
  ChainBuilder chain_{{1, 1, 1, 1}};
  const Block& genesis() { return chain_.genesis(); }
  ValidatorIndex leader(View view, const Block& parent) { return chain_.leader(view, parent); }
  Certificate certificate(VoteKind kind, View view, const Hash256& block, ValidatorIndex self) {
    return chain_.certificate(kind, view, block, others(self, 3));
  }
  // Nullify votes for view 1 from the first `count` of `signers`.
  void deliver_nullify_votes(Solo& solo, const std::vector<ValidatorIndex>& signers,
                             std::size_t count, TimeMs now) {
    for (std::size_t i = 0; i < count; ++i) {
      solo.deliver(signers[i], chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[i]), now);
    }
  }
};

// --- starting, proposing, voting --------------------------------------------------------------

TEST_F(ReplicaTest, StartEntersViewOneAndArmsTheInitialTimer) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self, timer_config());
  solo.start(0);
  EXPECT_EQ(solo.replica().view(), 1u);
  EXPECT_EQ(solo.replica().finalized_height(), 0u);
  EXPECT_EQ(solo.replica().finalized_hash(), genesis().hash());
  EXPECT_EQ(solo.replica().next_deadline(), 1'000);  // TimerConfig::initial_timeout_ms
  EXPECT_TRUE(solo.take_sent().empty());
  solo.tick(999);
  EXPECT_TRUE(solo.take_sent().empty());
}

TEST_F(ReplicaTest, LeaderOfViewOneProposesOnStartAndVotesForItsBlock) {
  ValidatorIndex self = leader(1, genesis());
  Solo solo(chain_, self);
  solo.application().queue("tx-1");
  solo.application().queue("tx-2");
  solo.start(100);
  auto proposals = solo.all_of<Proposal>();
  ASSERT_EQ(proposals.size(), 1u);
  const Block& block = proposals[0].block;
  EXPECT_EQ(block.view, 1u);
  EXPECT_EQ(block.height, 1u);
  EXPECT_EQ(block.parent, genesis().hash());
  EXPECT_EQ(block.parent_view, 0u);
  EXPECT_EQ(block.proposer, self);
  EXPECT_EQ(block.timestamp_ms, 100);
  EXPECT_EQ(block.state_root_height, 0u);
  EXPECT_EQ(block.state_root, testing::TestApplication::genesis_hash());
  EXPECT_EQ(block.transactions, (std::vector<Bytes>{bytes_of("tx-1"), bytes_of("tx-2")}));
  testing::TestVerifier verifier(4);
  EXPECT_TRUE(verifier.verify(self, proposal_digest(chain_.chain_id(), block.hash()),
                              proposals[0].signature));
  auto votes = solo.votes(VoteKind::kNotarize, 1);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].block, block.hash());
  EXPECT_EQ(solo.storage().history().back().votes.at(1).proposed, block.hash());
  EXPECT_TRUE(solo.unpersisted_votes().empty());
}

// block_interval_ms spaces proposals with transactions: fewer, fuller views on a busy machine.
TEST_F(ReplicaTest, ALeaderWithTransactionsWaitsTheBlockIntervalAfterItsParent) {
  ValidatorIndex self = leader(1, genesis());
  ReplicaConfig config;
  config.block_interval_ms = 20;
  Solo solo(chain_, self, config);
  solo.application().queue("tx-1");
  solo.start(genesis().timestamp_ms + 5);
  EXPECT_TRUE(solo.all_of<Proposal>().empty());
  EXPECT_EQ(solo.replica().next_deadline(), genesis().timestamp_ms + 20);
  solo.tick(genesis().timestamp_ms + 19);
  EXPECT_TRUE(solo.all_of<Proposal>().empty());
  solo.tick(genesis().timestamp_ms + 20);
  auto proposals = solo.all_of<Proposal>();
  ASSERT_EQ(proposals.size(), 1u);
  EXPECT_EQ(proposals[0].block.timestamp_ms, genesis().timestamp_ms + 20);
  EXPECT_EQ(proposals[0].block.transactions, std::vector<Bytes>{bytes_of("tx-1")});
}

TEST_F(ReplicaTest, NotarizesTheLeadersProposalOnce) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  Block block = chain_.child(genesis(), 1, {bytes_of("a")});
  solo.deliver(block.proposer, chain_.propose(block), 10);
  auto votes = solo.votes(VoteKind::kNotarize);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].view, 1u);
  EXPECT_EQ(votes[0].block, block.hash());
  EXPECT_EQ(votes[0].signer, self);
  EXPECT_EQ(solo.storage().load_voting_state().votes.at(1).notarized, block.hash());
  // The same proposal again changes nothing.
  solo.deliver(block.proposer, chain_.propose(block), 11);
  EXPECT_EQ(solo.votes(VoteKind::kNotarize).size(), 1u);
  EXPECT_TRUE(solo.replica().evidence().empty());
}

TEST_F(ReplicaTest, SecondProposalOfTheLeaderIsEvidenceAndNotVoted) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  Block first = chain_.child(genesis(), 1, {bytes_of("a")});
  Block second = chain_.child(genesis(), 1, {bytes_of("b")});
  solo.deliver(first.proposer, chain_.propose(first), 10);
  solo.deliver(second.proposer, chain_.propose(second), 11);
  auto votes = solo.votes(VoteKind::kNotarize);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].block, first.hash());
  ASSERT_EQ(solo.replica().evidence().size(), 1u);
  const Evidence& evidence = solo.replica().evidence()[0];
  EXPECT_EQ(evidence.validator, first.proposer);
  EXPECT_EQ(evidence.view, 1u);
  EXPECT_EQ(evidence.what, "two proposals");
  EXPECT_EQ(std::get<Proposal>(evidence.first).block, first);
  EXPECT_EQ(std::get<Proposal>(evidence.second).block, second);
}

TEST_F(ReplicaTest, TimeoutSendsOneNullifyAndThenRetransmitsIt) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self, timer_config());
  solo.start(0);
  solo.tick(1'000);
  auto sent = solo.sent_of<Vote>(solo.take_sent());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind, VoteKind::kNullify);
  EXPECT_EQ(sent[0].view, 1u);
  EXPECT_EQ(sent[0].block, Hash256{});
  EXPECT_TRUE(solo.storage().load_voting_state().votes.at(1).nullified);
  std::uint64_t signatures = solo.signer().signatures_made();
  TimeMs next = solo.replica().next_deadline();
  EXPECT_GT(next, 1'000);
  solo.tick(next);
  auto again = solo.sent_of<Vote>(solo.take_sent());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], sent[0]);  // the very same signed vote
  EXPECT_EQ(solo.signer().signatures_made(), signatures);
  // A proposal arriving after the nullify is not notarized.
  Block block = chain_.child(genesis(), 1);
  solo.deliver(block.proposer, chain_.propose(block), next + 1);
  EXPECT_TRUE(solo.votes(VoteKind::kNotarize).empty());
}

// Each case is a proposal for the replica's current view that an honest replica must not
// notarize, with the setup that gets the replica there.
struct BadProposalCase {
  std::string name;
  // Returns the proposal to deliver; may first move the replica with certificates.
  std::function<Proposal(ChainBuilder&, Solo&)> make;
  bool counts_as_rejected;  // proposals_rejected (judged and refused) vs. never judged
  bool counts_as_invalid = false;
};

std::vector<BadProposalCase> bad_proposal_cases() {
  auto sign_as = [](ChainBuilder& chain, const Block& block, ValidatorIndex signer) {
    return Proposal{block, test_signature(signer, proposal_digest(chain.chain_id(), block.hash()))};
  };
  std::vector<BadProposalCase> cases;
  cases.push_back({"proposer is not the leader",
                   [sign_as](ChainBuilder& chain, Solo& solo) {
                     Block block = chain.child(chain.genesis(), 1);
                     block.proposer = first_other_than({block.proposer, solo.self()});
                     return sign_as(chain, block, block.proposer);
                   },
                   true});
  cases.push_back({"signature by someone else",
                   [sign_as](ChainBuilder& chain, Solo& solo) {
                     Block block = chain.child(chain.genesis(), 1);
                     return sign_as(chain, block, first_other_than({block.proposer, solo.self()}));
                   },
                   false, true});
  cases.push_back({"signature over another chain id",
                   [](ChainBuilder& chain, Solo&) {
                     Block block = chain.child(chain.genesis(), 1);
                     return Proposal{block, test_signature(block.proposer,
                                                           proposal_digest("other", block.hash()))};
                   },
                   false, true});
  cases.push_back({"height is not the parent's plus one",
                   [sign_as](ChainBuilder& chain, Solo&) {
                     Block block = chain.child(chain.genesis(), 1);
                     block.height = 2;
                     return sign_as(chain, block, block.proposer);
                   },
                   true});
  cases.push_back({"timestamp too far ahead",
                   [sign_as](ChainBuilder& chain, Solo&) {
                     Block block = chain.child(chain.genesis(), 1);
                     block.timestamp_ms = 10 + 5'001;  // delivered at 10, limit 5'000 ahead
                     return sign_as(chain, block, block.proposer);
                   },
                   true});
  cases.push_back({"too many transactions",
                   [sign_as](ChainBuilder& chain, Solo&) {
                     std::vector<Bytes> transactions;
                     for (int i = 0; i < 1'001; ++i)
                       transactions.push_back(bytes_of(std::to_string(i)));
                     Block block = chain.child(chain.genesis(), 1, transactions);
                     return sign_as(chain, block, block.proposer);
                   },
                   true});
  cases.push_back({"state root height not below the height",
                   [sign_as](ChainBuilder& chain, Solo&) {
                     Block block = chain.child(chain.genesis(), 1);
                     block.state_root_height = 1;
                     return sign_as(chain, block, block.proposer);
                   },
                   true});
  cases.push_back({"state root differs from ours",
                   [sign_as](ChainBuilder& chain, Solo&) {
                     Block block = chain.child(chain.genesis(), 1);
                     block.state_root = hash_of("some other state");
                     return sign_as(chain, block, block.proposer);
                   },
                   true});
  cases.push_back(
      {"payload contains bad",
       [sign_as](ChainBuilder& chain, Solo&) {
         Block block = chain.child(chain.genesis(), 1, {bytes_of("fine"), bytes_of("bad")});
         return sign_as(chain, block, block.proposer);
       },
       true});
  cases.push_back({"payload repeats a transaction",
                   [sign_as](ChainBuilder& chain, Solo&) {
                     Block block = chain.child(chain.genesis(), 1, {bytes_of("x"), bytes_of("x")});
                     return sign_as(chain, block, block.proposer);
                   },
                   true});
  cases.push_back({"parent view does not match the finalized parent",
                   [sign_as](ChainBuilder& chain, Solo& solo) {
                     for (View view : {1, 2}) {
                       solo.deliver(0,
                                    chain.certificate(VoteKind::kNullify, view, Hash256{},
                                                      others(solo.self(), 3)),
                                    5);
                     }
                     Block block = chain.child(chain.genesis(), 3);
                     block.parent_view = 1;  // genesis is view 0
                     return sign_as(chain, block, block.proposer);
                   },
                   true});
  cases.push_back(
      {"skips a view that was not nullified",
       [](ChainBuilder& chain, Solo& solo) {
         Block first = chain.child(chain.genesis(), 1);
         solo.deliver(
             0, chain.certificate(VoteKind::kNotarize, 1, first.hash(), others(solo.self(), 3)), 5);
         Block block = chain.child(chain.genesis(), 2);  // skips view 1
         return chain.propose(block);
       },
       false});
  cases.push_back(
      {"parent is not notarized",
       [](ChainBuilder& chain, Solo& solo) {
         Block first = chain.child(chain.genesis(), 1);
         solo.deliver(first.proposer, chain.propose(first), 5);
         solo.deliver(
             0, chain.certificate(VoteKind::kNullify, 1, Hash256{}, others(solo.self(), 3)), 5);
         Block block = chain.child(first, 2);
         return chain.propose(block);
       },
       false});
  cases.push_back(
      {"timestamp goes backwards",
       [](ChainBuilder& chain, Solo& solo) {
         Block first = chain.child(chain.genesis(), 1);
         first.timestamp_ms = 8;
         chain.remember(first);
         solo.deliver(first.proposer, chain.propose(first), 8);
         solo.deliver(
             0, chain.certificate(VoteKind::kNotarize, 1, first.hash(), others(solo.self(), 3)), 9);
         Block block = chain.child(first, 2);
         block.timestamp_ms = 7;
         chain.remember(block);
         return chain.propose(block);
       },
       true});
  return cases;
}

TEST_F(ReplicaTest, RefusesEveryKindOfBadProposal) {
  for (const BadProposalCase& bad : bad_proposal_cases()) {
    SCOPED_TRACE(bad.name);
    ChainBuilder chain({1, 1, 1, 1});
    // A replica that leads none of the first views on the chains used here.
    Block first = chain.child(chain.genesis(), 1);
    ValidatorIndex self =
        first_other_than({chain.leader(1, chain.genesis()), chain.leader(2, first),
                          chain.leader(2, chain.genesis()), chain.leader(3, chain.genesis())});
    ASSERT_LT(self, 4u) << "no validator leads none of these views; pick another chain id";
    Solo solo(chain, self);
    solo.start(0);
    Proposal proposal = bad.make(chain, solo);
    View view = proposal.block.view;
    ASSERT_EQ(solo.replica().view(), view);
    ReplicaStats before = solo.replica().stats();
    solo.deliver(proposal.block.proposer, proposal, 10);
    EXPECT_FALSE(has_vote(solo.votes(), VoteKind::kNotarize, view));
    // The view's leader proposes once: refused, its view is nullified at once, not at the timer.
    // A proposal it cannot judge yet, or from anyone else, leaves the timer to decide.
    const bool refused_from_the_leader =
        bad.counts_as_rejected && bad.name != "proposer is not the leader";
    EXPECT_EQ(has_vote(solo.votes(), VoteKind::kNullify, view), refused_from_the_leader);
    EXPECT_EQ(solo.replica().stats().proposals_rejected,
              before.proposals_rejected + (bad.counts_as_rejected ? 1 : 0));
    EXPECT_EQ(solo.replica().stats().invalid_messages,
              before.invalid_messages + (bad.counts_as_invalid ? 1 : 0));
    EXPECT_EQ(solo.replica().view(), view);
  }
}

TEST_F(ReplicaTest, BadProposalCasesAreValidWithoutTheirDefect) {
  // The control for the test above: the honest version of a proposal is notarized.
  ChainBuilder chain({1, 1, 1, 1});
  ValidatorIndex self = first_other_than({chain.leader(1, chain.genesis())});
  Solo solo(chain, self);
  solo.start(0);
  Block block = chain.child(chain.genesis(), 1, {bytes_of("fine"), bytes_of("good")});
  block.timestamp_ms = 10 + 5'000;
  chain.remember(block);
  solo.deliver(block.proposer, chain.propose(block), 10);
  EXPECT_TRUE(has_vote(solo.votes(), VoteKind::kNotarize, 1));
}

// --- certificates -----------------------------------------------------------------------------

TEST_F(ReplicaTest, ValidCertificatesMoveTheViewAndAreForwarded) {
  ValidatorIndex self = first_other_than({leader(1, genesis()), leader(2, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  Certificate nullification = certificate(VoteKind::kNullify, 1, Hash256{}, self);
  solo.deliver(0, nullification, 5);
  EXPECT_EQ(solo.replica().view(), 2u);
  EXPECT_EQ(solo.replica().stats().views_nullified, 1u);
  auto forwarded = solo.sent_of<Certificate>(solo.take_sent());
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_EQ(forwarded[0], nullification);
  EXPECT_EQ(solo.replica().stats().invalid_messages, 0u);
}

TEST_F(ReplicaTest, MalformedCertificatesAreIgnored) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  std::vector<ValidatorIndex> signers = others(self, 3);
  Hash256 block = chain_.child(genesis(), 1).hash();
  struct Case {
    std::string name;
    Certificate certificate;
  };
  std::vector<Case> cases;
  {
    Certificate forged = chain_.certificate(VoteKind::kNotarize, 1, block, signers);
    forged.signatures[1].signature.bytes[5] ^= 1;
    cases.push_back({"forged signature", forged});
  }
  {
    Certificate duplicate =
        chain_.certificate(VoteKind::kNotarize, 1, block, {signers[0], signers[0], signers[1]});
    cases.push_back({"duplicate signer", duplicate});
  }
  {
    Certificate unsorted =
        chain_.certificate(VoteKind::kNotarize, 1, block, {signers[1], signers[0], signers[2]});
    cases.push_back({"signers out of order", unsorted});
  }
  cases.push_back({"two of four is not a quorum",
                   chain_.certificate(VoteKind::kNotarize, 1, block, {signers[0], signers[1]})});
  cases.push_back({"no signatures", Certificate{VoteKind::kNotarize, 1, block, {}}});
  {
    Certificate outsider =
        chain_.certificate(VoteKind::kNotarize, 1, block, {signers[0], signers[1]});
    outsider.signatures.push_back(
        {4, test_signature(4, vote_digest(chain_.chain_id(), VoteKind::kNotarize, 1, block))});
    cases.push_back({"signer outside the validator set", outsider});
  }
  {
    Certificate other_view = chain_.certificate(VoteKind::kNotarize, 2, block, signers);
    other_view.view = 1;
    cases.push_back({"signatures over another view", other_view});
  }
  {
    Certificate other_kind = chain_.certificate(VoteKind::kFinalize, 1, block, signers);
    other_kind.kind = VoteKind::kNotarize;
    cases.push_back({"signatures over another kind", other_kind});
  }
  {
    Certificate other_block = chain_.certificate(VoteKind::kNotarize, 1, hash_of("x"), signers);
    other_block.block = block;
    cases.push_back({"signatures over another block", other_block});
  }
  {
    ChainBuilder other_chain({1, 1, 1, 1}, "another-chain");
    cases.push_back({"signatures from another chain",
                     other_chain.certificate(VoteKind::kNotarize, 1, block, signers)});
  }
  {
    Certificate nullify_with_block = chain_.certificate(VoteKind::kNullify, 1, block, signers);
    cases.push_back({"nullification naming a block", nullify_with_block});
  }
  {
    Certificate forged_null = chain_.certificate(VoteKind::kNullify, 1, Hash256{}, signers);
    forged_null.signatures[0].signature.bytes[0] ^= 0xff;
    cases.push_back({"nullification with a forged signature", forged_null});
  }
  {
    Certificate forged_final = chain_.certificate(VoteKind::kFinalize, 1, block, signers);
    forged_final.signatures[2].signature.bytes[31] ^= 1;
    cases.push_back({"finalization with a forged signature", forged_final});
  }
  for (const Case& bad : cases) {
    SCOPED_TRACE(bad.name);
    Solo solo(chain_, self);
    solo.start(0);
    solo.deliver(signers[0], bad.certificate, 5);
    EXPECT_EQ(solo.replica().stats().invalid_messages, 1u);
    EXPECT_EQ(solo.replica().view(), 1u);
    EXPECT_EQ(solo.replica().finalized_height(), 0u);
    EXPECT_TRUE(solo.all_sent().empty()) << "forwarded something or voted";
    EXPECT_EQ(solo.replica().stats().block_requests_sent, 0u);
  }
}

TEST_F(ReplicaTest, UnequalStakeQuorums) {
  ChainBuilder chain({5, 4, 3, 2, 2, 1, 1});  // total 18: a quorum holds 13
  const ValidatorIndex self = 6;
  {
    Solo solo(chain, self);
    solo.start(0);
    // 4 + 3 + 2 + 2 + 1 = 12: five of seven validators, but not a quorum of stake.
    solo.deliver(1, chain.certificate(VoteKind::kNullify, 1, Hash256{}, {1, 2, 3, 4, 5}), 5);
    EXPECT_EQ(solo.replica().view(), 1u);
    EXPECT_EQ(solo.replica().stats().invalid_messages, 1u);
    // 5 + 4 + 3 + 1 = 13: four validators, a quorum.
    solo.deliver(1, chain.certificate(VoteKind::kNullify, 1, Hash256{}, {0, 1, 2, 5}), 6);
    EXPECT_EQ(solo.replica().view(), 2u);
  }
  {
    Solo solo(chain, self);
    solo.start(0);
    // Votes add up by stake too. 5 is not more than a third (6); 5 + 4 is, so this replica
    // joins the nullification with its 1: 10 is no quorum, 3 more is.
    solo.deliver(0, chain.vote(VoteKind::kNullify, 1, Hash256{}, 0), 5);
    EXPECT_TRUE(solo.votes(VoteKind::kNullify, 1).empty());
    solo.deliver(1, chain.vote(VoteKind::kNullify, 1, Hash256{}, 1), 5);
    EXPECT_EQ(solo.votes(VoteKind::kNullify, 1).size(), 1u);
    EXPECT_EQ(solo.replica().view(), 1u);
    solo.deliver(2, chain.vote(VoteKind::kNullify, 1, Hash256{}, 2), 6);
    EXPECT_EQ(solo.replica().view(), 2u);
    auto certificates = solo.all_of<Certificate>();
    ASSERT_EQ(certificates.size(), 1u);
    std::vector<ValidatorIndex> signers;
    for (const SignatureShare& share : certificates[0].signatures) signers.push_back(share.signer);
    EXPECT_EQ(signers, (std::vector<ValidatorIndex>{0, 1, 2, 6}));  // sorted, distinct
  }
}

// --- votes and evidence -----------------------------------------------------------------------

TEST_F(ReplicaTest, QuorumOfVotesFormsACertificate) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  std::vector<ValidatorIndex> signers = others(self, 3);
  deliver_nullify_votes(solo, signers, 1, 5);
  // A repeated vote is not counted twice: twice it would be more than a third of the stake,
  // which this replica joins (below).
  solo.deliver(signers[0], chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[0]), 5);
  EXPECT_TRUE(solo.votes(VoteKind::kNullify, 1).empty());
  EXPECT_EQ(solo.replica().view(), 1u);
  solo.deliver(signers[1], chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[1]), 6);
  EXPECT_EQ(solo.replica().view(), 2u);
  auto certificates = solo.all_of<Certificate>();
  ASSERT_EQ(certificates.size(), 1u);
  std::vector<ValidatorIndex> quorum = {signers[0], signers[1], self};
  std::sort(quorum.begin(), quorum.end());
  EXPECT_EQ(certificates[0], chain_.certificate(VoteKind::kNullify, 1, Hash256{}, quorum));
}

// Nullify votes from more than a third of the stake: an honest replica among them timed out,
// and none of them will notarize, so this replica nullifies at once instead of waiting for its
// own timer (a partition that healed left one side notarizing and the other nullifying, each
// waiting out its timer).
TEST_F(ReplicaTest, JoinsANullificationBackedByMoreThanAThirdOfTheStake) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self, timer_config());
  solo.start(0);
  std::vector<ValidatorIndex> signers = others(self, 3);
  deliver_nullify_votes(solo, signers, 1, 5);
  EXPECT_TRUE(solo.votes(VoteKind::kNullify, 1).empty()) << "a quarter of the stake";
  deliver_nullify_votes(solo, {signers[1]}, 1, 6);
  EXPECT_EQ(solo.votes(VoteKind::kNullify, 1).size(), 1u) << "half of it, long before 1'000 ms";
  EXPECT_TRUE(solo.storage().load_voting_state().votes.at(1).nullified);
}

// A validator that voted notarize before its timer fired still counts towards a notarization:
// its nullify vote is no reason to give the view up.
TEST_F(ReplicaTest, DoesNotJoinOnNullifyVotesOfValidatorsThatVotedNotarizeFirst) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self, timer_config());
  solo.start(0);
  std::vector<ValidatorIndex> signers = others(self, 3);
  const Hash256 block = hash_of("a block of view 1");
  solo.deliver(signers[0], chain_.vote(VoteKind::kNotarize, 1, block, signers[0]), 5);
  deliver_nullify_votes(solo, signers, 2, 6);
  EXPECT_TRUE(solo.votes(VoteKind::kNullify, 1).empty()) << "one of the two may still notarize";
  EXPECT_EQ(solo.replica().view(), 1u);
  deliver_nullify_votes(solo, {signers[2]}, 1, 7);
  EXPECT_EQ(solo.replica().view(), 2u) << "the three nullify votes are a quorum by themselves";
}

// The same when the votes came before the replica reached their view.
TEST_F(ReplicaTest, JoinsANullificationOfTheViewItEnters) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self, timer_config());
  solo.start(0);
  std::vector<ValidatorIndex> signers = others(self, 3);
  for (ValidatorIndex signer : {signers[0], signers[1]}) {
    solo.deliver(signer, chain_.vote(VoteKind::kNullify, 2, Hash256{}, signer), 5);
  }
  EXPECT_TRUE(solo.votes(VoteKind::kNullify, 2).empty()) << "not its view yet";
  solo.deliver(signers[0], chain_.certificate(VoteKind::kNullify, 1, Hash256{}, signers), 6);
  EXPECT_EQ(solo.votes(VoteKind::kNullify, 2).size(), 1u);
  EXPECT_EQ(solo.replica().view(), 3u) << "its vote completed the nullification of view 2";
}

TEST_F(ReplicaTest, InvalidVotesAreCountedAndIgnored) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  std::vector<ValidatorIndex> signers = others(self, 3);
  Vote forged = chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[0]);
  forged.signature.bytes[3] ^= 1;
  solo.deliver(signers[0], forged, 5);
  EXPECT_EQ(solo.replica().stats().invalid_messages, 1u);
  Vote nullify_with_block = chain_.vote(VoteKind::kNullify, 1, hash_of("b"), signers[1]);
  solo.deliver(signers[1], nullify_with_block, 5);
  EXPECT_EQ(solo.replica().stats().invalid_messages, 2u);
  // The forged and malformed votes do not count: with them this valid one would be three
  // quarters of the stake, a quorum.
  solo.deliver(signers[2], chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[2]), 6);
  EXPECT_EQ(solo.replica().view(), 1u);
  EXPECT_TRUE(solo.votes(VoteKind::kNullify, 1).empty()) << "a quarter: nothing to join";
  // A vote claiming to be ours is ignored: the replica counts only the votes it cast itself.
  solo.deliver(signers[0], chain_.vote(VoteKind::kNullify, 1, Hash256{}, self), 6);
  EXPECT_TRUE(solo.votes(VoteKind::kNullify, 1).empty()) << "a vote \"from us\" we never cast";
  // A second valid vote is half the stake: the replica joins, and its own vote is the quorum.
  solo.deliver(signers[0], chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[0]), 7);
  EXPECT_EQ(solo.replica().view(), 2u);
}

TEST_F(ReplicaTest, EquivocationIsRecordedAsEvidence) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  ValidatorIndex cheat = others(self, 1)[0];
  Vote first = chain_.vote(VoteKind::kNotarize, 1, hash_of("block a"), cheat);
  Vote second = chain_.vote(VoteKind::kNotarize, 1, hash_of("block b"), cheat);
  solo.deliver(cheat, first, 5);
  solo.deliver(cheat, first, 5);  // a duplicate is not evidence
  EXPECT_TRUE(solo.replica().evidence().empty());
  solo.deliver(cheat, second, 6);
  ASSERT_EQ(solo.replica().evidence().size(), 1u);
  const Evidence& evidence = solo.replica().evidence()[0];
  EXPECT_EQ(evidence.validator, cheat);
  EXPECT_EQ(evidence.view, 1u);
  EXPECT_EQ(evidence.what, "two notarize votes");
  EXPECT_EQ(std::get<Vote>(evidence.first), first);
  EXPECT_EQ(std::get<Vote>(evidence.second), second);
  // The same validator equivocating again in the same view is recorded once.
  solo.deliver(cheat, chain_.vote(VoteKind::kNotarize, 1, hash_of("block c"), cheat), 7);
  EXPECT_EQ(solo.replica().evidence().size(), 1u);

  // Finalize and nullify for one view, by another validator.
  ValidatorIndex other = others(self, 2)[1];
  solo.deliver(other, chain_.vote(VoteKind::kFinalize, 1, hash_of("block a"), other), 8);
  solo.deliver(other, chain_.vote(VoteKind::kNullify, 1, Hash256{}, other), 8);
  ASSERT_EQ(solo.replica().evidence().size(), 2u);
  EXPECT_EQ(solo.replica().evidence()[1].validator, other);
  EXPECT_EQ(solo.replica().evidence()[1].what, "finalize and nullify");
  // Evidence needs valid signatures: a forged conflicting vote is just invalid.
  ValidatorIndex third = others(self, 3)[2];
  solo.deliver(third, chain_.vote(VoteKind::kNotarize, 1, hash_of("block a"), third), 9);
  Vote forged = chain_.vote(VoteKind::kNotarize, 1, hash_of("block b"), third);
  forged.signature.bytes[0] ^= 1;
  solo.deliver(third, forged, 9);
  EXPECT_EQ(solo.replica().evidence().size(), 2u);
}

TEST_F(ReplicaTest, EquivocationInsideACertificateIsEvidence) {
  // A validator that shows this replica one vote and puts a conflicting one into a quorum
  // elsewhere is caught when the certificate arrives.
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  std::vector<ValidatorIndex> signers = others(self, 3);
  ValidatorIndex two_faced = signers[1];
  Vote shown = chain_.vote(VoteKind::kNotarize, 1, hash_of("block a"), two_faced);
  solo.deliver(two_faced, shown, 5);
  solo.deliver(signers[0], chain_.certificate(VoteKind::kNotarize, 1, hash_of("block b"), signers),
               6);
  ASSERT_EQ(solo.replica().evidence().size(), 1u);
  EXPECT_EQ(solo.replica().evidence()[0].validator, two_faced);
  EXPECT_EQ(solo.replica().evidence()[0].what, "two notarize votes");
  EXPECT_EQ(std::get<Vote>(solo.replica().evidence()[0].first), shown);
  // Finalize in a nullification's company.
  ValidatorIndex other = signers[2];
  solo.deliver(other, chain_.vote(VoteKind::kFinalize, 2, hash_of("block c"), other), 7);
  solo.deliver(signers[0], chain_.certificate(VoteKind::kNullify, 2, Hash256{}, signers), 8);
  ASSERT_EQ(solo.replica().evidence().size(), 2u);
  EXPECT_EQ(solo.replica().evidence()[1].validator, other);
  EXPECT_EQ(solo.replica().evidence()[1].what, "finalize and nullify");
}

// A vote that arrives once its certificate exists can change no tally; its signature costs as
// much as a transaction's, so it is held unchecked, and checked only if it contradicts another.
TEST_F(ReplicaTest, AVoteAfterItsCertificateIsHeldWithoutASignatureCheck) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.tick(1'000);  // nullify(1)
  ASSERT_EQ(solo.votes(VoteKind::kNullify, 1).size(), 1u);
  std::vector<ValidatorIndex> signers = others(self, 3);
  deliver_nullify_votes(solo, signers, 2, 1'001);
  ASSERT_EQ(solo.replica().view(), 2u);
  const std::size_t checks = solo.verifier().checks();
  solo.deliver(signers[2], chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[2]), 1'002);
  EXPECT_EQ(solo.verifier().checks(), checks);
  EXPECT_EQ(solo.replica().stats().votes_held_unchecked, 1u);
  // Contradicted later, the held vote is checked and convicts its signer.
  Vote finalize = chain_.vote(VoteKind::kFinalize, 1, hash_of("block a"), signers[2]);
  solo.deliver(signers[2], finalize, 1'003);
  EXPECT_EQ(solo.verifier().checks(), checks + 2);
  ASSERT_EQ(solo.replica().evidence().size(), 1u);
  EXPECT_EQ(solo.replica().evidence()[0].validator, signers[2]);
  EXPECT_EQ(solo.replica().evidence()[0].what, "finalize and nullify");
  EXPECT_EQ(std::get<Vote>(solo.replica().evidence()[0].second), finalize);
}

TEST_F(ReplicaTest, AForgedVoteHeldUncheckedConvictsNoOne) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.tick(1'000);  // nullify(1)
  std::vector<ValidatorIndex> signers = others(self, 3);
  deliver_nullify_votes(solo, signers, 2, 1'001);
  ASSERT_EQ(solo.replica().view(), 2u);
  Vote forged = chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[2]);
  forged.signature.bytes[0] ^= 1;
  solo.deliver(signers[0], forged, 1'002);  // relayed by someone else: held, unchecked
  EXPECT_EQ(solo.replica().stats().votes_held_unchecked, 1u);
  solo.deliver(signers[2], chain_.vote(VoteKind::kFinalize, 1, hash_of("block a"), signers[2]),
               1'003);
  EXPECT_TRUE(solo.replica().evidence().empty());
  EXPECT_EQ(solo.replica().stats().invalid_messages, 1u);
  // The signed finalize vote took the forgery's place: a nullify vote really signed now is
  // the contradiction.
  solo.deliver(signers[2], chain_.vote(VoteKind::kNullify, 1, Hash256{}, signers[2]), 1'004);
  ASSERT_EQ(solo.replica().evidence().size(), 1u);
  EXPECT_EQ(solo.replica().evidence()[0].what, "finalize and nullify");
}

TEST_F(ReplicaTest, ACertificateIsNotCheckedAgainForVotesAlreadyChecked) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  std::vector<ValidatorIndex> signers = others(self, 3);
  deliver_nullify_votes(solo, signers, 1, 5);
  const std::size_t checks = solo.verifier().checks();
  solo.deliver(signers[2], chain_.certificate(VoteKind::kNullify, 1, Hash256{}, signers), 6);
  EXPECT_EQ(solo.replica().view(), 2u);
  EXPECT_EQ(solo.verifier().checks(), checks + 2) << "only the shares not seen as votes";
}

// A validator may sign the same vote twice: a restarted replica signs its persisted votes again
// to retransmit them, and BIP-340 signing (crypto/keys.cc) uses fresh auxiliary randomness, so the
// two signatures differ. Same kind, view and block is a duplicate, not equivocation. The test
// signer's nonce models that randomness.
TEST_F(ReplicaTest, ReSignedIdenticalVoteIsNotEquivocation) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  ValidatorIndex signer = others(self, 1)[0];
  Hash256 block = hash_of("block a");
  solo.deliver(signer, chain_.vote(VoteKind::kNotarize, 1, block, signer, /*nonce=*/1), 5);
  solo.deliver(signer, chain_.vote(VoteKind::kNotarize, 1, block, signer, /*nonce=*/2), 6);
  EXPECT_TRUE(solo.replica().evidence().empty())
      << "same kind, view and block, signed twice, recorded as equivocation";
}

// --- finalization -----------------------------------------------------------------------------

TEST_F(ReplicaTest, NotarizationThenFinalizationCommitsTheBlock) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  Block block = chain_.child(genesis(), 1, {bytes_of("tx")});
  solo.deliver(block.proposer, chain_.propose(block), 10);
  std::vector<ValidatorIndex> signers = others(self, 2);
  for (ValidatorIndex signer : signers) {
    solo.deliver(signer, chain_.vote(VoteKind::kNotarize, 1, block.hash(), signer), 11);
  }
  EXPECT_EQ(solo.replica().view(), 2u);
  auto finalize = solo.votes(VoteKind::kFinalize);
  ASSERT_EQ(finalize.size(), 1u);
  EXPECT_EQ(finalize[0].view, 1u);
  EXPECT_EQ(finalize[0].block, block.hash());
  EXPECT_EQ(solo.replica().finalized_height(), 0u);
  for (ValidatorIndex signer : signers) {
    solo.deliver(signer, chain_.vote(VoteKind::kFinalize, 1, block.hash(), signer), 12);
  }
  EXPECT_EQ(solo.replica().finalized_height(), 1u);
  EXPECT_EQ(solo.replica().finalized_hash(), block.hash());
  ASSERT_EQ(solo.finalized().size(), 1u);
  EXPECT_EQ(solo.finalized()[0].hash, block.hash());
  EXPECT_EQ(solo.finalized()[0].height, 1u);
  EXPECT_EQ(solo.finalized()[0].view, 1u);
  EXPECT_EQ(solo.finalized()[0].state_root, *solo.application().root_at(1));
  ASSERT_EQ(solo.storage().finalized().size(), 1u);
  const FinalizedEntry& stored = solo.storage().finalized()[0];
  EXPECT_EQ(stored.block, block);
  EXPECT_EQ(stored.finalization.kind, VoteKind::kFinalize);
  EXPECT_EQ(stored.finalization.view, 1u);
  EXPECT_EQ(stored.finalization.block, block.hash());
  EXPECT_EQ(stored.finalization.signatures.size(), 3u);
  EXPECT_TRUE(solo.application().executed_transactions().contains(bytes_of("tx")));
  EXPECT_TRUE(solo.unpersisted_votes().empty());
}

TEST_F(ReplicaTest, FinalizationCertificateCommitsAncestorsFetchedOnDemand) {
  Block b1 = chain_.child(genesis(), 1, {bytes_of("one")});
  Block b2 = chain_.child(b1, 2, {bytes_of("two")});
  Block b3 = chain_.child(b2, 3, {bytes_of("three")});
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.deliver(0, chain_.certificate(VoteKind::kFinalize, 3, b3.hash(), others(self, 3)), 5);
  for (const Block* block : {&b3, &b2, &b1}) {
    auto requests = solo.sent_of<BlockRequest>(solo.take_sent());
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].block, block->hash());
    solo.deliver(0, BlockResponse{*block}, 6);
  }
  EXPECT_EQ(solo.replica().finalized_height(), 3u);
  EXPECT_EQ(solo.replica().finalized_hash(), b3.hash());
  ASSERT_EQ(solo.finalized().size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(solo.finalized()[i].height, i + 1);
  ASSERT_EQ(solo.storage().finalized().size(), 3u);
  EXPECT_EQ(solo.storage().finalized()[0].block, b1);
  // Every block finalized by this certificate records it.
  EXPECT_EQ(solo.storage().finalized()[0].finalization.block, b3.hash());
}

TEST_F(ReplicaTest, FinalizeVoteForAnEarlierNotarizedViewItDidNotNullify) {
  // Deviation from the textbook rule, see docs/CONSENSUS.md: the replica left view 1 through a
  // nullification it did not vote for, then saw view 1 notarized; it never nullified view 1
  // and never will (it only nullifies its current view), so it may still vote finalize(1).
  ValidatorIndex self = first_other_than({leader(1, genesis()), leader(2, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  Block block = chain_.child(genesis(), 1);
  solo.deliver(0, certificate(VoteKind::kNullify, 1, Hash256{}, self), 5);
  ASSERT_EQ(solo.replica().view(), 2u);
  solo.deliver(0, certificate(VoteKind::kNotarize, 1, block.hash(), self), 6);
  EXPECT_EQ(solo.replica().view(), 2u);
  auto finalize = solo.votes(VoteKind::kFinalize, 1);
  ASSERT_EQ(finalize.size(), 1u);
  EXPECT_EQ(finalize[0].block, block.hash());
  // It does not nullify view 1 afterwards: its timer now runs for view 2.
  solo.tick(100'000);
  EXPECT_FALSE(has_vote(solo.votes(), VoteKind::kNullify, 1));
  EXPECT_TRUE(has_vote(solo.votes(), VoteKind::kNullify, 2));
}

TEST_F(ReplicaTest, NoFinalizeVoteForAViewItNullified) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.tick(1'000);  // nullify(1)
  Block block = chain_.child(genesis(), 1);
  solo.deliver(0, certificate(VoteKind::kNotarize, 1, block.hash(), self), 1'001);
  EXPECT_EQ(solo.replica().view(), 2u);  // a notarization still moves it on
  EXPECT_TRUE(solo.votes(VoteKind::kFinalize).empty());
}

// --- missing blocks ---------------------------------------------------------------------------

TEST_F(ReplicaTest, MissingBlockIsRequestedAndOnlyTheMatchingResponseAccepted) {
  Block b1 = chain_.child(genesis(), 1, {bytes_of("one")});
  Block b2 = chain_.child(b1, 2, {bytes_of("two")});
  ValidatorIndex self = first_other_than({leader(1, genesis()), leader(2, b1)});
  Solo solo(chain_, self);
  solo.start(0);
  std::vector<ValidatorIndex> peers = others(self, 3);
  solo.deliver(peers[0], chain_.certificate(VoteKind::kNotarize, 1, b1.hash(), peers), 5);
  auto requests = solo.sent_of<BlockRequest>(solo.take_sent());
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].block, b1.hash());
  EXPECT_EQ(solo.replica().stats().block_requests_sent, 1u);

  // The child arrives before its parent: it cannot be judged, and the parent is not asked twice.
  solo.deliver(b2.proposer, chain_.propose(b2), 6);
  EXPECT_FALSE(has_vote(solo.votes(), VoteKind::kNotarize, 2));
  EXPECT_EQ(solo.replica().stats().block_requests_sent, 1u);

  // A response with another block (here: the parent with a different payload) is dropped.
  Block impostor = b1;
  impostor.transactions = {bytes_of("forged")};
  solo.deliver(peers[1], BlockResponse{impostor}, 7);
  EXPECT_FALSE(has_vote(solo.votes(), VoteKind::kNotarize, 2));
  // ... and so is an unsolicited one, which is not even stored: serving it is impossible.
  solo.deliver(peers[1], BlockRequest{impostor.hash()}, 7);
  EXPECT_TRUE(solo.sent_of<BlockResponse>(solo.take_sent()).empty());

  // The real parent unblocks the child.
  solo.deliver(peers[1], BlockResponse{b1}, 8);
  auto votes = solo.votes(VoteKind::kNotarize, 2);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].block, b2.hash());
  // A second copy of the response is unsolicited now and harmless.
  solo.deliver(peers[2], BlockResponse{b1}, 9);
  EXPECT_EQ(solo.votes(VoteKind::kNotarize, 2).size(), 1u);

  // The replica serves blocks it holds, to the asker only, and ignores unknown hashes.
  solo.take_sent();
  solo.deliver(peers[2], BlockRequest{b1.hash()}, 10);
  auto sent = solo.take_sent();
  ASSERT_GE(sent.size(), 1u);
  EXPECT_EQ(std::get<BlockResponse>(*sent[0].message).block, b1);
  for (const Outgoing& out : sent) EXPECT_EQ(out.to, peers[2]);  // possibly with ancestors
  solo.deliver(peers[2], BlockRequest{hash_of("unknown")}, 10);
  EXPECT_TRUE(solo.take_sent().empty());
}

TEST_F(ReplicaTest, OutstandingRequestsAreRetransmitted) {
  Block b1 = chain_.child(genesis(), 1);
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.deliver(0, certificate(VoteKind::kNotarize, 1, b1.hash(), self), 5);
  solo.take_sent();
  solo.tick(100'000);  // nullify(2)
  solo.take_sent();
  solo.tick(200'000);  // retransmission
  auto requests = solo.sent_of<BlockRequest>(solo.take_sent());
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].block, b1.hash());
}

// --- state roots ------------------------------------------------------------------------------

TEST_F(ReplicaTest, CertifiedBlockWithAnotherStateRootStopsVoting) {
  Block bad = chain_.child(genesis(), 1);
  bad.state_root = hash_of("a state this replica does not have");
  chain_.remember(bad);
  ValidatorIndex self = first_other_than({leader(1, genesis()), leader(2, bad)});
  Solo solo(chain_, self);
  solo.start(0);
  solo.deliver(bad.proposer, chain_.propose(bad), 5);
  EXPECT_TRUE(solo.votes(VoteKind::kNotarize).empty());
  EXPECT_EQ(solo.votes(VoteKind::kNullify, 1).size(), 1u) << "the leader's proposal, refused";
  EXPECT_EQ(solo.replica().stats().proposals_rejected, 1u);
  EXPECT_FALSE(solo.replica().divergence().has_value()) << "a mere proposal proves nothing";

  std::uint64_t signatures = solo.signer().signatures_made();
  solo.deliver(0, certificate(VoteKind::kNotarize, 1, bad.hash(), self), 6);
  ASSERT_TRUE(solo.replica().divergence().has_value());
  EXPECT_THAT(*solo.replica().divergence(), ::testing::HasSubstr("state root"));
  EXPECT_EQ(solo.replica().view(), 2u);
  // Stopped: no finalize vote, no nullify on timeout, no notarize for the next proposal.
  Block next = chain_.child(bad, 2);
  solo.deliver(next.proposer, chain_.propose(next), 7);
  for (int i = 0; i < 5; ++i) solo.tick(solo.replica().next_deadline());
  EXPECT_EQ(solo.signer().signatures_made(), signatures);
  EXPECT_EQ(solo.votes().size(), 1u) << "nothing since the nullify of view 1";
}

TEST_F(ReplicaTest, DivergenceDetectedWhenTheCertifiedBlockArrivesLater) {
  Block bad = chain_.child(genesis(), 1);
  bad.state_root = hash_of("another state");
  chain_.remember(bad);
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.deliver(0, certificate(VoteKind::kNotarize, 1, bad.hash(), self), 5);
  EXPECT_FALSE(solo.replica().divergence().has_value());  // the block is not known yet
  solo.deliver(0, BlockResponse{bad}, 6);
  EXPECT_TRUE(solo.replica().divergence().has_value());
}

// --- timers -----------------------------------------------------------------------------------

TEST_F(ReplicaTest, AdaptiveTimer) {
  ValidatorIndex self = 0;
  Solo solo(chain_, self, timer_config());
  solo.start(0);
  EXPECT_EQ(solo.replica().next_deadline(), 1'000);
  // Nullifications double the timeout (from the initial 1 s, no latency observed yet) ...
  solo.deliver(1, certificate(VoteKind::kNullify, 1, Hash256{}, self), 1'000);
  EXPECT_EQ(solo.replica().next_deadline(), 1'000 + 2'000);
  solo.deliver(1, certificate(VoteKind::kNullify, 2, Hash256{}, self), 1'500);
  EXPECT_EQ(solo.replica().next_deadline(), 1'500 + 4'000);
  solo.deliver(1, certificate(VoteKind::kNullify, 3, Hash256{}, self), 2'000);
  EXPECT_EQ(solo.replica().next_deadline(), 2'000 + 8'000);
  // ... up to max_timeout_ms.
  solo.deliver(1, certificate(VoteKind::kNullify, 4, Hash256{}, self), 2'500);
  EXPECT_EQ(solo.replica().next_deadline(), 2'500 + 10'000);
  // A notarization of the current view measures the view latency (100 ms), resets the backoff
  // and sets the timeout to latency_multiplier (4) times the smoothed latency.
  solo.deliver(1, certificate(VoteKind::kNotarize, 5, hash_of("b5"), self), 2'600);
  EXPECT_EQ(solo.replica().view(), 6u);
  EXPECT_EQ(solo.replica().next_deadline(), 2'600 + 400);
  // Smoothing: latency 10 ms gives (7 * 100 + 10) / 8 = 88, so 352 ms.
  solo.deliver(1, certificate(VoteKind::kNotarize, 6, hash_of("b6"), self), 2'610);
  EXPECT_EQ(solo.replica().next_deadline(), 2'610 + 352);
  // Fast views bring it down to min_timeout_ms and no lower.
  TimeMs now = 2'610;
  for (View view = 7; view < 60; ++view) {
    now += 1;
    solo.deliver(
        1, certificate(VoteKind::kNotarize, view, hash_of("b" + std::to_string(view)), self), now);
  }
  EXPECT_EQ(solo.replica().next_deadline(), now + 50);
}

// Each consecutive nullified view doubles the timeout, all the way to max_timeout_ms.
TEST_F(ReplicaTest, BackoffDoublesUpToTheMaximum) {
  ReplicaConfig config = timer_config();
  config.timers.initial_timeout_ms = 100;
  config.timers.max_timeout_ms = 10'000;
  Solo solo(chain_, 0, config);
  solo.start(0);
  std::vector<TimeMs> timeouts;
  for (View view = 1; view <= 8; ++view) {
    TimeMs now = static_cast<TimeMs>(view) * 10;
    solo.deliver(1, certificate(VoteKind::kNullify, view, Hash256{}, 0), now);
    timeouts.push_back(solo.replica().next_deadline() - now);
  }
  EXPECT_EQ(timeouts, (std::vector<TimeMs>{200, 400, 800, 1'600, 3'200, 6'400, 10'000, 10'000}));
}

// When the replica's own vote completes a certificate, the certificate is handled at the time of
// the input that caused the vote, not at the time the view was entered: otherwise the next view
// would start "in the past", with its deadline possibly already expired (an immediate nullify),
// and the measured view latency would be 1 ms.
TEST_F(ReplicaTest, OwnVoteCompletingACertificateUsesTheCurrentTime) {
  Block block = chain_.child(genesis(), 1);
  ValidatorIndex self = first_other_than({leader(1, genesis()), leader(2, block)});
  Solo solo(chain_, self);
  solo.start(0);
  std::vector<ValidatorIndex> peers = others(self, 2);
  // Two others notarized (view entered at 0, the network is slow); our vote makes the quorum.
  for (ValidatorIndex peer : peers) {
    solo.deliver(peer, chain_.vote(VoteKind::kNotarize, 1, block.hash(), peer), 900);
  }
  solo.deliver(block.proposer, chain_.propose(block), 900);
  ASSERT_EQ(solo.replica().view(), 2u);
  EXPECT_GT(solo.replica().next_deadline(), 900) << "view 2's deadline is already in the past";
  solo.tick(901);
  EXPECT_FALSE(has_vote(solo.votes(), VoteKind::kNullify, 2))
      << "nullified view 2 one millisecond after entering it";
}

// --- restart ----------------------------------------------------------------------------------

TEST_F(ReplicaTest, RestartNeverNotarizesASecondBlockInAView) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  Block first = chain_.child(genesis(), 1, {bytes_of("a")});
  solo.deliver(first.proposer, chain_.propose(first), 5);
  ASSERT_EQ(solo.votes(VoteKind::kNotarize).size(), 1u);
  solo.restart(6);
  EXPECT_EQ(solo.replica().view(), 1u);
  // The leader equivocates; the restarted replica has forgotten the first proposal but not
  // its vote.
  Block second = chain_.child(genesis(), 1, {bytes_of("b")});
  solo.deliver(second.proposer, chain_.propose(second), 7);
  auto votes = solo.votes(VoteKind::kNotarize);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].block, first.hash());
}

TEST_F(ReplicaTest, RestartNeverFinalizesANullifiedView) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.tick(1'000);
  ASSERT_TRUE(has_vote(solo.votes(), VoteKind::kNullify, 1));
  solo.restart(1'001);
  Block block = chain_.child(genesis(), 1);
  solo.deliver(0, certificate(VoteKind::kNotarize, 1, block.hash(), self), 1'002);
  EXPECT_EQ(solo.replica().view(), 2u);
  EXPECT_TRUE(solo.votes(VoteKind::kFinalize).empty());
}

TEST_F(ReplicaTest, RestartNeverNullifiesAFinalizedView) {
  ValidatorIndex self = first_other_than({leader(1, genesis()), leader(2, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  Block block = chain_.child(genesis(), 1);
  solo.deliver(0, certificate(VoteKind::kNotarize, 1, block.hash(), self), 5);
  ASSERT_TRUE(has_vote(solo.votes(), VoteKind::kFinalize, 1));
  solo.restart(6);
  EXPECT_EQ(solo.replica().view(), 2u);  // resumes in the view it had entered
  solo.tick(100'000);
  solo.tick(200'000);
  EXPECT_FALSE(has_vote(solo.votes(), VoteKind::kNullify, 1));
  EXPECT_TRUE(has_vote(solo.votes(), VoteKind::kNullify, 2));
}

TEST_F(ReplicaTest, RestartDoesNotProposeTwice) {
  ValidatorIndex self = leader(1, genesis());
  Solo solo(chain_, self);
  solo.application().queue("before");
  solo.start(0);
  ASSERT_EQ(solo.all_of<Proposal>().size(), 1u);
  solo.restart(5);
  solo.application().queue("after");  // a different payload would make a different block
  solo.deliver(0, Vote{}, 6);         // any input; nothing should make it propose view 1 again
  EXPECT_EQ(solo.all_of<Proposal>().size(), 1u);
}

TEST_F(ReplicaTest, RestartReplaysFinalizedBlocksIntoAFreshApplication) {
  Block b1 = chain_.child(genesis(), 1, {bytes_of("one")});
  Block b2 = chain_.child(b1, 2, {bytes_of("two")});
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.deliver(0, chain_.certificate(VoteKind::kFinalize, 2, b2.hash(), others(self, 3)), 5);
  solo.deliver(0, BlockResponse{b2}, 6);
  solo.deliver(0, BlockResponse{b1}, 7);
  ASSERT_EQ(solo.replica().finalized_height(), 2u);
  Hash256 root = *solo.application().root_at(2);
  std::size_t reported = solo.finalized().size();
  solo.restart(8);
  EXPECT_EQ(solo.replica().finalized_height(), 2u);
  EXPECT_EQ(solo.replica().finalized_hash(), b2.hash());
  EXPECT_EQ(solo.application().executed_height(), 2u);
  EXPECT_EQ(solo.application().root_at(2), root);
  EXPECT_EQ(solo.finalized().size(), reported) << "replayed blocks are not reported again";
  EXPECT_EQ(solo.storage().finalized().size(), 2u) << "nor appended again";
  EXPECT_GT(solo.replica().view(), 2u);
}

// A crash can fall between persisting a vote and sending it. The restarted replica must still
// send it: it will not vote again in that view (the record says it already did), and the quorum
// may need exactly that vote (ClusterTest.CrashBetweenPersistingAndSendingANullify...).
TEST_F(ReplicaTest, RestartedReplicaSendsTheNullifyItPersistedButNeverSent) {
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.hold(true);
  solo.tick(1'000);  // persists nullify(1), crashes before sending it
  ASSERT_TRUE(solo.storage().load_voting_state().votes.at(1).nullified);
  solo.restart(1'100);
  TimeMs now = 1'100;
  for (int i = 0; i < 5; ++i) {
    now = std::max(now + 1, solo.replica().next_deadline());
    solo.tick(now);
  }
  EXPECT_TRUE(has_vote(solo.votes(), VoteKind::kNullify, 1))
      << "the persisted nullify vote for view 1 never leaves the replica";
}

// --- bounds -----------------------------------------------------------------------------------

// Regression: a request once stayed outstanding until answered, and proposal_ready() asks for
// the parent of any correctly signed proposal, so one Byzantine validator proposing made-up
// parents could fill every request slot for good, after which the replica could never fetch a
// block it missed. Requests now expire and the oldest gives way when the table is full.
TEST_F(ReplicaTest, ByzantineProposalsCannotExhaustBlockRequests) {
  ValidatorIndex self = 0;
  ValidatorIndex byzantine = 1;
  Solo solo(chain_, self);
  solo.start(0);
  // One junk proposal per view, each naming a parent nobody has, until the request slots are
  // full (in views this replica leads it votes for its own block first and never looks).
  TimeMs now = 1;
  View view = 1;
  for (; solo.replica().stats().block_requests_sent < 32 && view < 500; ++view, ++now) {
    Block junk;
    junk.view = view;
    junk.height = 2;
    junk.parent = hash_of("nowhere " + std::to_string(view));
    junk.parent_view = view - 1;
    junk.proposer = byzantine;
    junk.timestamp_ms = now;
    Proposal proposal{junk,
                      test_signature(byzantine, proposal_digest(chain_.chain_id(), junk.hash()))};
    solo.deliver(byzantine, proposal, now);
    solo.deliver(2, certificate(VoteKind::kNullify, view, Hash256{}, self), now);
  }
  ASSERT_EQ(solo.replica().stats().block_requests_sent, 32u);
  ASSERT_EQ(solo.replica().view(), view);
  solo.take_sent();
  // Now the honest validators notarize a block this replica missed.
  Block real = chain_.child(genesis(), view);
  solo.deliver(2, certificate(VoteKind::kNotarize, view, real.hash(), self), now);
  auto requests = solo.sent_of<BlockRequest>(solo.take_sent());
  EXPECT_TRUE(std::any_of(requests.begin(), requests.end(), [&](const BlockRequest& request) {
    return request.block == real.hash();
  })) << "the replica cannot ask for the block it needs";
}

// Regression: finalizing through a finalization certificate once left the replica in its old
// view; pruning then erased the voting record of that view, so the replica kept timing it out
// and sending nullify votes that no persisted state held. Catching up now enters the view after
// the new finalized tip.
TEST_F(ReplicaTest, CatchingUpThroughAFinalizationMovesTheView) {
  Block b1 = chain_.child(genesis(), 1);
  Block b2 = chain_.child(b1, 2);
  Block b3 = chain_.child(b2, 3);
  ValidatorIndex self = first_other_than({leader(1, genesis())});
  Solo solo(chain_, self);
  solo.start(0);
  solo.deliver(0, chain_.certificate(VoteKind::kFinalize, 3, b3.hash(), others(self, 3)), 5);
  for (const Block* block : {&b3, &b2, &b1}) solo.deliver(0, BlockResponse{*block}, 6);
  ASSERT_EQ(solo.replica().finalized_height(), 3u);
  EXPECT_GT(solo.replica().view(), 3u)
      << "still in view " << solo.replica().view() << " below the finalized view 3";
  TimeMs now = 6;
  for (int i = 0; i < 4; ++i) {
    now = std::max(now + 1, solo.replica().next_deadline());
    solo.tick(now);
  }
  EXPECT_LE(solo.signer().max_signatures_per_digest(), 1) << "signed one vote several times";
  for (const Vote& vote : solo.votes(VoteKind::kNullify)) {
    EXPECT_GT(vote.view, 3u) << "nullified view " << vote.view << " at or below the finalized view";
  }
  EXPECT_TRUE(solo.unpersisted_votes().empty()) << "a vote left that no persisted state holds";
}

// The same bug seen from the proposing side: a replica left in a view below its finalized view
// selects its finalized tip as the parent of a block for that old view, so it signs and sends a
// block whose parent view is not below its view (peers cannot even decode it), without any
// persisted record of the proposal (persist_voting_state() prunes it at once), and possibly a
// second proposal for a view it had already proposed in. Found by the randomized cluster runs.
TEST_F(ReplicaTest, CatchingUpThroughAFinalizationNeverProposesForAStaleView) {
  Block b1 = chain_.child(genesis(), 1);
  Block b2 = chain_.child(b1, 2);
  Block b3 = chain_.child(b2, 3);
  ValidatorIndex self = leader(1, b3);  // would lead view 1 on top of b3
  Solo solo(chain_, self);
  solo.start(0);
  solo.deliver(others(self, 1)[0],
               chain_.certificate(VoteKind::kFinalize, 3, b3.hash(), others(self, 3)), 5);
  for (const Block* block : {&b3, &b2, &b1}) {
    solo.deliver(others(self, 1)[0], BlockResponse{*block}, 6);
  }
  ASSERT_EQ(solo.replica().finalized_height(), 3u);
  for (TimeMs now = 10; now <= 200; now += 10) solo.tick(now);
  std::map<View, int> proposals_per_view;
  for (const Proposal& proposal : solo.all_of<Proposal>()) {
    const Block& block = proposal.block;
    proposals_per_view[block.view] += 1;
    EXPECT_GT(block.view, 3u) << "proposed for view " << block.view
                              << ", at or below the finalized view 3";
    EXPECT_TRUE(decode_message(encode_message(proposal), MessageLimits{}).is_ok())
        << "parent view " << block.parent_view << " is not below the view " << block.view;
    EXPECT_TRUE(solo.storage().first_recorded(std::nullopt, block.view, block.hash()).has_value())
        << "proposal for view " << block.view << " was never persisted";
  }
  for (const auto& [view, count] : proposals_per_view) EXPECT_EQ(count, 1) << "view " << view;
}

}  // namespace
}  // namespace ballast::consensus
