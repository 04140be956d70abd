#include "consensus/replica.h"

#include <algorithm>

#include "base/assert.h"

namespace ballast::consensus {

struct Replica::BlockEntry {
  std::shared_ptr<const Block> block;
  Hash256 hash;
  std::optional<ActivityRecord> activity;  // known once its chain down to the tip is known
};

// A vote held in a view. One that arrives after its kind's certificate for the view exists is
// kept with its signature unchecked: it can no longer change a tally, and a check costs as much
// as a transaction's. It is checked only if it ever matters, as half of a proof of equivocation.
struct HeldVote {
  Vote vote;
  bool checked = true;
};

struct Replica::ViewState {
  std::map<ValidatorIndex, HeldVote> notarize;
  std::map<ValidatorIndex, HeldVote> nullify;
  std::map<ValidatorIndex, HeldVote> finalize;
  std::map<ValidatorIndex, Proposal> proposals;  // the first proposal seen from each proposer
  std::vector<Hash256> candidates;               // proposed blocks not yet judged, oldest first

  // The votes a vote of `kind` contradicts when they name different blocks (same kind), or at
  // all (finalize against nullify); none for a notarize vote beyond its own kind.
  std::map<ValidatorIndex, HeldVote>* opposite(VoteKind kind) {
    switch (kind) {
      case VoteKind::kNotarize:
        return nullptr;
      case VoteKind::kNullify:
        return &finalize;
      case VoteKind::kFinalize:
        return &nullify;
    }
    BALLAST_ASSERT_MSG(false, "unknown vote kind");
    return nullptr;
  }

  std::map<ValidatorIndex, HeldVote>& votes(VoteKind kind) {
    switch (kind) {
      case VoteKind::kNotarize:
        return notarize;
      case VoteKind::kNullify:
        return nullify;
      case VoteKind::kFinalize:
        return finalize;
    }
    BALLAST_ASSERT_MSG(false, "unknown vote kind");
    return notarize;
  }
};

namespace {

// Bounds one retransmission round; views skipped further back than this are rare and their
// certificates were retransmitted in earlier rounds.
constexpr View kMaxRetransmittedNullifications = 64;

View message_view(const Message& message) {
  if (const auto* proposal = std::get_if<Proposal>(&message)) return proposal->block.view;
  if (const auto* vote = std::get_if<Vote>(&message)) return vote->view;
  if (const auto* certificate = std::get_if<Certificate>(&message)) return certificate->view;
  return 0;
}

void assert_consistent(const VotingState& state) {
  for (const auto& [view, votes] : state.votes) {
    BALLAST_ASSERT_MSG(!(votes.finalized && votes.nullified),
                       "voting state holds both finalize and nullify for one view");
  }
}

}  // namespace

Replica::Replica(ReplicaConfig config, const ValidatorSet& validators, Signer& signer,
                 Verifier& verifier, Storage& storage, Application& application,
                 const Block& genesis)
    : config_(std::move(config)),
      validators_(validators),
      signer_(signer),
      verifier_(verifier),
      storage_(storage),
      application_(application),
      schedule_(validators, sha256(as_bytes("ballast-leaders:" + config_.chain_id)),
                config_.inactivity_views) {
  BALLAST_ASSERT(config_.self < validators.size());
  BALLAST_ASSERT(config_.block_interval_ms <= config_.empty_block_interval_ms);
  auto entry = std::make_unique<BlockEntry>();
  entry->block = std::make_shared<const Block>(genesis);
  entry->hash = genesis.hash();
  entry->activity = schedule_.genesis_record();
  finalized_hash_ = entry->hash;
  blocks_.emplace(entry->hash, std::move(entry));
}

Replica::~Replica() = default;

// --- inputs -----------------------------------------------------------------------------------

void Replica::start(TimeMs now) {
  input_time_ = now;
  voting_ = storage_.load_voting_state();
  assert_consistent(voting_);
  if (std::optional<Anchor> anchor = storage_.load_anchor()) adopt_anchor(*anchor);
  for (FinalizedEntry& stored : storage_.load_finalized()) {
    BALLAST_ASSERT_MSG(stored.block.parent == finalized_hash_,
                       "stored finalized blocks do not form a chain");
    store_block(stored.block);
    activity_of(stored.block.hash());
    finalize_block(*blocks_.at(stored.block.hash()));  // stored already
    last_finalization_ = stored.finalization;
  }
  finalized_out_.clear();
  prune();
  for (const auto& [view, block] : voting_.blocks) {
    if (view > finalized_view_) store_block(block);
  }
  View resume = std::max({voting_.view, finalized_view_ + 1, View{1}});
  view_ = 0;
  enter_view(resume, now);
  if (voting_.justification) {
    Certificate justification = *voting_.justification;
    on_certificate(justification, now, /*formed_here=*/false);
    send(std::nullopt, justification);
  }
}

// The application was restored from a snapshot taken at the anchor: the chain starts there.
void Replica::adopt_anchor(const Anchor& anchor) {
  BALLAST_ASSERT_MSG(application_.executed_height() == anchor.block.height,
                     "the application was not restored to the anchor's height");
  BALLAST_ASSERT(anchor.finalization.kind == VoteKind::kFinalize &&
                 anchor.finalization.block == anchor.block.hash());
  auto entry = std::make_unique<BlockEntry>();
  entry->block = std::make_shared<const Block>(anchor.block);
  entry->hash = anchor.block.hash();
  entry->activity = anchor.activity;
  finalized_hash_ = entry->hash;
  finalized_view_ = anchor.block.view;
  finalized_height_ = anchor.block.height;
  last_finalization_ = anchor.finalization;
  recent_finalized_blocks_.emplace(entry->hash, entry->block);
  recent_finalized_.push_back(entry->hash);
  blocks_.clear();
  blocks_.emplace(entry->hash, std::move(entry));
}

ValidatorIndex Replica::current_leader() {
  std::optional<Hash256> parent = select_parent(view_);
  const ActivityRecord* record = parent ? activity_of(*parent) : nullptr;
  if (record == nullptr) record = activity_of(finalized_hash_);
  BALLAST_ASSERT(record != nullptr);
  return schedule_.leader(view_, *record);
}

std::optional<Anchor> Replica::anchor() const {
  if (!last_finalization_) return std::nullopt;
  const BlockEntry& tip = *blocks_.at(finalized_hash_);
  BALLAST_ASSERT(last_finalization_->block == finalized_hash_ && tip.activity.has_value());
  return Anchor{*tip.block, *last_finalization_, *tip.activity};
}

Status Replica::on_finalized_chain(std::span<const Block> blocks, const Certificate& finalization,
                                   TimeMs now) {
  input_time_ = now;
  if (blocks.empty()) return invalid_argument("no blocks");
  if (finalization.kind != VoteKind::kFinalize || finalization.block != blocks.back().hash()) {
    return invalid_argument("the certificate does not finalize the last block");
  }
  Hash256 parent = finalized_hash_;
  Height height = finalized_height_;
  for (const Block& block : blocks) {
    if (block.parent != parent || block.height != height + 1) {
      return invalid_argument("the blocks do not extend the finalized chain at height " +
                              std::to_string(height));
    }
    parent = block.hash();
    height = block.height;
  }
  if (!certificate_valid(finalization)) {
    stats_.invalid_messages += 1;
    return invalid_argument("the finalization certificate is not valid");
  }
  for (const Block& block : blocks) store_block(block);
  // Final on their own certificate, even while a newer one waits for blocks still missing
  // between them and it: a restarted validator hears the live certificates before its sync
  // has caught up.
  const ChainWalk walk = finalize_through(finalization, now);
  BALLAST_ASSERT(walk == ChainWalk::kFinalized);  // they extend our tip, checked above
  try_finalize(now);
  return Status::ok();
}

void Replica::on_message(ValidatorIndex from, const Message& message, TimeMs now) {
  input_time_ = now;
  if (from >= validators_.size()) return;
  View seen = message_view(message);
  if (seen != 0 && seen + 1 < view_ && from != config_.self) help_laggard(from);
  std::visit(
      [&](const auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, Proposal>) on_proposal(from, body, now);
        if constexpr (std::is_same_v<Body, Vote>) on_vote(body, now);
        if constexpr (std::is_same_v<Body, Certificate>) on_certificate(body, now, false);
        if constexpr (std::is_same_v<Body, BlockRequest>) on_block_request(from, body);
        if constexpr (std::is_same_v<Body, BlockResponse>) on_block_response(body, now);
      },
      message);
}

