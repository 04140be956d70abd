// The state root. Every committed entry (account, resting order, globals) is hashed to a
// digest and the digests are summed into an LtHash, so a block costs work proportional to the
// entries it changed, whatever the size of the state, and the root does not depend on the order
// in which entries were touched or stored.
#include "base/codec.h"
#include "exchange/exchange.h"

namespace ballast::exchange {
namespace {

enum class EntryTag : std::uint8_t { kAccount = 1, kOrder = 2, kGlobals = 3 };

void update_entry(LtHash& set, Hash256& committed_digest, bool& committed,
                  const Hash256& new_digest) {
  if (committed) set.remove(committed_digest);
  set.add(new_digest);
  committed_digest = new_digest;
  committed = true;
}

}  // namespace

Hash256 Exchange::account_digest(const Account& account) {
  Encoder out(128);
  out.u8(static_cast<std::uint8_t>(EntryTag::kAccount));
  out.raw(account.key.bytes);
  out.varint(account.nonce);
  for (const Balance& funds : account.balances) {
    out.varint(static_cast<std::uint64_t>(funds.available));
    out.varint(static_cast<std::uint64_t>(funds.locked));
  }
  return sha256(out.buffer());
}

Hash256 Exchange::order_digest(const Order& order) const {
  Encoder out(96);
  out.u8(static_cast<std::uint8_t>(EntryTag::kOrder));
  out.varint(order.id);
  out.raw(accounts_[order.owner].key.bytes);
  out.varint(order.market);
  out.u8(static_cast<std::uint8_t>(order.side));
  out.boolean(order.post_only);
  out.u8(static_cast<std::uint8_t>(order.self_trade_prevention));
  out.varint(static_cast<std::uint64_t>(order.price));
  out.varint(static_cast<std::uint64_t>(order.remaining));
  out.varint(order.client_order_id);
  out.varint(order.sequence);
  return sha256(out.buffer());
}

Hash256 Exchange::globals_digest() const {
  Encoder out(64);
  out.u8(static_cast<std::uint8_t>(EntryTag::kGlobals));
  out.raw(genesis_hash_.bytes);
  out.varint(next_order_id_);
  out.varint(next_sequence_);
  return sha256(out.buffer());
}

void Exchange::commit_block() {
  for (AccountIndex index : dirty_accounts_) {
    Account& account = accounts_[index];
    BALLAST_ASSERT(account.dirty);
    update_entry(entries_hash_, account.committed_digest, account.committed,
                 account_digest(account));
    account.dirty = false;
  }
  dirty_accounts_.clear();
  for (OrderId id : dirty_orders_) {
    auto it = orders_by_id_.find(id);
    if (it == orders_by_id_.end()) continue;  // gone: remove_resting already uncommitted it
    Order& order = order_pool_[it->second];
    if (!order.dirty) continue;  // listed twice (replaced under the same id)
    update_entry(entries_hash_, order.committed_digest, order.committed, order_digest(order));
    order.dirty = false;
  }
  dirty_orders_.clear();
  update_entry(entries_hash_, committed_globals_digest_, globals_committed_, globals_digest());

  Encoder root(16 + LtHash::kLanes * 2);
  root.string("ballast-state-root-v1");
  root.u64(height_);
  root.raw(entries_hash_.bytes());
  state_root_ = sha256(root.buffer());
}

void Exchange::recompute_commitment() {
  entries_hash_ = LtHash{};
  committed_globals_digest_ = Hash256{};
  globals_committed_ = false;
  dirty_accounts_.clear();
  dirty_orders_.clear();
  for (std::size_t i = 0; i < accounts_.size(); ++i) {
    accounts_[i].committed = false;
    accounts_[i].dirty = false;
    touch_account(static_cast<AccountIndex>(i));
  }
  for (const auto& [id, handle] : orders_by_id_) {
    order_pool_[handle].committed = false;
    order_pool_[handle].dirty = false;
    touch_order(handle);
  }
  commit_block();
}

}  // namespace ballast::exchange
