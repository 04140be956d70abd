// Consensus messages: blocks, proposals, votes, certificates and block requests, with their
// canonical encodings and the digests that are signed. Every signed digest starts with a domain
// tag and the chain id, so no signature is valid in another role or on another network.
#pragma once

#include <memory>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "consensus/types.h"
#include "crypto/hash.h"

namespace ballast::consensus {

// Bounds on what a peer may send; decoding rejects anything larger.
struct MessageLimits {
  std::size_t max_block_transactions = 10'000;
  std::size_t max_transaction_bytes = 512;
  std::size_t max_validators = 1'024;
};

struct Block {
  View view = 0;
  Height height = 0;
  Hash256 parent;  // hash of the parent block; zero for the genesis block
  View parent_view = 0;
  ValidatorIndex proposer = 0;
  TimeMs timestamp_ms = 0;       // proposer's clock; never below the parent's
  Height state_root_height = 0;  // a finalized height the proposer has executed
  Hash256 state_root;            // the proposer's state root at that height
  std::vector<Bytes> transactions;

  Bytes encode() const;
  static Result<Block> decode(ByteView bytes, const MessageLimits& limits);
  Hash256 hash() const;
  bool operator==(const Block&) const = default;
};

// The genesis block every chain starts from: view 0, height 0, finalized by definition.
Block genesis_block(const Hash256& application_genesis_hash);

struct Proposal {
  Block block;
  Signature signature;  // by block.proposer over proposal_digest(chain, block hash)
};

enum class VoteKind : std::uint8_t { kNotarize = 0, kNullify = 1, kFinalize = 2 };
std::string_view vote_kind_name(VoteKind kind);

struct Vote {
  VoteKind kind = VoteKind::kNotarize;
  View view = 0;
  Hash256 block;  // zero for nullify
  ValidatorIndex signer = 0;
  Signature signature;
  bool operator==(const Vote&) const = default;
};

struct SignatureShare {
  ValidatorIndex signer = 0;
  Signature signature;
  bool operator==(const SignatureShare&) const = default;
};

// A quorum of votes of one kind for one view (and block): notarization, nullification or
// finalization. Valid only with distinct signers holding a quorum of stake, every signature
// checked.
struct Certificate {
  VoteKind kind = VoteKind::kNotarize;
  View view = 0;
  Hash256 block;
  std::vector<SignatureShare> signatures;  // sorted by signer, no duplicates
  bool operator==(const Certificate&) const = default;
};

struct BlockRequest {
  Hash256 block;
};

struct BlockResponse {
  Block block;
};

using Message = std::variant<Proposal, Vote, Certificate, BlockRequest, BlockResponse>;
using MessagePtr = std::shared_ptr<const Message>;

std::string_view message_name(const Message& message);
Bytes encode_message(const Message& message);
Result<Message> decode_message(ByteView bytes, const MessageLimits& limits);

Hash256 proposal_digest(std::string_view chain_id, const Hash256& block);
Hash256 vote_digest(std::string_view chain_id, VoteKind kind, View view, const Hash256& block);

}  // namespace ballast::consensus
