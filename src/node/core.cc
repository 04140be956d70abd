#include "node/core.h"
#include "node/root_corruption.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

namespace ballast::node {

namespace {

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

consensus::ValidatorSet validator_set(const exchange::Genesis& genesis) {
  std::vector<consensus::ValidatorInfo> infos;
  for (const exchange::Validator& validator : genesis.validators) {
    infos.push_back({validator.key, validator.stake});
  }
  return consensus::ValidatorSet(std::move(infos));
}

// Rounds handled before the replica's timers are looked at again: bounds how long a burst of
// input can delay a timeout.
constexpr int kInputsPerRound = 256;
// Finalized heights whose roots the API can still tell (to compare validators).
constexpr std::size_t kRememberedRoots = 4'096;
// How long finalization may stall before the node logs why (and how often it logs again).
constexpr std::int64_t kStallReportMs = 5'000;
// A Byzantine test validator reminds its log what it is doing after this many forged messages.
constexpr std::uint64_t kForgedMessagesPerReminder = 500;

}  // namespace

class Core::ChainSigner final : public consensus::Signer {
 public:
  explicit ChainSigner(const SecretKey& key) : key_(key) {}
  Signature sign(const Hash256& digest) override { return key_.sign(digest); }

 private:
  const SecretKey& key_;
};

// Checks votes and proposals with the validators' keys decoded once, at start.
class Core::ChainVerifier final : public consensus::Verifier {
 public:
  ChainVerifier(const consensus::ValidatorSet& validators, NodeMetrics& metrics)
      : metrics_(metrics) {
    // Every key in a genesis is a point on the curve (PublicKey::from_hex checked it).
    for (const consensus::ValidatorInfo& validator : validators.validators()) {
      keys_.push_back(VerifyingKey::decode(validator.key).value());
    }
  }
  bool verify(consensus::ValidatorIndex signer, const Hash256& digest,
              const Signature& signature) override {
    if (signer >= keys_.size()) return false;
    metrics_.consensus_verifications.fetch_add(1, std::memory_order_relaxed);
    return keys_[signer].verify(digest, signature);
  }

