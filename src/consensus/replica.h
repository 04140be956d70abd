// A Simplex-style BFT replica, sans-IO: messages and time go in (on_message, on_tick), messages
// to send and finalized blocks come out (take_outgoing, take_finalized). It never reads a clock,
// socket, file, thread or random source; storage, signing and the application are interfaces.
//
// The protocol (docs/CONSENSUS.md): in view v the leader proposes a block extending the highest
// notarized block; replicas vote notarize for the first valid proposal; a quorum of notarize
// votes (a notarization) moves everyone to v+1 and triggers a finalize vote from each replica
// that did not nullify v; a quorum of finalize votes finalizes the block and its ancestors. If
// the view timer fires first, or nullify votes from more than a third of the stake arrive, or it
// refuses the proposal of the view's leader, a replica votes nullify; a quorum of those skips the
// view. A replica never signs both finalize(v) and nullify(v), nor two notarize votes in one
// view, and it persists its votes before they leave it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "consensus/interfaces.h"
#include "consensus/leader_schedule.h"

namespace ballast::consensus {

struct TimerConfig {
  TimeMs initial_timeout_ms = 1'000;  // before any view latency has been observed
  TimeMs min_timeout_ms = 50;
  TimeMs max_timeout_ms = 3'000;
  std::int64_t latency_multiplier = 4;  // timeout = multiplier x smoothed view latency
  // A replica stuck in a view repeats its votes and certificates at least this often, however
  // long its view timeout has grown: after a partition heals, nobody waits a full timeout to
  // hear what it missed.
  TimeMs max_retransmit_interval_ms = 500;
};

struct ReplicaConfig {
  std::string chain_id;
  ValidatorIndex self = 0;
  TimerConfig timers;
  MessageLimits limits;
  std::size_t max_block_transactions = 1'000;
  TimeMs max_future_timestamp_ms = 5'000;  // how far ahead of our clock a block may be stamped
  // A leader with nothing to include waits until this long after its parent before proposing
  // an empty block. View timeouts never go below twice this, so a waiting leader is not
  // mistaken for a dead one.
  TimeMs empty_block_interval_ms = 50;
  // No leader proposes, with transactions or without, until this long after its parent (0: at
  // once). At most empty_block_interval_ms, for the same reason.
  TimeMs block_interval_ms = 0;
  View inactivity_views = 64;     // leader skipping, see leader_schedule.h
  View max_future_views = 1'000;  // votes further ahead are ignored (memory bound)
  std::size_t max_outstanding_block_requests = 32;
  std::size_t ancestors_per_response = 16;  // a block request is answered with this many parents
  std::size_t recent_finalized_blocks = 1'024;  // kept in memory to serve lagging peers
  std::size_t max_evidence = 1'024;             // equivocation proofs kept (the rest counted)
};

struct Outgoing {
  std::optional<ValidatorIndex> to;  // nothing: every other validator
  MessagePtr message;
};

struct FinalizedBlock {
  Height height = 0;
  View view = 0;
  Hash256 hash;
  Hash256 state_root;  // after executing it
  std::shared_ptr<const Block> block;
};

// Two signed messages from one validator that no honest validator would sign together.
struct Evidence {
  ValidatorIndex validator = 0;
  View view = 0;
  Message first;
  Message second;
  std::string what;
};

struct ReplicaStats {
  std::uint64_t views_nullified = 0;     // nullification certificates seen
  std::uint64_t proposals_rejected = 0;  // proposals this replica refused to vote for
  std::string last_rejection;            // why the latest of them was refused
  std::uint64_t invalid_messages = 0;    // bad signatures, malformed certificates
  std::uint64_t block_requests_sent = 0;
  std::uint64_t evidence_dropped = 0;  // proofs beyond max_evidence, counted not kept
  // Votes that arrived after their certificate and were kept without a signature check.
  std::uint64_t votes_held_unchecked = 0;
};

struct HeldVote;

// Whether a certificate holds distinct signers with a quorum of stake, every signature valid.
bool certificate_valid(const Certificate& certificate, const ValidatorSet& validators,
                       Verifier& verifier, std::string_view chain_id);
// The same, without checking again the shares `known_valid` vouches for (signatures this
// replica already checked).
bool certificate_valid(const Certificate& certificate, const ValidatorSet& validators,
                       Verifier& verifier, std::string_view chain_id,
                       const std::function<bool(const SignatureShare&)>& known_valid);

class Replica {
 public:
  Replica(ReplicaConfig config, const ValidatorSet& validators, Signer& signer, Verifier& verifier,
          Storage& storage, Application& application, const Block& genesis);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Loads persisted votes and finalized blocks (re-executing them), then enters its view.
  void start(TimeMs now);
  void on_message(ValidatorIndex from, const Message& message, TimeMs now);
  void on_tick(TimeMs now);
  // The application has new transactions: a leader that is holding back an empty block (to
  // pace an idle chain) proposes at once instead of waiting for the pacing time.
  void on_transactions_available(TimeMs now);
  // Finalized blocks fetched by a syncing node: `blocks` extend our finalized tip in height
  // order and `finalization` finalizes the last of them. Checked like any certificate.
  Status on_finalized_chain(std::span<const Block> blocks, const Certificate& finalization,
                            TimeMs now);

