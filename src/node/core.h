// The node's core: one thread that owns consensus, the mempool and execution, and what is
// derived from executed blocks (the transaction index, market data, the stream's
// subscriptions). Everything else (peer I/O, the HTTP API, signature verification) talks to it
// through one bounded inbox: inputs, and queries that run on the core thread between rounds and
// answer through callbacks. It also runs block and snapshot sync for a validator that lags
// behind its peers, and serves the same to others.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "app/exchange_application.h"
#include "consensus/replica.h"
#include "net/transport.h"
#include "node/admission_journal.h"
#include "node/bounded_queue.h"
#include "node/equivocator.h"
#include "node/market_feed.h"
#include "node/metrics.h"
#include "node/missing_gossip.h"
#include "node/stream.h"
#include "node/synced_sender.h"
#include "node/tx_tracker.h"
#include "node/verify_pool.h"
#include "node/wire.h"
#include "storage/rocks_storage.h"

namespace ballast::node {

struct CoreOptions {
  consensus::ReplicaConfig replica;
  app::ApplicationLimits application;
  WireLimits wire;
  std::size_t inbox_capacity = 100'000;
  // Dropped transactions of one peer named to the mempool's holds between two core rounds;
  // beyond it the mempool holds everything from that peer for a while (node/missing_gossip.h).
  std::size_t missing_gossip_per_peer = 65'536;
  consensus::Height snapshot_interval_blocks = 1'000;
  consensus::Height sync_lag_threshold_blocks = 16;
  std::uint32_t sync_max_blocks_per_response = 256;
  std::size_t sync_max_response_bytes = 8 << 20;
  std::size_t max_snapshot_bytes = 1ull << 30;
  std::int64_t sync_status_interval_ms = 1'000;
  std::int64_t sync_request_timeout_ms = 5'000;
  std::size_t gossip_batch_bytes = 256 << 10;
  TxTrackerLimits transactions;
  std::size_t trades_kept_per_market = 1'000;
  StreamLimits stream;
  std::size_t max_queries_in_flight = 1'024;
  // Rounds of consensus messages waiting for the chain's log to sync (node/synced_sender.h).
  std::size_t max_rounds_awaiting_sync = 1'024;
  // TEST ONLY: this validator deliberately equivocates and double-votes (node/equivocator.h).
  bool byzantine_equivocate = false;
  // TEST ONLY: the first application's state roots are wrong from this height on
  // (node/root_corruption.h), so the validator diverges and must resynchronize.
  std::optional<consensus::Height> corrupt_roots_from_height;
};

// A decoded message from an authenticated peer.
struct PeerMessage {
  std::uint32_t peer = 0;
  WireMessage message;
};
// A client's transaction whose signature a verify worker already checked, and whether its
// cancel must be able to succeed (the ingress breaker was tripped when it arrived).
struct ClientTransaction {
  VerifiedTransaction transaction;
  app::CancelCheck cancel_check = app::CancelCheck::kNone;
  // The admission outcome, on the core thread. With `wait_until_ms`, a transaction that was
  // admitted (or is already pooled, or already settled) is waited for: `waiting` is then true
  // and `settled` answers instead, with the record or, at the deadline, nothing.
  std::function<void(Status status, bool waiting)> admitted;
  std::optional<std::int64_t> wait_until_ms;
  TxTracker::WaiterReply settled;
};
// Several client transactions at once (POST /v1/txs), admitted in order in one core step.
struct ClientBatch {
  struct Item {
    VerifiedTransaction transaction;
    app::CancelCheck cancel_check = app::CancelCheck::kNone;
  };
  std::vector<Item> transactions;
  std::function<void(std::vector<Status> statuses)> admitted;  // one per transaction, in order
};
// What a query may read, on the core thread.
struct CoreView {
  const app::ExchangeApplication& application;
  const TxTracker& transactions;
  const MarketFeed& market_feed;
  storage::RocksStorage& storage;
};
struct CoreQuery {
  std::function<void(CoreView& view)> run;
};
struct StreamInput {
  std::shared_ptr<StreamSession> session;  // null: the session with `closed_id` closed
  nlohmann::json request;
  std::uint64_t closed_id = 0;
};
struct GossipedTransactions {
  std::uint32_t peer = 0;  // the validator that sent them
  std::vector<VerifiedTransaction> transactions;
};
using CoreInput = std::variant<PeerMessage, ClientTransaction, ClientBatch, GossipedTransactions,
                               CoreQuery, StreamInput>;

// The equivocation proofs this validator holds against one other validator.
struct EvidenceAgainst {
  std::uint32_t validator = 0;
  std::uint64_t proofs = 0;  // at most one per view
  consensus::View first_view = 0;
  consensus::View last_view = 0;
  std::string last_kind;  // what the latest proof shows, e.g. "finalize and nullify"
};

// What the core publishes after every round, for the API and the logs.
struct CoreStatus {
  std::uint32_t validator_index = 0;
  consensus::Height height = 0;
  consensus::View view = 0;
  std::uint32_t leader = 0;
  std::string state_root;
  std::string block_hash;
  std::size_t peers_connected = 0;
  std::size_t mempool_transactions = 0;
  std::size_t mempool_bytes = 0;
  std::size_t inbox_queued = 0;
  std::uint64_t inbox_dropped = 0;
  std::uint64_t gossip_missing = 0;  // peer transactions dropped before the mempool saw them
  std::size_t mempool_holds = 0;     // senders' nonces held behind a missing transaction
  bool mempool_holds_everything = false;
  std::uint64_t views_nullified = 0;
  std::uint64_t transactions_finalized = 0;
  std::uint64_t bad_peer_messages = 0;
  std::string sync_state;  // "idle", "blocks from N", "snapshot from N"
  consensus::Height snapshot_height = 0;
  std::optional<std::string> divergence;
  std::size_t evidence = 0;
  std::uint64_t evidence_dropped = 0;             // proofs beyond the replica's bound
  std::uint64_t votes_unchecked = 0;              // votes after their certificate, not checked
  std::vector<EvidenceAgainst> evidence_against;  // one per accused validator, by index
  bool byzantine = false;                         // TEST ONLY: this validator equivocates
  std::size_t finality_waiters = 0;
  std::size_t stream_sessions = 0;
  std::size_t journaled_transactions = 0;  // acknowledged, recorded, not yet settled
  // Circuit-breaker status per market, as of the last executed block (shared, not copied: the
  // status is republished after every round of the core loop, markets change once per block).
  std::shared_ptr<const std::vector<exchange::MarketStatus>> markets;
};

class Core {
 public:
  // `journal` holds the acknowledged transactions of the previous run, admitted again at start.
  // `verify_pool` learns the signatures the core thread checks itself; it must outlive run().
  Core(CoreOptions options, const exchange::Genesis& genesis, const SecretKey& identity,
       storage::RocksStorage& storage, std::unique_ptr<AdmissionJournal> journal,
       net::Transport& transport, VerifyPool& verify_pool, NodeMetrics& metrics);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Thread-safe. False when the inbox is full; the caller decides what that means.
  bool post(CoreInput input);
  // Thread-safe. A peer's verified transactions; with the inbox full they are dropped and
  // recorded as missing, like those dropped before verification (note_missing_gossip).
  void post_gossiped(GossipedTransactions gossiped);
  // Thread-safe: `peer`'s transactions this node dropped before their signature check. The
  // mempool holds back their senders' later transactions from that peer (docs/MEMPOOL.md
  // "Holds").
  void note_missing_gossip(std::uint32_t peer, std::span<const mempool::EntryKey> missing) {
    missing_gossip_.record(peer, missing, /*verified=*/false);
  }
  // Thread-safe. Runs `query` on the core thread between rounds. False when the inbox is full
  // or max_queries_in_flight queries are already waiting (queries never crowd out consensus).
  bool query(std::function<void(CoreView& view)> query);
  // Loads the latest snapshot and replays the stored blocks after it, so the status is true
  // before anyone can ask. Call once, before the transport and the API start.
  void start();
  // Runs the loop on the calling thread until `stop` is set (checked at least every 100 ms).
  void run(const std::atomic<bool>& stop);
  CoreStatus status() const;
  // Thread-safe: the state root after a recently finalized height, if still remembered.
  std::optional<Hash256> root_at(consensus::Height height) const;

