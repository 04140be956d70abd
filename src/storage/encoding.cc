#include "storage/encoding.h"

#include "base/codec.h"

namespace ballast::storage {
namespace {

using consensus::ActivityRecord;
using consensus::Anchor;
using consensus::Block;
using consensus::Certificate;
using consensus::FinalizedEntry;
using consensus::MessageLimits;
using consensus::View;
using consensus::ViewVotes;
using consensus::VotingState;

constexpr std::uint8_t kVotingStateVersion = 1;
constexpr std::uint8_t kFinalizedEntryVersion = 1;
constexpr std::uint8_t kAnchorVersion = 1;
constexpr std::uint8_t kSnapshotVersion = 1;

// Nested values carry a length prefix; the nested decoder enforces the real limits, so the
// prefix is bounded only by the input that is left.
Bytes nested(Decoder& in, const char* what) {
  return in.bytes(in.remaining(), what);
}

void encode_certificate(Encoder& out, const Certificate& certificate) {
  out.bytes(consensus::encode_message(certificate));
}

Certificate decode_certificate(Decoder& in, const MessageLimits& limits, const char* what) {
  Bytes bytes = nested(in, what);
  if (!in.ok()) return {};
  Result<consensus::Message> message = consensus::decode_message(bytes, limits);
  if (!message.is_ok()) {
    in.fail(std::string(what) + ": " + message.status().message());
    return {};
  }
  const auto* certificate = std::get_if<Certificate>(&message.value());
  if (certificate == nullptr) {
    in.fail(std::string(what) + " is not a certificate");
    return {};
  }
  return *certificate;
}

Block decode_block(Decoder& in, const MessageLimits& limits, const char* what) {
  Bytes bytes = nested(in, what);
  if (!in.ok()) return {};
  Result<Block> block = Block::decode(bytes, limits);
  if (!block.is_ok()) {
    in.fail(std::string(what) + ": " + block.status().message());
    return {};
  }
  return std::move(block).value();
}

void encode_optional_hash(Encoder& out, const std::optional<Hash256>& hash) {
  out.boolean(hash.has_value());
  if (hash) out.raw(hash->bytes);
}

std::optional<Hash256> decode_optional_hash(Decoder& in) {
  if (!in.boolean()) return std::nullopt;
  Hash256 hash;
  in.raw(hash.bytes);
  return hash;
}

// Map keys must be strictly increasing, so a map has one encoding.
View decode_view_key(Decoder& in, std::optional<View>& previous, const char* what) {
  View view = in.varint();
  if (in.ok() && previous && view <= *previous) {
    in.fail(std::string(what) + " views are not strictly increasing");
  }
  previous = view;
  return view;
}

void encode_view_votes(Encoder& out, const ViewVotes& votes) {
  encode_optional_hash(out, votes.proposed);
  encode_optional_hash(out, votes.notarized);
  out.boolean(votes.nullified);
  out.boolean(votes.finalized);
}

ViewVotes decode_view_votes(Decoder& in) {
  ViewVotes votes;
  votes.proposed = decode_optional_hash(in);
  votes.notarized = decode_optional_hash(in);
  votes.nullified = in.boolean();
  votes.finalized = in.boolean();
  return votes;
}

void encode_views(Encoder& out, const std::vector<View>& views) {
  out.varint(views.size());
  for (View view : views) out.varint(view);
}

std::vector<View> decode_views(Decoder& in, const MessageLimits& limits, const char* what) {
  std::vector<View> views;
  std::uint64_t count = in.varint_at_most(limits.max_validators, what);
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) views.push_back(in.varint());
  return views;
}

void encode_anchor_fields(Encoder& out, const Anchor& anchor) {
  out.u8(kAnchorVersion);
  out.bytes(anchor.block.encode());
  encode_certificate(out, anchor.finalization);
  encode_views(out, anchor.activity.last_missed);
  encode_views(out, anchor.activity.last_led);
}

Anchor decode_anchor_fields(Decoder& in, const MessageLimits& limits) {
  Anchor anchor;
  in.expect_version(kAnchorVersion, "anchor");
  anchor.block = decode_block(in, limits, "anchor block");
  anchor.finalization = decode_certificate(in, limits, "anchor finalization");
  anchor.activity.last_missed = decode_views(in, limits, "activity missed count");
  anchor.activity.last_led = decode_views(in, limits, "activity led count");
  return anchor;
}

template <typename T>
Result<T> finish(const Decoder& in, T value, const char* what) {
  Status status = in.finish();
  if (!status.is_ok()) return corruption(std::string(what) + ": " + status.message());
  return value;
}

}  // namespace

