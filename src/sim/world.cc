#include "sim/world.h"

#include <algorithm>
#include <numeric>

namespace ballast::sim {

using consensus::Block;
using consensus::Message;
using consensus::MessagePtr;
using consensus::ValidatorIndex;

namespace {

constexpr std::size_t kMaxEvents = 20'000'000;  // a run that needs more is itself a failure
constexpr std::size_t kMaxFailuresKept = 5;

// Five regions and round-trip times (ms) between them, typical of public cloud measurements:
// us-east, us-west, eu-west, ap-northeast, sa-east.
constexpr TimeMs kRegionRtt[5][5] = {
    {2, 65, 75, 160, 115},   {65, 2, 140, 105, 175},  {75, 140, 2, 220, 185},
    {160, 105, 220, 2, 260}, {115, 175, 185, 260, 2},
};

}  // namespace

struct World::Node {
  std::size_t id = 0;
  ValidatorIndex validator = 0;
  Behaviour behaviour = Behaviour::kHonest;
  int side = 0;  // twins: 1 or 2, the half of the network this instance talks to
  std::unique_ptr<SimStorage> storage;
  std::unique_ptr<SimSigner> signer;
  std::unique_ptr<SimVerifier> verifier;
  std::unique_ptr<app::ExchangeApplication> app;
  std::unique_ptr<consensus::Replica> replica;
  bool up = false;
  TimeMs scheduled_tick = -1;
  std::uint32_t depth = 0;  // causal message depth of the last input
  std::optional<TimeMs> recovered_at;
  // deferred_sync: messages waiting for the next sync, and which life of the node they are from.
  std::vector<consensus::Outgoing> held;
  std::uint64_t incarnation = 0;

