// Fast simulated signatures: a validator's signature is SHA-256(its secret, digest). Only the
// simulator's verifier knows the secrets, and a Byzantine node is only ever handed its own
// signer, so it cannot forge an honest validator's vote, just as with real keys, at a fraction
// of the cost of a secp256k1 verification. Exchange transactions in the simulator are still
// signed with real Schnorr keys.
#pragma once

#include <vector>

#include "consensus/interfaces.h"

namespace ballast::sim {

class SimKeys {
 public:
  SimKeys(std::size_t validators, std::uint64_t seed);
  Signature sign(consensus::ValidatorIndex signer, const Hash256& digest) const;
  bool verify(consensus::ValidatorIndex signer, const Hash256& digest,
              const Signature& signature) const;

 private:
  std::vector<Hash256> secrets_;
};

class SimSigner final : public consensus::Signer {
 public:
  SimSigner(const SimKeys& keys, consensus::ValidatorIndex self) : keys_(keys), self_(self) {}
  Signature sign(const Hash256& digest) override { return keys_.sign(self_, digest); }

 private:
  const SimKeys& keys_;
  consensus::ValidatorIndex self_;
};

class SimVerifier final : public consensus::Verifier {
 public:
  explicit SimVerifier(const SimKeys& keys) : keys_(keys) {}
  bool verify(consensus::ValidatorIndex signer, const Hash256& digest,
              const Signature& signature) override {
    return keys_.verify(signer, digest, signature);
  }

 private:
  const SimKeys& keys_;
};

}  // namespace ballast::sim