 private:
  std::vector<VerifyingKey> keys_;  // by validator index
  NodeMetrics& metrics_;
};

Core::Core(CoreOptions options, const exchange::Genesis& genesis, const SecretKey& identity,
           storage::RocksStorage& storage, std::unique_ptr<AdmissionJournal> journal,
           net::Transport& transport, VerifyPool& verify_pool, NodeMetrics& metrics)
    : options_(std::move(options)),
      genesis_(genesis),
      validators_(validator_set(genesis)),
      genesis_block_(consensus::genesis_block(genesis.hash())),
      storage_(storage),
      journal_(std::move(journal)),
      transport_(transport),
      verify_pool_(verify_pool),
      signer_(std::make_unique<ChainSigner>(identity)),
      verifier_(std::make_unique<ChainVerifier>(validators_, metrics)),
      inbox_(options_.inbox_capacity),
      missing_gossip_(options_.missing_gossip_per_peer),
      metrics_(metrics),
      transactions_(options_.transactions),
      market_feed_(genesis.markets.size(), options_.trades_kept_per_market),
      stream_(genesis, options_.stream),
      consensus_sender_([this] { return sync_chain(); },
                        [this](const OutgoingFrame& frame) { send_frame(frame); },
                        options_.max_rounds_awaiting_sync) {
  BALLAST_ASSERT(journal_ != nullptr);
  BALLAST_ASSERT(options_.replica.self < validators_.size());
  BALLAST_ASSERT(validators_[options_.replica.self].key == identity.public_key());
  for (std::uint32_t peer = 0; peer < validators_.size(); ++peer) {
    if (peer != options_.replica.self) caught_up_sessions_.emplace(peer, 0);
  }
  if (options_.byzantine_equivocate) {
    equivocator_ = std::make_unique<Equivocator>(options_.replica.chain_id, options_.replica.self,
                                                 validators_.size(), *signer_);
    spdlog::critical(
        "TEST ONLY: validator {} is DELIBERATELY BYZANTINE (--byzantine-equivocate): it signs "
        "conflicting notarize votes and proposals and votes both finalize and nullify. Never run "
        "this on a network anyone relies on.",
        options_.replica.self);
  }
}

Core::~Core() = default;

bool Core::post(CoreInput input) {
  if (inbox_.try_push(input)) return true;
  inbox_dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void Core::post_gossiped(GossipedTransactions gossiped) {
  CoreInput input = std::move(gossiped);
  if (inbox_.try_push(input)) return;  // a refused input is left as it was
  inbox_dropped_.fetch_add(1, std::memory_order_relaxed);
  const auto& dropped = std::get<GossipedTransactions>(input);
  std::vector<mempool::EntryKey> missing;
  for (const VerifiedTransaction& tx : dropped.transactions) {
    auto decoded = exchange::Transaction::decode(tx.bytes);
    BALLAST_ASSERT(decoded.is_ok());  // it verified, so it decoded
    missing.push_back(app::missing_key(*decoded));
  }
  missing_gossip_.record(dropped.peer, missing, /*verified=*/true);
}

bool Core::query(std::function<void(CoreView& view)> query) {
  if (queries_in_flight_.fetch_add(1) >= options_.max_queries_in_flight) {
    queries_in_flight_.fetch_sub(1);
    return false;
  }
  if (post(CoreQuery{std::move(query)})) return true;
  queries_in_flight_.fetch_sub(1);
  return false;
}

// Restart = latest snapshot + replay of the finalized blocks after it (the replica replays
// them from storage in start()).
void Core::start_consensus(std::int64_t now) {
  application_ = std::make_unique<app::ExchangeApplication>(genesis_, options_.application);
  block_verifications_counted_ = 0;
  application_->set_on_executed(
      [this](const consensus::Block& block, const exchange::BlockResult& result) {
        on_executed(block, result);
      });
  application_->share_signatures(app::ExchangeApplication::SignatureSharing{
      .checked_elsewhere = [this](const Hash256& id) { return verify_pool_.has_verified(id); },
      .checked_here = [this](const Hash256& id) { verify_pool_.note_verified(id); },
  });
  if (std::optional<storage::StoredSnapshot> snapshot = storage_.latest_snapshot()) {
    Status restored = application_->restore(snapshot->application_state);
    if (!restored.is_ok()) spdlog::critical("stored snapshot: {}", restored.to_string());
    BALLAST_ASSERT_MSG(restored.is_ok(), "the stored snapshot does not restore");
    last_snapshot_height_ = snapshot->anchor.block.height;
  }
  consensus::Application* replicated = application_.get();
  corrupted_application_.reset();
  if (options_.corrupt_roots_from_height && !corruption_used_) {
    corruption_used_ = true;  // once: the application a resync builds is honest
    corrupted_application_ = std::make_unique<RootCorruptingApplication>(
        *application_, *options_.corrupt_roots_from_height);
    replicated = corrupted_application_.get();
    spdlog::critical("TEST ONLY: this validator's state roots are corrupted from height {} on",
                     *options_.corrupt_roots_from_height);
  }
  divergence_reported_ = false;
  replica_ = std::make_unique<consensus::Replica>(
      options_.replica, validators_, *signer_, *verifier_, storage_, *replicated, genesis_block_);
  replaying_ = true;
  evidence_summarized_ = 0;  // a new replica holds no proofs yet; those counted stay counted
  replica_->start(now);
  replaying_ = false;
  (void)replica_->take_finalized();  // replayed from storage: already counted and announced
  spdlog::info("consensus started at height {} view {}", replica_->finalized_height(),
               replica_->view());
}

void Core::start() {
  std::int64_t now = wall_clock_ms();
  start_consensus(now);
  readmit_journaled();
  watched_height_ = replica_->finalized_height();
  height_since_ms_ = now;
  next_stall_report_ms_ = now + kStallReportMs;
  publish_status();
}

void Core::run(const std::atomic<bool>& stop) {
  BALLAST_ASSERT_MSG(replica_ != nullptr, "Core::run before Core::start");
  flush();
  while (!stop.load()) {
    std::int64_t now = wall_clock_ms();
    std::int64_t wait_ms = std::clamp<std::int64_t>(next_wakeup(now) - now, 0, 100);
    auto input =
        inbox_.pop_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms));
    for (int handled = 0; input && handled < kInputsPerRound; ++handled) {
      handle(*input, wall_clock_ms());
      input = inbox_.pop_until(std::chrono::steady_clock::now());
    }
    if (input) handle(*input, wall_clock_ms());
    hold_behind_missing_gossip();
    now = wall_clock_ms();
    if (transactions_arrived_) {
      transactions_arrived_ = false;
      replica_->on_transactions_available(now);
    }
    replica_->on_tick(now);
    sync_tick(now);
    transactions_.expire_waiters(now);
    count_block_verifications();
    flush();
    report_stalled_finalization(now);
  }
  inbox_.close();
}