void Replica::on_tick(TimeMs now) {
  input_time_ = now;
  const ViewVotes& mine = voting_.votes[view_];
  if (now >= deadline_ && !mine.nullified && !mine.finalized && may_vote()) {
    timeout(now);
  } else if (now >= next_retransmit_) {
    retransmit(now);
  }
  if (now >= next_request_retry_) retry_block_requests(now);
  if (propose_at_ && now >= *propose_at_) {
    propose_at_.reset();
    maybe_propose(now);
  }
}

void Replica::on_transactions_available(TimeMs now) {
  input_time_ = now;
  if (!propose_at_) return;
  propose_at_.reset();
  maybe_propose(now);  // paces again if the payload turns out empty
}

// Block requests and their answers can be lost like anything else; ask again, on a clock of
// their own, since views may keep changing while a block is missing.
void Replica::retry_block_requests(TimeMs now) {
  next_request_retry_ = now + config_.timers.max_retransmit_interval_ms;
  // Whatever we still need is asked for again: a request may have been evicted by newer ones.
  try_finalize(now);
  if (auto it = notarizations_.lower_bound(view_); it != notarizations_.begin()) {
    --it;
    if (!blocks_.contains(it->second.block)) request_block(it->second.block);
  }
  for (const auto& [hash, remaining] : expected_ancestors_) request_block(hash);
  expected_ancestors_.clear();
  for (const auto& [hash, since] : outstanding_requests_) send(std::nullopt, BlockRequest{hash});
}

std::vector<Outgoing> Replica::take_outgoing() {
  return std::exchange(outgoing_, {});
}

std::vector<FinalizedBlock> Replica::take_finalized() {
  return std::exchange(finalized_out_, {});
}

TimeMs Replica::next_deadline() const {
  auto it = voting_.votes.find(view_);
  bool nullified = it != voting_.votes.end() && it->second.nullified;
  TimeMs next = nullified ? next_retransmit_ : std::min(deadline_, next_retransmit_);
  if (!outstanding_requests_.empty() || !expected_ancestors_.empty()) {
    next = std::min(next, next_request_retry_);
  }
  if (propose_at_) next = std::min(next, *propose_at_);
  return next;
}

// --- views and timers -------------------------------------------------------------------------

void Replica::enter_view(View view, TimeMs now) {
  if (view <= view_) return;
  view_ = view;
  voting_.view = view;
  propose_at_.reset();
  view_entered_at_ = now;
  deadline_ = now + current_timeout();
  next_retransmit_ = now + retransmit_interval();
  helped_.clear();
  maybe_propose(now);
  consider_proposals(now);
  join_nullification(now);
}

