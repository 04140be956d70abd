// The stored form of what storage keeps: canonical, versioned binary encodings of the voting
// state, finalized entries, anchors and snapshots, and the key schema they are stored under.
// Blocks and certificates nest their consensus encodings (Block::encode, encode_message), so a
// value has one encoding everywhere. Decoding checks every field against the message limits and
// the input it was given; it must never trust a stored length, and never touches a database.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "consensus/interfaces.h"

namespace ballast::storage {

// An application snapshot and the finalized block it was taken right after executing.
struct StoredSnapshot {
  consensus::Anchor anchor;  // anchor.block.height is the snapshot's height
  Bytes application_state;   // opaque: only the application reads it
  bool operator==(const StoredSnapshot&) const = default;
};

// A sanity bound on the views a voting state may hold (the replica keeps those at or above the
// last finalized view, so the count grows only while nothing finalizes).
inline constexpr std::size_t kMaxVotingStateViews = 1'000'000;

Bytes encode_voting_state(const consensus::VotingState& state);
Result<consensus::VotingState> decode_voting_state(ByteView bytes,
                                                   const consensus::MessageLimits& limits);

Bytes encode_finalized_entry(const consensus::FinalizedEntry& entry);
Result<consensus::FinalizedEntry> decode_finalized_entry(ByteView bytes,
                                                         const consensus::MessageLimits& limits);

Bytes encode_anchor(const consensus::Anchor& anchor);
Result<consensus::Anchor> decode_anchor(ByteView bytes, const consensus::MessageLimits& limits);

Bytes encode_snapshot(const StoredSnapshot& snapshot);
Result<StoredSnapshot> decode_snapshot(ByteView bytes, const consensus::MessageLimits& limits);

// The key schema. Heights are big-endian so that key order is height order.
namespace keys {

inline constexpr std::string_view kFormat = "f";       // the storage format version (one byte)
inline constexpr std::string_view kVotingState = "v";  // the replica's voting state
inline constexpr char kBlockPrefix = 'b';              // "b" + height: a finalized entry
inline constexpr char kSnapshotPrefix = 's';           // "s" + height: a stored snapshot

std::string block(consensus::Height height);
std::string snapshot(consensus::Height height);
// The first key after every key with this prefix.
std::string prefix_end(char prefix);
// The height in a key of the given prefix, or nothing if the key is not of that form.
std::optional<consensus::Height> height_of(std::string_view key, char prefix);

}  // namespace keys
}  // namespace ballast::storage