// The application counts from zero again after a snapshot install; the metric never goes back.
void Core::count_block_verifications() {
  std::uint64_t checked = application_->signatures_checked();
  if (checked == block_verifications_counted_) return;  // the usual round: nothing new
  metrics_.block_verifications.fetch_add(checked - block_verifications_counted_,
                                         std::memory_order_relaxed);
  block_verifications_counted_ = checked;
}

// Nothing finalized for many timeouts means the network is split, a quorum is down, or
// something is wrong; the replica's own account of its view tells which.
void Core::report_stalled_finalization(std::int64_t now) {
  if (replica_->finalized_height() != watched_height_) {
    watched_height_ = replica_->finalized_height();
    height_since_ms_ = now;
    next_stall_report_ms_ = now + kStallReportMs;
    return;
  }
  if (now < next_stall_report_ms_) return;
  next_stall_report_ms_ = now + kStallReportMs;
  spdlog::warn("nothing finalized for {} ms; {}", now - height_since_ms_,
               replica_->describe_view());
}

std::int64_t Core::next_wakeup(std::int64_t now) const {
  std::int64_t wakeup = std::min(replica_->next_deadline(), next_sync_status_);
  if (syncing_from_) wakeup = std::min(wakeup, sync_deadline_);
  return std::max(wakeup, now);
}

void Core::handle(CoreInput& input, std::int64_t now) {
  if (auto* message = std::get_if<PeerMessage>(&input)) {
    on_peer_message(message->peer, message->message, now);
  } else if (auto* client = std::get_if<ClientTransaction>(&input)) {
    on_client_transaction(*client);
  } else if (auto* batch = std::get_if<ClientBatch>(&input)) {
    on_client_batch(*batch);
  } else if (auto* gossiped = std::get_if<GossipedTransactions>(&input)) {
    // Before these are pooled: a sender's later nonce must not get in ahead of its hold.
    hold_behind_missing_gossip();
    for (VerifiedTransaction& tx : gossiped->transactions) {
      application_->note_signature_verified(tx.id);
      // Refusals are stale or known transactions: nothing to tell anyone.
      if (application_->submit(tx.bytes, app::Origin::peer(gossiped->peer)).is_ok()) {
        transactions_.on_pending(tx.id);
        transactions_arrived_ = true;
      }
    }
  } else if (auto* query = std::get_if<CoreQuery>(&input)) {
    queries_in_flight_.fetch_sub(1);
    CoreView view{*application_, transactions_, market_feed_, storage_};
    query->run(view);
  } else if (auto* stream = std::get_if<StreamInput>(&input)) {
    on_stream_input(*stream);
  }
}

void Core::hold_behind_missing_gossip() {
  MissingGossip::Taken taken = missing_gossip_.take();
  for (const mempool::EntryKey& missing : taken.missing) application_->note_missing(missing);
  for (mempool::Source peer : taken.overflowed) application_->note_missing_unnamed(peer);
}

void Core::on_peer_message(std::uint32_t peer, WireMessage& message, std::int64_t now) {
  if (auto* consensus_message = std::get_if<consensus::Message>(&message)) {
    replica_->on_message(peer, *consensus_message, now);
  } else if (auto* status = std::get_if<SyncStatus>(&message)) {
    on_sync_status(peer, *status, now);
  } else if (auto* blocks_request = std::get_if<BlocksRequest>(&message)) {
    on_blocks_request(peer, *blocks_request);
  } else if (auto* blocks = std::get_if<BlocksResponse>(&message)) {
    on_blocks_response(peer, *blocks, now);
  } else if (auto* snapshot_request = std::get_if<SnapshotRequest>(&message)) {
    on_snapshot_request(peer, *snapshot_request);
  } else if (auto* chunk = std::get_if<SnapshotChunk>(&message)) {
    on_snapshot_chunk(peer, *chunk, now);
  } else {
    bad_peer_messages_ += 1;  // gossip arrives through the verify pool, never here
  }
}