TimeMs Replica::current_timeout() const {
  const TimerConfig& timers = config_.timers;
  TimeMs base = smoothed_view_latency_ms_ == 0
                    ? timers.initial_timeout_ms
                    : smoothed_view_latency_ms_ * timers.latency_multiplier;
  base = std::clamp(base, std::max(timers.min_timeout_ms, 2 * config_.empty_block_interval_ms),
                    timers.max_timeout_ms);
  // Doubling per consecutive nullified view until the maximum: after GST the timeout reaches
  // whatever the network needs, up to max_timeout_ms.
  TimeMs timeout = base;
  for (std::uint32_t i = 0; i < consecutive_nullified_ && timeout < timers.max_timeout_ms; ++i) {
    timeout *= 2;
  }
  return std::min(timeout, timers.max_timeout_ms);
}

// Follows the upper envelope of view durations: up at once, down slowly. A replica that
// entered a view late (its proposal and votes already waiting) sees a short view; trusting that
// would shrink its timeout below what the slowest link needs and make it nullify good views.
void Replica::observe_view_latency(TimeMs latency) {
  latency = std::max<TimeMs>(1, latency);
  if (latency >= smoothed_view_latency_ms_) {
    smoothed_view_latency_ms_ = latency;
  } else {
    smoothed_view_latency_ms_ = (7 * smoothed_view_latency_ms_ + latency) / 8;
  }
}

TimeMs Replica::retransmit_interval() const {
  return std::min(current_timeout(), config_.timers.max_retransmit_interval_ms);
}

void Replica::timeout(TimeMs now) {
  persist_and_vote(VoteKind::kNullify, view_, Hash256{});
  next_retransmit_ = now + retransmit_interval();
}

// Nullify votes for this view, from validators that did not vote notarize in it first, holding
// more than a third of the stake: at least one honest replica timed out here without a block to
// vote for, and an honest replica that nullified never notarizes, so without them no block of
// this view can gather a quorum. (One that voted notarize before its timer fired still counts
// towards a notarization, so it does not count here.) Waiting for our own timer would change
// nothing but the wait: after a partition heals, the replicas that voted notarize on one side and
// those that timed out on the other each held up the view for as long as their timers ran (up to
// max_timeout_ms). Nullifying is safe at any time before a finalize vote.
void Replica::join_nullification(TimeMs now) {
  const ViewVotes& mine = voting_.votes[view_];
  if (mine.nullified || mine.finalized || !may_vote()) return;
  auto state = views_.find(view_);
  if (state == views_.end()) return;
  const auto& notarized = state->second->votes(VoteKind::kNotarize);
  Stake stake = 0;
  for (const auto& [signer, held] : state->second->votes(VoteKind::kNullify)) {
    if (held.checked && !notarized.contains(signer)) stake += validators_[signer].stake;
  }
  if (validators_.exceeds_one_third(stake)) timeout(now);
}

// A lossy network can eat any message, so a replica stuck in a view repeats what would let the
// others progress: its votes in this view and the certificates it holds.
void Replica::retransmit(TimeMs now) {
  next_retransmit_ = now + retransmit_interval();
  // Our votes in this view, from the persisted record: after a restart they are no longer in
  // memory, and the quorum may be waiting for exactly them.
  const ViewVotes& mine = voting_.votes[view_];
  if (auto state = views_.find(view_); state != views_.end() && mine.proposed) {
    auto& proposals = state->second->proposals;
    if (auto ours = proposals.find(config_.self); ours != proposals.end()) {
      send(std::nullopt, ours->second);
    }
  }
  if (mine.notarized) vote(VoteKind::kNotarize, view_, *mine.notarized);
  if (mine.nullified) vote(VoteKind::kNullify, view_, Hash256{});
  // Everything needed to judge a proposal for this view: the highest notarization and the
  // nullifications of every view after it. A replica that lost one of them (a restart, a lossy
  // link) could otherwise never vote again.
  View justified_from = finalized_view_;
  if (auto it = notarizations_.lower_bound(view_); it != notarizations_.begin()) {
    --it;
    justified_from = it->first;
    send(std::nullopt, it->second);
  }
  View first = std::max(justified_from + 1, view_ > kMaxRetransmittedNullifications
                                                ? view_ - kMaxRetransmittedNullifications
                                                : View{1});
  for (auto it = nullifications_.lower_bound(first);
       it != nullifications_.end() && it->first < view_; ++it) {
    send(std::nullopt, it->second);
  }
  if (best_finalization_) send(std::nullopt, *best_finalization_);
  if (last_finalization_) send(std::nullopt, *last_finalization_);
}

void Replica::help_laggard(ValidatorIndex peer) {
  if (!helped_.insert({peer, view_}).second) return;
  if (auto it = notarizations_.find(view_ - 1); it != notarizations_.end()) {
    send(peer, it->second);
  } else if (auto null = nullifications_.find(view_ - 1); null != nullifications_.end()) {
    send(peer, null->second);
  }
  if (last_finalization_) send(peer, *last_finalization_);
}

