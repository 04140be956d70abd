// What happened to every transaction of a load run: when it was sent, how its node answered,
// when it was first seen finalized and how it executed. Touched only by the load generator's
// network thread; the report is computed from it after the run.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/exchange_application.h"
#include "loadgen/workload.h"

namespace ballast::loadgen {

enum class Ack : std::uint8_t {
  kNotSent,   // never left the generator (its backlog for the node was full)
  kInFlight,  // sent, no answer yet
  kAccepted,  // the node admitted it: from here on it must be finalized or dropped
  kRejected,  // the node refused it at submission
  kNoAnswer,  // the connection broke before the answer: the node may or may not have it
};

struct Outcome {
  std::int64_t sent_us = -1;
  Ack ack = Ack::kNotSent;
  std::string reason;              // refusal reason, or why it was not sent
  std::int64_t answered_us = -1;   // when the node's answer (accepted or refused) came
  std::int64_t finalized_us = -1;  // first seen in a finalized block (-1: not seen)
  bool executed = false;           // accepted by execution (not rejected in its block)
  std::string execution_reject;    // the reject code when execution refused it
};

class Ledger {
 public:
  Ledger(const std::vector<PlannedTransaction>& plan, const std::vector<Hash256>& ids);

  Outcome& at(std::uint32_t index) { return outcomes_[index]; }
  const Outcome& at(std::uint32_t index) const { return outcomes_[index]; }
  std::size_t size() const { return outcomes_.size(); }
  PriorityClass priority(std::uint32_t index) const { return priorities_[index]; }
  std::uint32_t account(std::uint32_t index) const { return accounts_[index]; }
  const Hash256& id(std::uint32_t index) const { return ids_[index]; }

  // A finalized block listed this transaction; only the first sighting counts.
  void on_finalized(const Hash256& id, std::int64_t now_us, bool executed, std::string reject);
  // Accepted transactions not yet seen finalized.
  std::size_t outstanding() const { return accepted_ - finalized_accepted_; }
  std::int64_t last_finalized_us() const { return last_finalized_us_; }
  // Sent and not answered yet.
  std::size_t in_flight() const { return in_flight_; }
  void on_sent(std::uint32_t index, std::int64_t now_us);
  void on_ack(std::uint32_t index, Ack ack, std::string reason = {});
  // The node answered (kAccepted or kRejected) at `now_us`.
  void on_answer(std::uint32_t index, Ack ack, std::int64_t now_us, std::string reason = {});

 private:
  std::vector<Outcome> outcomes_;
  std::vector<PriorityClass> priorities_;
  std::vector<std::uint32_t> accounts_;
  std::vector<Hash256> ids_;
  std::unordered_map<Hash256, std::uint32_t, app::Hash256Hasher> index_by_id_;
  std::size_t accepted_ = 0;
  std::size_t finalized_accepted_ = 0;
  std::size_t in_flight_ = 0;
  std::int64_t last_finalized_us_ = 0;
};

}  // namespace ballast::loadgen