 private:
  // A snapshot being fetched from one peer, chunk by chunk (docs/SYNC.md).
  struct SnapshotDownload {
    consensus::Height height = 0;
    std::uint32_t next_chunk = 0;
    std::uint32_t chunk_count = 0;
    std::uint64_t total_bytes = 0;
    Bytes data;
    std::optional<consensus::Anchor> anchor;
    std::vector<consensus::FinalizedEntry> proof;
  };
  class ChainSigner;
  class ChainVerifier;

  void start_consensus(std::int64_t now);
  void handle(CoreInput& input, std::int64_t now);
  void on_peer_message(std::uint32_t peer, WireMessage& message, std::int64_t now);
  void on_client_transaction(ClientTransaction& input);
  Status admit_client_transaction(const VerifiedTransaction& transaction,
                                  app::CancelCheck cancel_check);
  void on_client_batch(ClientBatch& batch);
  void readmit_journaled();
  void on_stream_input(StreamInput& input);
  void hold_behind_missing_gossip();
  void on_executed(const consensus::Block& block, const exchange::BlockResult& result);
  void flush();
  std::vector<consensus::Outgoing> equivocate(std::vector<consensus::Outgoing> honest);
  void summarize_evidence();
  void after_finalized(const std::vector<consensus::FinalizedBlock>& blocks);
  void maybe_snapshot();
  void refresh_market_statuses();  // after each executed block
  void catch_up_new_sessions();
  void send_gossip();
  void send_pool_to(std::uint32_t peer, std::uint64_t generation);
  void publish_status();
  void report_stalled_finalization(std::int64_t now);
  void count_block_verifications();
  std::int64_t next_wakeup(std::int64_t now) const;