std::string Replica::describe_view() const {
  auto signers = [](const std::map<ValidatorIndex, HeldVote>& votes) {
    std::string list;
    for (const auto& [signer, held] : votes) {
      list += (list.empty() ? "" : ",") + std::to_string(signer);
    }
    return "{" + list + "}";
  };
  std::string text = "view " + std::to_string(view_) + " finalized height " +
                     std::to_string(finalized_height_) + " (view " +
                     std::to_string(finalized_view_) + ")";
  if (auto mine = voting_.votes.find(view_); mine != voting_.votes.end()) {
    text += std::string("; voted") + (mine->second.notarized ? " notarize" : "") +
            (mine->second.nullified ? " nullify" : "") +
            (mine->second.finalized ? " finalize" : "");
  }
  if (auto state = views_.find(view_); state != views_.end()) {
    text += "; notarize votes from " + signers(state->second->notarize) + ", nullify from " +
            signers(state->second->nullify) + ", proposals " +
            std::to_string(state->second->proposals.size()) + ", unjudged " +
            std::to_string(state->second->candidates.size());
  }
  std::optional<Hash256> parent = select_parent(view_);
  text += parent ? "; extends " + parent->hex().substr(0, 16) : "; no parent justified";
  if (!notarizations_.empty()) {
    text += "; highest notarization view " + std::to_string(notarizations_.rbegin()->first);
  }
  if (!nullifications_.empty()) {
    text += "; highest nullification view " + std::to_string(nullifications_.rbegin()->first);
  }
  text += "; " + std::to_string(outstanding_requests_.size()) + " block requests outstanding";
  if (!stats_.last_rejection.empty()) text += "; last refused proposal: " + stats_.last_rejection;
  return text;
}

Replica::ViewState& Replica::view_state(View view) {
  auto& slot = views_[view];
  if (!slot) slot = std::make_unique<ViewState>();
  return *slot;
}

// --- proposing --------------------------------------------------------------------------------

std::optional<Hash256> Replica::select_parent(View view) const {
  for (View candidate = view - 1;; --candidate) {
    if (candidate <= finalized_view_) return finalized_hash_;
    if (auto it = notarizations_.find(candidate); it != notarizations_.end()) {
      if (!blocks_.contains(it->second.block)) return std::nullopt;
      return it->second.block;
    }
    if (!nullifications_.contains(candidate)) return std::nullopt;
  }
}

void Replica::maybe_propose(TimeMs now) {
  if (!may_vote() || voting_.votes[view_].proposed || voting_.votes[view_].nullified) return;
  auto parent_hash = select_parent(view_);
  if (!parent_hash) return;
  const ActivityRecord* activity = activity_of(*parent_hash);
  if (activity == nullptr || schedule_.leader(view_, *activity) != config_.self) return;
  const Block& parent = *blocks_.at(*parent_hash)->block;
  // Checked before the payload is built, which a waiting leader would otherwise redo each round.
  if (now < parent.timestamp_ms + config_.block_interval_ms) {
    propose_at_ = parent.timestamp_ms + config_.block_interval_ms;
    return;
  }

  Block block;
  block.view = view_;
  block.height = parent.height + 1;
  block.parent = *parent_hash;
  block.parent_view = parent.view;
  block.proposer = config_.self;
  block.timestamp_ms = std::max(now, parent.timestamp_ms);
  block.state_root_height = application_.executed_height();
  block.state_root = *application_.root_at(block.state_root_height);
  if (block.state_root_height < parent.state_root_height) return;  // we lag the chain we extend
  std::vector<const Block*> pending = pending_chain(*parent_hash);
  block.transactions =
      application_.build_payload(block.height, pending, config_.max_block_transactions);
  if (block.transactions.empty() && now < parent.timestamp_ms + config_.empty_block_interval_ms) {
    propose_at_ = parent.timestamp_ms + config_.empty_block_interval_ms;
    return;
  }
  propose_at_.reset();

  Hash256 hash = block.hash();
  voting_.votes[view_].proposed = hash;
  voting_.blocks[view_] = block;
  persist_voting_state();
  Proposal proposal{std::move(block), signer_.sign(proposal_digest(config_.chain_id, hash))};
  send(std::nullopt, proposal);
  on_proposal(config_.self, proposal, now);
}

// --- proposals and notarize votes -------------------------------------------------------------

void Replica::on_proposal(ValidatorIndex from, const Proposal& proposal, TimeMs now) {
  (void)from;
  const Block& block = proposal.block;
  if (block.view <= finalized_view_ || block.view > view_ + config_.max_future_views) return;
  if (block.proposer >= validators_.size() || block.height == 0) {
    stats_.invalid_messages += 1;
    return;
  }
  Hash256 hash = block.hash();
  ViewState& state = view_state(block.view);
  if (auto it = state.proposals.find(block.proposer); it != state.proposals.end()) {
    if (it->second.block.hash() != hash &&
        verifier_.verify(block.proposer, proposal_digest(config_.chain_id, hash),
                         proposal.signature)) {
      record_evidence(block.proposer, block.view, it->second, proposal, "two proposals");
    }
    return;
  }
  if (!verifier_.verify(block.proposer, proposal_digest(config_.chain_id, hash),
                        proposal.signature)) {
    stats_.invalid_messages += 1;
    return;
  }
  state.proposals.emplace(block.proposer, proposal);
  state.candidates.push_back(hash);
  store_block(block);
  if (block.view == view_) consider_proposals(now);
}

void Replica::consider_proposals(TimeMs now) {
  auto state_it = views_.find(view_);
  if (state_it == views_.end() || !may_vote()) return;
  ViewState& state = *state_it->second;
  const ViewVotes& mine = voting_.votes[view_];
  if (mine.notarized || mine.nullified) return;
  for (auto it = state.candidates.begin(); it != state.candidates.end();) {
    const Block& block = *blocks_.at(*it)->block;
    if (!proposal_ready(block)) {
      ++it;
      continue;
    }
    if (auto problem = proposal_problem(block, now)) {
      stats_.proposals_rejected += 1;
      stats_.last_rejection = "view " + std::to_string(block.view) + ": " + *problem;
      const bool from_the_leader = from_expected_leader(block);
      it = state.candidates.erase(it);
      // The leader has one proposal per view (a second is equivocation): refused, the view can
      // bring this replica nothing to notarize, and its timer would only add waiting.
      if (from_the_leader) {
        timeout(now);
        return;
      }
      continue;
    }
    Hash256 hash = *it;
    state.candidates.erase(it);
    persist_and_vote(VoteKind::kNotarize, view_, hash);
    return;
  }
}

