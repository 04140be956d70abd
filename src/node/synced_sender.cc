#include "node/synced_sender.h"

#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "node/thread_name.h"

namespace ballast::node {

SyncedSender::SyncedSender(std::function<Status()> sync,
                           std::function<void(const OutgoingFrame&)> send, std::size_t capacity,
                           std::chrono::milliseconds lazy_sync_after)
    : sync_(std::move(sync)),
      send_(std::move(send)),
      capacity_(capacity),
      lazy_sync_after_(lazy_sync_after) {
  BALLAST_ASSERT(capacity_ > 0);
  thread_ = std::thread([this] {
    name_this_thread("chain-sync");
    run();
  });
}

SyncedSender::~SyncedSender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_one();
  thread_.join();
}

void SyncedSender::send(std::vector<OutgoingFrame> frames, bool after_writes, bool lazy_writes) {
  std::unique_lock lock(mutex_);
  const bool lazy_started = lazy_writes && !lazy_since_;
  if (lazy_started) lazy_since_ = Clock::now();
  if (!after_writes && queued_.empty() && in_flight_ == 0) {
    lock.unlock();
    if (lazy_started) work_.notify_one();  // the sender now has a deadline
    for (const OutgoingFrame& frame : frames) send_(frame);
    return;
  }
  room_.wait(lock, [this] { return queued_.size() < capacity_; });
  queued_.push_back(std::move(frames));
  lock.unlock();
  work_.notify_one();
}

std::size_t SyncedSender::waiting() const {
  std::lock_guard lock(mutex_);
  return queued_.size() + in_flight_;
}

// Everything queued when the sender wakes shares one sync, and so do the lazy writes made
// before it: the sync covers every write made before it starts.
void SyncedSender::run() {
  for (;;) {
    std::deque<std::vector<OutgoingFrame>> rounds;
    {
      std::unique_lock lock(mutex_);
      auto lazy_due = [this] {
        return lazy_since_ && Clock::now() >= *lazy_since_ + lazy_sync_after_;
      };
      while (queued_.empty() && !stopping_ && !lazy_due()) {
        if (lazy_since_) {
          work_.wait_until(lock, *lazy_since_ + lazy_sync_after_);
        } else {
          work_.wait(lock);
        }
      }
      if (queued_.empty() && !lazy_since_) return;  // stopping, and nothing left
      rounds.swap(queued_);
      in_flight_ = rounds.size();
      lazy_since_.reset();
    }
    room_.notify_one();
    Status synced = sync_();
    if (!synced.is_ok()) spdlog::critical("chain storage: {}", synced.to_string());
    BALLAST_ASSERT_MSG(synced.is_ok(), "votes could not be made durable before sending them");
    for (const std::vector<OutgoingFrame>& round : rounds) {
      for (const OutgoingFrame& frame : round) send_(frame);
    }
    std::lock_guard lock(mutex_);
    in_flight_ = 0;
  }
}

}  // namespace ballast::node
