// A deterministic test network of replicas: a simulated clock, a message queue that delivers
// every outgoing message (a broadcast goes to every other replica) after a delay, and checks of
// the safety rules on everything the replicas persist and send. Every message crosses the wire
// encoding (encode_message, then decode_message) on its way.
//
// With a constant delay and no jitter, delivery is FIFO in send order. Jitter and drops come from
// a seeded std::mt19937_64, whose output the C++ standard fixes, so every run is reproducible.
#pragma once

#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "fixtures.h"

namespace ballast::consensus::testing {

struct ClusterOptions {
  std::vector<Stake> stakes = {1, 1, 1, 1};
  TimeMs delay_ms = 1;
  TimeMs jitter_ms = 0;              // each message takes delay_ms + uniform[0, jitter_ms]
  std::uint32_t drop_per_mille = 0;  // messages lost at random, out of 1000
  std::uint64_t seed = 1;
  ReplicaConfig config;  // chain_id defaults to kChainId; self is set per replica
  // A Byzantine validator run as two honest-looking replicas sharing one key ("twins"), each with
  // its own storage: replicas with an odd node id hear only the twin, the others only the
  // original; both twins hear everyone. Together they sign conflicting messages.
  std::optional<ValidatorIndex> twin;
};

// A message on the wire.
struct InFlight {
  TimeMs deliver_at = 0;
  std::uint64_t sequence = 0;
  ValidatorIndex from = 0;
  std::size_t to_node = 0;  // position in the cluster (a twin has its own)
  Bytes bytes;
};

struct SentVote {
  TimeMs at = 0;
  Vote vote;
};

class Cluster {
 public:
  struct Node {
    ValidatorIndex index = 0;  // the validator it signs as
    std::size_t id = 0;        // its position in the cluster
    bool twin = false;         // the second replica of options.twin
    bool up = false;
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<TestSigner> signer;
    std::unique_ptr<TestApplication> application;
    std::unique_ptr<Replica> replica;
    std::string salt;  // of its application: non-empty for a diverged replica
    TimeMs last_tick = -1;
    std::map<Height, FinalizedBlock> finalized;  // everything it reported, across restarts
    std::vector<SentVote> votes;                 // every vote it sent, across restarts
    std::vector<Proposal> proposals;             // every proposal it sent
    std::optional<TimeMs> diverged_at;           // when divergence() was first seen set
    std::uint64_t signatures_at_divergence = 0;  // signatures it had made by then
    std::uint64_t restarts = 0;

    Height finalized_height() const { return finalized.empty() ? 0 : finalized.rbegin()->first; }
  };

  explicit Cluster(ClusterOptions options = {});
  ~Cluster();

  const ValidatorSet& validators() const { return validators_; }
  // The number of validators (a twin is not counted).
  std::size_t size() const { return validators_.size(); }
  // The replica of validator `index` (for the twinned validator: the original).
  Node& node(ValidatorIndex index) { return *nodes_.at(index); }
  Node& twin_node() { return *nodes_.at(validators_.size()); }
  TimeMs now() const { return now_; }
  EventCounter& counter() { return counter_; }

  // Before start(): give replica `index` an application whose roots differ from everyone's.
  void set_salt(ValidatorIndex index, std::string salt);
  // Queues a transaction in every replica's application (what mempool gossip would do).
  void queue_everywhere(const std::string& transaction);
  void start();

  // Processes messages and timers in time order until `until` or until `done` returns true
  // (checked after every event). Returns whether `done` became true.
  bool run_until(TimeMs until, const std::function<bool()>& done = {});
  bool run_for(TimeMs duration, const std::function<bool()>& done = {}) {
    return run_until(now_ + duration, done);
  }

  // A crashed replica is destroyed: it receives nothing and its timers stop. Its storage stays.
  void crash(ValidatorIndex index);
  // A new Replica object with a fresh application over the same storage and key, started now.
  void restart(ValidatorIndex index);
  // As restart(), but the way a node restarts after taking a snapshot: the application is
  // restored from `snapshot` and the storage starts from `anchor` (earlier blocks dropped).
  void restart_from_snapshot(ValidatorIndex index, const Anchor& anchor, ByteView snapshot);
  void set_drop_per_mille(std::uint32_t drop) { options_.drop_per_mille = drop; }
  void set_jitter(TimeMs jitter) { options_.jitter_ms = jitter; }
  void set_delay(TimeMs delay) { options_.delay_ms = delay; }

  // Called with every batch a replica emits, before any of it leaves. Returning true crashes
  // the replica on the spot and loses the batch: persisted, but never sent.
  std::function<bool(ValidatorIndex, const std::vector<Outgoing>&)> crash_before_send;
  // Called with every message about to be queued; returning true drops it.
  std::function<bool(ValidatorIndex from, ValidatorIndex to, const Message&)> drop_filter;

  // The lowest finalized height among the replicas that are up and not diverged.
  Height min_finalized_height() const;
  Height max_finalized_height() const;
  // Every broken safety rule seen so far: disagreeing finalized blocks or roots, conflicting
  // votes by one validator, persisted voting states breaking the rules, a vote or proposal that
  // left a replica before it was persisted, messages that failed to decode.
  std::vector<std::string> violations() const;
  // The block of every proposal that crossed the network, by hash.
  const std::map<Hash256, Block>& proposed_blocks() const { return proposed_blocks_; }
  std::uint64_t messages_delivered() const { return messages_delivered_; }

 private:
  void build_replica(Node& node);
  void start_replica(Node& node);
  void collect(Node& node);
  void enqueue(ValidatorIndex from, const Node& to, const Message& message);
  bool hears(const Node& receiver, const Node& sender) const;
  TimeMs next_tick_time(const Node& node) const;

  struct Later {
    bool operator()(const InFlight& a, const InFlight& b) const {
      return a.deliver_at != b.deliver_at ? a.deliver_at > b.deliver_at : a.sequence > b.sequence;
    }
  };

  ClusterOptions options_;
  ValidatorSet validators_;
  Block genesis_;
  TestVerifier verifier_;
  EventCounter counter_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::priority_queue<InFlight, std::vector<InFlight>, Later> wire_;
  std::mt19937_64 random_;
  TimeMs now_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t messages_delivered_ = 0;
  std::map<Hash256, Block> proposed_blocks_;
  std::vector<std::string> runtime_violations_;
};

}  // namespace ballast::consensus::testing
