// The exchange as the consensus application: the one place where consensus/ and exchange/ meet
// (consensus knows nothing of the exchange). It checks client and peer transactions into the
// mempool, builds and verifies block payloads, executes finalized blocks and remembers recent
// roots. It never builds a payload that its own verify_payload would refuse.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <unordered_set>

#include "consensus/interfaces.h"
#include "exchange/exchange.h"
#include "mempool/mempool.h"

namespace ballast::app {

struct Hash256Hasher {
  std::size_t operator()(const Hash256& hash) const {
    std::size_t word;
    std::memcpy(&word, hash.bytes.data(), sizeof word);
    return word;
  }
};

// What a missing transaction is held behind by (mempool/holds.h); it holds entries from anywhere.
inline mempool::EntryKey missing_key(const exchange::Transaction& tx) {
  return {tx.sender, tx.nonce, tx.expiry_height, mempool::kFromAnywhere};
}

struct ApplicationLimits {
  mempool::MempoolLimits mempool;
  std::size_t max_block_bytes = 1 << 20;         // transaction bytes per built payload
  std::size_t remembered_roots = 1'024;          // heights whose roots root_at() still answers
  std::size_t verified_cache_entries = 100'000;  // transaction ids whose signature was checked
};

// Where a submitted transaction came from: a client's is gossiped on to the other validators,
// a peer's (by validator index) arrived by gossip and is not sent again.
class Origin {
 public:
  static Origin client() { return Origin(mempool::kFromClients); }
  static Origin peer(std::uint32_t index) { return Origin(mempool::from_peer(index)); }
  static Origin from(mempool::Source source) { return Origin(source); }
  bool is_client() const { return source_ == mempool::kFromClients; }
  mempool::Source source() const { return source_; }

 private:
  explicit Origin(mempool::Source source) : source_(source) {}
  mempool::Source source_;
};

// Whether a client's cancel that can only fail is refused at admission. A node shedding load (its
// ingress breaker tripped, docs/API.md) refuses them: under a flood, cancels keep their
// priority only if a flood cannot ride on it with cancels of orders it never got in.
enum class CancelCheck { kNone, kRefuseFutile };

class ExchangeApplication final : public consensus::Application {
 public:
  ExchangeApplication(const exchange::Genesis& genesis, ApplicationLimits limits = {});

  // A transaction for the mempool: checked (signature, account, nonce, expiry, minimum fee;
  // with kRefuseFutile, that a cancel can succeed), then admitted by the mempool's rules
  // (docs/MEMPOOL.md). The status says why not.
  Status submit(ByteView transaction, Origin origin = Origin::client(),
                CancelCheck cancel_check = CancelCheck::kNone);
  // With kRefuseFutile, the refusal of a cancel that can only fail (the order it names is
  // neither open nor pending here); OK otherwise. Reads only what the transaction claims, so a
  // node may ask before checking its signature, to spare the check.
  Status check_cancel(const exchange::Transaction& tx, CancelCheck cancel_check) const;
  // A peer's transaction that never reached the mempool (dropped on its way here for want of
  // room): the mempool holds back its sender's later ones from `missing.holds_from`
  // (docs/MEMPOOL.md "Holds"). Nothing if the sender has used that nonce. A peer's transaction
  // the mempool refuses gets the same, on every source (its signature was checked).
  void note_missing(const mempool::EntryKey& missing);
  // Transactions from `source` lost without a record of which: the mempool holds everything
  // from it for a while.
  void note_missing_unnamed(mempool::Source source) {
    mempool_.hold_everything(exchange_->height(), source);
  }
  // The signature of transaction `id` was checked elsewhere (the node's verification workers).
  void note_signature_verified(const Hash256& id);
  // Signatures this application checked itself because nobody had before. In a node that is a
  // proposed or finalized block carrying a transaction whose gossip has not been verified yet.
  std::uint64_t signatures_checked() const { return signatures_checked_; }
  // Client transactions to gossip to peers, at most `max_bytes` per batch.
  std::vector<Bytes> take_gossip(std::size_t max_bytes) { return mempool_.take_gossip(max_bytes); }
  // Admitted transactions dropped without being included, with the reason, since the last call.
  std::vector<std::pair<Hash256, std::string>> take_evicted() { return mempool_.take_evicted(); }

