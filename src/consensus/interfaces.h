// What a replica needs from its surroundings, as interfaces: signing and verification, durable
// storage of its voting state, and the replicated application. The node and the simulator
// provide different implementations; the replica cannot tell them apart.
#pragma once

#include <map>
#include <span>

#include "consensus/leader_schedule.h"
#include "consensus/messages.h"

namespace ballast::consensus {

class Signer {
 public:
  virtual ~Signer() = default;
  virtual Signature sign(const Hash256& digest) = 0;
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual bool verify(ValidatorIndex signer, const Hash256& digest, const Signature& signature) = 0;
};

// What a replica voted for in one view. Persisted before any vote leaves the replica.
struct ViewVotes {
  std::optional<Hash256> proposed;
  std::optional<Hash256> notarized;
  bool nullified = false;
  bool finalized = false;
  bool operator==(const ViewVotes&) const = default;
};

struct VotingState {
  View view = 1;                    // the highest view entered
  std::map<View, ViewVotes> votes;  // views at or above the last finalized view
  // The certificate for view - 1 that let the replica enter `view`. Peers still in an earlier
  // view need it to move on; after a restart this replica may be the only one that has it.
  std::optional<Certificate> justification;
  // The block it proposed or voted notarize for, per view: if every voter restarted, a
  // notarized block must still exist somewhere for the chain to grow on it.
  std::map<View, Block> blocks;
  bool operator==(const VotingState&) const = default;
};

struct FinalizedEntry {
  Block block;
  Certificate finalization;  // for this block or a descendant that finalized it
};

// A finalized block a replica starts from instead of genesis, because the application was
// restored from a snapshot taken right after executing it (a restart, or state sync).
struct Anchor {
  Block block;
  Certificate finalization;  // finalizes exactly this block
  ActivityRecord activity;   // the leader-schedule record of the chain ending at it
  bool operator==(const Anchor&) const = default;
};

// What a storage that leaves the syncs to its driver has written unsynced since the driver last
// asked: the voting state holds back what the replica emitted after it, the blocks do not.
struct UnsyncedWrites {
  bool voting_state = false;
  bool blocks = false;
  bool any() const { return voting_state || blocks; }
};

class Storage {
 public:
  virtual ~Storage() = default;
  // Durable before anything take_outgoing() returns after it is sent: the replica emits its
  // votes right after. Either the call syncs, or the driver syncs before it sends.
  virtual void persist_voting_state(const VotingState& state) = 0;
  // Appends finalized blocks (those one certificate finalized, or a synced batch) in height
  // order, as one write, never durable after a later write. Nothing the replica sends depends
  // on it: a finalization is durable already in the quorum's votes. So a driver that syncs
  // need not hold messages back for it; the next voting state's sync covers it.
  virtual void append_finalized(std::span<const FinalizedEntry> entries) = 0;
  virtual VotingState load_voting_state() = 0;
  // The anchor of the application's snapshot, if it was restored from one.
  virtual std::optional<Anchor> load_anchor() = 0;
  // The finalized blocks above the anchor (above genesis without one), in height order.
  virtual std::vector<FinalizedEntry> load_finalized() = 0;
};

// The replicated application, in the spirit of ABCI. Calls come from the replica's thread.
class Application {
 public:
  virtual ~Application() = default;
  // Whether a transaction could be included now (well formed, signed, not stale): the check a
  // node runs before accepting a transaction from a client or peer.
  virtual Status check_transaction(ByteView transaction) = 0;
  // Transactions for a new block at `height`, extending `pending` (the notarized but not yet
  // finalized ancestors, oldest first), at most `max_transactions`.
  virtual std::vector<Bytes> build_payload(Height height, std::span<const Block* const> pending,
                                           std::size_t max_transactions) = 0;
  // Whether a proposed payload is acceptable on top of `pending`: every transaction well
  // formed, signed, not already included.
  virtual Status verify_payload(Height height, std::span<const Bytes> transactions,
                                std::span<const Block* const> pending) = 0;
  // Executes a finalized block and returns the state root after it.
  virtual Hash256 execute(const Block& block) = 0;
  virtual Height executed_height() const = 0;
  // The state root at an executed height still remembered, or nothing.
  virtual std::optional<Hash256> root_at(Height height) const = 0;
  // The whole application state, and its restoration (same root as when it was taken).
  virtual Bytes snapshot() const = 0;
  virtual Status restore(ByteView snapshot) = 0;
};

}  // namespace ballast::consensus
