// What the RocksDB-backed stores share: opening a database the same way, and turning RocksDB's
// statuses and slices into ours. Internal to storage/.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace ballast::storage::rocks {

inline rocksdb::Slice slice(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

inline ByteView view(const rocksdb::Slice& value) {
  return {reinterpret_cast<const std::uint8_t*>(value.data()), value.size()};
}

rocksdb::WriteOptions synced();
Status from_rocks(const rocksdb::Status& status, const std::string& what);
// Opens (creating if missing) with paranoid checks and a bounded informational log. Fails with
// failed_precondition when another holder has the directory locked.
Result<std::unique_ptr<rocksdb::DB>> open_database(const std::string& directory);

}  // namespace ballast::storage::rocks