Bytes encode_voting_state(const VotingState& state) {
  BALLAST_ASSERT(state.votes.size() <= kMaxVotingStateViews);
  BALLAST_ASSERT(state.blocks.size() <= kMaxVotingStateViews);
  Encoder out(64 + state.votes.size() * 72);
  out.u8(kVotingStateVersion);
  out.varint(state.view);
  out.varint(state.votes.size());
  for (const auto& [view, votes] : state.votes) {
    out.varint(view);
    encode_view_votes(out, votes);
  }
  out.boolean(state.justification.has_value());
  if (state.justification) encode_certificate(out, *state.justification);
  out.varint(state.blocks.size());
  for (const auto& [view, block] : state.blocks) {
    out.varint(view);
    out.bytes(block.encode());
  }
  return out.take();
}

Result<VotingState> decode_voting_state(ByteView bytes, const MessageLimits& limits) {
  Decoder in(bytes);
  VotingState state;
  in.expect_version(kVotingStateVersion, "voting state");
  state.view = in.varint();
  std::uint64_t vote_count = in.varint_at_most(kMaxVotingStateViews, "voted view count");
  std::optional<View> previous;
  for (std::uint64_t i = 0; i < vote_count && in.ok(); ++i) {
    View view = decode_view_key(in, previous, "voted");
    state.votes.emplace(view, decode_view_votes(in));
  }
  if (in.boolean()) state.justification = decode_certificate(in, limits, "justification");
  std::uint64_t block_count = in.varint_at_most(kMaxVotingStateViews, "voted block count");
  previous.reset();
  for (std::uint64_t i = 0; i < block_count && in.ok(); ++i) {
    View view = decode_view_key(in, previous, "voted block");
    state.blocks.emplace(view, decode_block(in, limits, "voted block"));
  }
  return finish(in, std::move(state), "voting state");
}

Bytes encode_finalized_entry(const FinalizedEntry& entry) {
  Encoder out(256 + entry.block.transactions.size() * 160);
  out.u8(kFinalizedEntryVersion);
  out.bytes(entry.block.encode());
  encode_certificate(out, entry.finalization);
  return out.take();
}

Result<FinalizedEntry> decode_finalized_entry(ByteView bytes, const MessageLimits& limits) {
  Decoder in(bytes);
  FinalizedEntry entry;
  in.expect_version(kFinalizedEntryVersion, "finalized entry");
  entry.block = decode_block(in, limits, "finalized block");
  entry.finalization = decode_certificate(in, limits, "finalization");
  return finish(in, std::move(entry), "finalized entry");
}

Bytes encode_anchor(const Anchor& anchor) {
  Encoder out(512);
  encode_anchor_fields(out, anchor);
  return out.take();
}

Result<Anchor> decode_anchor(ByteView bytes, const MessageLimits& limits) {
  Decoder in(bytes);
  Anchor anchor = decode_anchor_fields(in, limits);
  return finish(in, std::move(anchor), "anchor");
}

Bytes encode_snapshot(const StoredSnapshot& snapshot) {
  Encoder out(512 + snapshot.application_state.size());
  out.u8(kSnapshotVersion);
  encode_anchor_fields(out, snapshot.anchor);
  out.bytes(snapshot.application_state);
  return out.take();
}

Result<StoredSnapshot> decode_snapshot(ByteView bytes, const MessageLimits& limits) {
  Decoder in(bytes);
  StoredSnapshot snapshot;
  in.expect_version(kSnapshotVersion, "snapshot");
  snapshot.anchor = decode_anchor_fields(in, limits);
  snapshot.application_state = nested(in, "application state");
  return finish(in, std::move(snapshot), "snapshot");
}

namespace keys {
namespace {

std::string height_key(char prefix, consensus::Height height) {
  std::string key(9, '\0');
  key[0] = prefix;
  for (int i = 0; i < 8; ++i)
    key[static_cast<std::size_t>(8 - i)] = static_cast<char>(height >> (8 * i));
  return key;
}

}  // namespace

std::string block(consensus::Height height) {
  return height_key(kBlockPrefix, height);
}

std::string snapshot(consensus::Height height) {
  return height_key(kSnapshotPrefix, height);
}

std::string prefix_end(char prefix) {
  return std::string(1, static_cast<char>(prefix + 1));
}

std::optional<consensus::Height> height_of(std::string_view key, char prefix) {
  if (key.size() != 9 || key[0] != prefix) return std::nullopt;
  consensus::Height height = 0;
  for (std::size_t i = 1; i < 9; ++i) {
    height = (height << 8) | static_cast<std::uint8_t>(key[i]);
  }
  return height;
}

}  // namespace keys
}  // namespace ballast::storage
