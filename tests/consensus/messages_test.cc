// Wire encodings and signed digests of consensus messages.
#include "consensus/messages.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "fixtures.h"

namespace ballast::consensus {
namespace {

using testing::bytes_of;

Hash256 hash_of(const std::string& text) {
  return sha256(as_bytes(text));
}

Signature signature_of(std::uint8_t fill) {
  Signature signature;
  signature.bytes.fill(fill);
  return signature;
}

Block sample_block() {
  Block block;
  block.view = 300;  // a multi-byte varint
  block.height = 17;
  block.parent = hash_of("parent");
  block.parent_view = 299;
  block.proposer = 3;
  block.timestamp_ms = -5;  // the encoding does not care about sign
  block.state_root_height = 12;
  block.state_root = hash_of("root");
  block.transactions = {bytes_of("alpha"), Bytes{}, Bytes(200, 0xab)};
  return block;
}

std::vector<Message> every_kind() {
  Certificate certificate{VoteKind::kFinalize,
                          300,
                          hash_of("block"),
                          {{0, signature_of(1)}, {2, signature_of(2)}, {1000, signature_of(3)}}};
  return {
      Proposal{sample_block(), signature_of(9)},
      Vote{VoteKind::kNotarize, 7, hash_of("block"), 2, signature_of(4)},
      Vote{VoteKind::kNullify, 8, Hash256{}, 1, signature_of(5)},
      Vote{VoteKind::kFinalize, 1ULL << 40, hash_of("block"), 1023, signature_of(6)},
      certificate,
      Certificate{VoteKind::kNullify, 9, Hash256{}, {}},
      BlockRequest{hash_of("wanted")},
      BlockResponse{sample_block()},
      BlockResponse{genesis_block(hash_of("genesis"))},
  };
}

// Proposal, BlockRequest and BlockResponse have no operator==.
bool same(const Message& a, const Message& b) {
  if (a.index() != b.index()) return false;
  if (const auto* proposal = std::get_if<Proposal>(&a)) {
    const auto& other = std::get<Proposal>(b);
    return proposal->block == other.block && proposal->signature == other.signature;
  }
  if (const auto* vote = std::get_if<Vote>(&a)) return *vote == std::get<Vote>(b);
  if (const auto* certificate = std::get_if<Certificate>(&a)) {
    return *certificate == std::get<Certificate>(b);
  }
  if (const auto* request = std::get_if<BlockRequest>(&a)) {
    return request->block == std::get<BlockRequest>(b).block;
  }
  return std::get<BlockResponse>(a).block == std::get<BlockResponse>(b).block;
}

TEST(MessagesTest, EveryKindRoundTrips) {
  MessageLimits limits;
  for (const Message& message : every_kind()) {
    Bytes encoded = encode_message(message);
    auto decoded = decode_message(encoded, limits);
    ASSERT_TRUE(decoded.is_ok()) << message_name(message) << ": " << decoded.status().to_string();
    EXPECT_TRUE(same(message, *decoded)) << message_name(message);
    EXPECT_EQ(encode_message(*decoded), encoded) << message_name(message);
  }
}

TEST(MessagesTest, MessageNames) {
  std::vector<std::string> names;
  for (const Message& message : every_kind()) names.emplace_back(message_name(message));
  EXPECT_EQ(names, (std::vector<std::string>{"proposal", "vote", "vote", "vote", "certificate",
                                             "certificate", "block_request", "block_response",
                                             "block_response"}));
  EXPECT_EQ(vote_kind_name(VoteKind::kNotarize), "notarize");
  EXPECT_EQ(vote_kind_name(VoteKind::kNullify), "nullify");
  EXPECT_EQ(vote_kind_name(VoteKind::kFinalize), "finalize");
}

TEST(MessagesTest, BlockRoundTripsAndGenesisIsViewZero) {
  MessageLimits limits;
  Block block = sample_block();
  auto decoded = Block::decode(block.encode(), limits);
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(*decoded, block);
  EXPECT_EQ(decoded->hash(), block.hash());
  EXPECT_EQ(block.hash(), sha256(block.encode()));

  Block genesis = genesis_block(hash_of("app"));
  EXPECT_EQ(genesis.view, 0u);
  EXPECT_EQ(genesis.height, 0u);
  EXPECT_EQ(genesis.parent, Hash256{});
  EXPECT_EQ(genesis.state_root, hash_of("app"));
  EXPECT_NE(genesis.hash(), genesis_block(hash_of("other app")).hash());
}

TEST(MessagesTest, EveryTruncationIsRejected) {
  MessageLimits limits;
  for (const Message& message : every_kind()) {
    Bytes encoded = encode_message(message);
    for (std::size_t length = 0; length < encoded.size(); ++length) {
      ByteView prefix(encoded.data(), length);
      EXPECT_FALSE(decode_message(prefix, limits).is_ok())
          << message_name(message) << " truncated to " << length << " of " << encoded.size();
    }
  }
  Bytes block = sample_block().encode();
  for (std::size_t length = 0; length < block.size(); ++length) {
    EXPECT_FALSE(Block::decode(ByteView(block.data(), length), limits).is_ok()) << length;
  }
}

TEST(MessagesTest, TrailingBytesAreRejected) {
  MessageLimits limits;
  for (const Message& message : every_kind()) {
    Bytes encoded = encode_message(message);
    encoded.push_back(0);
    EXPECT_FALSE(decode_message(encoded, limits).is_ok()) << message_name(message);
  }
  Bytes block = sample_block().encode();
  block.push_back(0);
  EXPECT_FALSE(Block::decode(block, limits).is_ok());
}

TEST(MessagesTest, BadVersionTagAndKindAreRejected) {
  MessageLimits limits;
  Bytes vote = encode_message(Vote{VoteKind::kNullify, 1, Hash256{}, 0, signature_of(1)});
  Bytes wrong_version = vote;
  wrong_version[0] = 2;
  EXPECT_FALSE(decode_message(wrong_version, limits).is_ok());
  Bytes unknown_tag = vote;
  unknown_tag[1] = 5;
  EXPECT_FALSE(decode_message(unknown_tag, limits).is_ok());
  Bytes unknown_kind = vote;
  unknown_kind[2] = 3;  // vote kinds are 0, 1, 2
  EXPECT_FALSE(decode_message(unknown_kind, limits).is_ok());

  Certificate certificate{VoteKind::kNotarize, 1, hash_of("b"), {}};
  Bytes bad_certificate_kind = encode_message(certificate);
  bad_certificate_kind[2] = 7;
  EXPECT_FALSE(decode_message(bad_certificate_kind, limits).is_ok());

  Bytes block = encode_message(BlockResponse{sample_block()});
  block[2] = 0;  // block version
  EXPECT_FALSE(decode_message(block, limits).is_ok());
}

TEST(MessagesTest, TransactionCountLimit) {
  MessageLimits limits;
  limits.max_block_transactions = 3;
  Block block = sample_block();
  ASSERT_EQ(block.transactions.size(), 3u);
  EXPECT_TRUE(decode_message(encode_message(BlockResponse{block}), limits).is_ok());
  block.transactions.push_back(bytes_of("one too many"));
  EXPECT_FALSE(decode_message(encode_message(BlockResponse{block}), limits).is_ok());
  EXPECT_FALSE(decode_message(encode_message(Proposal{block, signature_of(1)}), limits).is_ok());
  EXPECT_FALSE(Block::decode(block.encode(), limits).is_ok());
}

TEST(MessagesTest, TransactionSizeLimit) {
  MessageLimits limits;  // 512 bytes per transaction
  Block block = sample_block();
  block.transactions = {Bytes(512, 1)};
  EXPECT_TRUE(decode_message(encode_message(Proposal{block, signature_of(1)}), limits).is_ok());
  block.transactions = {Bytes(513, 1)};
  EXPECT_FALSE(decode_message(encode_message(Proposal{block, signature_of(1)}), limits).is_ok());
  EXPECT_FALSE(Block::decode(block.encode(), limits).is_ok());
}

TEST(MessagesTest, ValidatorIndexLimits) {
  MessageLimits limits;
  limits.max_validators = 16;
  auto vote_with_signer = [](ValidatorIndex signer) {
    return encode_message(Vote{VoteKind::kNotarize, 1, Hash256{}, signer, Signature{}});
  };
  EXPECT_TRUE(decode_message(vote_with_signer(15), limits).is_ok());
  EXPECT_FALSE(decode_message(vote_with_signer(16), limits).is_ok());

  auto certificate_with = [](std::vector<ValidatorIndex> signers) {
    Certificate certificate{VoteKind::kNotarize, 1, Hash256{}, {}};
    for (ValidatorIndex signer : signers) certificate.signatures.push_back({signer, Signature{}});
    return encode_message(certificate);
  };
  EXPECT_TRUE(decode_message(certificate_with({0, 15}), limits).is_ok());
  EXPECT_FALSE(decode_message(certificate_with({0, 16}), limits).is_ok());
  // At most max_validators shares.
  std::vector<ValidatorIndex> seventeen(17, 1);
  EXPECT_FALSE(decode_message(certificate_with(seventeen), limits).is_ok());
  std::vector<ValidatorIndex> sixteen(16, 1);
  EXPECT_TRUE(decode_message(certificate_with(sixteen), limits).is_ok());  // decoding allows
  // duplicates; the replica's certificate check refuses them (replica_test.cc).

  Block block = sample_block();
  block.proposer = 15;
  EXPECT_TRUE(decode_message(encode_message(BlockResponse{block}), limits).is_ok());
  block.proposer = 16;
  EXPECT_FALSE(decode_message(encode_message(BlockResponse{block}), limits).is_ok());
}

TEST(MessagesTest, BlockParentViewMustBeBelowItsView) {
  MessageLimits limits;
  Block block = sample_block();
  block.parent_view = block.view;
  EXPECT_FALSE(Block::decode(block.encode(), limits).is_ok());
  EXPECT_FALSE(decode_message(encode_message(Proposal{block, Signature{}}), limits).is_ok());
  block.parent_view = block.view + 1;
  EXPECT_FALSE(Block::decode(block.encode(), limits).is_ok());
  block.parent_view = block.view - 1;
  EXPECT_TRUE(Block::decode(block.encode(), limits).is_ok());
}

TEST(MessagesTest, EveryBlockFieldChangesTheHash) {
  const Block base = sample_block();
  std::vector<Block> variants(10, base);
  variants[0].view += 1;
  variants[1].height += 1;
  variants[2].parent.bytes[31] ^= 1;
  variants[3].parent_view -= 1;
  variants[4].proposer += 1;
  variants[5].timestamp_ms += 1;
  variants[6].state_root_height += 1;
  variants[7].state_root.bytes[0] ^= 1;
  variants[8].transactions.pop_back();
  variants[9].transactions[0].push_back(0);
  std::set<Hash256> hashes{base.hash()};
  for (const Block& variant : variants) hashes.insert(variant.hash());
  EXPECT_EQ(hashes.size(), variants.size() + 1);
}

TEST(MessagesTest, VoteDigestsAreDomainSeparated) {
  Hash256 block = hash_of("block");
  Hash256 base = vote_digest("chain-a", VoteKind::kNotarize, 5, block);
  EXPECT_EQ(base, vote_digest("chain-a", VoteKind::kNotarize, 5, block));
  EXPECT_NE(base, vote_digest("chain-b", VoteKind::kNotarize, 5, block));
  EXPECT_NE(base, vote_digest("chain-a", VoteKind::kFinalize, 5, block));
  EXPECT_NE(base, vote_digest("chain-a", VoteKind::kNullify, 5, block));
  EXPECT_NE(base, vote_digest("chain-a", VoteKind::kNotarize, 6, block));
  EXPECT_NE(base, vote_digest("chain-a", VoteKind::kNotarize, 5, hash_of("other")));
  // A proposal signature is never a vote signature, on this chain or another.
  EXPECT_NE(proposal_digest("chain-a", block), base);
  EXPECT_NE(proposal_digest("chain-a", block), proposal_digest("chain-b", block));
  EXPECT_NE(proposal_digest("chain-a", block), proposal_digest("chain-a", hash_of("other")));
  // Length prefixes: moving bytes between the chain id and the body changes the digest.
  EXPECT_NE(vote_digest("chain", VoteKind::kNotarize, 5, block),
            vote_digest(std::string_view("chain\0", 6), VoteKind::kNotarize, 5, block));
}

TEST(MessagesTest, VoteDigestMatchesTheDocumentedLayout) {
  // docs/CONSENSUS.md: SHA-256(varint len "ballast-vote-v1" || varint len chain_id || chain_id
  //                            || u8 kind || u64le view || block hash)
  Hash256 block = hash_of("block");
  Bytes input;
  std::string domain = "ballast-vote-v1";
  std::string chain = "chain-a";
  input.push_back(static_cast<std::uint8_t>(domain.size()));
  input.insert(input.end(), domain.begin(), domain.end());
  input.push_back(static_cast<std::uint8_t>(chain.size()));
  input.insert(input.end(), chain.begin(), chain.end());
  input.push_back(2);  // finalize
  for (int i = 0; i < 8; ++i) input.push_back(i == 0 ? 0x2a : 0);
  input.insert(input.end(), block.bytes.begin(), block.bytes.end());
  EXPECT_EQ(vote_digest(chain, VoteKind::kFinalize, 42, block), sha256(input));

  Bytes proposal_input;
  std::string proposal_domain = "ballast-proposal-v1";
  proposal_input.push_back(static_cast<std::uint8_t>(proposal_domain.size()));
  proposal_input.insert(proposal_input.end(), proposal_domain.begin(), proposal_domain.end());
  proposal_input.push_back(static_cast<std::uint8_t>(chain.size()));
  proposal_input.insert(proposal_input.end(), chain.begin(), chain.end());
  proposal_input.insert(proposal_input.end(), block.bytes.begin(), block.bytes.end());
  EXPECT_EQ(proposal_digest(chain, block), sha256(proposal_input));
}

}  // namespace
}  // namespace ballast::consensus
