#include "loadgen/ledger.h"

namespace ballast::loadgen {

Ledger::Ledger(const std::vector<PlannedTransaction>& plan, const std::vector<Hash256>& ids)
    : outcomes_(plan.size()), ids_(ids) {
  BALLAST_ASSERT(plan.size() == ids.size());
  priorities_.reserve(plan.size());
  accounts_.reserve(plan.size());
  index_by_id_.reserve(plan.size());
  for (std::uint32_t i = 0; i < plan.size(); ++i) {
    priorities_.push_back(plan[i].priority);
    accounts_.push_back(plan[i].account);
    index_by_id_.emplace(ids[i], i);
  }
}

void Ledger::on_sent(std::uint32_t index, std::int64_t now_us) {
  Outcome& outcome = outcomes_[index];
  BALLAST_ASSERT(outcome.ack == Ack::kNotSent);
  outcome.sent_us = now_us;
  outcome.ack = Ack::kInFlight;
  in_flight_ += 1;
}

void Ledger::on_ack(std::uint32_t index, Ack ack, std::string reason) {
  Outcome& outcome = outcomes_[index];
  if (outcome.ack == Ack::kInFlight) in_flight_ -= 1;
  // An answer may come after the block that finalized the transaction was already seen.
  if (ack == Ack::kAccepted && outcome.ack != Ack::kAccepted) {
    accepted_ += 1;
    if (outcome.finalized_us >= 0) finalized_accepted_ += 1;
  }
  outcome.ack = ack;
  outcome.reason = std::move(reason);
}

void Ledger::on_answer(std::uint32_t index, Ack ack, std::int64_t now_us, std::string reason) {
  BALLAST_ASSERT(ack == Ack::kAccepted || ack == Ack::kRejected);
  outcomes_[index].answered_us = now_us;
  on_ack(index, ack, std::move(reason));
}

void Ledger::on_finalized(const Hash256& id, std::int64_t now_us, bool executed,
                          std::string reject) {
  auto it = index_by_id_.find(id);
  if (it == index_by_id_.end()) return;  // another client's transaction
  Outcome& outcome = outcomes_[it->second];
  if (outcome.finalized_us >= 0) return;
  outcome.finalized_us = now_us;
  outcome.executed = executed;
  outcome.execution_reject = std::move(reject);
  if (outcome.ack == Ack::kAccepted) finalized_accepted_ += 1;
  last_finalized_us_ = std::max(last_finalized_us_, now_us);
}

}  // namespace ballast::loadgen
