#include "app/exchange_application.h"

namespace ballast::app {

using consensus::Block;
using consensus::Height;
using exchange::Transaction;

ExchangeApplication::ExchangeApplication(const exchange::Genesis& genesis, ApplicationLimits limits)
    : genesis_(genesis),
      limits_(limits),
      exchange_(std::make_unique<exchange::Exchange>(genesis)),
      pool_(limits.pool_transactions, limits.pool_bytes) {
  remember_root(0, exchange_->state_root());
}

bool ExchangeApplication::signature_checked(const Transaction& tx, const Hash256& id) {
  if (verified_.contains(id)) return true;
  if (!tx.signature_valid(genesis_.chain_id)) return false;
  // A full cache starts over rather than grow: re-verifying is the only cost.
  if (verified_.size() >= limits_.verified_cache_entries) verified_.clear();
  verified_.insert(id);
  return true;
}

Result<Transaction> ExchangeApplication::decode_checked(ByteView bytes, const Hash256& id) {
  BALLAST_ASSIGN_OR_RETURN(Transaction tx, Transaction::decode(bytes));
  auto account = exchange_->account(tx.sender);
  if (!account) return not_found("sender has no account");
  if (tx.nonce <= account->nonce) {
    return failed_precondition("nonce " + std::to_string(tx.nonce) + " is already used (last " +
                               std::to_string(account->nonce) + ")");
  }
  if (tx.expiry_height <= exchange_->height()) return failed_precondition("transaction expired");
  if (!signature_checked(tx, id)) return permission_denied("signature does not verify");
  return tx;
}

Status ExchangeApplication::check_transaction(ByteView transaction) {
  auto checked = decode_checked(transaction, sha256(transaction));
  return checked.is_ok() ? Status::ok() : checked.status();
}

Status ExchangeApplication::submit(ByteView transaction) {
  Hash256 id = sha256(transaction);
  BALLAST_ASSIGN_OR_RETURN(Transaction tx, decode_checked(transaction, id));
  return pool_.add(
      PooledTransaction{id, Bytes(transaction.begin(), transaction.end()), std::move(tx)});
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
  std::vector<Bytes> payload;
  std::vector<Hash256> stale;
  pool_.for_each([&](const PooledTransaction& entry) {
    if (payload.size() >= max_transactions || included.contains(entry.id)) return;
    // The same rules verify_payload applies, or an honest proposal would be refused.
    const Transaction& tx = entry.transaction;
    auto account = exchange_->account(tx.sender);
    if (!account || tx.nonce <= account->nonce || tx.expiry_height <= exchange_->height()) {
      stale.push_back(entry.id);
      return;
    }
    if (tx.expiry_height < height) return;
    payload.push_back(entry.bytes);
  });
  for (const Hash256& id : stale) pool_.remove(id);
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
    pool_.remove(id);
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
  return last_result_.state_root;
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
  return Status::ok();
}

}  // namespace ballast::app
