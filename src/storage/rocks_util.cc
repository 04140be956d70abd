#include "storage/rocks_util.h"

#include <rocksdb/options.h>

namespace ballast::storage::rocks {

rocksdb::WriteOptions synced() {
  rocksdb::WriteOptions options;
  options.sync = true;
  return options;
}

Status from_rocks(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return Status::ok();
  if (status.IsCorruption()) return corruption(what + ": " + status.ToString());
  return io_error(what + ": " + status.ToString());
}

namespace {

Status open_error(const std::string& directory, const rocksdb::Status& status) {
  // RocksDB names its lock file in the message when another holder has it.
  if (status.IsIOError() && status.ToString().find("LOCK") != std::string::npos) {
    return failed_precondition("storage directory '" + directory +
                               "' is in use by another process (or is already open in this "
                               "one): " +
                               status.ToString());
  }
  return from_rocks(status, "cannot open storage directory '" + directory + "'");
}

}  // namespace

Result<std::unique_ptr<rocksdb::DB>> open_database(const std::string& directory) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  // RocksDB's own informational log is bounded like everything else.
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 16 << 20;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(db_options, directory, &raw);
  if (!opened.ok()) return open_error(directory, opened);
  return std::unique_ptr<rocksdb::DB>(raw);
}

}  // namespace ballast::storage::rocks