// An admitted transaction is recorded in the journal; whoever answers the client does so through
// journal_->acknowledge_after, so the answer waits until the record is on disk.
Status Core::admit_client_transaction(const VerifiedTransaction& transaction,
                                      app::CancelCheck cancel_check) {
  if (!journal_->has_room()) {
    return Status(StatusCode::kResourceExhausted, "node overloaded: try again")
        .with_reason("overloaded");
  }
  application_->note_signature_verified(transaction.id);
  Status status = application_->submit(transaction.bytes, app::Origin::client(), cancel_check);
  if (status.is_ok()) {
    journal_->record(transaction.id, transaction.bytes);
    transactions_.on_pending(transaction.id);
    transactions_arrived_ = true;
    metrics_.transactions_accepted.fetch_add(1, std::memory_order_relaxed);
  }
  return status;
}

void Core::on_client_transaction(ClientTransaction& input) {
  const Hash256& id = input.transaction.id;
  Status status = admit_client_transaction(input.transaction, input.cancel_check);
  bool waiting = false;
  if (input.wait_until_ms) {
    // A retried submission waits for the first one: pooled, or already settled. `settled`
    // answers after finality, so after the journal too.
    std::optional<TxRecord> known = transactions_.find(id);
    if (status.is_ok() || known) {
      waiting = transactions_.wait(id, *input.wait_until_ms, std::move(input.settled)).is_ok();
    }
  }
  if (status.is_ok() && !waiting) {
    journal_->acknowledge_after(
        [admitted = std::move(input.admitted)] { admitted(Status::ok(), false); });
    return;
  }
  // A retry answered with the first submission's outcome is not a refusal.
  if (!status.is_ok() && !waiting) metrics_.transactions_rejected.add(status.reason());
  input.admitted(std::move(status), waiting);
}

// Answered together once every admitted one is durable.
void Core::on_client_batch(ClientBatch& batch) {
  std::vector<Status> statuses;
  statuses.reserve(batch.transactions.size());
  bool any_admitted = false;
  for (const ClientBatch::Item& item : batch.transactions) {
    statuses.push_back(admit_client_transaction(item.transaction, item.cancel_check));
    any_admitted = any_admitted || statuses.back().is_ok();
    if (!statuses.back().is_ok()) metrics_.transactions_rejected.add(statuses.back().reason());
  }
  if (!any_admitted) return batch.admitted(std::move(statuses));
  journal_->acknowledge_after(
      [admitted = std::move(batch.admitted), statuses = std::move(statuses)]() mutable {
        admitted(std::move(statuses));
      });
}

// The acknowledged transactions of the previous run (or of the mempool a snapshot replaced)
// go back into the mempool, and to the peers; those that settled meanwhile are forgotten.
void Core::readmit_journaled() {
  std::size_t readmitted = 0;
  std::vector<Hash256> settled;
  for (const auto& [id, transaction] : journal_->recorded()) {
    if (application_->submit(transaction, app::Origin::client()).is_ok()) {
      transactions_.on_pending(id);
      transactions_arrived_ = true;
      readmitted += 1;
    } else if (!application_->mempool().contains(id)) {
      settled.push_back(id);
    }
  }
  for (const Hash256& id : settled) journal_->forget(id);
  if (!journal_->recorded().empty() || !settled.empty()) {
    spdlog::info("admitted {} acknowledged transactions again; {} had settled", readmitted,
                 settled.size());
  }
}

void Core::on_stream_input(StreamInput& input) {
  if (input.session == nullptr) {
    stream_.on_closed(input.closed_id);
  } else {
    stream_.on_request(input.session, input.request, market_feed_, application_->exchange());
  }
  if (!stream_.wants_books()) market_feed_.deactivate_books();
}

