#include "app/exchange_application.h"

#include <limits>

namespace ballast::app {

using consensus::Block;
using consensus::Height;
using exchange::Transaction;

ExchangeApplication::ExchangeApplication(const exchange::Genesis& genesis, ApplicationLimits limits)
    : genesis_(genesis),
      limits_(limits),
      exchange_(std::make_unique<exchange::Exchange>(genesis)),
      mempool_(limits.mempool) {
  BALLAST_ASSERT(limits_.max_block_bytes > 0 && limits_.verified_cache_entries > 0);
  remember_root(0, exchange_->state_root());
}

bool ExchangeApplication::signature_checked(const Transaction& tx, const Hash256& id) {
  if (verified_.contains(id)) return true;
  if (sharing_.checked_elsewhere && sharing_.checked_elsewhere(id)) {
    remember_verified(id);
    return true;
  }
  signatures_checked_ += 1;
  if (!tx.signature_valid(genesis_.chain_id)) return false;
  remember_verified(id);
  if (sharing_.checked_here) sharing_.checked_here(id);
  return true;
}

void ExchangeApplication::remember_verified(const Hash256& id) {
  // A full cache starts over rather than grow: re-verifying is the only cost.
  if (verified_.size() >= limits_.verified_cache_entries) verified_.clear();
  verified_.insert(id);
}

void ExchangeApplication::note_signature_verified(const Hash256& id) {
  remember_verified(id);
}

Result<Transaction> ExchangeApplication::decode_checked(ByteView bytes, const Hash256& id) {
  BALLAST_ASSIGN_OR_RETURN(Transaction tx, Transaction::decode(bytes));
  auto account = exchange_->account(tx.sender);
  if (!account) return not_found("sender has no account").with_reason("unknown_sender");
  if (tx.nonce <= account->nonce) {
    return failed_precondition("nonce " + std::to_string(tx.nonce) + " is already used (last " +
                               std::to_string(account->nonce) + ")")
        .with_reason("stale_nonce");
  }
  if (tx.expiry_height <= exchange_->height()) {
    return failed_precondition("transaction expired").with_reason("expired");
  }
  if (!signature_checked(tx, id)) {
    return permission_denied("signature does not verify").with_reason("bad_signature");
  }
  return tx;
}

Status ExchangeApplication::check_transaction(ByteView transaction) {
  auto checked = decode_checked(transaction, sha256(transaction));
  return checked.is_ok() ? Status::ok() : checked.status();
}

Status ExchangeApplication::submit(ByteView transaction, Origin origin, CancelCheck cancel_check) {
  Hash256 id = sha256(transaction);
  // Before the signature check: a duplicate (gossip echoes many) should cost one hash only.
  if (mempool_.contains(id)) {
    return Status(StatusCode::kAlreadyExists, "transaction is already in the mempool")
        .with_reason("duplicate");
  }
  Result<Transaction> checked = decode_checked(transaction, id);
  if (!checked.is_ok()) {
    // Its account may be created by a block this node has not executed yet.
    if (!origin.is_client() && checked.status().reason() == "unknown_sender") {
      auto named = Transaction::decode(transaction);  // it decoded before the account check
      note_missing(missing_key(*named));
    }
    return checked.status();
  }
  const Transaction& tx = *checked;
  if (tx.fee < genesis_.min_tx_fee) {
    return failed_precondition("fee " + std::to_string(tx.fee) +
                               " is below the minimum transaction fee " +
                               std::to_string(genesis_.min_tx_fee))
        .with_reason("fee_too_low");
  }
  BALLAST_RETURN_IF_ERROR(check_cancel(tx, cancel_check));
  auto account = exchange_->account(tx.sender);
  BALLAST_ASSERT(account.has_value());  // decode_checked refuses unknown senders
  mempool::Entry entry{.id = id,
                       .bytes = Bytes(transaction.begin(), transaction.end()),
                       .sender = tx.sender,
                       .nonce = tx.nonce,
                       .fee = static_cast<std::uint64_t>(tx.fee),
                       .is_cancel = tx.is_cancel(),
                       .expiry_height = tx.expiry_height,
                       .arrival = 0,
                       .source = origin.source()};
  Status added = mempool_.add(std::move(entry), account->nonce, exchange_->height(),
                              /*gossip=*/origin.is_client());
  if (!origin.is_client() && refused_for_room(added)) {
    note_missing(missing_key(tx));
  }
  return added;
}

// A refusal of a transaction another validator admitted, for want of room here: the other
// validators may still include it. Duplicates, used nonces and expired ones are not missing.
// Its signature was checked, so its hold applies to the sender's entries from every source.
// (An unknown sender is handled before the mempool.)
bool ExchangeApplication::refused_for_room(const Status& status) {
  if (status.is_ok()) return false;
  const std::string_view reason = status.reason();
  return reason == "mempool_full" || reason == "sender_limit" || reason == "oversize" ||
         reason == "nonce_too_far_ahead";
}

void ExchangeApplication::note_missing(const mempool::EntryKey& missing) {
  auto account = exchange_->account(missing.sender);
  if (account && missing.nonce <= account->nonce) return;
  mempool_.hold_behind(missing, exchange_->height());
}

Status ExchangeApplication::check_cancel(const exchange::Transaction& tx,
                                         CancelCheck cancel_check) const {
  if (cancel_check == CancelCheck::kRefuseFutile && cancel_is_futile(tx)) {
    return failed_precondition(
               "this validator is shedding load (ingress breaker tripped) and refuses cancels "
               "that can only fail: the order it names is neither open nor pending here")
        .with_reason("order_not_found");
  }
  return Status::ok();
}

// A cancel that can only fail: the order it names is not open and no pooled transaction its
// sender sent before it places that order (an exchange order id already assigned can never be
// placed again); a cancel-all, when its sender has no open order in its scope and none pooled.
// Judged by what this node knows: an order still on its way here from another validator is
// not seen, which is why only a node shedding load applies it.
bool ExchangeApplication::cancel_is_futile(const exchange::Transaction& tx) const {
  using exchange::PlaceOrder;
  if (const auto* cancel = std::get_if<exchange::CancelOrder>(&tx.body)) {
    const exchange::OrderRef& ref = cancel->order;
    if (exchange_->may_find_order(tx.sender, ref)) return false;
    if (!ref.by_client_order_id) return true;
    return !pools_order_before(
        tx, [&](const PlaceOrder& place) { return place.client_order_id == ref.id; });
  }
  if (const auto* cancel_all = std::get_if<exchange::CancelAll>(&tx.body)) {
    const std::optional<exchange::MarketId>& market = cancel_all->market;
    if (exchange_->has_open_orders(tx.sender, market)) return false;
    return !pools_order_before(
        tx, [&](const PlaceOrder& place) { return !market || place.market == *market; });
  }
  return false;
}

bool ExchangeApplication::pools_order_before(
    const exchange::Transaction& tx,
    const std::function<bool(const exchange::PlaceOrder&)>& matches) const {
  for (const mempool::Entry* entry : mempool_.entries_of(tx.sender)) {
    if (entry->nonce >= tx.nonce) break;
    auto pooled = exchange::Transaction::decode(entry->bytes);
    BALLAST_ASSERT(pooled.is_ok());  // admitted, so it decoded before
    const auto* place = std::get_if<exchange::PlaceOrder>(&pooled->body);
    if (place != nullptr && matches(*place)) return true;
  }
  return false;
}

std::unordered_set<Hash256, Hash256Hasher> ExchangeApplication::pending_ids(
    std::span<const Block* const> pending) const {
  std::unordered_set<Hash256, Hash256Hasher> ids;
  for (const Block* block : pending) {
    for (const Bytes& tx : block->transactions) ids.insert(sha256(tx));
  }
  return ids;
}

std::vector<Bytes> ExchangeApplication::build_payload(Height height,
                                                      std::span<const Block* const> pending,
                                                      std::size_t max_transactions) {
  auto included = pending_ids(pending);
  // The rules verify_payload applies, or an honest proposal would be refused: not in a pending
  // block, not expiring before `height`, still valid against the executed state (a restore can
  // leave pooled entries stale). Admission already checked the signatures.
  auto skip = [&](const mempool::Entry& entry) {
    if (included.contains(entry.id) || entry.expiry_height < height) return true;
    auto account = exchange_->account(entry.sender);
    return !account || entry.nonce <= account->nonce || entry.expiry_height <= exchange_->height();
  };
  std::vector<Bytes> payload;
  for (const mempool::Entry* entry :
       mempool_.select(max_transactions, limits_.max_block_bytes, skip)) {
    payload.push_back(entry->bytes);
  }
  return payload;
}

Status ExchangeApplication::verify_payload(Height height, std::span<const Bytes> transactions,
                                           std::span<const Block* const> pending) {
  auto included = pending_ids(pending);
  std::unordered_set<Hash256, Hash256Hasher> seen;
  for (std::size_t i = 0; i < transactions.size(); ++i) {
    Hash256 id = sha256(transactions[i]);
    std::string where = "transaction " + std::to_string(i) + ": ";
    if (included.contains(id) || !seen.insert(id).second) {
      return invalid_argument(where + "included twice");
    }
    auto tx = decode_checked(transactions[i], id);
    if (!tx.is_ok()) return invalid_argument(where + tx.status().message());
    if (tx->expiry_height < height) return invalid_argument(where + "expires before the block");
  }
  return Status::ok();
}

Hash256 ExchangeApplication::execute(const Block& block) {
  std::vector<Transaction> txs;
  std::vector<Hash256> ids;  // hashed here already: the exchange need not hash them again
  txs.reserve(block.transactions.size());
  ids.reserve(block.transactions.size());
  bool all_verified = true;
  for (const Bytes& bytes : block.transactions) {
    Hash256 id = sha256(bytes);
    mempool_.remove(id);
    auto tx = Transaction::decode(bytes);
    // A certified block can only carry undecodable bytes if a third of the stake is faulty;
    // such entries are skipped rather than trusted.
    if (!tx.is_ok()) continue;
    all_verified = all_verified && signature_checked(*tx, id);
    txs.push_back(std::move(tx).value());
    ids.push_back(id);
  }
  auto check =
      all_verified ? exchange::SignatureCheck::kAlreadyVerified : exchange::SignatureCheck::kVerify;
  last_result_ = exchange_->execute_block({block.height, block.timestamp_ms}, txs, check, ids);
  remember_root(block.height, last_result_.state_root);
  prune_mempool();
  if (on_executed_) on_executed_(block, last_result_);
  return last_result_.state_root;
}

// Drops what the executed state made stale: used nonces and expired transactions.
void ExchangeApplication::prune_mempool() {
  (void)mempool_.prune(exchange_->height(), [this](const PublicKey& sender) {
    auto account = exchange_->account(sender);
    // A sender without an account can never be included: every nonce counts as used.
    return account ? account->nonce : std::numeric_limits<std::uint64_t>::max();
  });
}

std::optional<Hash256> ExchangeApplication::root_at(Height height) const {
  auto it = roots_.find(height);
  if (it == roots_.end()) return std::nullopt;
  return it->second;
}

void ExchangeApplication::remember_root(Height height, const Hash256& root) {
  roots_[height] = root;
  while (roots_.size() > limits_.remembered_roots) roots_.erase(roots_.begin());
}

Status ExchangeApplication::restore(ByteView snapshot) {
  BALLAST_ASSIGN_OR_RETURN(auto restored, exchange::Exchange::restore(snapshot));
  if (restored->genesis_hash() != exchange_->genesis_hash()) {
    return invalid_argument("snapshot belongs to another genesis");
  }
  exchange_ = std::move(restored);
  roots_.clear();
  remember_root(exchange_->height(), exchange_->state_root());
  prune_mempool();
  return Status::ok();
}

std::size_t ExchangeApplication::adopt_pool(const ExchangeApplication& previous) {
  std::size_t adopted = 0;
  // Sender by sender in nonce order, so the pool's nonce order holds from the first entry on.
  previous.mempool().for_each_by_sender([&](const mempool::Entry& entry) {
    note_signature_verified(entry.id);  // checked when the previous pool admitted it
    // This node's clients' entries are mostly back from the journal already: duplicates.
    if (submit(entry.bytes, Origin::from(entry.source)).is_ok()) adopted += 1;
  });
  const mempool::Holds& holds = previous.mempool().holds();
  if (holds.size() > 0 || holds.holds_everything()) note_missing_unnamed(mempool::kFromAnywhere);
  return adopted;
}

}  // namespace ballast::app