// Whether the block comes from the leader this replica expects, on the parent it would extend
// itself. A proposal on another parent may have another leader, and refusing it says nothing
// about what this view's rightful leader will propose.
bool Replica::from_expected_leader(const Block& block) {
  std::optional<Hash256> parent = select_parent(view_);
  if (!parent || block.parent != *parent) return false;
  const ActivityRecord* activity = activity_of(*parent);
  return activity != nullptr && schedule_.leader(view_, *activity) == block.proposer;
}

// Whether everything needed to judge the block is here: its parent, the parent's notarization
// and a nullification for every view it skips. Asks peers for a missing parent.
bool Replica::proposal_ready(const Block& block) {
  if (block.parent == finalized_hash_) {
    if (block.parent_view != finalized_view_) return true;  // judged (and refused) below
  } else {
    auto parent = blocks_.find(block.parent);
    if (parent == blocks_.end()) {
      request_block(block.parent);
      return false;
    }
    auto notarized = notarizations_.find(block.parent_view);
    if (notarized == notarizations_.end() || notarized->second.block != block.parent) return false;
  }
  for (View skipped = block.parent_view + 1; skipped < block.view; ++skipped) {
    if (!nullifications_.contains(skipped)) return false;
  }
  return activity_of(block.parent) != nullptr;
}

std::optional<std::string> Replica::proposal_problem(const Block& block, TimeMs now) {
  const Block& parent = *blocks_.at(block.parent)->block;
  if (parent.view != block.parent_view) return "parent view does not match the parent";
  if (block.height != parent.height + 1) return "height is not the parent's plus one";
  if (block.proposer != schedule_.leader(block.view, *activity_of(block.parent))) {
    return "proposer is not the leader of the view";
  }
  if (block.timestamp_ms < parent.timestamp_ms) return "timestamp goes backwards";
  if (block.timestamp_ms > now + config_.max_future_timestamp_ms)
    return "timestamp is too far ahead";
  if (block.transactions.size() > config_.max_block_transactions) return "too many transactions";
  if (block.state_root_height >= block.height ||
      block.state_root_height < parent.state_root_height) {
    return "state root height out of range";
  }
  if (auto root = application_.root_at(block.state_root_height)) {
    if (*root != block.state_root) return "state root differs from ours";
  }
  std::vector<const Block*> pending = pending_chain(block.parent);
  Status payload = application_.verify_payload(block.height, block.transactions, pending);
  if (!payload.is_ok()) return "invalid payload: " + payload.message();
  return std::nullopt;
}

void Replica::persist_and_vote(VoteKind kind, View view, const Hash256& block) {
  BALLAST_ASSERT(may_vote());
  ViewVotes& mine = voting_.votes[view];
  switch (kind) {
    case VoteKind::kNotarize:
      BALLAST_ASSERT_MSG(!mine.notarized, "second notarize vote in one view");
      mine.notarized = block;
      voting_.blocks[view] = *blocks_.at(block)->block;
      break;
    case VoteKind::kNullify:
      BALLAST_ASSERT_MSG(!mine.finalized && !mine.nullified, "nullify after finalize");
      mine.nullified = true;
      break;
    case VoteKind::kFinalize:
      BALLAST_ASSERT_MSG(!mine.nullified && !mine.finalized, "finalize after nullify");
      mine.finalized = true;
      break;
  }
  persist_voting_state();  // durable before the vote can leave
  vote(kind, view, block);
}

void Replica::persist_voting_state() {
  voting_.votes.erase(voting_.votes.begin(), voting_.votes.lower_bound(finalized_view_));
  voting_.blocks.erase(voting_.blocks.begin(), voting_.blocks.upper_bound(finalized_view_));
  voting_.justification.reset();
  if (auto it = notarizations_.find(view_ - 1); it != notarizations_.end()) {
    voting_.justification = it->second;
  } else if (auto null = nullifications_.find(view_ - 1); null != nullifications_.end()) {
    voting_.justification = null->second;
  }
  storage_.persist_voting_state(voting_);
}

// Sends our vote, signing it the first time. Only persisted votes reach here, so sending one
// again (after a restart, or to make up for loss) never contradicts anything we signed.
void Replica::vote(VoteKind kind, View view, const Hash256& block) {
  auto& ours = view_state(view).votes(kind);
  auto existing = ours.find(config_.self);
  if (existing != ours.end()) {
    BALLAST_ASSERT(existing->second.vote.block == block);
    send(std::nullopt, existing->second.vote);
    return;
  }
  Vote vote{kind, view, block, config_.self,
            signer_.sign(vote_digest(config_.chain_id, kind, view, block))};
  ours.emplace(config_.self, HeldVote{vote, true});
  send(std::nullopt, vote);
  tally(vote, input_time_);
}

// --- votes and certificates -------------------------------------------------------------------