// Everything derived from executed blocks is updated here, live or while replaying at start.
void Core::on_executed(const consensus::Block& block, const exchange::BlockResult& result) {
  if (!replaying_) {
    metrics_.finalization_latency.observe(wall_clock_ms() - block.timestamp_ms);
  }
  metrics_.blocks_finalized.fetch_add(1, std::memory_order_relaxed);
  refresh_market_statuses();
  for (std::size_t i = 0; i < result.results.size(); ++i) {
    const exchange::TxResult& tx = result.results[i];
    journal_->forget(tx.tx_id);
    transactions_.on_finalized(tx.tx_id, block.height, block.timestamp_ms,
                               static_cast<std::uint32_t>(i),
                               std::make_shared<const exchange::TxResult>(tx));
  }
  std::vector<std::vector<Trade>> trades = market_feed_.on_block(result, block.timestamp_ms);
  for (std::size_t market = 0; market < trades.size(); ++market) {
    for (const Trade& trade : trades[market]) {
      metrics_.trades[market].fetch_add(1, std::memory_order_relaxed);
      metrics_.traded_quantity[market].fetch_add(static_cast<std::uint64_t>(trade.quantity),
                                                 std::memory_order_relaxed);
    }
  }
  std::vector<BookDelta> deltas = market_feed_.diff_books(application_->exchange());
  stream_.publish({&block, &result, &trades, &deltas});
}

void Core::flush() {
  std::vector<consensus::Outgoing> outgoing_messages = replica_->take_outgoing();
  if (equivocator_) outgoing_messages = equivocate(std::move(outgoing_messages));
  std::vector<OutgoingFrame> frames;
  frames.reserve(outgoing_messages.size());
  for (consensus::Outgoing& outgoing : outgoing_messages) {
    frames.push_back({outgoing.to, std::make_shared<const Bytes>(encode_wire(*outgoing.message))});
  }
  // The replica's votes among them were written unsynced: they leave once the log is synced.
  // Finalized blocks hold nothing back; they are synced with the next votes (docs/STORAGE.md).
  const consensus::UnsyncedWrites unsynced = storage_.take_unsynced_writes();
  consensus_sender_.send(std::move(frames), unsynced.voting_state, unsynced.blocks);
  after_finalized(replica_->take_finalized());
  for (auto& [id, reason] : application_->take_evicted()) {
    spdlog::debug("transaction {} left the mempool: {}", id.hex(), reason);
    metrics_.transactions_dropped.fetch_add(1, std::memory_order_relaxed);
    journal_->forget(id);
    transactions_.on_dropped(id, std::move(reason));
  }
  journal_->commit();
  catch_up_new_sessions();
  send_gossip();
  publish_status();
}

std::vector<consensus::Outgoing> Core::equivocate(std::vector<consensus::Outgoing> honest) {
  const std::uint64_t forged_before = equivocator_->stats().total();
  std::vector<consensus::Outgoing> corrupted = equivocator_->corrupt(std::move(honest));
  const EquivocationStats& stats = equivocator_->stats();
  if (forged_before / kForgedMessagesPerReminder != stats.total() / kForgedMessagesPerReminder ||
      (forged_before == 0 && stats.total() > 0)) {
    spdlog::critical(
        "TEST ONLY: deliberately Byzantine so far: {} conflicting notarize votes, {} second "
        "proposals, {} nullify votes beside finalize votes",
        stats.conflicting_votes, stats.conflicting_proposals, stats.double_votes);
  }
  return corrupted;
}

void Core::after_finalized(const std::vector<consensus::FinalizedBlock>& blocks) {
  if (blocks.empty()) return;
  for (const consensus::FinalizedBlock& block : blocks) {
    transactions_finalized_ += block.block->transactions.size();
  }
  {
    std::lock_guard lock(status_mutex_);
    for (const consensus::FinalizedBlock& block : blocks) {
      recent_roots_[block.height] = block.state_root;
    }
    while (recent_roots_.size() > kRememberedRoots) recent_roots_.erase(recent_roots_.begin());
  }
  // Records whose transaction left the mempool unannounced (a snapshot replaced it) go too.
  if (journal_->recorded().size() > 2 * options_.application.mempool.max_transactions) {
    journal_->sweep([this](const Hash256& id) { return application_->mempool().contains(id); });
  }
  const consensus::FinalizedBlock& tip = blocks.back();
  spdlog::debug("finalized height {} view {} root {}", tip.height, tip.view, tip.state_root.hex());
  maybe_snapshot();
}

