// Test fixtures for the consensus tests: deterministic keys, a stand-in signer and verifier, an
// in-memory storage that records every write, a small deterministic application, and a chain
// builder that crafts blocks, votes and certificates as any validator would sign them.
//
// None of this is cryptography or production code. The signer below is NOT a signature scheme:
// it exists so that tests can sign as every validator, forge signatures on purpose and run
// thousands of views quickly and deterministically.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "consensus/interfaces.h"
#include "consensus/leader_schedule.h"
#include "consensus/messages.h"
#include "consensus/replica.h"
#include "consensus/types.h"

namespace ballast::consensus::testing {

inline constexpr std::string_view kChainId = "ballast-consensus-test";

// The secret of validator `index` in the test fixture signer.
Hash256 test_secret(ValidatorIndex index);
// Validators with the given stakes and fixture public keys (not curve points; nothing checks).
ValidatorSet make_validators(const std::vector<Stake>& stakes);
// The leader-schedule seed the replica derives from its chain id (see replica.cc).
Hash256 leader_seed(std::string_view chain_id);

// TEST FIXTURE, NOT A SIGNATURE SCHEME: bytes 0..31 are SHA-256(secret || digest), bytes 32..39
// a little-endian nonce and the rest zero. The verifier recomputes the first 32 bytes and ignores
// the nonce, so one key can make several different valid signatures over one digest, as BIP-340
// signing with auxiliary randomness (crypto/keys.cc) does.
Signature test_signature(ValidatorIndex index, const Hash256& digest, std::uint64_t nonce = 0);

class TestSigner : public Signer {
 public:
  // randomized: every signature carries a fresh nonce, like real Schnorr signing.
  explicit TestSigner(ValidatorIndex index, bool randomized = false)
      : index_(index), randomized_(randomized) {}
  Signature sign(const Hash256& digest) override;
  std::uint64_t signatures_made() const { return signatures_made_; }
  // The most times any one digest was signed: an honest replica signs each vote once.
  int max_signatures_per_digest() const;

 private:
  ValidatorIndex index_;
  bool randomized_;
  std::uint64_t signatures_made_ = 0;
  std::map<Hash256, int> signed_digests_;
};

class TestVerifier : public Verifier {
 public:
  explicit TestVerifier(std::size_t validators) : validators_(validators) {}
  bool verify(ValidatorIndex signer, const Hash256& digest, const Signature& signature) override;
  std::size_t checks() const { return checks_; }  // signatures checked so far

 private:
  std::size_t validators_;
  std::size_t checks_ = 0;
};

// A sequence number shared by a storage and the test harness, to order persists against the
// moment messages are taken out of a replica.
struct EventCounter {
  std::uint64_t next = 1;
  std::uint64_t advance() { return next++; }
};

// In-memory Storage that keeps every VotingState ever persisted, in order.
class MemoryStorage : public Storage {
 public:
  // What the voting rules are about, from one persisted state (the blocks and certificates it
  // also held are left out to keep long runs small; load_voting_state() returns all of it).
  struct Persisted {
    std::uint64_t sequence = 0;
    View view = 0;
    std::map<View, ViewVotes> votes;
  };

  explicit MemoryStorage(EventCounter* counter) : counter_(counter) {}

  void persist_voting_state(const VotingState& state) override;
  void append_finalized(std::span<const FinalizedEntry> entries) override;
  VotingState load_voting_state() override;
  std::optional<Anchor> load_anchor() override { return anchor_; }
  std::vector<FinalizedEntry> load_finalized() override { return finalized_; }

  // As a node does after taking a snapshot: start from `anchor`, keep only later blocks.
  void install_anchor(Anchor anchor);

  const std::vector<Persisted>& history() const { return history_; }
  const std::vector<FinalizedEntry>& finalized() const { return finalized_; }
  // The sequence number of the first persisted state that recorded this vote (or, for
  // kind == nullopt, this proposal), if any did.
  std::optional<std::uint64_t> first_recorded(std::optional<VoteKind> kind, View view,
                                              const Hash256& block) const;
  // Every way the persisted history breaks the voting rules (empty when it keeps them): a view
  // both nullified and finalized, or two different notarized blocks for one view.
  std::vector<std::string> voting_violations() const;

