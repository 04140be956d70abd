// Fuzzes the transaction decoder: any input either fails to decode with an error or decodes to
// a transaction whose encoding is exactly the input (one encoding per value). Decoded
// transactions are then executed, unsigned, against a small exchange, whose invariants must hold
// whatever they ask for.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/assert.h"
#include "exchange/exchange.h"

namespace {

using namespace ballast;
using namespace ballast::exchange;

Genesis fuzz_genesis(const PublicKey& trader) {
  Genesis genesis;
  genesis.chain_id = "fuzz";
  genesis.fee_account = SecretKey::insecure_from_seed("fuzz-fees").public_key();
  genesis.assets = {{"A", 0}, {"B", 0}};
  genesis.markets = {{"A-B", 0, 1, 1, 1, 1, 5, 10}};
  genesis.accounts = {{trader, {{0, 1'000'000}, {1, 1'000'000}}}};
  return genesis;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = Transaction::decode(ByteView(data, size));
  if (!decoded.is_ok()) return 0;
  Bytes encoded = decoded->encode();
  BALLAST_ASSERT_MSG(encoded.size() == size && std::equal(encoded.begin(), encoded.end(), data),
                     "a decoded transaction must re-encode to the same bytes");

  // Execute as if signed by a funded trader: the decoder's output must never break the engine.
  static const SecretKey trader = SecretKey::insecure_from_seed("fuzz-trader");
  static const Genesis genesis = fuzz_genesis(trader.public_key());
  Exchange state(genesis);
  Transaction tx = *decoded;
  tx.sender = trader.public_key();
  tx.expiry_height = UINT64_MAX;
  tx.nonce = tx.nonce == 0 ? 1 : tx.nonce;
  std::vector<Transaction> block = {tx, tx};  // the second is a replay
  BlockResult result = state.execute_block({1, 0}, block, SignatureCheck::kAlreadyVerified);
  BALLAST_ASSERT(result.results.size() == 2);
  BALLAST_ASSERT(!result.results[1].accepted());
  BALLAST_ASSERT(state.check_invariants().is_ok());
  return 0;
}
