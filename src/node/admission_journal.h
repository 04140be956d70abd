// Acknowledges client transactions only once they are durable. The core admits a transaction
// into the mempool at once (so block building and gossip need not wait), records it here,
// queues the client's answer behind it, and commits once per round; a writer thread stores every
// waiting commit with one synced write, then sends their acknowledgements. So a validator that
// crashes never loses a transaction it acknowledged: at start (and after installing a snapshot,
// which empties the mempool) the core admits the recorded ones again. Records of transactions that
// finalized or left the mempool are forgotten the same way, unsynced.
//
// Bounded: at most `capacity` commits wait for the writer; when full, has_room() is false and
// the core refuses new client transactions as overloaded before admitting them. The records
// kept in memory are bounded by the mempool (sweep() drops those it no longer holds). A write
// the disk refuses aborts the process: acknowledging without a record would break the promise.
//
// record/acknowledge_after/forget/commit/sweep are for the core thread only; the writer touches
// only the queue.
#pragma once

#include <atomic>
#include <functional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/exchange_application.h"
#include "node/bounded_queue.h"
#include "storage/admitted_store.h"

namespace ballast::node {

class AdmissionJournal {
 public:
  // Reads the record left by the previous run (recorded() has it).
  static Result<std::unique_ptr<AdmissionJournal>> open(storage::AdmittedStore& store,
                                                        std::size_t capacity);
  // Writes and acknowledges everything committed, then stops the writer.
  ~AdmissionJournal();
  AdmissionJournal(const AdmissionJournal&) = delete;
  AdmissionJournal& operator=(const AdmissionJournal&) = delete;

  // Whether the next commit will be taken: false while `capacity` commits wait for the disk.
  bool has_room() const { return queue_.size() < queue_.capacity(); }
  // A transaction to record, in the next commit.
  void record(const Hash256& id, ByteView transaction);
  // Runs `acknowledge` once everything recorded before it is durable.
  void acknowledge_after(std::function<void()> acknowledge);
  // The transaction finalized or left the mempool: its record may go (ignored if unknown).
  void forget(const Hash256& id);
  // Hands what was recorded and forgotten since the last commit to the writer. Keeps it for
  // the next commit if the writer's queue is full (possible only with nothing to acknowledge).
  void commit();
  // Forgets every record for which `keep` is false.
  void sweep(const std::function<bool(const Hash256&)>& keep);

  const std::unordered_map<Hash256, Bytes, app::Hash256Hasher>& recorded() const {
    return recorded_;
  }
  std::size_t waiting_commits() const { return queue_.size(); }

 private:
  struct Commit {
    std::vector<storage::AdmittedChange> changes;         // in the order they happened
    std::vector<std::function<void()>> acknowledgements;  // once the changes are durable
    bool empty() const { return changes.empty() && acknowledgements.empty(); }
  };

  AdmissionJournal(storage::AdmittedStore& store, std::size_t capacity);
  void write_loop();
  void write(std::vector<Commit>& commits);

  storage::AdmittedStore& store_;
  std::unordered_map<Hash256, Bytes, app::Hash256Hasher> recorded_;
  Commit next_;
  BoundedQueue<Commit> queue_;
  std::atomic<bool> stopping_{false};  // set after the queue is closed
  std::thread writer_;
};

}  // namespace ballast::node