void Replica::on_vote(const Vote& vote, TimeMs now) {
  if (vote.signer >= validators_.size() || vote.signer == config_.self) return;
  if (vote.view < finalized_view_ || vote.view == 0 ||
      vote.view > view_ + config_.max_future_views) {
    return;
  }
  if (vote.kind == VoteKind::kNullify && vote.block != Hash256{}) {
    stats_.invalid_messages += 1;
    return;
  }
  ViewState& state = view_state(vote.view);
  auto& same_kind = state.votes(vote.kind);
  auto previous = same_kind.find(vote.signer);
  // The same vote again (perhaps signed afresh after a restart) is no news and no offence.
  if (previous != same_kind.end() && previous->second.vote.block == vote.block) return;
  auto* opposite = state.opposite(vote.kind);
  auto conflict = opposite ? opposite->find(vote.signer) : same_kind.end();
  const bool contradicts = previous != same_kind.end() || (opposite && conflict != opposite->end());
  if (!contradicts && certified(vote.kind, vote.view)) {
    same_kind.emplace(vote.signer, HeldVote{vote, false});
    stats_.votes_held_unchecked += 1;
    return;
  }
  if (!verify_vote(vote)) {
    stats_.invalid_messages += 1;
    return;
  }
  if (previous != same_kind.end()) {
    if (holds_valid(previous->second)) {
      record_evidence(vote.signer, vote.view, previous->second.vote, vote,
                      std::string("two ") + std::string(vote_kind_name(vote.kind)) + " votes");
      return;
    }
    same_kind.erase(previous);  // a forgery held unchecked gives way to the signed vote
  }
  if (opposite && conflict != opposite->end()) {
    if (holds_valid(conflict->second)) {
      record_evidence(vote.signer, vote.view, conflict->second.vote, vote, "finalize and nullify");
    } else {
      opposite->erase(conflict);
    }
  }
  same_kind.emplace(vote.signer, HeldVote{vote, true});
  tally(vote, now);
  if (vote.kind == VoteKind::kNullify && vote.view == view_) join_nullification(now);
}

bool Replica::certified(VoteKind kind, View view) const {
  switch (kind) {
    case VoteKind::kNotarize:
      return notarizations_.contains(view);
    case VoteKind::kNullify:
      return nullifications_.contains(view);
    case VoteKind::kFinalize:
      return view <= finalized_view_ || (best_finalization_ && best_finalization_->view >= view);
  }
  BALLAST_ASSERT_MSG(false, "unknown vote kind");
  return false;
}

bool Replica::verify_vote(const Vote& vote) {
  return verifier_.verify(
      vote.signer, vote_digest(config_.chain_id, vote.kind, vote.view, vote.block), vote.signature);
}

bool Replica::holds_valid(HeldVote& held) {
  if (held.checked) return true;
  held.checked = verify_vote(held.vote);
  if (!held.checked) stats_.invalid_messages += 1;
  return held.checked;
}

void Replica::tally(const Vote& vote, TimeMs now) {
  if (certified(vote.kind, vote.view)) return;
  ViewState& state = view_state(vote.view);
  Certificate certificate{vote.kind, vote.view, vote.block, {}};
  Stake stake = 0;
  for (const auto& [signer, held] : state.votes(vote.kind)) {
    if (!held.checked || held.vote.block != vote.block) continue;
    stake += validators_[signer].stake;
    certificate.signatures.push_back({signer, held.vote.signature});
  }
  if (validators_.is_quorum(stake)) on_certificate(certificate, now, true);
}

bool certificate_valid(const Certificate& certificate, const ValidatorSet& validators,
                       Verifier& verifier, std::string_view chain_id) {
  return certificate_valid(certificate, validators, verifier, chain_id,
                           [](const SignatureShare&) { return false; });
}

bool certificate_valid(const Certificate& certificate, const ValidatorSet& validators,
                       Verifier& verifier, std::string_view chain_id,
                       const std::function<bool(const SignatureShare&)>& known_valid) {
  if (certificate.kind == VoteKind::kNullify && certificate.block != Hash256{}) return false;
  Hash256 digest = vote_digest(chain_id, certificate.kind, certificate.view, certificate.block);
  Stake stake = 0;
  std::optional<ValidatorIndex> previous;
  for (const SignatureShare& share : certificate.signatures) {
    if (share.signer >= validators.size()) return false;
    if (previous && share.signer <= *previous) return false;  // sorted and distinct
    previous = share.signer;
    stake += validators[share.signer].stake;
  }
  if (!validators.is_quorum(stake)) return false;
  for (const SignatureShare& share : certificate.signatures) {
    if (known_valid(share)) continue;
    if (!verifier.verify(share.signer, digest, share.signature)) return false;
  }
  return true;
}

bool Replica::certificate_valid(const Certificate& certificate) {
  auto state = views_.find(certificate.view);
  auto* held_votes = state == views_.end() ? nullptr : &state->second->votes(certificate.kind);
  auto checked_here = [&](const SignatureShare& share) {
    if (held_votes == nullptr) return false;
    auto held = held_votes->find(share.signer);
    return held != held_votes->end() && held->second.checked &&
           held->second.vote.block == certificate.block &&
           held->second.vote.signature == share.signature;
  };
  return consensus::certificate_valid(certificate, validators_, verifier_, config_.chain_id,
                                      checked_here);
}

void Replica::on_certificate(const Certificate& certificate, TimeMs now, bool formed_here) {
  if (certificate.view == 0 || certificate.view < finalized_view_ ||
      certified(certificate.kind, certificate.view)) {
    return;
  }
  if (!formed_here && !certificate_valid(certificate)) {
    stats_.invalid_messages += 1;
    return;
  }
  const bool advances = certificate.view >= view_;
  if (formed_here || advances) send(std::nullopt, certificate);
  if (!formed_here) find_evidence_in(certificate);

  switch (certificate.kind) {
    case VoteKind::kNotarize: {
      notarizations_.emplace(certificate.view, certificate);
      note_notarized(certificate);
      if (certificate.view == view_) observe_view_latency(now - view_entered_at_);
      if (advances) consecutive_nullified_ = 0;
      const ViewVotes& mine = voting_.votes[certificate.view];
      if (may_vote() && !mine.nullified && !mine.finalized) {
        enter_view(certificate.view + 1, now);
        persist_and_vote(VoteKind::kFinalize, certificate.view, certificate.block);
      } else {
        enter_view(certificate.view + 1, now);
      }
      break;
    }
    case VoteKind::kNullify:
      nullifications_.emplace(certificate.view, certificate);
      stats_.views_nullified += 1;
      if (advances) consecutive_nullified_ += 1;
      enter_view(certificate.view + 1, now);
      break;
    case VoteKind::kFinalize:
      best_finalization_ = certificate;
      try_finalize(now);
      break;
  }
  consider_proposals(now);
  maybe_propose(now);
}

