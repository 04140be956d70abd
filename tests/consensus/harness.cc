#include "harness.h"

#include <algorithm>
#include <limits>

#include "base/assert.h"

namespace ballast::consensus::testing {
namespace {

std::string name(const Cluster::Node& node) {
  return "replica " + std::to_string(node.index) + (node.twin ? " (twin)" : "");
}

}  // namespace

Cluster::Cluster(ClusterOptions options)
    : options_(std::move(options)),
      validators_(make_validators(options_.stakes)),
      genesis_(genesis_block(TestApplication::genesis_hash())),
      verifier_(options_.stakes.size()),
      random_(options_.seed) {
  if (options_.config.chain_id.empty()) options_.config.chain_id = std::string(kChainId);
  std::size_t count = options_.stakes.size() + (options_.twin ? 1 : 0);
  for (std::size_t i = 0; i < count; ++i) {
    auto node = std::make_unique<Node>();
    node->id = i;
    node->twin = i == options_.stakes.size();
    node->index = node->twin ? *options_.twin : static_cast<ValidatorIndex>(i);
    node->storage = std::make_unique<MemoryStorage>(&counter_);
    node->signer = std::make_unique<TestSigner>(node->index);
    node->application = std::make_unique<TestApplication>();
    nodes_.push_back(std::move(node));
  }
}

Cluster::~Cluster() {
  for (auto& node : nodes_) node->replica.reset();  // before what it refers to
}

void Cluster::set_salt(ValidatorIndex index, std::string salt) {
  Node& target = node(index);
  BALLAST_ASSERT(!target.replica);
  target.salt = std::move(salt);
  target.application = std::make_unique<TestApplication>(target.salt);
}

void Cluster::queue_everywhere(const std::string& transaction) {
  for (auto& node : nodes_) node->application->queue(transaction);
}

void Cluster::build_replica(Node& node) {
  ReplicaConfig config = options_.config;
  config.self = node.index;
  node.replica = std::make_unique<Replica>(config, validators_, *node.signer, verifier_,
                                           *node.storage, *node.application, genesis_);
}

void Cluster::start() {
  for (auto& node : nodes_) {
    build_replica(*node);
    node->up = true;
  }
  for (auto& node : nodes_) {
    node->replica->start(now_);
    collect(*node);
  }
}

void Cluster::crash(ValidatorIndex index) {
  Node& target = node(index);
  target.up = false;
  target.replica.reset();
}

void Cluster::restart(ValidatorIndex index) {
  Node& target = node(index);
  target.replica.reset();
  target.application = std::make_unique<TestApplication>(target.salt);
  start_replica(target);
}

void Cluster::restart_from_snapshot(ValidatorIndex index, const Anchor& anchor, ByteView snapshot) {
  Node& target = node(index);
  target.replica.reset();
  target.application = std::make_unique<TestApplication>(target.salt);
  Status restored = target.application->restore(snapshot);
  BALLAST_ASSERT_MSG(restored.is_ok(), "snapshot does not restore");
  target.storage->install_anchor(anchor);
  start_replica(target);
}

void Cluster::start_replica(Node& target) {
  build_replica(target);
  target.up = true;
  target.last_tick = -1;
  target.restarts += 1;
  target.replica->start(now_);
  collect(target);
}

TimeMs Cluster::next_tick_time(const Node& node) const {
  // At most one tick per replica per simulated millisecond, so a replica whose deadline stays
  // in the past cannot stall the simulation.
  return std::max(node.replica->next_deadline(), node.last_tick + 1);
}

bool Cluster::run_until(TimeMs until, const std::function<bool()>& done) {
  for (;;) {
    if (done && done()) return true;
    TimeMs next = std::numeric_limits<TimeMs>::max();
    Node* ticking = nullptr;
    if (!wire_.empty()) next = wire_.top().deliver_at;
    for (auto& node : nodes_) {
      if (!node->up) continue;
      TimeMs tick = next_tick_time(*node);
      if (tick < next) {
        next = tick;
        ticking = node.get();
      }
    }
    if (next > until) {
      now_ = std::max(now_, until);
      return false;
    }
    now_ = std::max(now_, next);
    if (ticking != nullptr) {
      ticking->last_tick = now_;
      ticking->replica->on_tick(now_);
      collect(*ticking);
      continue;
    }
    InFlight message = wire_.top();
    wire_.pop();
    Node& target = *nodes_.at(message.to_node);
    if (!target.up) continue;
    auto decoded = decode_message(message.bytes, options_.config.limits);
    if (!decoded.is_ok()) {
      runtime_violations_.push_back("a message failed to decode: " + decoded.status().to_string());
      continue;
    }
    messages_delivered_ += 1;
    target.replica->on_message(message.from, *decoded, now_);
    collect(target);
  }
}

void Cluster::collect(Node& node) {
  std::vector<Outgoing> outgoing = node.replica->take_outgoing();
  for (FinalizedBlock& block : node.replica->take_finalized()) {
    if (block.block->hash() != block.hash) {
      runtime_violations_.push_back("a finalized block's hash is not the hash of its block");
    }
    if (block.height > 1 && !node.finalized.contains(block.height - 1)) {
      runtime_violations_.push_back(name(node) + " finalized height " +
                                    std::to_string(block.height) + " without the one below");
    }
    auto [it, inserted] = node.finalized.emplace(block.height, block);
    if (!inserted && it->second.hash != block.hash) {
      runtime_violations_.push_back(name(node) + " finalized two blocks at height " +
                                    std::to_string(block.height));
    }
  }
  if (node.replica->divergence() && !node.diverged_at) {
    node.diverged_at = now_;
    node.signatures_at_divergence = node.signer->signatures_made();
  }
  if (outgoing.empty()) return;
  if (crash_before_send && crash_before_send(node.index, outgoing)) {
    crash(node.index);
    return;
  }
  const std::uint64_t taken = counter_.advance();
  for (const Outgoing& out : outgoing) {
    const Message& message = *out.message;
    if (const auto* vote = std::get_if<Vote>(&message)) {
      if (vote->signer != node.index) {
        runtime_violations_.push_back(name(node) + " sent a vote signed by another validator");
      }
      auto persisted = node.storage->first_recorded(vote->kind, vote->view, vote->block);
      if (!persisted || *persisted > taken) {
        runtime_violations_.push_back(
            name(node) + " sent " + std::string(vote_kind_name(vote->kind)) + " for view " +
            std::to_string(vote->view) + " before any persisted voting state recorded it");
      }
      node.votes.push_back({now_, *vote});
    }
    if (const auto* proposal = std::get_if<Proposal>(&message)) {
      Hash256 hash = proposal->block.hash();
      proposed_blocks_.emplace(hash, proposal->block);
      if (proposal->block.proposer == node.index) {
        auto persisted = node.storage->first_recorded(std::nullopt, proposal->block.view, hash);
        if (!persisted || *persisted > taken) {
          runtime_violations_.push_back(name(node) + " sent a proposal before persisting it");
        }
        node.proposals.push_back(*proposal);
      }
    }
    for (auto& peer : nodes_) {
      if (peer->index == node.index) continue;  // itself, or its twin
      if (out.to && *out.to != peer->index) continue;
      if (!hears(*peer, node)) continue;
      enqueue(node.index, *peer, message);
    }
  }
}

bool Cluster::hears(const Node& receiver, const Node& sender) const {
  if (!options_.twin || sender.index != *options_.twin) return true;
  bool hears_twin = receiver.id % 2 == 1;
  return hears_twin == sender.twin;
}

void Cluster::enqueue(ValidatorIndex from, const Node& to, const Message& message) {
  if (drop_filter && drop_filter(from, to.index, message)) return;
  if (options_.drop_per_mille > 0 && random_() % 1000 < options_.drop_per_mille) return;
  TimeMs delay = options_.delay_ms;
  if (options_.jitter_ms > 0) {
    delay += static_cast<TimeMs>(random_() % static_cast<std::uint64_t>(options_.jitter_ms + 1));
  }
  wire_.push({now_ + delay, next_sequence_++, from, to.id, encode_message(message)});
}

Height Cluster::min_finalized_height() const {
  Height lowest = std::numeric_limits<Height>::max();
  for (const auto& node : nodes_) {
    if (node->up && node->salt.empty()) lowest = std::min(lowest, node->finalized_height());
  }
  return lowest == std::numeric_limits<Height>::max() ? 0 : lowest;
}

Height Cluster::max_finalized_height() const {
  Height highest = 0;
  for (const auto& node : nodes_) highest = std::max(highest, node->finalized_height());
  return highest;
}

std::vector<std::string> Cluster::violations() const {
  std::vector<std::string> problems = runtime_violations_;
  // Agreement: one block per height everywhere; one root per height among undiverged replicas.
  std::map<Height, Hash256> hashes;
  std::map<Height, Hash256> roots;
  for (const auto& node : nodes_) {
    for (const auto& [height, block] : node->finalized) {
      auto [hash, new_hash] = hashes.emplace(height, block.hash);
      if (!new_hash && hash->second != block.hash) {
        problems.push_back("replicas finalized different blocks at height " +
                           std::to_string(height));
      }
      if (!node->salt.empty()) continue;
      auto [root, new_root] = roots.emplace(height, block.state_root);
      if (!new_root && root->second != block.state_root) {
        problems.push_back("replicas report different state roots at height " +
                           std::to_string(height));
      }
    }
  }
  // No validator signs conflicting votes, whatever restarts it went through.
  for (const auto& node : nodes_) {
    std::map<View, Hash256> notarized;
    std::set<View> nullified;
    std::set<View> finalized;
    for (const SentVote& sent : node->votes) {
      const Vote& vote = sent.vote;
      switch (vote.kind) {
        case VoteKind::kNotarize: {
          auto [it, inserted] = notarized.emplace(vote.view, vote.block);
          if (!inserted && it->second != vote.block) {
            problems.push_back(name(*node) + " sent two notarize votes for view " +
                               std::to_string(vote.view));
          }
          break;
        }
        case VoteKind::kNullify:
          nullified.insert(vote.view);
          break;
        case VoteKind::kFinalize:
          finalized.insert(vote.view);
          break;
      }
    }
    for (View view : nullified) {
      if (finalized.contains(view)) {
        problems.push_back(name(*node) + " sent both nullify and finalize for view " +
                           std::to_string(view));
      }
    }
    for (std::string& problem : node->storage->voting_violations()) {
      problems.push_back(name(*node) + ": " + problem);
    }
  }
  return problems;
}

}  // namespace ballast::consensus::testing