void Core::refresh_market_statuses() {
  auto statuses = std::make_shared<std::vector<exchange::MarketStatus>>();
  const exchange::Exchange& exchange = application_->exchange();
  for (exchange::MarketId market = 0; market < genesis_.markets.size(); ++market) {
    statuses->push_back(exchange.market_status(market));
  }
  market_statuses_ = std::move(statuses);
}

void Core::maybe_snapshot() {
  consensus::Height height = replica_->finalized_height();
  if (height < last_snapshot_height_ + options_.snapshot_interval_blocks) return;
  std::optional<consensus::Anchor> anchor = replica_->anchor();
  if (!anchor) return;
  BALLAST_ASSERT(application_->executed_height() == anchor->block.height);
  Status saved = storage_.save_snapshot({*anchor, application_->snapshot()});
  if (!saved.is_ok()) spdlog::critical("snapshot at height {}: {}", height, saved.to_string());
  BALLAST_ASSERT_MSG(saved.is_ok(), "cannot save a snapshot");
  last_snapshot_height_ = height;
  spdlog::info("snapshot at height {}", height);
}

// A peer with a new session (first contact, a restart, a healed link) may have missed gossip:
// what went out while it had no session, or into a session that failed, never arrived. Before
// any gossip goes into the new session it gets this node's sync status and whole pool. Polled
// every round rather than told by an event, so that no new session can be missed (an event
// could find the inbox full) or get fresh gossip ahead of its catch-up (the transport makes a
// session current before anyone hears of it).
void Core::catch_up_new_sessions() {
  for (auto& [peer, caught_up] : caught_up_sessions_) {
    const std::uint64_t generation = transport_.session_generation(peer);
    if (generation == caught_up) continue;
    caught_up = generation;
    if (generation == 0) continue;  // no session now
    send_to(peer, generation, own_sync_status());
    send_pool_to(peer, generation);
  }
}

// Gossip goes only into the sessions that got their catch-up (catch_up_new_sessions).
void Core::send_gossip() {
  for (;;) {
    std::vector<Bytes> batch = application_->take_gossip(options_.gossip_batch_bytes);
    if (batch.empty()) return;
    auto frame = std::make_shared<const Bytes>(encode_wire(TransactionBatch{std::move(batch)}));
    for (const auto& [peer, generation] : caught_up_sessions_) {
      if (generation != 0) transport_.send(peer, generation, frame);
    }
  }
}

// Each sender's transactions in nonce order, so that none of them is overtaken at the peer's
// next leader by a later transaction of the same sender (which would leave it stale:
// acknowledged, then dropped). What the peer already holds costs it one hash each.
void Core::send_pool_to(std::uint32_t peer, std::uint64_t generation) {
  const std::size_t max_count = WireLimits{}.max_gossip_transactions;
  TransactionBatch batch;
  std::size_t bytes = 0;
  auto send_batch = [&] {
    send_to(peer, generation, batch);
    batch.transactions.clear();
    bytes = 0;
  };
  application_->mempool().for_each_by_sender([&](const mempool::Entry& entry) {
    const bool full = bytes + entry.bytes.size() > options_.gossip_batch_bytes ||
                      batch.transactions.size() == max_count;
    if (full && !batch.transactions.empty()) send_batch();
    batch.transactions.push_back(entry.bytes);
    bytes += entry.bytes.size();
  });
  if (!batch.transactions.empty()) send_batch();
}

// On the sender's thread. Timed, because a slow disk shows here first: every vote waits for it.
Status Core::sync_chain() {
  auto started = std::chrono::steady_clock::now();
  Status synced = storage_.sync_wal();
  auto took = std::chrono::steady_clock::now() - started;
  metrics_.chain_sync_us.fetch_add(
      std::chrono::duration_cast<std::chrono::microseconds>(took).count(),
      std::memory_order_relaxed);
  metrics_.chain_syncs.fetch_add(1, std::memory_order_relaxed);
  return synced;
}

