// Which verification lane a transaction takes (node/verify_pool.h), so that cancels keep their
// priority, from clients and from peers, without ever overtaking their own sender's earlier
// transactions.
//
// A cancel is verified in the urgent lane (ahead of the ordinary work queued before it) unless
// its sender has transactions still waiting in the ordinary lane: a cancel admitted ahead of the
// order before it could be included first and leave that order's nonce stale (an acknowledged
// order dropped). Everything else keeps its source's arrival order in the ordinary lane (the
// pool serves a client connection's or a peer's jobs in order), and its sender counts as waiting
// until that transaction has been verified and handed to the core (whose queue is FIFO, so the
// earlier transactions are admitted first), or refused.
//
// Thread-safe: choose() and split() run on I/O threads, release() on verification workers. The
// table of waiting senders holds only senders of ordinary work not yet released, so it is
// bounded by what the verification queue holds.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "crypto/keys.h"
#include "mempool/holds.h"

namespace ballast::node {

class VerifyLanes {
 public:
  // Chooses the lane of one transaction, given the sender it claims (none when it does not
  // decode: verification refuses it in the ordinary lane). An ordinary transaction's sender
  // counts as waiting until release().
  bool choose_urgent(const std::optional<PublicKey>& sender, bool is_cancel);
  void release(const std::vector<PublicKey>& senders);
  std::size_t waiting_senders() const;

  struct Split {
    std::vector<Bytes> urgent;       // cancels whose senders had nothing waiting, in arrival order
    std::vector<Bytes> ordinary;     // the rest, in arrival order
    std::vector<PublicKey> waiting;  // the ordinary part's senders: release() them once handed on
    // What each lane's transactions are (those that decode), should the lane refuse them.
    std::vector<mempool::EntryKey> urgent_keys;
    std::vector<mempool::EntryKey> ordinary_keys;
  };
  // Chooses for each transaction of a peer's batch.
  Split split(std::vector<Bytes> batch);

 private:
  mutable std::mutex mutex_;
  std::map<PublicKey, std::size_t> waiting_;  // sender -> its transactions in the ordinary lane
};

}  // namespace ballast::node
