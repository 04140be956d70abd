// Which verification lane gossiped transactions take on the receiving validator, so that cancels
// keep their priority across the network without ever overtaking their own sender's earlier
// transactions.
//
// A gossiped cancel is verified in the urgent lane (ahead of the ordinary gossip queued before
// it) unless its sender has transactions still waiting in the ordinary lane: a cancel admitted
// ahead of the order before it could be included first and leave that order's nonce stale (an
// acknowledged order dropped). Everything else keeps arrival order in the ordinary lane, and its
// senders count as waiting until their part has been verified and handed to the core (whose
// queue is FIFO, so the earlier transactions are admitted first).
//
// Thread-safe: split() runs on I/O threads, release() on verification workers. The table of
// waiting senders holds only senders of ordinary parts not yet released, so it is bounded by
// what the verification queue holds.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "base/bytes.h"
#include "crypto/keys.h"

namespace ballast::node {

class GossipLanes {
 public:
  struct Split {
    std::vector<Bytes> urgent;    // cancels whose senders had nothing waiting, in arrival order
    std::vector<Bytes> ordinary;  // the rest, in arrival order
    // The ordinary part's senders, now counted as waiting: pass them to release() once that
    // part was handed to the core (or dropped).
    std::vector<PublicKey> waiting;
  };

  // Splits a peer's batch. Bytes that do not decode go to the ordinary lane (verification
  // refuses them there) without a sender.
  Split split(std::vector<Bytes> batch);
  void release(const std::vector<PublicKey>& senders);
  std::size_t waiting_senders() const;

 private:
  mutable std::mutex mutex_;
  std::map<PublicKey, std::size_t> waiting_;  // sender -> its transactions in the ordinary lane
};

}  // namespace ballast::node