  std::vector<Outgoing> take_outgoing();
  std::vector<FinalizedBlock> take_finalized();
  // When on_tick next has something to do.
  TimeMs next_deadline() const;

  View view() const { return view_; }
  // Who leads the current view on the chain this replica would extend.
  ValidatorIndex current_leader();
  Height finalized_height() const { return finalized_height_; }
  const Hash256& finalized_hash() const { return finalized_hash_; }
  // The finalized tip as an anchor for a snapshot of the application taken now; nothing
  // before the first finalization.
  std::optional<Anchor> anchor() const;
  const std::vector<Evidence>& evidence() const { return evidence_; }
  // Set when a certified block carries a state root different from ours: this replica's state
  // has diverged, so it stops voting.
  const std::optional<std::string>& divergence() const { return divergence_; }
  const ReplicaStats& stats() const { return stats_; }
  ValidatorIndex self() const { return config_.self; }
  // One line on the current view for operators: what this replica voted, whose votes of each
  // kind it holds, and which proposals it is waiting on. Logged when a view lasts too long.
  std::string describe_view() const;

 private:
  struct BlockEntry;
  struct ViewState;

  // Inputs by message kind.
  void on_proposal(ValidatorIndex from, const Proposal& proposal, TimeMs now);
  void on_vote(const Vote& vote, TimeMs now);
  void on_certificate(const Certificate& certificate, TimeMs now, bool formed_here);
  void on_block_request(ValidatorIndex from, const BlockRequest& request);
  void on_block_response(const BlockResponse& response, TimeMs now);

  // Views and timers.
  void enter_view(View view, TimeMs now);
  TimeMs current_timeout() const;
  TimeMs retransmit_interval() const;
  void observe_view_latency(TimeMs latency);
  void timeout(TimeMs now);
  void join_nullification(TimeMs now);
  bool from_expected_leader(const Block& block);
  void retransmit(TimeMs now);
  void retry_block_requests(TimeMs now);

  // Proposing and voting.
  void maybe_propose(TimeMs now);
  std::optional<Hash256> select_parent(View view) const;
  void consider_proposals(TimeMs now);
  std::optional<std::string> proposal_problem(const Block& block, TimeMs now);
  bool proposal_ready(const Block& block);
  void vote(VoteKind kind, View view, const Hash256& block);
  void persist_and_vote(VoteKind kind, View view, const Hash256& block);
  void persist_voting_state();
  bool may_vote() const { return !divergence_.has_value(); }

