#include "fixtures.h"

#include <algorithm>

#include "base/assert.h"
#include "base/codec.h"

namespace ballast::consensus::testing {

Bytes bytes_of(const std::string& text) {
  ByteView view = as_bytes(text);
  return Bytes(view.begin(), view.end());
}

Hash256 test_secret(ValidatorIndex index) {
  return sha256(as_bytes("consensus-test-secret-" + std::to_string(index)));
}

ValidatorSet make_validators(const std::vector<Stake>& stakes) {
  std::vector<ValidatorInfo> validators;
  for (std::size_t i = 0; i < stakes.size(); ++i) {
    ValidatorInfo info;
    info.key.bytes = sha256(as_bytes("consensus-test-key-" + std::to_string(i))).bytes;
    info.stake = stakes[i];
    validators.push_back(info);
  }
  return ValidatorSet(std::move(validators));
}

Hash256 leader_seed(std::string_view chain_id) {
  return sha256(as_bytes("ballast-leaders:" + std::string(chain_id)));
}

Signature test_signature(ValidatorIndex index, const Hash256& digest, std::uint64_t nonce) {
  Hash256 secret = test_secret(index);
  Hash256 mac = Sha256().update(secret.bytes).update(digest.bytes).finish();
  Signature signature;
  std::copy(mac.bytes.begin(), mac.bytes.end(), signature.bytes.begin());
  for (int i = 0; i < 8; ++i) {
    signature.bytes[32 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(nonce >> (8 * i));
  }
  return signature;
}

Signature TestSigner::sign(const Hash256& digest) {
  signatures_made_ += 1;
  signed_digests_[digest] += 1;
  return test_signature(index_, digest, randomized_ ? signatures_made_ : 0);
}

int TestSigner::max_signatures_per_digest() const {
  int most = 0;
  for (const auto& [digest, count] : signed_digests_) most = std::max(most, count);
  return most;
}

bool TestVerifier::verify(ValidatorIndex signer, const Hash256& digest,
                          const Signature& signature) {
  checks_ += 1;
  if (signer >= validators_) return false;
  Signature expected = test_signature(signer, digest, 0);
  return std::equal(expected.bytes.begin(), expected.bytes.begin() + 32, signature.bytes.begin());
}

// --- storage ------------------------------------------------------------------------------------

void MemoryStorage::persist_voting_state(const VotingState& state) {
  std::uint64_t sequence = counter_->advance();
  latest_ = state;
  history_.push_back({sequence, state.view, state.votes});
  for (const auto& [view, votes] : state.votes) {
    if (votes.proposed) remember(-1, view, *votes.proposed, sequence);
    if (votes.notarized) {
      remember(static_cast<int>(VoteKind::kNotarize), view, *votes.notarized, sequence);
    }
    if (votes.nullified) remember(static_cast<int>(VoteKind::kNullify), view, Hash256{}, sequence);
    // A finalize vote's block is the notarized block of that view, which the voting state does
    // not name: record it under the zero hash.
    if (votes.finalized) remember(static_cast<int>(VoteKind::kFinalize), view, Hash256{}, sequence);
  }
}

void MemoryStorage::remember(int kind, View view, const Hash256& block, std::uint64_t sequence) {
  first_recorded_.emplace(Key{kind, view, block}, sequence);
}

void MemoryStorage::append_finalized(std::span<const FinalizedEntry> entries) {
  for (const FinalizedEntry& entry : entries) {
    if (!finalized_.empty()) {
      BALLAST_ASSERT(entry.block.height == finalized_.back().block.height + 1);
      BALLAST_ASSERT(entry.block.parent == finalized_.back().block.hash());
    }
    finalized_.push_back(entry);
  }
}

VotingState MemoryStorage::load_voting_state() {
  return latest_;
}

void MemoryStorage::install_anchor(Anchor anchor) {
  std::erase_if(finalized_, [&](const FinalizedEntry& entry) {
    return entry.block.height <= anchor.block.height;
  });
  anchor_ = std::move(anchor);
}

std::optional<std::uint64_t> MemoryStorage::first_recorded(std::optional<VoteKind> kind, View view,
                                                           const Hash256& block) const {
  int kind_key = kind ? static_cast<int>(*kind) : -1;
  Hash256 block_key = kind == VoteKind::kNotarize || !kind ? block : Hash256{};
  auto it = first_recorded_.find(Key{kind_key, view, block_key});
  if (it == first_recorded_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> MemoryStorage::voting_violations() const {
  std::vector<std::string> problems;
  std::map<View, Hash256> notarized;
  std::set<View> nullified;
  std::set<View> finalized;
  for (const Persisted& persisted : history_) {
    for (const auto& [view, votes] : persisted.votes) {
      if (votes.nullified && votes.finalized) {
        problems.push_back("state " + std::to_string(persisted.sequence) +
                           " holds nullify and finalize for view " + std::to_string(view));
      }
      if (votes.notarized) {
        auto [it, inserted] = notarized.emplace(view, *votes.notarized);
        if (!inserted && it->second != *votes.notarized) {
          problems.push_back("two notarized blocks persisted for view " + std::to_string(view));
        }
      }
      if (votes.nullified) nullified.insert(view);
      if (votes.finalized) finalized.insert(view);
    }
  }
  for (View view : nullified) {
    if (finalized.contains(view)) {
      problems.push_back("view " + std::to_string(view) +
                         " was persisted as nullified and, at another time, finalized");
    }
  }
  return problems;
}

// --- application --------------------------------------------------------------------------------

TestApplication::TestApplication(std::string salt) : salt_(std::move(salt)) {
  roots_[0] = genesis_hash();
}

Hash256 TestApplication::genesis_hash() {
  return sha256(as_bytes("consensus-test-app-genesis"));
}

void TestApplication::queue(const std::string& transaction) {
  queued_.push_back(bytes_of(transaction));
}

Status TestApplication::check_transaction(ByteView transaction) {
  if (Bytes(transaction.begin(), transaction.end()) == bytes_of("bad")) {
    return invalid_argument("the test application refuses \"bad\"");
  }
  return Status::ok();
}

namespace {

bool on_chain(const Bytes& transaction, std::span<const Block* const> pending,
              const std::set<Bytes>& executed) {
  if (executed.contains(transaction)) return true;
  for (const Block* block : pending) {
    if (std::find(block->transactions.begin(), block->transactions.end(), transaction) !=
        block->transactions.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<Bytes> TestApplication::build_payload(Height height,
                                                  std::span<const Block* const> pending,
                                                  std::size_t max_transactions) {
  BALLAST_ASSERT(height == executed_height_ + pending.size() + 1);
  std::vector<Bytes> payload;
  for (const Bytes& transaction : queued_) {
    if (payload.size() >= max_transactions) break;
    if (!on_chain(transaction, pending, executed_)) payload.push_back(transaction);
  }
  if (include_bad_ && payload.size() < max_transactions) payload.push_back(bytes_of("bad"));
  payloads_built_ += 1;
  if (!marker_.empty() && payload.size() < max_transactions) {
    payload.push_back(bytes_of(marker_ + std::to_string(payloads_built_)));
  }
  return payload;
}

Status TestApplication::verify_payload(Height height, std::span<const Bytes> transactions,
                                       std::span<const Block* const> pending) {
  BALLAST_ASSERT(height == executed_height_ + pending.size() + 1);
  std::set<Bytes> seen;
  for (const Bytes& transaction : transactions) {
    BALLAST_RETURN_IF_ERROR(check_transaction(transaction));
    if (on_chain(transaction, pending, executed_) || !seen.insert(transaction).second) {
      return invalid_argument("transaction already included");
    }
  }
  return Status::ok();
}

Hash256 TestApplication::execute(const Block& block) {
  BALLAST_ASSERT(block.height == executed_height_ + 1);
  Hash256 hash = block.hash();
  Hash256 root = Sha256()
                     .update(as_bytes(salt_))
                     .update(roots_.at(executed_height_).bytes)
                     .update(hash.bytes)
                     .finish();
  executed_height_ = block.height;
  roots_[executed_height_] = root;
  for (const Bytes& transaction : block.transactions) {
    executed_.insert(transaction);
    std::erase(queued_, transaction);
  }
  return root;
}

std::optional<Hash256> TestApplication::root_at(Height height) const {
  auto it = roots_.find(height);
  if (it == roots_.end()) return std::nullopt;
  return it->second;
}

Bytes TestApplication::snapshot() const {
  Encoder out;
  out.varint(executed_height_);
  out.raw(roots_.at(executed_height_).bytes);
  return out.take();
}

Status TestApplication::restore(ByteView snapshot) {
  Decoder in(snapshot);
  Height height = in.varint();
  Hash256 root;
  in.raw(root.bytes);
  BALLAST_RETURN_IF_ERROR(in.finish());
  executed_height_ = height;
  roots_.clear();
  roots_[height] = root;
  return Status::ok();
}

// --- chain builder ------------------------------------------------------------------------------

ChainBuilder::ChainBuilder(const std::vector<Stake>& stakes, std::string chain_id,
                           View inactivity_views)
    : chain_id_(std::move(chain_id)),
      validators_(make_validators(stakes)),
      schedule_(validators_, leader_seed(chain_id_), inactivity_views),
      genesis_(genesis_block(TestApplication::genesis_hash())) {
  records_.emplace(genesis_.hash(), schedule_.genesis_record());
}

ValidatorIndex ChainBuilder::leader(View view, const Block& parent) const {
  return schedule_.leader(view, records_.at(parent.hash()));
}

Block ChainBuilder::child(const Block& parent, View view, std::vector<Bytes> transactions) {
  Block block;
  block.view = view;
  block.height = parent.height + 1;
  block.parent = parent.hash();
  block.parent_view = parent.view;
  block.proposer = leader(view, parent);
  block.timestamp_ms = parent.timestamp_ms;
  block.state_root_height = 0;
  block.state_root = TestApplication::genesis_hash();
  block.transactions = std::move(transactions);
  remember(block);
  return block;
}

void ChainBuilder::remember(const Block& block) {
  const ActivityRecord& parent = records_.at(block.parent);
  records_[block.hash()] = schedule_.extend(parent, block.parent_view, block.view, block.proposer);
}

Proposal ChainBuilder::propose(const Block& block) const {
  return Proposal{block, test_signature(block.proposer, proposal_digest(chain_id_, block.hash()))};
}

Vote ChainBuilder::vote(VoteKind kind, View view, const Hash256& block, ValidatorIndex signer,
                        std::uint64_t nonce) const {
  return Vote{kind, view, block, signer,
              test_signature(signer, vote_digest(chain_id_, kind, view, block), nonce)};
}

Certificate ChainBuilder::certificate(VoteKind kind, View view, const Hash256& block,
                                      const std::vector<ValidatorIndex>& signers) const {
  Certificate certificate{kind, view, block, {}};
  for (ValidatorIndex signer : signers) {
    certificate.signatures.push_back(
        {signer, test_signature(signer, vote_digest(chain_id_, kind, view, block))});
  }
  return certificate;
}

}  // namespace ballast::consensus::testing