 private:
  using Key = std::tuple<int, View, Hash256>;  // kind (-1: proposal), view, block
  void remember(int kind, View view, const Hash256& block, std::uint64_t sequence);

  EventCounter* counter_;
  VotingState latest_;
  std::vector<Persisted> history_;
  std::vector<FinalizedEntry> finalized_;
  std::optional<Anchor> anchor_;
  std::map<Key, std::uint64_t> first_recorded_;
};

// A deterministic application. A payload is the queued byte strings not yet on the chain being
// extended; execute() folds each block's hash into a running SHA-256 root; verify_payload
// refuses the byte string "bad" and anything already on the chain.
class TestApplication : public Application {
 public:
  // A non-empty salt changes every root after genesis: a replica whose state has diverged.
  explicit TestApplication(std::string salt = "");
  static Hash256 genesis_hash();

  void queue(const std::string& transaction);
  // A Byzantine proposer: every payload it builds also carries "bad".
  void set_include_bad(bool include) { include_bad_ = include; }
  // Every payload it builds also carries a fresh, valid transaction starting with `prefix`, so
  // its blocks differ from any other replica's (a Byzantine twin's equivocation).
  void set_marker(std::string prefix) { marker_ = std::move(prefix); }

  Status check_transaction(ByteView transaction) override;
  std::vector<Bytes> build_payload(Height height, std::span<const Block* const> pending,
                                   std::size_t max_transactions) override;
  Status verify_payload(Height height, std::span<const Bytes> transactions,
                        std::span<const Block* const> pending) override;
  Hash256 execute(const Block& block) override;
  Height executed_height() const override { return executed_height_; }
  std::optional<Hash256> root_at(Height height) const override;
  Bytes snapshot() const override;
  Status restore(ByteView snapshot) override;

  const std::set<Bytes>& executed_transactions() const { return executed_; }

 private:
  std::string salt_;
  bool include_bad_ = false;
  std::string marker_;
  std::uint64_t payloads_built_ = 0;
  std::vector<Bytes> queued_;
  std::set<Bytes> executed_;
  std::map<Height, Hash256> roots_;
  Height executed_height_ = 0;
};

// Crafts what validators sign: blocks led by the right leader, proposals, votes, certificates.
class ChainBuilder {
 public:
  explicit ChainBuilder(const std::vector<Stake>& stakes,
                        std::string chain_id = std::string(kChainId), View inactivity_views = 64);
  ChainBuilder(const ChainBuilder&) = delete;
  ChainBuilder& operator=(const ChainBuilder&) = delete;

  const ValidatorSet& validators() const { return validators_; }
  const LeaderSchedule& schedule() const { return schedule_; }
  const std::string& chain_id() const { return chain_id_; }
  const Block& genesis() const { return genesis_; }

  // The leader of `view` for a block extending `parent` (which this builder must have made).
  ValidatorIndex leader(View view, const Block& parent) const;
  // A block of `view` extending `parent`, proposed by its leader, stamped with the parent's
  // timestamp and claiming the genesis root at height 0.
  Block child(const Block& parent, View view, std::vector<Bytes> transactions = {});
  // Remembers the activity record of a block built by hand.
  void remember(const Block& block);

  Proposal propose(const Block& block) const;
  Vote vote(VoteKind kind, View view, const Hash256& block, ValidatorIndex signer,
            std::uint64_t nonce = 0) const;
  Certificate certificate(VoteKind kind, View view, const Hash256& block,
                          const std::vector<ValidatorIndex>& signers) const;

 private:
  std::string chain_id_;
  ValidatorSet validators_;
  LeaderSchedule schedule_;
  Block genesis_;
  std::map<Hash256, ActivityRecord> records_;
};

Bytes bytes_of(const std::string& text);

}  // namespace ballast::consensus::testing
