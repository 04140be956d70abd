// The exchange as the consensus application: the one place where consensus/ and exchange/ meet
// (consensus knows nothing of the exchange). It checks client transactions into a bounded pool,
// builds and verifies block payloads, executes finalized blocks and remembers recent roots.
#pragma once

#include <map>
#include <memory>
#include <unordered_set>

#include "app/transaction_pool.h"
#include "consensus/interfaces.h"
#include "exchange/exchange.h"

namespace ballast::app {

struct ApplicationLimits {
  std::size_t pool_transactions = 10'000;
  std::size_t pool_bytes = 4 << 20;
  std::size_t remembered_roots = 1'024;          // heights whose roots root_at() still answers
  std::size_t verified_cache_entries = 100'000;  // transaction ids whose signature was checked
};

class ExchangeApplication final : public consensus::Application {
 public:
  ExchangeApplication(const exchange::Genesis& genesis, ApplicationLimits limits = {});

  // A client's transaction: checked, then queued for a block. The status says why not.
  Status submit(ByteView transaction);

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

  const exchange::Exchange& exchange() const { return *exchange_; }
  const exchange::Genesis& genesis() const { return genesis_; }
  const TransactionPool& pool() const { return pool_; }
  // The results of the most recently executed block, in block order.
  const exchange::BlockResult& last_block_result() const { return last_result_; }

 private:
  Result<exchange::Transaction> decode_checked(ByteView bytes, const Hash256& id);
  bool signature_checked(const exchange::Transaction& tx, const Hash256& id);
  std::unordered_set<Hash256, Hash256Hasher> pending_ids(
      std::span<const consensus::Block* const> pending) const;
  void remember_root(consensus::Height height, const Hash256& root);

  exchange::Genesis genesis_;
  ApplicationLimits limits_;
  std::unique_ptr<exchange::Exchange> exchange_;
  TransactionPool pool_;
  std::map<consensus::Height, Hash256> roots_;
  std::unordered_set<Hash256, Hash256Hasher> verified_;
  exchange::BlockResult last_result_;
};

}  // namespace ballast::app
