// One simulated run: N validators running the real consensus replica and the real exchange,
// simulated clients submitting signed exchange transactions, a simulated network, clock and
// disk, and the faults of one FaultPlan. Single-threaded and driven by one seeded generator, so
// a seed reproduces the run exactly.
//
// A run has two phases: a safety phase with the plan's faults, then a liveness phase in which
// the network heals, crashed validators restart and progress must resume within a bound.
// Checkers run continuously: agreement, validity, state-root equality, exchange invariants,
// and that every transaction a client saw finalized appears exactly once.
#pragma once

#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "app/exchange_application.h"
#include "consensus/replica.h"
#include "sim/fault_plan.h"
#include "sim/sim_crypto.h"
#include "sim/sim_storage.h"

namespace ballast::sim {

struct WorldConfig {
  std::size_t validators = 4;
  bool unequal_stakes = true;
  std::size_t clients = 4;
  TimeMs safety_ms = 4'000;
  TimeMs liveness_ms = 12'000;
  // After healing, every honest validator finalizes a new block within this bound: three
  // maximal view timeouts (a view already timing out, a crashed leader, a Byzantine leader) and
  // a second for catching up.
  TimeMs liveness_bound_ms = 10'000;
  TimeMs client_interval_min_ms = 100;
  TimeMs client_interval_max_ms = 400;
  std::set<FaultKind> allowed_faults;   // the swarm draws from these
  bool byzantine_beyond_bound = false;  // twins holding a third or more of the stake
  bool force_wan = false;               // every seed uses the wide-area region model
  // Validators write unsynced and hold each round's messages until a sync that takes simulated
  // disk time, as the node does (docs/STORAGE.md); a crash before it keeps a random prefix of
  // the unsynced writes and loses the held messages.
  bool deferred_sync = false;
  consensus::TimerConfig timers;
};

struct RunReport {
  std::uint64_t seed = 0;
  bool passed = true;
  std::vector<std::string> failures;  // checker violations, first few
  std::string plan;
  consensus::Height finalized_height = 0;
  std::uint64_t finalized_transactions = 0;
  std::uint64_t views_nullified = 0;
  std::uint64_t messages = 0;
  std::uint64_t evidence = 0;
  // Circuit-breaker activity of the replicated exchange (every market, as an honest validator
  // that is up at the end sees it): pauses of either kind, of which velocity pauses, and auctions.
  std::uint64_t market_pauses = 0;
  std::uint64_t velocity_pauses = 0;
  std::uint64_t auctions = 0;
  std::uint64_t unsynced_writes_at_crashes = 0;  // deferred_sync: writes a crash caught unsynced
  std::vector<double> latency_delays;            // per (replica, block): message delays to finalize
  std::vector<TimeMs> latency_ms;
  TimeMs recovery_ms = -1;  // heal to every honest validator's next finalization
};

class World {
 public:
  World(const WorldConfig& config, std::uint64_t seed);
  ~World();
  // Runs both phases and every checker.
  RunReport run();
  const FaultPlan& plan() const { return plan_; }

 private:
  struct Node;
  struct Event;
  struct EventOrder {
    bool operator()(const std::unique_ptr<Event>& a, const std::unique_ptr<Event>& b) const;
  };

  void build_validators();
  void build_genesis();
  void start_node(Node& node);
  void crash_node(Node& node);

  void schedule(std::unique_ptr<Event> event);
  void dispatch(Event& event);
  void deliver(Node& node, consensus::ValidatorIndex from, const consensus::MessagePtr& message,
               std::uint32_t depth);
  void after_input(Node& node);
  void send_outgoing(Node& node, const consensus::Outgoing& outgoing);
  void schedule_sync(Node& node);
  void on_sync(Node& node);
  void route(Node& sender, const consensus::Outgoing& outgoing);
  std::vector<consensus::MessagePtr> misbehave(Node& sender, const consensus::MessagePtr& message);
  void send_to(Node& sender, Node& receiver, const consensus::MessagePtr& message);
  TimeMs link_delay(const Node& sender, const Node& receiver);
  bool partitioned(consensus::ValidatorIndex a, consensus::ValidatorIndex b) const;
  void schedule_tick(Node& node);
  TimeMs local_time(const Node& node) const;

  void client_submit(std::size_t client);
  void heal();
  void on_finalized(Node& node, const consensus::FinalizedBlock& block);
  void check_validity(const consensus::Block& block);
  void record_breaker_activity(const exchange::Exchange& exchange);
  void fail(std::string what);

  WorldConfig config_;
  std::uint64_t seed_;
  Random random_;
  FaultPlan plan_;
  std::unique_ptr<SimKeys> keys_;
  std::unique_ptr<consensus::ValidatorSet> validators_;
  exchange::Genesis genesis_;
  std::vector<SecretKey> client_keys_;
  std::vector<std::uint64_t> client_nonces_;
  std::vector<exchange::Amount> genesis_totals_;
  consensus::Block genesis_block_;

  std::vector<std::unique_ptr<Node>> nodes_;  // validators, then twin instances
  std::priority_queue<std::unique_ptr<Event>, std::vector<std::unique_ptr<Event>>, EventOrder>
      events_;
  std::uint64_t next_event_sequence_ = 0;
  TimeMs now_ = 0;
  bool healed_ = false;
  const PartitionEvent* active_partition_ = nullptr;
  std::vector<std::set<consensus::ValidatorIndex>> partition_groups_;
  consensus::ValidatorIndex last_proposer_ = 0;

  // Checker state.
  std::map<consensus::Height, std::pair<Hash256, Hash256>> finalized_;  // hash, root
  std::map<Hash256, consensus::Height> finalized_transactions_;
  std::set<Hash256> submitted_;
  std::map<Hash256, std::pair<TimeMs, std::uint32_t>> proposed_;  // time, causal depth
  std::map<consensus::ValidatorIndex, consensus::Height> height_at_heal_;
  consensus::Height max_height_at_heal_ = 0;
  RunReport report_;
};

}  // namespace ballast::sim