  Status check_transaction(ByteView transaction) override;
  std::vector<Bytes> build_payload(consensus::Height height,
                                   std::span<const consensus::Block* const> pending,
                                   std::size_t max_transactions) override;
  Status verify_payload(consensus::Height height, std::span<const Bytes> transactions,
                        std::span<const consensus::Block* const> pending) override;
  Hash256 execute(const consensus::Block& block) override;
  consensus::Height executed_height() const override { return exchange_->height(); }
  std::optional<Hash256> root_at(consensus::Height height) const override;
  Bytes snapshot() const override { return exchange_->snapshot(); }
  Status restore(ByteView snapshot) override;
  // After a snapshot install replaced `previous` with this application: what `previous` pooled
  // comes into this mempool, checked against this state, each entry keeping its source, so a
  // peer's are not gossiped again (peers send their pools only when a session starts, so they
  // would not come again). If `previous` held senders back (docs/MEMPOOL.md "Holds"), this one
  // holds everything for a while. Returns how many came.
  std::size_t adopt_pool(const ExchangeApplication& previous);

  // Called after every executed block (finalized live, or replayed from storage at start) with
  // the exchange already in the state after it: for the node's indexes and feeds. It must not
  // call back into the application.
  using ExecutedHandler =
      std::function<void(const consensus::Block&, const exchange::BlockResult&)>;
  void set_on_executed(ExecutedHandler handler) { on_executed_ = std::move(handler); }
  // Signature checks shared with the node's verification workers, so that a transaction is
  // checked once per node whichever arrives first, its gossip or a proposal carrying it.
  // `checked_elsewhere` says whether the workers already checked transaction `id` (their verdict
  // may not have reached this thread yet); `checked_here` tells them of a check made here.
  struct SignatureSharing {
    std::function<bool(const Hash256& id)> checked_elsewhere = {};
    std::function<void(const Hash256& id)> checked_here = {};
  };
  void share_signatures(SignatureSharing sharing) { sharing_ = std::move(sharing); }

  const exchange::Exchange& exchange() const { return *exchange_; }
  const exchange::Genesis& genesis() const { return genesis_; }
  const mempool::Mempool& mempool() const { return mempool_; }
  std::size_t mempool_size() const { return mempool_.size(); }
  std::size_t mempool_bytes() const { return mempool_.bytes(); }
  // The results of the most recently executed block, in block order.
  const exchange::BlockResult& last_block_result() const { return last_result_; }

 private:
  Result<exchange::Transaction> decode_checked(ByteView bytes, const Hash256& id);
  bool signature_checked(const exchange::Transaction& tx, const Hash256& id);
  void remember_verified(const Hash256& id);
  bool cancel_is_futile(const exchange::Transaction& tx) const;
  static bool refused_for_room(const Status& status);
  bool pools_order_before(const exchange::Transaction& tx,
                          const std::function<bool(const exchange::PlaceOrder&)>& matches) const;
  void prune_mempool();
  std::unordered_set<Hash256, Hash256Hasher> pending_ids(
      std::span<const consensus::Block* const> pending) const;
  void remember_root(consensus::Height height, const Hash256& root);

  exchange::Genesis genesis_;
  ApplicationLimits limits_;
  std::unique_ptr<exchange::Exchange> exchange_;
  mempool::Mempool mempool_;
  std::map<consensus::Height, Hash256> roots_;
  std::unordered_set<Hash256, Hash256Hasher> verified_;
  std::uint64_t signatures_checked_ = 0;
  exchange::BlockResult last_result_;
  ExecutedHandler on_executed_;
  SignatureSharing sharing_;  // either function may be empty
};

}  // namespace ballast::app
