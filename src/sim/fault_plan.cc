#include "sim/fault_plan.h"

#include <algorithm>
#include <numeric>
#include <sstream>

namespace ballast::sim {
namespace {

const std::vector<std::pair<FaultKind, std::string>> kFaultNames = {
    {FaultKind::kLoss, "loss"},           {FaultKind::kDelay, "delay"},
    {FaultKind::kDuplicate, "duplicate"}, {FaultKind::kReorder, "reorder"},
    {FaultKind::kPartition, "partition"}, {FaultKind::kCrash, "crash"},
    {FaultKind::kClock, "clock"},         {FaultKind::kByzantine, "byzantine"},
};

std::set<ValidatorIndex> random_subset(Random& random, std::size_t validators, std::size_t size) {
  std::vector<ValidatorIndex> all(validators);
  std::iota(all.begin(), all.end(), 0);
  for (std::size_t i = 0; i < size; ++i) {
    std::swap(all[i], all[i + random.below(validators - i)]);
  }
  return std::set<ValidatorIndex>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(size));
}

std::vector<std::set<ValidatorIndex>> split(const std::set<ValidatorIndex>& first,
                                            std::size_t validators) {
  std::set<ValidatorIndex> second;
  for (ValidatorIndex i = 0; i < validators; ++i) {
    if (!first.contains(i)) second.insert(i);
  }
  return {first, second};
}

void draw_partitions(Random& random, const PlanLimits& limits, FaultPlan& plan) {
  const std::size_t n = limits.validators;
  if (n < 2) return;
  int kind = static_cast<int>(random.below(5));
  auto window = [&](TimeMs min_length) {
    TimeMs start = random.between(0, limits.safety_ms / 2);
    TimeMs end =
        std::min(limits.safety_ms, start + random.between(min_length, limits.safety_ms / 2));
    return std::pair{start, end};
  };
  if (kind == 4) {  // flapping: a split that comes and goes
    auto side = random_subset(random, n, 1 + random.below(n - 1));
    TimeMs period = random.between(100, 600);
    for (TimeMs start = random.between(0, 500); start + period < limits.safety_ms;
         start += 2 * period) {
      plan.partitions.push_back({start, start + period, split(side, n), false, "flapping"});
    }
    return;
  }
  auto [start, end] = window(200);
  switch (kind) {
    case 0:
      plan.partitions.push_back({start, end,
                                 split(random_subset(random, n, 1 + random.below(n - 1)), n), false,
                                 "random split"});
      break;
    case 1:
      plan.partitions.push_back({start, end, {}, true, "isolate the leader"});
      break;
    case 2:  // a minority cut off from a majority
      plan.partitions.push_back(
          {start, end, split(random_subset(random, n, std::max<std::size_t>(1, (n - 1) / 3)), n),
           false, "minority/majority"});
      break;
    default: {  // three-way split: nobody has a quorum
      std::vector<std::set<ValidatorIndex>> groups(3);
      for (ValidatorIndex i = 0; i < n; ++i) groups[random.below(3)].insert(i);
      plan.partitions.push_back({start, end, groups, false, "three-way split"});
    }
  }
}

void draw_byzantine(Random& random, const PlanLimits& limits, FaultPlan& plan) {
  consensus::Stake total =
      std::accumulate(limits.stakes.begin(), limits.stakes.end(), consensus::Stake{0});
  consensus::Stake faulty = 0;
  std::size_t wanted = 1 + random.below(std::max<std::size_t>(1, limits.validators / 3));
  for (ValidatorIndex candidate : random_subset(random, limits.validators, limits.validators)) {
    if (wanted == 0) break;
    consensus::Stake stake = limits.stakes[candidate];
    if (3 * (faulty + stake) >= total) continue;  // keep Byzantine stake below one third
    faulty += stake;
    wanted -= 1;
    plan.behaviours[candidate] = static_cast<Behaviour>(1 + random.below(8));
  }
}

}  // namespace

std::string fault_kind_name(FaultKind kind) {
  for (const auto& [known, name] : kFaultNames) {
    if (known == kind) return name;
  }
  return "unknown";
}

