#include "sim/sim_crypto.h"

#include <cstring>

#include "base/codec.h"

namespace ballast::sim {

SimKeys::SimKeys(std::size_t validators, std::uint64_t seed) {
  for (std::size_t i = 0; i < validators; ++i) {
    Encoder input;
    input.string("ballast-sim-secret");
    input.u64(seed);
    input.u64(i);
    secrets_.push_back(sha256(input.buffer()));
  }
}

Signature SimKeys::sign(consensus::ValidatorIndex signer, const Hash256& digest) const {
  Sha256 hasher;
  hasher.update(secrets_.at(signer).bytes).update(digest.bytes);
  Hash256 mac = hasher.finish();
  Signature signature;
  std::memcpy(signature.bytes.data(), mac.bytes.data(), mac.bytes.size());
  return signature;
}

bool SimKeys::verify(consensus::ValidatorIndex signer, const Hash256& digest,
                     const Signature& signature) const {
  return signer < secrets_.size() && sign(signer, digest) == signature;
}

}  // namespace ballast::sim
