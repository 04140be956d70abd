#include "consensus/messages.h"

#include "base/codec.h"

namespace ballast::consensus {
namespace {

constexpr std::uint8_t kBlockVersion = 1;
constexpr std::uint8_t kMessageVersion = 1;

enum class MessageTag : std::uint8_t {
  kProposal = 0,
  kVote = 1,
  kCertificate = 2,
  kBlockRequest = 3,
  kBlockResponse = 4,
};

void encode_block(Encoder& out, const Block& block) {
  out.u8(kBlockVersion);
  out.varint(block.view);
  out.varint(block.height);
  out.raw(block.parent.bytes);
  out.varint(block.parent_view);
  out.varint(block.proposer);
  out.i64(block.timestamp_ms);
  out.varint(block.state_root_height);
  out.raw(block.state_root.bytes);
  out.varint(block.transactions.size());
  for (const Bytes& tx : block.transactions) out.bytes(tx);
}

Block decode_block(Decoder& in, const MessageLimits& limits) {
  Block block;
  in.expect_version(kBlockVersion, "block");
  block.view = in.varint();
  block.height = in.varint();
  in.raw(block.parent.bytes);
  block.parent_view = in.varint();
  block.proposer =
      static_cast<ValidatorIndex>(in.varint_at_most(limits.max_validators - 1, "proposer"));
  block.timestamp_ms = in.i64();
  block.state_root_height = in.varint();
  in.raw(block.state_root.bytes);
  std::uint64_t count = in.varint_at_most(limits.max_block_transactions, "transaction count");
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    block.transactions.push_back(in.bytes(limits.max_transaction_bytes, "transaction"));
  }
  if (in.ok() && block.height > 0 && block.parent_view >= block.view) {
    in.fail("block parent view must be below its view");
  }
  return block;
}

void encode_signature_share(Encoder& out, ValidatorIndex signer, const Signature& signature) {
  out.varint(signer);
  out.raw(signature.bytes);
}

VoteKind decode_vote_kind(Decoder& in) {
  std::uint8_t kind = in.u8();
  if (in.ok() && kind > static_cast<std::uint8_t>(VoteKind::kFinalize)) in.fail("bad vote kind");
  return static_cast<VoteKind>(kind);
}

struct MessageEncoder {
  Encoder& out;
  void operator()(const Proposal& proposal) {
    out.u8(static_cast<std::uint8_t>(MessageTag::kProposal));
    encode_block(out, proposal.block);
    out.raw(proposal.signature.bytes);
  }
  void operator()(const Vote& vote) {
    out.u8(static_cast<std::uint8_t>(MessageTag::kVote));
    out.u8(static_cast<std::uint8_t>(vote.kind));
    out.varint(vote.view);
    out.raw(vote.block.bytes);
    encode_signature_share(out, vote.signer, vote.signature);
  }
  void operator()(const Certificate& certificate) {
    out.u8(static_cast<std::uint8_t>(MessageTag::kCertificate));
    out.u8(static_cast<std::uint8_t>(certificate.kind));
    out.varint(certificate.view);
    out.raw(certificate.block.bytes);
    out.varint(certificate.signatures.size());
    for (const SignatureShare& share : certificate.signatures) {
      encode_signature_share(out, share.signer, share.signature);
    }
  }
  void operator()(const BlockRequest& request) {
    out.u8(static_cast<std::uint8_t>(MessageTag::kBlockRequest));
    out.raw(request.block.bytes);
  }
  void operator()(const BlockResponse& response) {
    out.u8(static_cast<std::uint8_t>(MessageTag::kBlockResponse));
    encode_block(out, response.block);
  }
};

Hash256 domain_digest(std::string_view domain, std::string_view chain_id, ByteView body) {
  Encoder out;
  out.string(domain);
  out.string(chain_id);
  out.raw(body);
  return sha256(out.buffer());
}

}  // namespace

Bytes Block::encode() const {
  Encoder out(128 + transactions.size() * 160);
  encode_block(out, *this);
  return out.take();
}

Result<Block> Block::decode(ByteView bytes, const MessageLimits& limits) {
  Decoder in(bytes);
  Block block = decode_block(in, limits);
  BALLAST_RETURN_IF_ERROR(in.finish());
  return block;
}

Hash256 Block::hash() const {
  return sha256(encode());
}

Block genesis_block(const Hash256& application_genesis_hash) {
  Block block;
  block.state_root = application_genesis_hash;
  return block;
}

std::string_view vote_kind_name(VoteKind kind) {
  switch (kind) {
    case VoteKind::kNotarize:
      return "notarize";
    case VoteKind::kNullify:
      return "nullify";
    case VoteKind::kFinalize:
      return "finalize";
  }
  return "unknown";
}

std::string_view message_name(const Message& message) {
  static constexpr std::string_view kNames[] = {"proposal", "vote", "certificate", "block_request",
                                                "block_response"};
  return kNames[message.index()];
}

Bytes encode_message(const Message& message) {
  Encoder out(256);
  out.u8(kMessageVersion);
  std::visit(MessageEncoder{out}, message);
  return out.take();
}

Result<Message> decode_message(ByteView bytes, const MessageLimits& limits) {
  Decoder in(bytes);
  in.expect_version(kMessageVersion, "consensus message");
  std::uint8_t tag = in.u8();
  Message message;
  switch (static_cast<MessageTag>(tag)) {
    case MessageTag::kProposal: {
      Proposal proposal;
      proposal.block = decode_block(in, limits);
      in.raw(proposal.signature.bytes);
      message = std::move(proposal);
      break;
    }
    case MessageTag::kVote: {
      Vote vote;
      vote.kind = decode_vote_kind(in);
      vote.view = in.varint();
      in.raw(vote.block.bytes);
      vote.signer =
          static_cast<ValidatorIndex>(in.varint_at_most(limits.max_validators - 1, "signer"));
      in.raw(vote.signature.bytes);
      message = vote;
      break;
    }
    case MessageTag::kCertificate: {
      Certificate certificate;
      certificate.kind = decode_vote_kind(in);
      certificate.view = in.varint();
      in.raw(certificate.block.bytes);
      std::uint64_t count = in.varint_at_most(limits.max_validators, "signature count");
      for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
        SignatureShare share;
        share.signer =
            static_cast<ValidatorIndex>(in.varint_at_most(limits.max_validators - 1, "signer"));
        in.raw(share.signature.bytes);
        certificate.signatures.push_back(share);
      }
      message = std::move(certificate);
      break;
    }
    case MessageTag::kBlockRequest: {
      BlockRequest request;
      in.raw(request.block.bytes);
      message = request;
      break;
    }
    case MessageTag::kBlockResponse:
      message = BlockResponse{decode_block(in, limits)};
      break;
    default:
      in.fail("unknown consensus message tag " + std::to_string(tag));
  }
  BALLAST_RETURN_IF_ERROR(in.finish());
  return message;
}

Hash256 proposal_digest(std::string_view chain_id, const Hash256& block) {
  return domain_digest("ballast-proposal-v1", chain_id, block.bytes);
}

Hash256 vote_digest(std::string_view chain_id, VoteKind kind, View view, const Hash256& block) {
  Encoder body;
  body.u8(static_cast<std::uint8_t>(kind));
  body.u64(view);
  body.raw(block.bytes);
  return domain_digest("ballast-vote-v1", chain_id, body.buffer());
}

}  // namespace ballast::consensus