void Replica::note_notarized(const Certificate& certificate) {
  auto it = blocks_.find(certificate.block);
  if (it == blocks_.end()) {
    request_block(certificate.block);
    return;
  }
  check_certified_root(*it->second->block);
}

// --- blocks -----------------------------------------------------------------------------------

void Replica::store_block(const Block& block) {
  Hash256 hash = block.hash();
  if (blocks_.contains(hash)) return;
  auto entry = std::make_unique<BlockEntry>();
  entry->block = std::make_shared<const Block>(block);
  entry->hash = hash;
  blocks_.emplace(hash, std::move(entry));
}

const ActivityRecord* Replica::activity_of(const Hash256& hash) {
  std::vector<BlockEntry*> chain;
  Hash256 cursor = hash;
  for (;;) {
    auto it = blocks_.find(cursor);
    if (it == blocks_.end()) return nullptr;
    BlockEntry& entry = *it->second;
    if (entry.activity) break;
    if (entry.block->height == 0 || entry.block->view <= finalized_view_) return nullptr;
    chain.push_back(&entry);
    cursor = entry.block->parent;
  }
  const ActivityRecord* record = &*blocks_.at(cursor)->activity;
  View parent_view = blocks_.at(cursor)->block->view;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    BlockEntry& entry = **it;
    if (entry.block->parent_view != parent_view || entry.block->view <= parent_view) {
      return nullptr;  // a malformed chain: no leader can be derived from it
    }
    entry.activity =
        schedule_.extend(*record, parent_view, entry.block->view, entry.block->proposer);
    record = &*entry.activity;
    parent_view = entry.block->view;
  }
  return record;
}

