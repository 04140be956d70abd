// `ballast orders replay FILE --node URL`: the order file of docs/ORDERS_FORMAT.md against a
// live node. Each line is signed (an account's first nonce comes from the node), submitted in
// file order and waited for until finalized, one at a time, so one account's lines reach the
// node in nonce order; one JSON line per order prints the node's answer (docs/CLI.md).
//
// It speaks to the node through its public API only, and stops at the first line it cannot
// settle rather than submit later lines whose outcome would depend on it.
#pragma once

#include <iosfwd>

#include "base/status.h"
#include "cli/replay.h"
#include "exchange/genesis.h"

namespace ballast::cli {

Status run_live_replay(const ReplayOptions& options, const exchange::Genesis& genesis,
                       std::istream& input, std::ostream& out);

}  // namespace ballast::cli
