// The state root. Every committed entry (account, resting order, market breaker, globals) is hashed
// to a digest and the digests are summed into an LtHash, so a block costs work proportional to the
// entries it changed, whatever the size of the state, and the root does not depend on the order
// in which entries were touched or stored.
#include "base/codec.h"
#include "exchange/exchange.h"

namespace ballast::exchange {
namespace {

enum class EntryTag : std::uint8_t { kAccount = 1, kOrder = 2, kGlobals = 3, kMarket = 4 };

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

Hash256 Exchange::market_digest(MarketId market) const {
  Encoder out(256);
  out.u8(static_cast<std::uint8_t>(EntryTag::kMarket));
  out.varint(market);
  markets_[market].breaker.encode(out);
  return sha256(out.buffer());
}

Hash256 Exchange::globals_digest() const {
  Encoder out(64);
  out.u8(static_cast<std::uint8_t>(EntryTag::kGlobals));
  out.raw(genesis_hash_.bytes);
  out.varint(next_order_id_);
  out.varint(next_sequence_);
  out.varint(static_cast<std::uint64_t>(block_time_ms_));
  return sha256(out.buffer());
}

void Exchange::commit_block() {
  // Each LtHash update below is one pass over the lanes and one ChaCha20 expansion per digest
  // added or removed. A changed entry removes its old digest and adds its new one in one pass;
  // a new entry is paired the same way with a removed order's digest while any are left. The
  // LtHash is a sum, so the pairing and the order do not change the result.
  auto update_entry = [&](Hash256& committed_digest, bool& committed, const Hash256& new_digest) {
    if (committed) {
      entries_hash_.update(committed_digest, new_digest);
    } else if (!removed_digests_.empty()) {
      entries_hash_.update(removed_digests_.back(), new_digest);
      removed_digests_.pop_back();
    } else {
      entries_hash_.add(new_digest);
    }
    committed_digest = new_digest;
    committed = true;
  };
  for (AccountIndex index : dirty_accounts_) {
    Account& account = accounts_[index];
    BALLAST_ASSERT(account.dirty);
    update_entry(account.committed_digest, account.committed, account_digest(account));
    account.dirty = false;
  }
  dirty_accounts_.clear();
  for (OrderId id : dirty_orders_) {
    auto it = orders_by_id_.find(id);
    if (it == orders_by_id_.end()) continue;  // gone: its digest, if any, is in removed_digests_
    Order& order = order_pool_[it->second];
    if (!order.dirty) continue;  // listed twice (replaced under the same id)
    update_entry(order.committed_digest, order.committed, order_digest(order));
    order.dirty = false;
  }
  dirty_orders_.clear();
  for (MarketId market : dirty_markets_) {
    MarketEntry& entry = markets_[market];
    BALLAST_ASSERT(entry.dirty);
    update_entry(entry.committed_digest, entry.committed, market_digest(market));
    entry.dirty = false;
  }
  dirty_markets_.clear();
  update_entry(committed_globals_digest_, globals_committed_, globals_digest());
  for (const Hash256& digest : removed_digests_) entries_hash_.remove(digest);
  removed_digests_.clear();

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
  dirty_markets_.clear();
  removed_digests_.clear();
  for (std::size_t i = 0; i < markets_.size(); ++i) {
    markets_[i].committed = false;
    markets_[i].dirty = false;
    touch_market(static_cast<MarketId>(i));
  }
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