std::vector<const Block*> Replica::pending_chain(const Hash256& tip) const {
  std::vector<const Block*> chain;
  for (Hash256 cursor = tip; cursor != finalized_hash_;) {
    auto it = blocks_.find(cursor);
    BALLAST_ASSERT_MSG(it != blocks_.end(), "pending chain has a gap");
    chain.push_back(it->second->block.get());
    cursor = it->second->block->parent;
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

void Replica::request_block(const Hash256& hash) {
  if (outstanding_requests_.contains(hash)) return;
  if (outstanding_requests_.size() >= config_.max_outstanding_block_requests) {
    // Full: the oldest request gives way, so junk (a Byzantine proposal's made-up parent) cannot
    // lock out real requests; a block still needed is asked for again on the next retry.
    auto oldest =
        std::min_element(outstanding_requests_.begin(), outstanding_requests_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    outstanding_requests_.erase(oldest);
  }
  if (outstanding_requests_.empty() && expected_ancestors_.empty()) {
    next_request_retry_ = input_time_ + config_.timers.max_retransmit_interval_ms;
  }
  outstanding_requests_.emplace(hash, input_time_);
  stats_.block_requests_sent += 1;
  send(std::nullopt, BlockRequest{hash});
}

std::shared_ptr<const Block> Replica::known_block(const Hash256& hash) const {
  if (auto it = blocks_.find(hash); it != blocks_.end()) return it->second->block;
  if (auto it = recent_finalized_blocks_.find(hash); it != recent_finalized_blocks_.end()) {
    return it->second;
  }
  return nullptr;
}

// Answers with the block and some of its ancestors, so a replica that is far behind catches up
// in a few round trips rather than one per block.
void Replica::on_block_request(ValidatorIndex from, const BlockRequest& request) {
  if (from == config_.self) return;
  std::shared_ptr<const Block> block = known_block(request.block);
  for (std::size_t sent = 0; block && sent <= config_.ancestors_per_response; ++sent) {
    send(from, BlockResponse{*block});
    if (block->height == 0) break;
    block = known_block(block->parent);
  }
}

void Replica::on_block_response(const BlockResponse& response, TimeMs now) {
  Hash256 hash = response.block.hash();
  // Accept only blocks we asked for, or ancestors of those: a hash we named ourselves.
  std::size_t ancestors_following;
  if (outstanding_requests_.erase(hash) == 1) {
    ancestors_following = config_.ancestors_per_response;
  } else if (auto expected = expected_ancestors_.find(hash);
             expected != expected_ancestors_.end()) {
    ancestors_following = expected->second;
    expected_ancestors_.erase(expected);
  } else {
    return;  // unsolicited or already answered
  }
  store_block(response.block);
  const Hash256& parent = response.block.parent;
  if (response.block.height > finalized_height_ + 1 && !blocks_.contains(parent)) {
    if (ancestors_following > 0 &&
        expected_ancestors_.size() < config_.max_outstanding_block_requests) {
      expected_ancestors_.emplace(parent, ancestors_following - 1);
    } else {
      request_block(parent);  // the batch ends here: ask for the next one
    }
  }
  if (auto it = notarizations_.find(response.block.view);
      it != notarizations_.end() && it->second.block == hash) {
    check_certified_root(response.block);
  }
  try_finalize(now);
  consider_proposals(now);
  maybe_propose(now);
}

// --- finalization -----------------------------------------------------------------------------

void Replica::try_finalize(TimeMs now) {
  if (!best_finalization_) return;
  Certificate certificate = *best_finalization_;
  best_finalization_.reset();
  // Settled already, by a synced batch that reached past it.
  if (certificate.view <= finalized_view_) return;
  if (finalize_through(certificate, now) == ChainWalk::kMissingBlock) {
    best_finalization_ = certificate;
  }
}

Replica::ChainWalk Replica::finalize_through(const Certificate& certificate, TimeMs now) {
  std::vector<const BlockEntry*> chain;
  for (Hash256 cursor = certificate.block; cursor != finalized_hash_;) {
    auto it = blocks_.find(cursor);
    if (it == blocks_.end()) {
      request_block(cursor);
      return ChainWalk::kMissingBlock;
    }
    const Block& block = *it->second->block;
    if (block.height <= finalized_height_) {
      // A certified chain that does not contain our finalized tip: only possible with
      // Byzantine stake of a third or more. Stop voting rather than build on it.
      divergence_ = "a finalization certificate conflicts with the finalized chain at height " +
                    std::to_string(block.height);
      return ChainWalk::kConflict;
    }
    chain.push_back(it->second.get());
    cursor = block.parent;
  }
  std::vector<FinalizedEntry> finalized;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    activity_of((*it)->hash);
    finalize_block(**it);
    finalized.push_back({*(*it)->block, certificate});
  }
  storage_.append_finalized(finalized);
  last_finalization_ = certificate;
  prune();
  // Catching up through a finalization skips every view up to the new tip.
  enter_view(finalized_view_ + 1, now);
  return ChainWalk::kFinalized;
}

void Replica::finalize_block(const BlockEntry& entry) {
  const Block& block = *entry.block;
  BALLAST_ASSERT(block.parent == finalized_hash_ && block.height == finalized_height_ + 1);
  check_certified_root(block);
  Hash256 root = application_.execute(block);
  BALLAST_ASSERT(application_.executed_height() == block.height);
  finalized_hash_ = entry.hash;
  finalized_view_ = block.view;
  finalized_height_ = block.height;
  recent_finalized_blocks_.emplace(entry.hash, entry.block);
  recent_finalized_.push_back(entry.hash);
  if (recent_finalized_.size() > config_.recent_finalized_blocks) {
    recent_finalized_blocks_.erase(recent_finalized_.front());
    recent_finalized_.erase(recent_finalized_.begin());
  }
  finalized_out_.push_back({block.height, block.view, entry.hash, root, entry.block});
}

void Replica::check_certified_root(const Block& block) {
  if (block.height == 0 || divergence_) return;
  auto root = application_.root_at(block.state_root_height);
  if (root && *root != block.state_root) {
    divergence_ = "certified block at height " + std::to_string(block.height) +
                  " claims state root " + block.state_root.hex() + " at height " +
                  std::to_string(block.state_root_height) + " but ours is " + root->hex();
  }
}

void Replica::prune() {
  // Everything below the finalized view is settled; keep the finalized tip itself.
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    const Block& block = *it->second->block;
    bool keep = it->first == finalized_hash_ || block.view > finalized_view_;
    it = keep ? std::next(it) : blocks_.erase(it);
  }
  views_.erase(views_.begin(), views_.lower_bound(finalized_view_));
  std::erase_if(expected_ancestors_,
                [&](const auto& entry) { return recent_finalized_blocks_.contains(entry.first); });
  notarizations_.erase(notarizations_.begin(), notarizations_.lower_bound(finalized_view_));
  nullifications_.erase(nullifications_.begin(), nullifications_.lower_bound(finalized_view_));
  voting_.votes.erase(voting_.votes.begin(), voting_.votes.lower_bound(finalized_view_));
  voting_.blocks.erase(voting_.blocks.begin(), voting_.blocks.upper_bound(finalized_view_));
}

// --- evidence and sending ---------------------------------------------------------------------

// A certificate is a bundle of signed votes: one that contradicts a vote we hold from the same
// validator is evidence, even if that validator showed each of us only one of its faces.
void Replica::find_evidence_in(const Certificate& certificate) {
  auto state = views_.find(certificate.view);
  if (state == views_.end()) return;
  auto* opposite = state->second->opposite(certificate.kind);
  auto& same_kind = state->second->votes(certificate.kind);
  for (const SignatureShare& share : certificate.signatures) {
    Vote signed_vote{certificate.kind, certificate.view, certificate.block, share.signer,
                     share.signature};
    if (auto held = same_kind.find(share.signer);
        held != same_kind.end() && held->second.vote.block != certificate.block) {
      if (holds_valid(held->second)) {
        record_evidence(
            share.signer, certificate.view, held->second.vote, signed_vote,
            std::string("two ") + std::string(vote_kind_name(certificate.kind)) + " votes");
      } else {
        same_kind.erase(held);
      }
    }
    if (!opposite) continue;
    if (auto held = opposite->find(share.signer); held != opposite->end()) {
      if (holds_valid(held->second)) {
        record_evidence(share.signer, certificate.view, held->second.vote, signed_vote,
                        "finalize and nullify");
      } else {
        opposite->erase(held);
      }
    }
  }
}

void Replica::record_evidence(ValidatorIndex validator, View view, const Message& first,
                              const Message& second, std::string what) {
  if (evidence_seen_.contains({validator, view})) return;
  if (evidence_.size() >= config_.max_evidence) {
    stats_.evidence_dropped += 1;  // the first max_evidence proofs already convict
    return;
  }
  evidence_seen_.insert({validator, view});
  evidence_.push_back({validator, view, first, second, std::move(what)});
}

void Replica::send(std::optional<ValidatorIndex> to, Message message) {
  outgoing_.push_back({to, std::make_shared<const Message>(std::move(message))});
}

}  // namespace ballast::consensus
