#include "node/node.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include "node/api_routes.h"
#include "node/core.h"
#include "node/equivocator.h"
#include "node/http_api.h"
#include "node/thread_name.h"
#include "node/verify_lanes.h"

namespace ballast::node {

namespace {

// Rounds of acknowledgements that may wait for the disk before clients hear "overloaded".
constexpr std::size_t kJournalCapacityCommits = 1'024;

spdlog::level::level_enum spdlog_level(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

net::TransportConfig transport_config(const NodeConfig& config, const std::string& chain_id) {
  net::TransportConfig transport;
  transport.chain_id = chain_id;
  transport.self_index = config.validator_index;
  transport.listen_host = config.listen.host;
  transport.listen_port = config.listen.port;
  for (const PeerConfig& peer : config.peers) {
    transport.peers.push_back({peer.index, peer.address.host, peer.address.port, peer.public_key});
  }
  const NetworkSettings& network = config.network;
  transport.max_frame_bytes = network.max_frame_bytes;
  transport.max_queued_bytes_per_peer = network.max_queued_bytes_per_peer;
  transport.keepalive_interval_ms = network.keepalive_interval_ms;
  transport.idle_timeout_ms = network.idle_timeout_ms;
  transport.reconnect_min_ms = network.reconnect_min_ms;
  transport.reconnect_max_ms = network.reconnect_max_ms;
  return transport;
}

CoreOptions core_options(const NodeConfig& config, const RunOptions& run_options,
                         const exchange::Genesis& genesis) {
  CoreOptions options;
  options.byzantine_equivocate = run_options.byzantine_equivocate;
  options.corrupt_roots_from_height = run_options.corrupt_state_at_height;
  consensus::ReplicaConfig& replica = options.replica;
  replica.chain_id = genesis.chain_id;
  replica.self = config.validator_index;
  replica.timers.initial_timeout_ms = config.consensus.initial_timeout_ms;
  replica.timers.min_timeout_ms = config.consensus.min_timeout_ms;
  replica.timers.max_timeout_ms = config.consensus.max_timeout_ms;
  replica.empty_block_interval_ms = config.consensus.empty_block_interval_ms;
  replica.block_interval_ms = config.consensus.block_interval_ms;
  replica.max_block_transactions = config.consensus.max_block_transactions;
  replica.limits.max_validators =
      std::max(replica.limits.max_validators, genesis.validators.size());
  options.wire.consensus = replica.limits;
  options.application.mempool.max_transactions = config.mempool.max_transactions;
  options.application.mempool.max_bytes = config.mempool.max_bytes;
  options.application.mempool.max_per_sender = config.mempool.max_per_sender;
  options.snapshot_interval_blocks = config.storage.snapshot_interval_blocks;
  options.sync_lag_threshold_blocks = config.sync.lag_threshold_blocks;
  options.sync_max_blocks_per_response =
      static_cast<std::uint32_t>(config.sync.max_blocks_per_response);
  // Half a frame at most, so a response always fits whatever else it carries.
  options.sync_max_response_bytes = config.network.max_frame_bytes / 2;
  options.wire.max_snapshot_chunk_bytes = std::min<std::size_t>(
      options.wire.max_snapshot_chunk_bytes, config.network.max_frame_bytes / 2);
  return options;
}

ApiOptions api_options(const NodeConfig& config) {
  ApiOptions api;
  api.host = config.api_listen.host;
  api.port = config.api_listen.port;
  api.max_body_bytes = config.api.max_body_bytes;
  api.max_connections = config.api.max_connections;
  return api;
}

IngressOptions ingress_options(const IngressSettings& settings, const exchange::Genesis& genesis) {
  IngressOptions options;
  options.connection = {settings.connection_rate_per_s, settings.connection_burst};
  options.connection_cancel = {settings.connection_cancel_rate_per_s,
                               settings.connection_cancel_burst};
  options.account = {settings.account_rate_per_s, settings.account_burst};
  options.max_connections_tracked = settings.max_connections_tracked;
  options.max_accounts_tracked = settings.max_accounts_tracked;
  BreakerOptions& breaker = options.breaker;
  breaker.multiple = settings.breaker_multiple;
  breaker.min_baseline_per_s = settings.breaker_min_baseline_per_s;
  breaker.baseline_window_ms = settings.breaker_baseline_window_ms;
  breaker.current_window_ms = settings.breaker_current_window_ms;
  // A floor at the minimum fee would refuse nothing: by default it starts at twice that.
  const auto min_fee =
      static_cast<std::uint64_t>(std::max<exchange::Amount>(genesis.min_tx_fee, 1));
  breaker.fee_floor_start =
      settings.breaker_fee_floor_start > 0 ? settings.breaker_fee_floor_start : 2 * min_fee;
  breaker.floor_rise_ms = settings.breaker_floor_rise_ms;
  breaker.floor_step_ms = settings.breaker_floor_step_ms;
  breaker.relax_steps = settings.breaker_relax_steps;
  breaker.quiet_gap_ms = settings.breaker_quiet_gap_ms;
  breaker.backlog_grace_ms = settings.breaker_backlog_grace_ms;
  breaker.confirm_multiple = settings.breaker_confirm_multiple;
  breaker.max_trip_ms = settings.breaker_max_trip_ms;
  return options;
}

storage::StorageOptions storage_options(const NodeConfig& config) {
  storage::StorageOptions options;
  options.retain_blocks = config.storage.retain_blocks;
  options.sync_consensus_writes = false;  // the core syncs before its votes leave
  return options;
}

// Everything a running validator holds, in construction order (destroyed in reverse).
class Validator {
 public:
  Validator(const NodeConfig& config, const RunOptions& run_options, exchange::Genesis genesis,
            SecretKey identity, std::unique_ptr<storage::RocksStorage> storage,
            std::unique_ptr<storage::AdmittedStore> admitted,
            std::unique_ptr<AdmissionJournal> journal);
  Status start();
  void run_until_signal();

 private:
  void on_frame(std::uint32_t peer, Bytes frame);
  void verify_gossip(std::uint32_t peer, std::vector<Bytes> transactions);
  ApiHandlers api_handlers();

  const NodeConfig& config_;
  exchange::Genesis genesis_;
  SecretKey identity_;
  std::unique_ptr<storage::RocksStorage> storage_;
  std::unique_ptr<storage::AdmittedStore> admitted_;  // outlives the core's journal
  NodeMetrics metrics_;
  boost::asio::io_context io_;      // peer traffic
  boost::asio::io_context api_io_;  // clients: the HTTP API and its streams
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<Core> core_;
  VerifyLanes verify_lanes_;  // outlives the verify pool, whose workers release into it
  // Declared after the core so it is destroyed first: its workers post to the core.
  VerifyPool verify_pool_;
  IngressGuard ingress_;
  std::unique_ptr<ApiRoutes> routes_;
  std::unique_ptr<HttpApi> api_;
  WireLimits wire_limits_;
  std::atomic<std::uint64_t> bad_frames_{0};
  std::optional<int> exit_with_;
};

Validator::Validator(const NodeConfig& config, const RunOptions& run_options,
                     exchange::Genesis genesis, SecretKey identity,
                     std::unique_ptr<storage::RocksStorage> storage,
                     std::unique_ptr<storage::AdmittedStore> admitted,
                     std::unique_ptr<AdmissionJournal> journal)
    : config_(config),
      genesis_(std::move(genesis)),
      identity_(std::move(identity)),
      storage_(std::move(storage)),
      admitted_(std::move(admitted)),
      metrics_(genesis_.markets.size()),
      verify_pool_(genesis_.chain_id, config.verify_threads, config.verify_queue_jobs, 200'000),
      ingress_(ingress_options(config.ingress, genesis_)),
      exit_with_(run_options.exit_with) {
  transport_ = std::make_unique<net::Transport>(
      io_, transport_config(config, genesis_.chain_id), identity_,
      [this](std::uint32_t peer, Bytes frame) { on_frame(peer, std::move(frame)); },
      net::Transport::PeerHandler{});  // the core polls for new sessions instead
  CoreOptions options = core_options(config, run_options, genesis_);
  wire_limits_ = options.wire;
  core_ = std::make_unique<Core>(std::move(options), genesis_, identity_, *storage_,
                                 std::move(journal), *transport_, verify_pool_, metrics_);
  routes_ = std::make_unique<ApiRoutes>(genesis_, *core_, verify_pool_, verify_lanes_, *transport_,
                                        metrics_, ingress_);
  api_ = std::make_unique<HttpApi>(api_io_, api_options(config), api_handlers());
  routes_->set_server(api_.get());
}

ApiHandlers Validator::api_handlers() {
  ApiHandlers handlers;
  handlers.handle = [this](ApiRequest request, ApiHandlers::Reply reply) {
    routes_->handle(std::move(request), std::move(reply));
  };
  handlers.stream_request = [this](const std::shared_ptr<StreamSession>& session,
                                   nlohmann::json request) {
    if (!core_->post(StreamInput{session, std::move(request), 0})) {
      session->deliver(std::make_shared<const std::string>(
          R"({"type":"error","code":"resource_exhausted","reason":"overloaded",)"
          R"("message":"node overloaded: try again"})"));
    }
  };
  handlers.refused = [this](unsigned status) {
    metrics_.http_requests.fetch_add(1, std::memory_order_relaxed);
    metrics_.http_errors.add(std::to_string(status));
  };
  handlers.stream_closed = [this](std::uint64_t id) {
    // A full inbox loses this; the hub finds the closed session on its own later.
    (void)core_->post(StreamInput{nullptr, nullptr, id});
  };
  return handlers;
}

// A peer's transactions: its cancels in the urgent lane where that keeps each sender's order
// (node/verify_lanes.h), the rest in arrival order. A full lane or inbox drops gossip (the
// origin still holds the transactions) and names what it dropped to the core, which then
// never includes those senders' later transactions first (docs/MEMPOOL.md "Holds").
void Validator::verify_gossip(std::uint32_t peer, std::vector<Bytes> transactions) {
  const VerifyPool::Source source = VerifyPool::peer_source(peer);
  auto post_verified = [this, peer](std::vector<Result<VerifiedTransaction>> verdicts) {
    GossipedTransactions verified{.peer = peer, .transactions = {}};
    for (auto& verdict : verdicts) {
      if (verdict.is_ok()) verified.transactions.push_back(std::move(verdict).value());
    }
    if (!verified.transactions.empty()) core_->post_gossiped(std::move(verified));
  };
  VerifyLanes::Split split = verify_lanes_.split(std::move(transactions));
  if (!split.urgent.empty() &&
      !verify_pool_.submit(source, std::move(split.urgent), post_verified, /*urgent=*/true)) {
    core_->note_missing_gossip(peer, split.urgent_keys);
  }
  if (split.ordinary.empty()) return;
  auto waiting = std::make_shared<std::vector<PublicKey>>(std::move(split.waiting));
  bool queued = verify_pool_.submit(
      source, std::move(split.ordinary),
      [this, post_verified, waiting](std::vector<Result<VerifiedTransaction>> verdicts) {
        post_verified(std::move(verdicts));
        verify_lanes_.release(*waiting);  // after the post: the core admits them first
      });
  if (!queued) {
    core_->note_missing_gossip(peer, split.ordinary_keys);
    verify_lanes_.release(*waiting);
  }
}

void Validator::on_frame(std::uint32_t peer, Bytes frame) {
  auto message = decode_wire(frame, wire_limits_);
  if (!message.is_ok()) {
    // An authenticated peer sent something malformed: drop it, count it, keep the session.
    if (bad_frames_.fetch_add(1) % 100 == 0) {
      spdlog::warn("malformed frame from validator {}: {}", peer, message.status().to_string());
    }
    return;
  }
  if (auto* batch = std::get_if<TransactionBatch>(&*message)) {
    verify_gossip(peer, std::move(batch->transactions));
    return;
  }
  (void)core_->post(PeerMessage{peer, std::move(message).value()});  // full: consensus resends
}

Status Validator::start() {
  core_->start();
  BALLAST_RETURN_IF_ERROR(transport_->start());
  BALLAST_RETURN_IF_ERROR(api_->start());
  spdlog::info("validator {} listening for peers on {}:{} and for the API on {}:{}",
               config_.validator_index, config_.listen.host, transport_->listen_port(),
               config_.api_listen.host, api_->port());
  return Status::ok();
}

// Sets `stop` once process `pid` has exited (at once if it already has), watching it through
// `watch`: a pidfd turns readable when its process exits.
void stop_once_exited(int pid, boost::asio::posix::stream_descriptor& watch,
                      std::atomic<bool>& stop) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    spdlog::info("process {} is gone: stopping", pid);
    stop = true;
    return;
  }
  watch.assign(pidfd);
  watch.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [&stop, pid](const boost::system::error_code& error) {
                     if (error) return;
                     spdlog::info("process {} exited: stopping", pid);
                     stop = true;
                   });
}

void Validator::run_until_signal() {
  std::atomic<bool> stop{false};
  boost::asio::signal_set signals(io_, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (!error) spdlog::info("signal {}: stopping", signal);
    stop = true;
  });
  boost::asio::posix::stream_descriptor started_by(io_);
  if (exit_with_) stop_once_exited(*exit_with_, started_by, stop);
  // Clients get threads of their own: a flood of requests never delays a peer's votes.
  std::vector<std::thread> threads;
  auto run_threads = [&threads](boost::asio::io_context& io, std::size_t count,
                                const std::string& name) {
    for (std::size_t i = 0; i < count; ++i) {
      threads.emplace_back([&io, name = name + std::to_string(i)] {
        name_this_thread(name);
        io.run();
      });
    }
  };
  run_threads(io_, config_.io_threads, "io-");
  run_threads(api_io_, config_.api_threads, "api-");
  core_->run(stop);  // the core thread is this one
  api_->stop();
  transport_->stop();
  signals.cancel();
  boost::system::error_code ignored;
  started_by.close(ignored);
  api_io_.stop();
  io_.stop();
  for (std::thread& thread : threads) thread.join();
  spdlog::info("stopped at height {}", core_->status().height);
}

}  // namespace

