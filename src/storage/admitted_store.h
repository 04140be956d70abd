// Durable record of the client transactions this node acknowledged and has not yet seen
// finalized or dropped, so that an acknowledgement survives a crash: at start the node admits
// them again (docs/STORAGE.md). Its own RocksDB database beside the chain's, so its syncs never
// queue behind (or in front of) the replica's voting-state writes.
//
// Keys are transaction ids, values the transaction bytes; load() checks that every value
// hashes to its key. It must never return from an add before it is durable. Safe to call from
// any thread (it keeps no state besides the database, which is thread-safe).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace rocksdb {
class DB;
}

namespace ballast::storage {

// One change to the record: a transaction to keep, or (without bytes) one to forget.
struct AdmittedChange {
  Hash256 id;
  std::optional<Bytes> transaction;
};

class AdmittedStore {
 public:
  // Opens (creating if missing) the database in `directory`; failed_precondition if another
  // holder has it.
  static Result<std::unique_ptr<AdmittedStore>> open(const std::string& directory);
  ~AdmittedStore();
  AdmittedStore(const AdmittedStore&) = delete;
  AdmittedStore& operator=(const AdmittedStore&) = delete;

  // The changes in order, as one atomic write. Synced when anything is kept, because an
  // acknowledgement waits on it; forgetting alone is not: a removal lost in a crash only
  // brings back a transaction that admission then refuses as already used or expired.
  Status write(std::span<const AdmittedChange> changes);
  // Every stored transaction, in key order. corruption if a value does not hash to its key.
  Result<std::vector<Bytes>> load() const;

 private:
  explicit AdmittedStore(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace ballast::storage
