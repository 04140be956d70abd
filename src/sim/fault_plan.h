// What can go wrong in one simulated run. Each seed draws its own mix (swarm testing): some
// seeds lose a lot of messages, some partition, some crash and restart, some carry Byzantine
// validators, most combine several.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/status.h"
#include "consensus/types.h"

namespace ballast::sim {

using consensus::TimeMs;
using consensus::ValidatorIndex;

enum class FaultKind {
  kLoss,
  kDelay,  // wide-area delays between regions instead of a LAN
  kDuplicate,
  kReorder,
  kPartition,
  kCrash,
  kClock,
  kByzantine,
};
std::string fault_kind_name(FaultKind kind);
// Parses "loss,partition,crash" (or "all" / "none"); an unknown name is an error.
Result<std::set<FaultKind>> parse_fault_kinds(const std::string& text);

enum class Behaviour {
  kHonest,
  kTwins,                // two instances with one key, each talking to half the network
  kDoubleVote,           // signs a second, conflicting vote for some of its votes
  kWithholdVotes,        // proposes but never votes
  kBadSignature,         // its proposals carry a corrupted signature
  kBadParent,            // its proposals name a parent that does not exist
  kWrongStateRoot,       // its proposals claim a wrong state root
  kInvalidTransactions,  // its proposals carry garbage transactions
  kSilent,               // sends nothing at all
};
std::string behaviour_name(Behaviour behaviour);

struct PartitionEvent {
  TimeMs start_ms = 0;
  TimeMs end_ms = 0;
  std::vector<std::set<ValidatorIndex>> groups;  // nodes talk only within their group
  bool isolate_leader = false;  // decide the group at start: the latest proposer alone
  std::string what;
};

struct CrashEvent {
  ValidatorIndex validator = 0;
  TimeMs crash_ms = 0;
  TimeMs restart_ms = 0;
};

struct ClockModel {
  TimeMs offset_ms = 0;
  std::int64_t drift_ppm = 0;
};

struct FaultPlan {
  std::set<FaultKind> kinds;
  std::uint64_t loss_per_million = 0;
  std::uint64_t duplicate_per_million = 0;
  std::uint64_t reorder_per_million = 0;  // chance of a large extra delay
  bool wan = false;
  TimeMs lan_delay_min_ms = 1;
  TimeMs lan_delay_max_ms = 10;
  std::vector<PartitionEvent> partitions;
  std::vector<CrashEvent> crashes;
  std::vector<ClockModel> clocks;     // per validator
  std::vector<Behaviour> behaviours;  // per validator

  std::string describe() const;
};

struct PlanLimits {
  std::size_t validators = 4;
  std::vector<consensus::Stake> stakes;
  TimeMs safety_ms = 4'000;
  std::set<FaultKind> allowed;
};

// Draws a plan whose Byzantine validators hold less than a third of the stake.
FaultPlan draw_fault_plan(Random& random, const PlanLimits& limits);

}  // namespace ballast::sim