Result<std::set<FaultKind>> parse_fault_kinds(const std::string& text) {
  std::set<FaultKind> kinds;
  if (text == "none") return kinds;
  if (text == "all") {
    for (const auto& [kind, name] : kFaultNames) kinds.insert(kind);
    return kinds;
  }
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) {
    auto it = std::find_if(kFaultNames.begin(), kFaultNames.end(),
                           [&](const auto& entry) { return entry.second == item; });
    if (it == kFaultNames.end()) {
      return invalid_argument("unknown fault kind \"" + item +
                              "\" (loss, delay, duplicate, reorder, partition, crash, clock, "
                              "byzantine, all, none)");
    }
    kinds.insert(it->first);
  }
  return kinds;
}

std::string behaviour_name(Behaviour behaviour) {
  switch (behaviour) {
    case Behaviour::kHonest:
      return "honest";
    case Behaviour::kTwins:
      return "twins";
    case Behaviour::kDoubleVote:
      return "double-vote";
    case Behaviour::kWithholdVotes:
      return "withhold-votes";
    case Behaviour::kBadSignature:
      return "bad-signature";
    case Behaviour::kBadParent:
      return "bad-parent";
    case Behaviour::kWrongStateRoot:
      return "wrong-state-root";
    case Behaviour::kInvalidTransactions:
      return "invalid-transactions";
    case Behaviour::kSilent:
      return "silent";
  }
  return "unknown";
}

FaultPlan draw_fault_plan(Random& random, const PlanLimits& limits) {
  FaultPlan plan;
  plan.clocks.resize(limits.validators);
  plan.behaviours.assign(limits.validators, Behaviour::kHonest);
  // Swarm testing: each seed enables a random subset of the allowed fault kinds.
  for (FaultKind kind : limits.allowed) {
    if (random.chance(500'000)) plan.kinds.insert(kind);
  }
  if (plan.kinds.contains(FaultKind::kLoss)) plan.loss_per_million = random.below(300'001);
  if (plan.kinds.contains(FaultKind::kDuplicate))
    plan.duplicate_per_million = random.below(100'001);
  if (plan.kinds.contains(FaultKind::kReorder)) plan.reorder_per_million = random.below(200'001);
  plan.wan = plan.kinds.contains(FaultKind::kDelay);
  plan.lan_delay_min_ms = random.between(1, 5);
  plan.lan_delay_max_ms = plan.lan_delay_min_ms + random.between(0, 30);
  if (plan.kinds.contains(FaultKind::kPartition)) draw_partitions(random, limits, plan);
  if (plan.kinds.contains(FaultKind::kCrash)) {
    std::size_t crashes = 1 + random.below(limits.validators);
    for (std::size_t i = 0; i < crashes; ++i) {
      TimeMs at = random.between(0, limits.safety_ms - 100);
      plan.crashes.push_back({static_cast<ValidatorIndex>(random.below(limits.validators)), at,
                              at + random.between(50, limits.safety_ms)});
    }
  }
  if (plan.kinds.contains(FaultKind::kClock)) {
    for (ClockModel& clock : plan.clocks) {
      clock.offset_ms = random.between(-500, 500);
      clock.drift_ppm = random.between(-200, 200);
    }
  }
  if (plan.kinds.contains(FaultKind::kByzantine)) draw_byzantine(random, limits, plan);
  return plan;
}

std::string FaultPlan::describe() const {
  std::ostringstream out;
  out << "faults{";
  if (kinds.empty()) out << "none";
  if (loss_per_million) out << " loss=" << loss_per_million / 10'000 << "%";
  if (duplicate_per_million) out << " dup=" << duplicate_per_million / 10'000 << "%";
  if (reorder_per_million) out << " reorder=" << reorder_per_million / 10'000 << "%";
  out << (wan ? " wan"
              : " lan=" + std::to_string(lan_delay_min_ms) + ".." +
                    std::to_string(lan_delay_max_ms) + "ms");
  for (const PartitionEvent& partition : partitions) {
    out << " partition(" << partition.what << " " << partition.start_ms << ".." << partition.end_ms
        << "ms)";
  }
  for (const CrashEvent& crash : crashes) {
    out << " crash(v" << crash.validator << " " << crash.crash_ms << ".." << crash.restart_ms
        << "ms)";
  }
  if (kinds.contains(FaultKind::kClock)) out << " clock-skew";
  for (std::size_t i = 0; i < behaviours.size(); ++i) {
    if (behaviours[i] != Behaviour::kHonest)
      out << " v" << i << "=" << behaviour_name(behaviours[i]);
  }
  out << " }";
  return out.str();
}

}  // namespace ballast::sim
