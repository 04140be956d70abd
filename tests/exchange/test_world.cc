#include "test_world.h"

namespace ballast::exchange::testing {

Genesis make_genesis(const std::vector<std::string>& account_names, Amount funds,
                     const MarketParams& market, Amount min_tx_fee) {
  Genesis genesis;
  genesis.chain_id = "ballast-test";
  genesis.fee_account = SecretKey::insecure_from_seed("fee-collector").public_key();
  genesis.tx_fee_asset = kQuote;
  genesis.min_tx_fee = min_tx_fee;
  genesis.assets = {{"BASE", 0}, {"QUOTE", 0}};
  genesis.markets = {{"BASE-QUOTE", kBase, kQuote, market.tick_size, market.lot_size,
                      market.min_size, market.maker_fee_bps, market.taker_fee_bps,
                      market.breakers}};
  for (const std::string& name : account_names) {
    genesis.accounts.push_back(
        {SecretKey::insecure_from_seed(name).public_key(), {{kBase, funds}, {kQuote, funds}}});
  }
  BALLAST_ASSERT(validate_genesis(genesis).is_ok());
  return genesis;
}

TestWorld::TestWorld(const std::vector<std::string>& account_names, Amount funds,
                     const MarketParams& market, Amount min_tx_fee)
    : genesis_(make_genesis(account_names, funds, market, min_tx_fee)),
      exchange_(std::make_unique<Exchange>(genesis_)) {
  for (const std::string& name : account_names) {
    keys_.emplace(name, SecretKey::insecure_from_seed(name));
  }
}

const SecretKey& TestWorld::key(const std::string& name) const {
  auto it = keys_.find(name);
  BALLAST_ASSERT_MSG(it != keys_.end(), "unknown test account");
  return it->second;
}

Transaction TestWorld::make(const std::string& name, TransactionBody body, Amount fee) {
  if (!keys_.contains(name)) keys_.emplace(name, SecretKey::insecure_from_seed(name));
  Transaction tx;
  tx.sender = key(name).public_key();
  tx.nonce = ++nonces_[name];
  tx.fee = fee;
  tx.expiry_height = exchange_->height() + 1'000'000;
  tx.body = std::move(body);
  tx.sign(key(name), genesis_.chain_id);
  return tx;
}

BlockResult TestWorld::run_block(const std::vector<Transaction>& txs) {
  last_block_ = exchange_->execute_block({exchange_->height() + 1, time_ms_}, txs);
  return last_block_;
}

TxResult TestWorld::run(const std::string& name, TransactionBody body, Amount fee) {
  return run_block({make(name, std::move(body), fee)}).results.at(0);
}

TxResult TestWorld::limit(const std::string& name, Side side, Price price, Quantity quantity,
                          TimeInForce tif, ClientOrderId client_id, SelfTradePrevention stp,
                          bool post_only) {
  PlaceOrder order;
  order.market = kMarket;
  order.side = side;
  order.type = OrderType::kLimit;
  order.time_in_force = tif;
  order.post_only = post_only;
  order.self_trade_prevention = stp;
  order.price = price;
  order.quantity = quantity;
  order.client_order_id = client_id;
  return run(name, order);
}

Balance TestWorld::balance(const std::string& name, AssetId asset) const {
  auto view = exchange_->account(id(name));
  return view ? view->balances.at(asset) : Balance{};
}

std::uint64_t TestWorld::nonce(const std::string& name) const {
  auto view = exchange_->account(id(name));
  return view ? view->nonce : 0;
}

}  // namespace ballast::exchange::testing
