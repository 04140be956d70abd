#include "node/tx_tracker.h"

#include <algorithm>

namespace ballast::node {

std::string_view tx_state_name(TxState state) {
  switch (state) {
    case TxState::kPending:
      return "pending";
    case TxState::kFinalized:
      return "finalized";
    case TxState::kDropped:
      return "dropped";
  }
  return "unknown";
}

TxTracker::TxTracker(TxTrackerLimits limits) : limits_(limits) {
  BALLAST_ASSERT(limits_.max_records > 0 && limits_.max_waiters > 0);
}

void TxTracker::on_pending(const Hash256& id) {
  auto [it, inserted] = records_.try_emplace(id);
  if (!inserted) return;  // already known: pending, or settled and never reopened
  it->second.state = TxState::kPending;
}

void TxTracker::on_finalized(const Hash256& id, std::uint64_t height, std::int64_t block_time_ms,
                             std::uint32_t position,
                             std::shared_ptr<const exchange::TxResult> result) {
  BALLAST_ASSERT(result != nullptr);
  TxRecord record;
  record.state = TxState::kFinalized;
  record.height = height;
  record.block_time_ms = block_time_ms;
  record.position = position;
  record.result = std::move(result);
  settle(id, std::move(record));
}

void TxTracker::on_dropped(const Hash256& id, std::string reason) {
  auto it = records_.find(id);
  if (it != records_.end() && it->second.state == TxState::kFinalized) return;
  TxRecord record;
  record.state = TxState::kDropped;
  record.drop_reason = std::move(reason);
  settle(id, std::move(record));
}

void TxTracker::settle(const Hash256& id, TxRecord record) {
  auto [it, inserted] = records_.try_emplace(id);
  bool was_settled = !inserted && it->second.state != TxState::kPending;
  it->second = std::move(record);
  if (!was_settled) settled_order_.push_back(id);
  answer_waiters(id, it->second);
  while (records_.size() > limits_.max_records && !settled_order_.empty()) {
    forget_oldest_settled();
  }
}

void TxTracker::forget_oldest_settled() {
  Hash256 oldest = settled_order_.front();
  settled_order_.pop_front();
  auto it = records_.find(oldest);
  if (it != records_.end() && it->second.state != TxState::kPending) records_.erase(it);
}

std::optional<TxRecord> TxTracker::find(const Hash256& id) const {
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

Status TxTracker::wait(const Hash256& id, std::int64_t deadline_ms, WaiterReply reply) {
  if (auto it = records_.find(id); it != records_.end() && it->second.state != TxState::kPending) {
    reply(it->second);
    return Status::ok();
  }
  if (waiter_count_ >= limits_.max_waiters) {
    return Status(StatusCode::kResourceExhausted,
                  "too many clients are waiting for finality; poll GET /v1/tx/{hash} instead")
        .with_reason("too_many_waiters");
  }
  std::uint64_t serial = next_serial_++;
  auto deadline = deadlines_.emplace(deadline_ms, std::make_pair(id, serial));
  waiting_[id].push_back({serial, deadline, std::move(reply)});
  waiter_count_ += 1;
  return Status::ok();
}

void TxTracker::answer_waiters(const Hash256& id, const TxRecord& record) {
  auto it = waiting_.find(id);
  if (it == waiting_.end()) return;
  std::vector<Waiter> waiters = std::move(it->second);
  waiting_.erase(it);
  for (Waiter& waiter : waiters) {
    deadlines_.erase(waiter.deadline);
    waiter_count_ -= 1;
    waiter.reply(record);
  }
}

void TxTracker::expire_waiters(std::int64_t now_ms) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    auto [id, serial] = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = waiting_.find(id);
    BALLAST_ASSERT(it != waiting_.end());  // answered waiters take their deadline with them
    std::vector<Waiter>& waiters = it->second;
    auto waiter = std::find_if(waiters.begin(), waiters.end(),
                               [serial = serial](const Waiter& w) { return w.serial == serial; });
    BALLAST_ASSERT(waiter != waiters.end());
    WaiterReply reply = std::move(waiter->reply);
    waiters.erase(waiter);
    if (waiters.empty()) waiting_.erase(it);
    waiter_count_ -= 1;
    reply(std::nullopt);
  }
}

}  // namespace ballast::node
