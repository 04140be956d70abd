// The process the crash test kills: it extends the chain stored in DIRECTORY forever (appending
// a finalized block, persisting a voting state, now and then saving a snapshot) and reports on
// standard output, one line per call, only after the call has returned. Whatever it reported
// must survive a kill -9 at any moment. With SYNC "deferred" it writes the way a node does:
// unsynced, then a sync on another thread, and it reports only after that sync.
//
//   storage_crash_child DIRECTORY RETAIN_BLOCKS SNAPSHOT_INTERVAL synced|deferred
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>

#include "storage/rocks_storage.h"
#include "test_chain.h"

namespace ballast::storage {
namespace {

using consensus::Height;

void report(char kind, std::uint64_t value) {
  std::string line = std::string(1, kind) + " " + std::to_string(value) + "\n";
  // One short write is atomic on a pipe; if the reader is gone there is no one to tell.
  if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::_Exit(3);
  }
}

// The hash the next block must extend: the stored tip, or the anchor, or genesis.
Hash256 tip_hash(RocksStorage& storage) {
  Height last = storage.last_height();
  std::vector<consensus::FinalizedEntry> top = storage.finalized_range(last, 1, SIZE_MAX);
  if (!top.empty()) return top.back().block.hash();
  std::optional<consensus::Anchor> anchor = storage.load_anchor();
  return anchor ? anchor->block.hash() : Hash256{};
}

int run(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s DIRECTORY RETAIN_BLOCKS SNAPSHOT_INTERVAL synced|deferred\n",
                 argv[0]);
    return 2;
  }
  StorageOptions options;
  options.retain_blocks = std::stoull(argv[2]);
  Height snapshot_interval = std::stoull(argv[3]);
  options.sync_consensus_writes = std::string(argv[4]) != "deferred";
  auto opened = RocksStorage::open(argv[1], options);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "%s\n", opened.status().to_string().c_str());
    return 1;
  }
  RocksStorage& storage = *opened.value();
  // What the node's chain-sync thread does before the votes leave.
  auto make_durable = [&storage] {
    if (!storage.take_unsynced_writes().any()) return;
    Status synced = std::async(std::launch::async, [&storage] { return storage.sync_wal(); }).get();
    if (!synced.is_ok()) {
      std::fprintf(stderr, "%s\n", synced.to_string().c_str());
      std::_Exit(1);
    }
  };
  Hash256 parent = tip_hash(storage);
  consensus::View view = storage.load_voting_state().view + 1;
  report('o', storage.last_height());
  for (;;) {
    consensus::FinalizedEntry entry = testing::make_entry(storage.last_height() + 1, parent);
    storage.append_finalized({&entry, 1});
    make_durable();
    report('b', entry.block.height);
    parent = entry.block.hash();
    storage.persist_voting_state(testing::make_voting_state(view));
    make_durable();
    report('v', view);
    view += 1;
    if (entry.block.height % snapshot_interval == 0) {
      Status saved = storage.save_snapshot(testing::make_snapshot(entry.block));
      if (!saved.is_ok()) {
        std::fprintf(stderr, "%s\n", saved.to_string().c_str());
        return 1;
      }
      report('s', entry.block.height);
    }
  }
}

}  // namespace
}  // namespace ballast::storage

int main(int argc, char** argv) {
  return ballast::storage::run(argc, argv);
}