int run(const NodeConfig& config, const RunOptions& options) {
  spdlog::set_level(spdlog_level(config.log_level));
  if (options.byzantine_equivocate || options.corrupt_state_at_height) {
    if (Status allowed = check_byzantine_allowed(config); !allowed.is_ok()) {
      spdlog::error("{}", allowed.to_string());
      return 1;
    }
  }
  auto genesis = exchange::load_genesis_file(config.genesis_file);
  if (!genesis.is_ok()) {
    spdlog::error("genesis {}: {}", config.genesis_file, genesis.status().to_string());
    return 1;
  }
  if (Status fits = check_against_genesis(config, *genesis); !fits.is_ok()) {
    spdlog::error("configuration does not fit the genesis: {}", fits.to_string());
    return 1;
  }
  auto key = load_validator_key(config, *genesis);
  if (!key.is_ok()) {
    spdlog::error("key file {}: {}", config.key_file, key.status().to_string());
    return 1;
  }
  std::error_code created;
  std::filesystem::create_directories(config.data_dir, created);
  if (created) {
    spdlog::error("data directory {}: {}", config.data_dir, created.message());
    return 1;
  }
  auto storage = storage::RocksStorage::open(config.data_dir + "/chain", storage_options(config));
  if (!storage.is_ok()) {
    spdlog::error("storage {}: {}", config.data_dir, storage.status().to_string());
    return 1;
  }
  // Acknowledged transactions not yet settled: its own database, so its syncs and the voting
  // state's never wait for each other.
  auto admitted = storage::AdmittedStore::open(config.data_dir + "/admitted");
  if (!admitted.is_ok()) {
    spdlog::error("storage {}: {}", config.data_dir, admitted.status().to_string());
    return 1;
  }
  auto journal = AdmissionJournal::open(**admitted, kJournalCapacityCommits);
  if (!journal.is_ok()) {
    spdlog::error("storage {}: {}", config.data_dir, journal.status().to_string());
    return 1;
  }
  Validator validator(config, options, std::move(genesis).value(), std::move(key).value(),
                      std::move(storage).value(), std::move(admitted).value(),
                      std::move(journal).value());
  if (Status started = validator.start(); !started.is_ok()) {
    spdlog::error("{}", started.to_string());
    return 1;
  }
  validator.run_until_signal();
  return 0;
}

}  // namespace ballast::node
