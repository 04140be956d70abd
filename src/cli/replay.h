// `ballast orders replay`: reads a JSON-lines order file (docs/ORDERS_FORMAT.md), signs each
// line as its account, groups lines into blocks and runs them through an in-process exchange,
// printing every result, the final books and the state root.
#pragma once

#include <iosfwd>
#include <string>

#include "base/status.h"

namespace ballast::cli {

struct ReplayOptions {
  std::string orders_path;
  std::string genesis_path;
  std::string keys_dir;   // NAME.key files for the accounts named in the file
  bool dev_keys = false;  // derive keys from account names (examples only)
  bool json = false;      // one JSON object per result instead of text
  std::size_t book_depth = 10;
};

// Returns a clear error for an unreadable or malformed file; the line number is in the message.
Status run_replay(const ReplayOptions& options, std::ostream& out);

}  // namespace ballast::cli