  bool honest() const { return behaviour == Behaviour::kHonest; }
};

struct World::Event {
  enum class Kind {
    kDeliver,
    kTick,
    kClient,
    kCrash,
    kRestart,
    kPartitionStart,
    kPartitionEnd,
    kHeal,
    kSync
  };
  Kind kind = Kind::kTick;
  TimeMs at = 0;
  std::uint64_t sequence = 0;
  std::size_t node = 0;
  std::size_t index = 0;  // client, crash or partition number; a sync's node incarnation
  ValidatorIndex from = 0;
  MessagePtr message;
  std::uint32_t depth = 0;
};

bool World::EventOrder::operator()(const std::unique_ptr<Event>& a,
                                   const std::unique_ptr<Event>& b) const {
  if (a->at != b->at) return a->at > b->at;
  return a->sequence > b->sequence;
}

World::World(const WorldConfig& config, std::uint64_t seed)
    : config_(config), seed_(seed), random_(seed) {
  report_.seed = seed;
  build_validators();
  build_genesis();
}

World::~World() = default;

void World::build_validators() {
  std::vector<consensus::ValidatorInfo> infos;
  for (std::size_t i = 0; i < config_.validators; ++i) {
    consensus::Stake stake = config_.unequal_stakes ? 1 + random_.below(10) : 1;
    infos.push_back(
        {SecretKey::insecure_from_seed("sim-validator-" + std::to_string(i)).public_key(), stake});
  }
  if (config_.byzantine_beyond_bound) {
    for (auto& info : infos) info.stake = 1;
  }
  validators_ = std::make_unique<consensus::ValidatorSet>(infos);
  keys_ = std::make_unique<SimKeys>(config_.validators, seed_);

  PlanLimits limits;
  limits.validators = config_.validators;
  for (const auto& info : infos) limits.stakes.push_back(info.stake);
  limits.safety_ms = config_.safety_ms;
  limits.allowed = config_.allowed_faults;
  plan_ = draw_fault_plan(random_, limits);
  if (config_.byzantine_beyond_bound) {
    // Half the validators are twins: each half of the honest validators, cut off from the other
    // half, sees a quorum of its own. Safety cannot hold, and the checker must say so.
    BALLAST_ASSERT(config_.validators >= 4);
    plan_ = FaultPlan{};
    plan_.clocks.resize(config_.validators);
    plan_.behaviours.assign(config_.validators, Behaviour::kHonest);
    std::set<ValidatorIndex> first, second;
    for (ValidatorIndex i = 0; i < config_.validators; ++i) {
      if (i < config_.validators / 2) {
        plan_.behaviours[i] = Behaviour::kTwins;
        first.insert(i);
        second.insert(i);
      } else {
        (i % 2 == 0 ? first : second).insert(i);
      }
    }
    plan_.partitions.push_back({0,
                                config_.safety_ms + config_.liveness_ms,
                                {first, second},
                                false,
                                "permanent split between honest halves"});
  }
  if (config_.force_wan) plan_.wan = true;
  report_.plan = plan_.describe();
}

void World::build_genesis() {
  genesis_.chain_id = "ballast-sim";
  genesis_.fee_account = SecretKey::insecure_from_seed("sim-fees").public_key();
  genesis_.tx_fee_asset = 1;
  genesis_.assets = {{"BASE", 0}, {"QUOTE", 0}};
  genesis_.markets = {{"BASE-QUOTE", 0, 1, 1, 1, 1, 2, 5}};
  for (std::size_t i = 0; i < config_.clients; ++i) {
    client_keys_.push_back(SecretKey::insecure_from_seed("sim-client-" + std::to_string(i)));
    genesis_.accounts.push_back(
        {client_keys_.back().public_key(), {{0, 1'000'000'000}, {1, 1'000'000'000}}});
  }
  client_nonces_.assign(config_.clients, 0);
  for (const auto& info : validators_->validators()) {
    genesis_.validators.push_back({info.key, info.stake});
  }
  BALLAST_ASSERT(exchange::validate_genesis(genesis_).is_ok());
  genesis_block_ = consensus::genesis_block(genesis_.hash());
  genesis_totals_ = exchange::Exchange(genesis_).asset_totals();
}

// --- nodes ------------------------------------------------------------------------------------

void World::start_node(Node& node) {
  node.app = std::make_unique<app::ExchangeApplication>(genesis_);
  consensus::ReplicaConfig replica_config;
  replica_config.chain_id = genesis_.chain_id;
  replica_config.self = node.validator;
  replica_config.timers = config_.timers;
  replica_config.max_block_transactions = 200;
  node.replica = std::make_unique<consensus::Replica>(replica_config, *validators_, *node.signer,
                                                      *node.verifier, *node.storage, *node.app,
                                                      genesis_block_);
  node.up = true;
  node.scheduled_tick = -1;
  node.replica->start(local_time(node));
  after_input(node);
}

void World::crash_node(Node& node) {
  if (!node.up) return;
  node.up = false;
  std::size_t unsynced = node.storage->unsynced_writes();
  report_.unsynced_writes_at_crashes += unsynced;
  // Some of them may have reached the disk anyway, in the order written.
  node.storage->crash(unsynced == 0 ? 0
                                    : static_cast<std::size_t>(
                                          random_.between(0, static_cast<std::int64_t>(unsynced))));
  node.held.clear();
  node.incarnation += 1;
  node.replica.reset();
  node.app.reset();
  node.scheduled_tick = -1;
}

TimeMs World::local_time(const Node& node) const {
  const ClockModel& clock = plan_.clocks[node.validator];
  return now_ + clock.offset_ms + now_ * clock.drift_ppm / 1'000'000;
}

void World::schedule_tick(Node& node) {
  if (!node.up) return;
  const ClockModel& clock = plan_.clocks[node.validator];
  TimeMs local_deadline = node.replica->next_deadline();
  TimeMs global = (local_deadline - clock.offset_ms) * 1'000'000 / (1'000'000 + clock.drift_ppm);
  global = std::max(global, now_ + 1);
  if (node.scheduled_tick > now_ && node.scheduled_tick <= global) return;
  node.scheduled_tick = global;
  auto event = std::make_unique<Event>();
  event->kind = Event::Kind::kTick;
  event->at = global;
  event->node = node.id;
  schedule(std::move(event));
}

// --- events -----------------------------------------------------------------------------------

void World::schedule(std::unique_ptr<Event> event) {
  event->sequence = next_event_sequence_++;
  events_.push(std::move(event));
}

RunReport World::run() {
  const TimeMs end = config_.safety_ms + config_.liveness_ms;
  for (ValidatorIndex v = 0; v < config_.validators; ++v) {
    int instances = plan_.behaviours[v] == Behaviour::kTwins ? 2 : 1;
    for (int twin = 0; twin < instances; ++twin) {
      auto node = std::make_unique<Node>();
      node->id = nodes_.size();
      node->validator = v;
      node->behaviour = plan_.behaviours[v];
      node->side = instances == 2 ? twin + 1 : 0;
      node->storage = std::make_unique<SimStorage>(/*sync_on_write=*/!config_.deferred_sync);
      node->signer = std::make_unique<SimSigner>(*keys_, v);
      node->verifier = std::make_unique<SimVerifier>(*keys_);
      nodes_.push_back(std::move(node));
    }
  }
  for (auto& node : nodes_) start_node(*node);
  for (std::size_t c = 0; c < config_.clients; ++c) {
    auto event = std::make_unique<Event>();
    event->kind = Event::Kind::kClient;
    event->at = random_.between(0, config_.client_interval_max_ms);
    event->index = c;
    schedule(std::move(event));
  }
  for (std::size_t i = 0; i < plan_.crashes.size(); ++i) {
    for (auto kind : {Event::Kind::kCrash, Event::Kind::kRestart}) {
      auto event = std::make_unique<Event>();
      event->kind = kind;
      event->at =
          kind == Event::Kind::kCrash ? plan_.crashes[i].crash_ms : plan_.crashes[i].restart_ms;
      event->index = i;
      schedule(std::move(event));
    }
  }
  for (std::size_t i = 0; i < plan_.partitions.size(); ++i) {
    for (auto kind : {Event::Kind::kPartitionStart, Event::Kind::kPartitionEnd}) {
      auto event = std::make_unique<Event>();
      event->kind = kind;
      event->at = kind == Event::Kind::kPartitionStart ? plan_.partitions[i].start_ms
                                                       : plan_.partitions[i].end_ms;
      event->index = i;
      schedule(std::move(event));
    }
  }
  auto heal_event = std::make_unique<Event>();
  heal_event->kind = Event::Kind::kHeal;
  heal_event->at = config_.safety_ms;
  schedule(std::move(heal_event));

  std::size_t processed = 0;
  while (!events_.empty() && events_.top()->at <= end) {
    std::unique_ptr<Event> event = std::move(const_cast<std::unique_ptr<Event>&>(events_.top()));
    events_.pop();
    now_ = event->at;
    dispatch(*event);
    if (++processed > kMaxEvents) {
      fail("the run exceeded its event budget");
      break;
    }
  }
  now_ = end;
  for (const auto& node : nodes_) {
    if (!node->honest() || !node->up) continue;
    report_.views_nullified =
        std::max(report_.views_nullified, node->replica->stats().views_nullified);
    report_.evidence = std::max<std::uint64_t>(report_.evidence, node->replica->evidence().size());
    record_breaker_activity(node->app->exchange());
    for (const consensus::Evidence& evidence : node->replica->evidence()) {
      if (plan_.behaviours[evidence.validator] == Behaviour::kHonest) {
        fail("honest validator " + std::to_string(evidence.validator) + " equivocated in view " +
             std::to_string(evidence.view) + ": " + evidence.what);
      }
    }
    if (node->replica->divergence()) {
      fail("validator " + std::to_string(node->validator) +
           " diverged: " + *node->replica->divergence());
    }
  }
  if (!config_.byzantine_beyond_bound) {
    TimeMs slowest = 0;
    for (const auto& node : nodes_) {
      if (!node->honest()) continue;
      if (!node->recovered_at ||
          *node->recovered_at - config_.safety_ms > config_.liveness_bound_ms) {
        fail("liveness: validator " + std::to_string(node->validator) +
             " finalized nothing new within " + std::to_string(config_.liveness_bound_ms) +
             " ms of the network healing");
        continue;
      }
      slowest = std::max(slowest, *node->recovered_at - config_.safety_ms);
    }
    report_.recovery_ms = slowest;
  }
  return report_;
}

void World::dispatch(Event& event) {
  switch (event.kind) {
    case Event::Kind::kDeliver:
      deliver(*nodes_[event.node], event.from, event.message, event.depth);
      break;
    case Event::Kind::kTick: {
      Node& node = *nodes_[event.node];
      if (!node.up || node.scheduled_tick != event.at) return;
      node.scheduled_tick = -1;
      node.replica->on_tick(local_time(node));
      after_input(node);
      break;
    }
    case Event::Kind::kClient:
      client_submit(event.index);
      break;
    case Event::Kind::kSync: {
      Node& node = *nodes_[event.node];
      if (node.up && node.incarnation == event.index) on_sync(node);
      break;
    }
    case Event::Kind::kCrash:
      if (healed_) return;
      for (auto& node : nodes_) {
        if (node->validator == plan_.crashes[event.index].validator) crash_node(*node);
      }
      break;
    case Event::Kind::kRestart:
      for (auto& node : nodes_) {
        if (node->validator == plan_.crashes[event.index].validator && !node->up) start_node(*node);
      }
      break;
    case Event::Kind::kPartitionStart: {
      if (healed_ && !config_.byzantine_beyond_bound) return;
      const PartitionEvent& partition = plan_.partitions[event.index];
      active_partition_ = &partition;
      partition_groups_ = partition.groups;
      if (partition.isolate_leader) {
        std::set<ValidatorIndex> rest;
        for (ValidatorIndex v = 0; v < config_.validators; ++v) {
          if (v != last_proposer_) rest.insert(v);
        }
        partition_groups_ = {{last_proposer_}, rest};
      }
      break;
    }
    case Event::Kind::kPartitionEnd:
      if (active_partition_ == &plan_.partitions[event.index]) {
        active_partition_ = nullptr;
        partition_groups_.clear();
      }
      break;
    case Event::Kind::kHeal:
      heal();
      break;
  }
}

void World::heal() {
  healed_ = true;
  if (!config_.byzantine_beyond_bound) {
    active_partition_ = nullptr;
    partition_groups_.clear();
  }
  plan_.loss_per_million = 0;
  plan_.duplicate_per_million = 0;
  plan_.reorder_per_million = 0;
  for (auto& node : nodes_) {
    if (!node->up) start_node(*node);
  }
  for (const auto& [height, entry] : finalized_)
    max_height_at_heal_ = std::max(max_height_at_heal_, height);
}

// --- messages ---------------------------------------------------------------------------------

void World::deliver(Node& node, ValidatorIndex from, const MessagePtr& message,
                    std::uint32_t depth) {
  if (!node.up) return;
  node.depth = depth;
  node.replica->on_message(from, *message, local_time(node));
  after_input(node);
}

void World::after_input(Node& node) {
  std::vector<consensus::Outgoing> outgoing = node.replica->take_outgoing();
  // As the node's chain-sync thread: finalized blocks hold nothing back and ride with the next
  // voting state's sync, so a crash before it may take them (the node's one-second sync of its
  // own for them, in a halted network, is not modelled).
  const consensus::UnsyncedWrites wrote = node.storage->take_unsynced_writes();
  if (wrote.voting_state) schedule_sync(node);
  if (wrote.voting_state || !node.held.empty()) {
    node.held.insert(node.held.end(), outgoing.begin(), outgoing.end());
  } else {
    for (const consensus::Outgoing& message : outgoing) send_outgoing(node, message);
  }
  for (const consensus::FinalizedBlock& block : node.replica->take_finalized()) {
    on_finalized(node, block);
  }
  schedule_tick(node);
}

void World::send_outgoing(Node& node, const consensus::Outgoing& outgoing) {
  if (const auto* proposal = std::get_if<consensus::Proposal>(&*outgoing.message)) {
    proposed_.try_emplace(proposal->block.hash(), now_, node.depth);
    last_proposer_ = node.validator;
  }
  route(node, outgoing);
}

// deferred_sync: the disk takes 1-3 ms; the held messages leave when it is done.
void World::schedule_sync(Node& node) {
  auto event = std::make_unique<Event>();
  event->kind = Event::Kind::kSync;
  event->at = now_ + random_.between(1, 3);
  event->node = node.id;
  event->index = node.incarnation;
  schedule(std::move(event));
}

void World::on_sync(Node& node) {
  node.storage->sync();
  std::vector<consensus::Outgoing> held = std::move(node.held);
  node.held.clear();
  for (const consensus::Outgoing& outgoing : held) send_outgoing(node, outgoing);
}

std::vector<MessagePtr> World::misbehave(Node& sender, const MessagePtr& message) {
  const std::string& chain = genesis_.chain_id;
  auto resign = [&](consensus::Proposal proposal) {
    proposal.signature =
        sender.signer->sign(consensus::proposal_digest(chain, proposal.block.hash()));
    return std::make_shared<const Message>(std::move(proposal));
  };
  const auto* proposal = std::get_if<consensus::Proposal>(&*message);
  const auto* vote = std::get_if<consensus::Vote>(&*message);
  switch (sender.behaviour) {
    case Behaviour::kHonest:
    case Behaviour::kTwins:
      return {message};
    case Behaviour::kSilent:
      return {};
    case Behaviour::kWithholdVotes:
      return vote ? std::vector<MessagePtr>{} : std::vector<MessagePtr>{message};
    case Behaviour::kDoubleVote: {
      if (!vote || vote->kind == consensus::VoteKind::kNullify) return {message};
      consensus::Vote other = *vote;
      if (vote->kind == consensus::VoteKind::kNotarize) {
        other.block.bytes[0] ^= 0xff;
      } else {
        other.kind = consensus::VoteKind::kNullify;
        other.block = Hash256{};
      }
      other.signature =
          sender.signer->sign(consensus::vote_digest(chain, other.kind, other.view, other.block));
      return {message, std::make_shared<const Message>(other)};
    }
    case Behaviour::kBadSignature:
      if (!proposal) return {message};
      {
        consensus::Proposal bad = *proposal;
        bad.signature.bytes[5] ^= 0x01;
        return {std::make_shared<const Message>(std::move(bad))};
      }
    case Behaviour::kBadParent:
      if (!proposal) return {message};
      {
        consensus::Proposal bad = *proposal;
        bad.block.parent.bytes[0] ^= 0x01;
        return {resign(std::move(bad))};
      }
    case Behaviour::kWrongStateRoot:
      if (!proposal) return {message};
      {
        consensus::Proposal bad = *proposal;
        bad.block.state_root.bytes[0] ^= 0x01;
        return {resign(std::move(bad))};
      }
    case Behaviour::kInvalidTransactions:
      if (!proposal) return {message};
      {
        consensus::Proposal bad = *proposal;
        bad.block.transactions.push_back(Bytes{0x01, 0x02, 0x03});
        return {resign(std::move(bad))};
      }
  }
  return {message};
}

void World::route(Node& sender, const consensus::Outgoing& outgoing) {
  std::vector<MessagePtr> messages = misbehave(sender, outgoing.message);
  for (std::size_t variant = 0; variant < messages.size(); ++variant) {
    for (auto& receiver : nodes_) {
      if (receiver->id == sender.id || receiver->validator == sender.validator) continue;
      if (outgoing.to && receiver->validator != *outgoing.to) continue;
      // A double voter shows each half of the network a different vote.
      if (messages.size() > 1 && receiver->validator % 2 != variant % 2) continue;
      send_to(sender, *receiver, messages[variant]);
    }
  }
}

bool World::partitioned(ValidatorIndex a, ValidatorIndex b) const {
  if (partition_groups_.empty()) return false;
  for (const auto& group : partition_groups_) {
    if (group.contains(a) && group.contains(b)) return false;
  }
  return true;
}

TimeMs World::link_delay(const Node& sender, const Node& receiver) {
  TimeMs delay;
  if (plan_.wan) {
    TimeMs rtt = kRegionRtt[sender.validator % 5][receiver.validator % 5];
    delay =
        rtt / 2 + static_cast<TimeMs>(random_.below(static_cast<std::uint64_t>(rtt / 10 + 1))) + 1;
  } else {
    delay = random_.between(plan_.lan_delay_min_ms, plan_.lan_delay_max_ms);
  }
  if (plan_.reorder_per_million && random_.chance(plan_.reorder_per_million)) {
    delay += random_.between(1, 5 * (plan_.wan ? 100 : plan_.lan_delay_max_ms + 1));
  }
  return delay;
}

void World::send_to(Node& sender, Node& receiver, const MessagePtr& message) {
  // Twins each talk to their own half of the honest validators and to their own side.
  if (sender.side != 0 || receiver.side != 0) {
    int sender_side = sender.side != 0 ? sender.side : 1 + static_cast<int>(sender.validator % 2);
    int receiver_side =
        receiver.side != 0 ? receiver.side : 1 + static_cast<int>(receiver.validator % 2);
    if (sender_side != receiver_side) return;
  }
  report_.messages += 1;
  if (partitioned(sender.validator, receiver.validator)) return;
  if (plan_.loss_per_million && random_.chance(plan_.loss_per_million)) return;
  int copies = plan_.duplicate_per_million && random_.chance(plan_.duplicate_per_million) ? 2 : 1;
  for (int copy = 0; copy < copies; ++copy) {
    auto event = std::make_unique<Event>();
    event->kind = Event::Kind::kDeliver;
    event->at = now_ + link_delay(sender, receiver);
    event->node = receiver.id;
    event->from = sender.validator;
    event->message = message;
    event->depth = sender.depth + 1;
    schedule(std::move(event));
  }
}

// --- clients ----------------------------------------------------------------------------------

void World::client_submit(std::size_t client) {
  exchange::Transaction tx;
  tx.sender = client_keys_[client].public_key();
  tx.nonce = ++client_nonces_[client];
  tx.fee = 0;
  consensus::Height height = finalized_.empty() ? 0 : finalized_.rbegin()->first;
  tx.expiry_height = height + 50;
  std::uint64_t action = random_.below(100);
  if (action < 75) {
    exchange::PlaceOrder order;
    order.side = random_.chance(500'000) ? exchange::Side::kBuy : exchange::Side::kSell;
    order.price = random_.between(95, 105);
    order.quantity = random_.between(1, 20);
    order.time_in_force = random_.chance(300'000) ? exchange::TimeInForce::kImmediateOrCancel
                                                  : exchange::TimeInForce::kGoodTillCancel;
    order.self_trade_prevention = static_cast<exchange::SelfTradePrevention>(random_.below(3));
    tx.body = order;
  } else if (action < 85) {
    tx.body = exchange::CancelAll{};
  } else {
    std::size_t to = (client + 1 + random_.below(config_.clients - 1)) % config_.clients;
    tx.body = exchange::Transfer{client_keys_[to].public_key(),
                                 static_cast<exchange::AssetId>(random_.below(2)),
                                 random_.between(1, 1'000)};
  }
  tx.sign(client_keys_[client], genesis_.chain_id);
  Bytes bytes = tx.encode();
  submitted_.insert(sha256(bytes));
  for (auto& node : nodes_) {
    if (!node->up) continue;
    // Refusals (pool full, stale) are fine here.
    if (node->app->submit(bytes).is_ok()) {
      node->replica->on_transactions_available(local_time(*node));
      after_input(*node);
    }
  }
  if (now_ < config_.safety_ms + config_.liveness_ms) {
    auto event = std::make_unique<Event>();
    event->kind = Event::Kind::kClient;
    event->at =
        now_ + random_.between(config_.client_interval_min_ms, config_.client_interval_max_ms);
    event->index = client;
    schedule(std::move(event));
  }
}

// --- checkers ---------------------------------------------------------------------------------

void World::record_breaker_activity(const exchange::Exchange& exchange) {
  std::uint64_t pauses = 0, velocity = 0, auctions = 0;
  for (std::size_t market = 0; market < exchange.genesis().markets.size(); ++market) {
    exchange::MarketStatus status = exchange.market_status(static_cast<exchange::MarketId>(market));
    pauses += status.limit_pauses + status.velocity_pauses;
    velocity += status.velocity_pauses;
    auctions += status.auctions;
  }
  // Validators that finalized further have seen more; the furthest is the report.
  if (pauses + auctions >= report_.market_pauses + report_.auctions) {
    report_.market_pauses = pauses;
    report_.velocity_pauses = velocity;
    report_.auctions = auctions;
  }
}

void World::fail(std::string what) {
  report_.passed = false;
  if (report_.failures.size() < kMaxFailuresKept) report_.failures.push_back(std::move(what));
}

void World::check_validity(const Block& block) {
  for (const Bytes& bytes : block.transactions) {
    Hash256 id = sha256(bytes);
    if (!submitted_.contains(id)) {
      auto tx = exchange::Transaction::decode(bytes);
      if (!tx.is_ok() || !tx->signature_valid(genesis_.chain_id)) {
        fail("validity: height " + std::to_string(block.height) +
             " finalized a transaction no client signed");
      }
    }
    auto [it, inserted] = finalized_transactions_.emplace(id, block.height);
    if (!inserted) {
      fail("validity: transaction " + id.hex().substr(0, 16) + " finalized at heights " +
           std::to_string(it->second) + " and " + std::to_string(block.height));
    }
  }
  report_.finalized_transactions += block.transactions.size();
}

void World::on_finalized(Node& node, const consensus::FinalizedBlock& block) {
  if (!node.honest()) return;
  auto [it, inserted] = finalized_.try_emplace(block.height, block.hash, block.state_root);
  if (inserted) {
    check_validity(*block.block);
  } else if (it->second.first != block.hash) {
    fail("agreement: two different blocks finalized at height " + std::to_string(block.height));
  } else if (it->second.second != block.state_root) {
    fail("state roots differ at height " + std::to_string(block.height));
  }
  Status invariants = node.app->exchange().check_invariants();
  if (!invariants.is_ok()) fail("exchange invariant: " + invariants.message());
  if (node.app->exchange().asset_totals() != genesis_totals_) {
    fail("exchange invariant: asset totals not conserved at height " +
         std::to_string(block.height));
  }
  report_.finalized_height = std::max(report_.finalized_height, block.height);
  if (auto proposed = proposed_.find(block.hash); proposed != proposed_.end()) {
    report_.latency_ms.push_back(now_ - proposed->second.first);
    report_.latency_delays.push_back(static_cast<double>(node.depth) -
                                     static_cast<double>(proposed->second.second));
  }
  if (healed_ && !node.recovered_at && block.height > max_height_at_heal_) node.recovered_at = now_;
}

}  // namespace ballast::sim