  // Blocks, certificates and finalization.
  void adopt_anchor(const Anchor& anchor);
  void store_block(const Block& block);
  const ActivityRecord* activity_of(const Hash256& hash);
  std::vector<const Block*> pending_chain(const Hash256& tip) const;
  bool certificate_valid(const Certificate& certificate);
  void note_notarized(const Certificate& certificate);
  // Finalizes the best finalization certificate's chain once every block of it is here.
  void try_finalize(TimeMs now);
  enum class ChainWalk { kFinalized, kMissingBlock, kConflict };
  // Finalizes the blocks from our finalized tip up to `certificate`'s block, if all are here
  // (otherwise requests the missing one); a chain that does not contain our tip is divergence.
  // The blocks are stored with one synced write, before anything reports them finalized.
  ChainWalk finalize_through(const Certificate& certificate, TimeMs now);
  // Executes the next block of the finalized chain (the caller stores it).
  void finalize_block(const BlockEntry& entry);
  void check_certified_root(const Block& block);
  void request_block(const Hash256& hash);
  std::shared_ptr<const Block> known_block(const Hash256& hash) const;
  void prune();

  // Votes and evidence.
  void record_evidence(ValidatorIndex validator, View view, const Message& first,
                       const Message& second, std::string what);
  void tally(const Vote& vote, TimeMs now);
  void find_evidence_in(const Certificate& certificate);
  // Whether the view already has a certificate of this kind, so a vote can change nothing.
  bool certified(VoteKind kind, View view) const;
  bool verify_vote(const Vote& vote);
  // Checks a vote held unchecked (once); false if its signature is bad.
  bool holds_valid(HeldVote& held);
  void send(std::optional<ValidatorIndex> to, Message message);
  void help_laggard(ValidatorIndex peer);
  ViewState& view_state(View view);

  ReplicaConfig config_;
  const ValidatorSet& validators_;
  Signer& signer_;
  Verifier& verifier_;
  Storage& storage_;
  Application& application_;
  LeaderSchedule schedule_;

  VotingState voting_;
  TimeMs input_time_ = 0;  // the time given with the input being handled
  View view_ = 1;
  TimeMs view_entered_at_ = 0;
  TimeMs deadline_ = 0;
  TimeMs next_retransmit_ = 0;
  TimeMs next_request_retry_ = 0;
  std::optional<TimeMs> propose_at_;  // a paced empty proposal is due then
  TimeMs smoothed_view_latency_ms_ = 0;
  std::uint32_t consecutive_nullified_ = 0;

  std::map<Hash256, std::unique_ptr<BlockEntry>> blocks_;
  std::map<View, std::unique_ptr<ViewState>> views_;
  std::map<View, Certificate> notarizations_;
  std::map<View, Certificate> nullifications_;
  std::optional<Certificate> best_finalization_;  // highest finalization not yet applied
  std::optional<Certificate> last_finalization_;  // the one that finalized our tip

  Hash256 finalized_hash_;
  View finalized_view_ = 0;
  Height finalized_height_ = 0;
  std::map<Hash256, std::shared_ptr<const Block>> recent_finalized_blocks_;
  std::vector<Hash256> recent_finalized_;           // oldest first, bounded
  std::map<Hash256, TimeMs> outstanding_requests_;  // block hash -> when first requested
  // Parents of requested blocks that a responder is sending, with how many more ancestors
  // follow each; when a batch ends, the next one is requested.
  std::map<Hash256, std::size_t> expected_ancestors_;
  std::set<std::pair<ValidatorIndex, View>> helped_;  // laggards sent our certificates, per view

  std::vector<Outgoing> outgoing_;
  std::vector<FinalizedBlock> finalized_out_;
  std::vector<Evidence> evidence_;
  std::set<std::pair<ValidatorIndex, View>> evidence_seen_;
  std::optional<std::string> divergence_;
  ReplicaStats stats_;
};

}  // namespace ballast::consensus
