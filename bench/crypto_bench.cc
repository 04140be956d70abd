// Signature and hash kernels. Each benchmark runs on one thread, so items_per_second is the
// throughput of one core: verifications per second is what bounds how many signed
// transactions one verify-pool thread can admit.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "crypto/keys.h"

namespace ballast {
namespace {

// Distinct messages and signatures, so no layer can get away with caching one result.
struct SignedMessages {
  static constexpr std::size_t kCount = 64;

  SignedMessages() : key(SecretKey::insecure_from_seed("bench")) {
    for (std::size_t i = 0; i < kCount; ++i) {
      messages.push_back(sha256(as_bytes("order " + std::to_string(i))));
      signatures.push_back(key.sign(messages.back()));
    }
  }

  SecretKey key;
  std::vector<Hash256> messages;
  std::vector<Signature> signatures;
};

// Checks the signed messages in turn with `valid(message, signature)`.
template <typename Check>
void measure_verifications(benchmark::State& state, const SignedMessages& data, Check valid) {
  std::size_t i = 0;
  for (auto _ : state) {
    bool verified = valid(data.messages[i], data.signatures[i]);
    benchmark::DoNotOptimize(verified);
    if (!verified) state.SkipWithError("a valid signature failed to verify");
    i = (i + 1) % SignedMessages::kCount;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel("verifications/s per core");
}

void BM_SchnorrVerify(benchmark::State& state) {
  SignedMessages data;
  measure_verifications(state, data, [&](const Hash256& message, const Signature& signature) {
    return verify(data.key.public_key(), message, signature);
  });
}
BENCHMARK(BM_SchnorrVerify);

// The same check with the key decoded once, as the node keeps validators' and traders' keys.
void BM_SchnorrVerifyDecodedKey(benchmark::State& state) {
  SignedMessages data;
  VerifyingKey key = VerifyingKey::decode(data.key.public_key()).value();
  measure_verifications(state, data, [&](const Hash256& message, const Signature& signature) {
    return key.verify(message, signature);
  });
}
BENCHMARK(BM_SchnorrVerifyDecodedKey);

void BM_SchnorrSign(benchmark::State& state) {
  SignedMessages data;
  std::size_t i = 0;
  for (auto _ : state) {
    Signature signature = data.key.sign(data.messages[i]);
    benchmark::DoNotOptimize(signature);
    i = (i + 1) % SignedMessages::kCount;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel("signatures/s per core");
}
BENCHMARK(BM_SchnorrSign);

void BM_Sha256(benchmark::State& state) {
  std::vector<std::uint8_t> input(static_cast<std::size_t>(state.range(0)), 0x5a);
  for (auto _ : state) {
    Hash256 digest = sha256(input);
    benchmark::DoNotOptimize(digest);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(1024);

}  // namespace
}  // namespace ballast

BENCHMARK_MAIN();
