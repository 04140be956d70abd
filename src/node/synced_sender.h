// Sends the replica's messages once the storage writes they depend on are durable, without the
// core thread waiting for the disk. The replica persists its votes before it emits them
// (consensus/interfaces.h); the node writes them unsynced and hands the messages of that round
// here. One thread syncs once for every round handed over while the previous sync ran (group
// commit), then sends those rounds' messages in the order they came. A round without writes goes
// straight out when nothing waits; otherwise it queues behind the others, so a peer always sees
// the messages in the order the replica emitted them.
//
// Some writes hold nothing back (finalized blocks: no message depends on them). They ride along
// with the next sync, or get one of their own `lazy_sync_after` later if none comes, so they
// never make a vote wait for a sync that was not for it.
//
// Bounded: at most `capacity` rounds wait; a round beyond that waits on the core thread for room,
// as the core once waited for its own sync. A sync the disk refuses aborts the process: the
// messages would speak for votes that are not durable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace ballast::node {

struct OutgoingFrame {
  std::optional<std::uint32_t> to;  // nothing: every peer
  std::shared_ptr<const Bytes> frame;
};

class SyncedSender {
 public:
  // `sync` makes every write made before it durable; `send` hands one frame to the transport.
  // Both are called from the sender's thread, and `send` also from the core's.
  SyncedSender(std::function<Status()> sync, std::function<void(const OutgoingFrame&)> send,
               std::size_t capacity,
               std::chrono::milliseconds lazy_sync_after = std::chrono::seconds(1));
  // Syncs and sends whatever still waits, then stops the thread.
  ~SyncedSender();
  SyncedSender(const SyncedSender&) = delete;
  SyncedSender& operator=(const SyncedSender&) = delete;

  // One round's messages. `after_writes`: the round wrote unsynced what they depend on;
  // `lazy_writes`: it wrote unsynced what nothing depends on. Core thread only.
  void send(std::vector<OutgoingFrame> frames, bool after_writes, bool lazy_writes = false);
  // Rounds waiting for a sync, including those being synced now.
  std::size_t waiting() const;

 private:
  void run();

  using Clock = std::chrono::steady_clock;

  std::function<Status()> sync_;
  std::function<void(const OutgoingFrame&)> send_;
  const std::size_t capacity_;
  const std::chrono::milliseconds lazy_sync_after_;
  mutable std::mutex mutex_;
  std::condition_variable work_;  // a round was queued, or stopping
  std::condition_variable room_;  // the sender took the queue
  std::deque<std::vector<OutgoingFrame>> queued_;
  std::size_t in_flight_ = 0;                    // rounds taken by the sender and not yet sent
  std::optional<Clock::time_point> lazy_since_;  // the oldest lazy write not yet being synced
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ballast::node