void Core::send_frame(const OutgoingFrame& frame) {
  if (frame.to) {
    transport_.send(*frame.to, frame.frame);
  } else {
    transport_.broadcast(frame.frame);
  }
}

void Core::send_to(std::uint32_t peer, const WireMessage& message) {
  transport_.send(peer, std::make_shared<const Bytes>(encode_wire(message)));
}

void Core::send_to(std::uint32_t peer, std::uint64_t generation, const WireMessage& message) {
  transport_.send(peer, generation, std::make_shared<const Bytes>(encode_wire(message)));
}

void Core::publish_status() {
  CoreStatus status;
  status.validator_index = replica_->self();
  status.height = replica_->finalized_height();
  status.view = replica_->view();
  status.leader = replica_->current_leader();
  if (auto root = application_->root_at(status.height)) status.state_root = root->hex();
  status.block_hash = replica_->finalized_hash().hex();
  for (const auto& [peer, generation] : caught_up_sessions_) {
    status.peers_connected += generation != 0 ? 1 : 0;
  }
  status.mempool_transactions = application_->mempool_size();
  status.mempool_bytes = application_->mempool_bytes();
  status.inbox_queued = inbox_.size();
  status.inbox_dropped = inbox_dropped_.load(std::memory_order_relaxed);
  status.gossip_missing = missing_gossip_.recorded();
  status.mempool_holds = application_->mempool().holds().size();
  status.mempool_holds_everything = application_->mempool().holds().holds_everything();
  status.views_nullified = replica_->stats().views_nullified;
  status.transactions_finalized = transactions_finalized_;
  status.bad_peer_messages = bad_peer_messages_;
  status.sync_state = !syncing_from_ ? "idle"
                      : download_    ? "snapshot from " + std::to_string(*syncing_from_)
                                     : "blocks from " + std::to_string(*syncing_from_);
  status.snapshot_height = last_snapshot_height_;
  status.divergence = replica_->divergence();
  status.evidence = replica_->evidence().size();
  status.evidence_dropped = replica_->stats().evidence_dropped;
  status.votes_unchecked = replica_->stats().votes_held_unchecked;
  summarize_evidence();
  status.evidence_against.reserve(evidence_against_.size());
  for (const auto& [validator, against] : evidence_against_) {
    status.evidence_against.push_back(against);
  }
  status.byzantine = equivocator_ != nullptr;
  status.finality_waiters = transactions_.waiters();
  if (!market_statuses_) refresh_market_statuses();
  status.markets = market_statuses_;
  status.stream_sessions = stream_.sessions();
  status.journaled_transactions = journal_->recorded().size();
  std::lock_guard lock(status_mutex_);
  published_ = std::move(status);
}

// The replica only appends proofs, so each is counted once, as it arrives.
void Core::summarize_evidence() {
  const std::vector<consensus::Evidence>& evidence = replica_->evidence();
  BALLAST_ASSERT(evidence_summarized_ <= evidence.size());
  for (; evidence_summarized_ < evidence.size(); ++evidence_summarized_) {
    const consensus::Evidence& proof = evidence[evidence_summarized_];
    auto [it, first] = evidence_against_.try_emplace(proof.validator);
    EvidenceAgainst& against = it->second;
    if (first) {
      against.validator = proof.validator;
      against.first_view = proof.view;
      spdlog::warn("evidence: validator {} equivocated in view {} ({})", proof.validator,
                   proof.view, proof.what);
    }
    against.proofs += 1;
    against.first_view = std::min(against.first_view, proof.view);
    against.last_view = std::max(against.last_view, proof.view);
    against.last_kind = proof.what;
  }
}

std::optional<Hash256> Core::root_at(consensus::Height height) const {
  std::lock_guard lock(status_mutex_);
  auto it = recent_roots_.find(height);
  if (it == recent_roots_.end()) return std::nullopt;
  return it->second;
}

CoreStatus Core::status() const {
  std::lock_guard lock(status_mutex_);
  return published_;
}

}  // namespace ballast::node
