#include "storage/admitted_store.h"

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "base/assert.h"
#include "storage/rocks_util.h"

namespace ballast::storage {

using rocks::from_rocks;
using rocks::slice;
using rocks::view;

Result<std::unique_ptr<AdmittedStore>> AdmittedStore::open(const std::string& directory) {
  BALLAST_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, rocks::open_database(directory));
  return std::unique_ptr<AdmittedStore>(new AdmittedStore(std::move(db)));
}

AdmittedStore::AdmittedStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

AdmittedStore::~AdmittedStore() = default;

Status AdmittedStore::write(std::span<const AdmittedChange> changes) {
  if (changes.empty()) return Status::ok();
  rocksdb::WriteBatch batch;  // applied in order: forgetting then keeping an id keeps it
  bool keeps = false;
  for (const AdmittedChange& change : changes) {
    if (change.transaction) {
      BALLAST_ASSERT(sha256(*change.transaction) == change.id);
      batch.Put(slice(change.id.view()), slice(*change.transaction));
      keeps = true;
    } else {
      batch.Delete(slice(change.id.view()));
    }
  }
  rocksdb::WriteOptions options = keeps ? rocks::synced() : rocksdb::WriteOptions();
  return from_rocks(db_->Write(options, &batch), "cannot record admitted transactions");
}

Result<std::vector<Bytes>> AdmittedStore::load() const {
  std::vector<Bytes> transactions;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ByteView key = view(it->key());
    ByteView value = view(it->value());
    Hash256 id = sha256(value);
    if (!std::equal(key.begin(), key.end(), id.bytes.begin(), id.bytes.end())) {
      return corruption("an admitted transaction does not hash to its key");
    }
    transactions.emplace_back(value.begin(), value.end());
  }
  BALLAST_RETURN_IF_ERROR(from_rocks(it->status(), "cannot read admitted transactions"));
  return transactions;
}

}  // namespace ballast::storage
