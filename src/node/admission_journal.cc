#include "node/admission_journal.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "base/assert.h"
#include "node/thread_name.h"

namespace ballast::node {

Result<std::unique_ptr<AdmissionJournal>> AdmissionJournal::open(storage::AdmittedStore& store,
                                                                 std::size_t capacity) {
  BALLAST_ASSIGN_OR_RETURN(std::vector<Bytes> stored, store.load());
  std::unique_ptr<AdmissionJournal> journal(new AdmissionJournal(store, capacity));
  for (Bytes& transaction : stored) {
    Hash256 id = sha256(transaction);
    journal->recorded_.emplace(id, std::move(transaction));
  }
  return journal;
}

AdmissionJournal::AdmissionJournal(storage::AdmittedStore& store, std::size_t capacity)
    : store_(store), queue_(capacity), writer_([this] {
        name_this_thread("journal");
        write_loop();
      }) {}

AdmissionJournal::~AdmissionJournal() {
  while (!next_.empty() && !queue_.try_push(next_)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the writer is draining
  }
  queue_.close();
  stopping_ = true;
  writer_.join();
}

void AdmissionJournal::record(const Hash256& id, ByteView transaction) {
  Bytes bytes(transaction.begin(), transaction.end());
  next_.changes.push_back({id, bytes});
  recorded_.insert_or_assign(id, std::move(bytes));
}

void AdmissionJournal::acknowledge_after(std::function<void()> acknowledge) {
  next_.acknowledgements.push_back(std::move(acknowledge));
}

void AdmissionJournal::forget(const Hash256& id) {
  if (recorded_.erase(id) > 0) next_.changes.push_back({id, std::nullopt});
}

void AdmissionJournal::commit() {
  if (next_.empty()) return;
  if (!queue_.try_push(next_)) {
    // The core asks has_room() before admitting anything it will acknowledge.
    BALLAST_ASSERT_MSG(next_.acknowledgements.empty(),
                       "acknowledgements committed to a full admission journal");
    return;
  }
  next_ = Commit{};
}

void AdmissionJournal::sweep(const std::function<bool(const Hash256&)>& keep) {
  std::vector<Hash256> gone;
  for (const auto& [id, bytes] : recorded_) {
    if (!keep(id)) gone.push_back(id);
  }
  for (const Hash256& id : gone) forget(id);
}

// Group commit: every commit waiting when the writer wakes goes into one synced write.
void AdmissionJournal::write_loop() {
  std::vector<Commit> commits;
  for (;;) {
    auto wake = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    auto first = queue_.pop_until(wake);
    // Read before draining: whatever was queued before close() is drained below.
    bool stopping = stopping_.load();
    if (first) commits.push_back(std::move(*first));
    while (auto next = queue_.pop_until(std::chrono::steady_clock::now())) {
      commits.push_back(std::move(*next));
    }
    if (!commits.empty()) write(commits);
    commits.clear();
    if (stopping) return;
  }
}

void AdmissionJournal::write(std::vector<Commit>& commits) {
  std::vector<storage::AdmittedChange> changes;
  for (Commit& commit : commits) {
    for (storage::AdmittedChange& change : commit.changes) changes.push_back(std::move(change));
  }
  Status written = store_.write(changes);
  if (!written.is_ok()) spdlog::critical("admission journal: {}", written.to_string());
  BALLAST_ASSERT_MSG(written.is_ok(), "acknowledged transactions could not be made durable");
  for (Commit& commit : commits) {
    for (auto& acknowledge : commit.acknowledgements) acknowledge();
  }
}

}  // namespace ballast::node