  // Sync (core_sync.cc).
  void sync_tick(std::int64_t now);
  void request_resync_snapshot(std::int64_t now);
  void start_snapshot_download(std::uint32_t peer, consensus::Height height, std::int64_t now);
  consensus::Height provable_snapshot_height() const;
  SyncStatus own_sync_status() const;
  void broadcast_sync_status();
  void on_sync_status(std::uint32_t peer, const SyncStatus& status, std::int64_t now);
  void maybe_request_sync(std::int64_t now);
  void on_blocks_request(std::uint32_t peer, const BlocksRequest& request);
  void on_blocks_response(std::uint32_t peer, BlocksResponse& response, std::int64_t now);
  void on_snapshot_request(std::uint32_t peer, const SnapshotRequest& request);
  void on_snapshot_chunk(std::uint32_t peer, SnapshotChunk& chunk, std::int64_t now);
  Status verify_snapshot(const SnapshotDownload& download);
  void install_snapshot(const SnapshotDownload& download, std::int64_t now);
  void send_to(std::uint32_t peer, const WireMessage& message);
  // Into that session of the peer only (Transport::session_generation).
  void send_to(std::uint32_t peer, std::uint64_t generation, const WireMessage& message);
  Status sync_chain();
  void send_frame(const OutgoingFrame& frame);

  CoreOptions options_;
  const exchange::Genesis& genesis_;
  consensus::ValidatorSet validators_;
  consensus::Block genesis_block_;
  storage::RocksStorage& storage_;
  std::unique_ptr<AdmissionJournal> journal_;
  net::Transport& transport_;
  VerifyPool& verify_pool_;
  std::unique_ptr<consensus::Signer> signer_;
  std::unique_ptr<consensus::Verifier> verifier_;
  std::unique_ptr<app::ExchangeApplication> application_;
  std::uint64_t block_verifications_counted_ = 0;  // of application_'s, in the metrics already
  // TEST ONLY: wraps the first application when corrupt_roots_from_height is set.
  std::unique_ptr<consensus::Application> corrupted_application_;
  bool corruption_used_ = false;
  bool divergence_reported_ = false;
  std::unique_ptr<consensus::Replica> replica_;
  std::unique_ptr<Equivocator> equivocator_;  // TEST ONLY, null unless byzantine_equivocate
  BoundedQueue<CoreInput> inbox_;
  std::atomic<std::uint64_t> inbox_dropped_{0};
  MissingGossip missing_gossip_;
  std::atomic<std::size_t> queries_in_flight_{0};
  NodeMetrics& metrics_;
  TxTracker transactions_;
  MarketFeed market_feed_;
  StreamHub stream_;
  bool replaying_ = false;             // executing stored blocks at start: not news to anyone
  bool transactions_arrived_ = false;  // admitted since the replica was last told

  // Each peer's session that got this node's catch-up, by transport generation (0: none yet).
  std::map<std::uint32_t, std::uint64_t> caught_up_sessions_;
  std::uint64_t transactions_finalized_ = 0;
  std::uint64_t bad_peer_messages_ = 0;
  consensus::Height last_snapshot_height_ = 0;
  consensus::Height watched_height_ = 0;
  std::int64_t height_since_ms_ = 0;
  std::int64_t next_stall_report_ms_ = 0;

  // Sync state.
  std::map<std::uint32_t, SyncStatus> peer_sync_;
  std::int64_t next_sync_status_ = 0;
  std::optional<std::uint32_t> syncing_from_;
  std::int64_t sync_deadline_ = 0;
  std::unique_ptr<SnapshotDownload> download_;
  // The snapshot being served, encoded once: (height, application state).
  std::optional<storage::StoredSnapshot> serving_snapshot_;

  mutable std::mutex status_mutex_;
  CoreStatus published_;
  std::shared_ptr<const std::vector<exchange::MarketStatus>> market_statuses_;
  std::map<consensus::Height, Hash256> recent_roots_;  // bounded by kRememberedRoots
  // Evidence by accused validator (bounded by the validator count), kept across a replica
  // rebuilt by snapshot sync; the replica's first evidence_summarized_ proofs are counted.
  std::map<std::uint32_t, EvidenceAgainst> evidence_against_;
  std::size_t evidence_summarized_ = 0;
  // Last: stopped first, while everything its callbacks use still exists.
  SyncedSender consensus_sender_;
};

}  // namespace ballast::node
