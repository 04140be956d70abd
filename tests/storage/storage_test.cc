// RocksDB storage: what a replica and a node rely on after a restart. Values come back exactly
// as written, a restart resumes from the latest snapshot plus the blocks after it, pruning and
// state sync keep the chain a chain, and damaged or locked storage is a clear error.
#include "storage/rocks_storage.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "test_chain.h"

namespace ballast::storage {
namespace {

using consensus::FinalizedEntry;
using consensus::Height;
using testing::make_anchor;
using testing::make_chain;
using testing::make_entry;
using testing::make_snapshot;
using testing::make_voting_state;
using testing::same_entry;

StorageOptions retain(std::size_t blocks) {
  StorageOptions options;
  options.retain_blocks = blocks;
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<Height> heights_of(const std::vector<FinalizedEntry>& entries) {
  std::vector<Height> heights;
  for (const FinalizedEntry& entry : entries) heights.push_back(entry.block.height);
  return heights;
}

std::vector<Height> range(Height first, Height last) {
  std::vector<Height> heights;
  for (Height height = first; height <= last; ++height) heights.push_back(height);
  return heights;
}

// ---------------------------------------------------------------------------------------------
// Encodings.

TEST(StorageEncodingTest, VotingStateRoundTrips) {
  consensus::MessageLimits limits;
  for (const consensus::VotingState& state :
       {consensus::VotingState{}, make_voting_state(2), make_voting_state(1'000'000)}) {
    Result<consensus::VotingState> decoded =
        decode_voting_state(encode_voting_state(state), limits);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(decoded.value(), state);
  }
}

TEST(StorageEncodingTest, EntriesAnchorsAndSnapshotsRoundTrip) {
  consensus::MessageLimits limits;
  FinalizedEntry entry = make_entry(7, sha256(as_bytes("parent")));
  Result<FinalizedEntry> decoded_entry =
      decode_finalized_entry(encode_finalized_entry(entry), limits);
  ASSERT_TRUE(decoded_entry.is_ok()) << decoded_entry.status().to_string();
  EXPECT_TRUE(same_entry(decoded_entry.value(), entry));

  consensus::Anchor anchor = make_anchor(entry.block);
  Result<consensus::Anchor> decoded_anchor = decode_anchor(encode_anchor(anchor), limits);
  ASSERT_TRUE(decoded_anchor.is_ok()) << decoded_anchor.status().to_string();
  EXPECT_EQ(decoded_anchor.value(), anchor);

  StoredSnapshot snapshot = make_snapshot(entry.block);
  Result<StoredSnapshot> decoded_snapshot = decode_snapshot(encode_snapshot(snapshot), limits);
  ASSERT_TRUE(decoded_snapshot.is_ok()) << decoded_snapshot.status().to_string();
  EXPECT_EQ(decoded_snapshot.value(), snapshot);
}

TEST(StorageEncodingTest, DamagedBytesAreCorruption) {
  consensus::MessageLimits limits;
  Bytes encoded = encode_voting_state(make_voting_state(5));
  Bytes truncated(encoded.begin(), encoded.end() - 1);
  Bytes padded = encoded;
  padded.push_back(0);
  Bytes future = encoded;
  future[0] = 2;
  for (const Bytes& damaged : {truncated, padded, future}) {
    Result<consensus::VotingState> decoded = decode_voting_state(damaged, limits);
    ASSERT_FALSE(decoded.is_ok());
    EXPECT_EQ(decoded.status().code(), StatusCode::kCorruption);
    EXPECT_TRUE(contains(decoded.status().message(), "voting state"));
  }
}

TEST(StorageEncodingTest, BlockKeysSortInHeightOrder) {
  EXPECT_LT(keys::block(255), keys::block(256));
  EXPECT_LT(keys::block(1), keys::block(1ULL << 40));
  EXPECT_EQ(keys::height_of(keys::block(123'456'789), keys::kBlockPrefix), 123'456'789u);
  EXPECT_EQ(keys::height_of(keys::snapshot(5), keys::kBlockPrefix), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// The storage itself.

class RocksStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    directory_ = std::filesystem::temp_directory_path() /
                 ("ballast-storage-test-" + std::to_string(random()) + std::to_string(random()));
  }
  void TearDown() override {
    storage_.reset();
    std::filesystem::remove_all(directory_);
  }

  RocksStorage& open(StorageOptions options = {}) {
    storage_.reset();
    Result<std::unique_ptr<RocksStorage>> opened = RocksStorage::open(directory_, options);
    BALLAST_ASSERT_MSG(opened.is_ok(), opened.status().to_string().c_str());
    storage_ = std::move(opened).value();
    return *storage_;
  }
  void close() { storage_.reset(); }

  // Appends `count` blocks on top of what is stored and returns them.
  std::vector<FinalizedEntry> append(std::size_t count) {
    Hash256 parent = storage_->load_anchor() ? storage_->load_anchor()->block.hash() : Hash256{};
    if (storage_->last_height() > 0) {
      std::vector<FinalizedEntry> top =
          storage_->finalized_range(storage_->last_height(), 1, SIZE_MAX);
      if (!top.empty()) parent = top.back().block.hash();
    }
    std::vector<FinalizedEntry> chain = make_chain(storage_->last_height() + 1, parent, count);
    for (const FinalizedEntry& entry : chain) storage_->append_finalized({&entry, 1});
    return chain;
  }

  // Rewrites one stored value behind the storage's back, as a damaged disk would.
  void overwrite(const std::string& key, const std::string& value) {
    close();
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), directory_, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, value).ok());
  }

  std::filesystem::path directory_;
  std::unique_ptr<RocksStorage> storage_;
};

TEST_F(RocksStorageTest, FreshStorageStartsAtGenesis) {
  RocksStorage& storage = open();
  EXPECT_EQ(storage.load_voting_state(), consensus::VotingState{});
  EXPECT_EQ(storage.load_anchor(), std::nullopt);
  EXPECT_TRUE(storage.load_finalized().empty());
  EXPECT_EQ(storage.latest_snapshot(), std::nullopt);
  EXPECT_EQ(storage.first_height(), 0u);
  EXPECT_EQ(storage.last_height(), 0u);
}

TEST_F(RocksStorageTest, VotingStateSurvivesReopen) {
  open().persist_voting_state(make_voting_state(3));
  storage_->persist_voting_state(make_voting_state(9));
  EXPECT_EQ(open().load_voting_state(), make_voting_state(9));
}

// A node writes its votes and blocks unsynced and syncs before sending (node/synced_sender.h):
// the storage tells it which kind of sync is owed (the votes' hold messages back, the blocks'
// do not), and the writes read back like synced ones.
TEST_F(RocksStorageTest, UnsyncedConsensusWritesSayWhichSyncIsOwedAndReadBackAfterIt) {
  StorageOptions deferred;
  deferred.sync_consensus_writes = false;
  RocksStorage& storage = open(deferred);
  EXPECT_FALSE(storage.take_unsynced_writes().any());
  storage.persist_voting_state(make_voting_state(4));
  consensus::UnsyncedWrites owed = storage.take_unsynced_writes();
  EXPECT_TRUE(owed.voting_state);
  EXPECT_FALSE(owed.blocks);
  EXPECT_FALSE(storage.take_unsynced_writes().any());  // taken: owed once
  append(2);
  owed = storage.take_unsynced_writes();
  EXPECT_FALSE(owed.voting_state);
  EXPECT_TRUE(owed.blocks);
  ASSERT_TRUE(storage.sync_wal().is_ok());
  RocksStorage& reopened = open(deferred);
  EXPECT_EQ(reopened.load_voting_state(), make_voting_state(4));
  EXPECT_EQ(heights_of(reopened.load_finalized()), range(1, 2));
}

TEST_F(RocksStorageTest, SyncedConsensusWritesNeverOweASync) {
  RocksStorage& storage = open();
  storage.persist_voting_state(make_voting_state(4));
  append(1);
  EXPECT_FALSE(storage.take_unsynced_writes().any());
}

TEST_F(RocksStorageTest, FinalizedEntriesSurviveReopen) {
  open();
  std::vector<FinalizedEntry> chain = append(12);
  RocksStorage& storage = open();
  std::vector<FinalizedEntry> loaded = storage.load_finalized();
  ASSERT_EQ(loaded.size(), chain.size());
  for (std::size_t i = 0; i < chain.size(); ++i) EXPECT_TRUE(same_entry(loaded[i], chain[i]));
  EXPECT_EQ(storage.first_height(), 1u);
  EXPECT_EQ(storage.last_height(), 12u);
  // Appending continues where the reopened chain ends.
  append(1);
  EXPECT_EQ(storage.last_height(), 13u);
}

// What one certificate finalizes (a synced batch of blocks) is stored in one synced write.
TEST_F(RocksStorageTest, ABatchOfFinalizedBlocksIsAppendedWholeAndSurvivesReopen) {
  open();
  append(2);
  std::vector<FinalizedEntry> stored = storage_->load_finalized();
  std::vector<FinalizedEntry> batch = make_chain(3, stored.back().block.hash(), 6);
  storage_->append_finalized(batch);
  EXPECT_EQ(storage_->last_height(), 8u);
  RocksStorage& storage = open();
  std::vector<FinalizedEntry> loaded = storage.load_finalized();
  ASSERT_EQ(loaded.size(), 8u);
  for (std::size_t i = 0; i < batch.size(); ++i) EXPECT_TRUE(same_entry(loaded[2 + i], batch[i]));
  EXPECT_EQ(storage.last_height(), 8u);
}

// A batch that breaks the chain part-way aborts before anything of it is written.
TEST_F(RocksStorageTest, ABatchThatBreaksTheChainAbortsBeforeWriting) {
  open();
  std::vector<FinalizedEntry> chain = append(2);
  std::vector<FinalizedEntry> batch = make_chain(3, chain.back().block.hash(), 3);
  batch[2].block.parent = Hash256{};
  EXPECT_DEATH(storage_->append_finalized(batch), "extend the stored chain");
  EXPECT_EQ(open().last_height(), 2u);
}

TEST_F(RocksStorageTest, RestartResumesFromTheLatestSnapshotAndTheBlocksAfterIt) {
  open();
  std::vector<FinalizedEntry> chain = append(20);
  StoredSnapshot snapshot = make_snapshot(chain[11].block);  // height 12
  ASSERT_TRUE(storage_->save_snapshot(snapshot).is_ok());
  EXPECT_EQ(storage_->load_anchor(), snapshot.anchor);

  RocksStorage& storage = open();
  EXPECT_EQ(storage.latest_snapshot(), snapshot);
  EXPECT_EQ(storage.load_anchor(), snapshot.anchor);
  EXPECT_EQ(heights_of(storage.load_finalized()), range(13, 20));
  EXPECT_EQ(storage.first_height(), 1u);  // the default retention keeps everything here
  EXPECT_EQ(storage.last_height(), 20u);
}

TEST_F(RocksStorageTest, SnapshotsPruneBlocksBeyondRetentionAndKeepTheLatestTwo) {
  open(retain(5));
  std::vector<FinalizedEntry> chain = append(40);
  for (Height height : {10, 20, 30}) {
    ASSERT_TRUE(storage_->save_snapshot(make_snapshot(chain[height - 1].block)).is_ok());
  }
  EXPECT_EQ(storage_->first_height(), 25u);
  EXPECT_EQ(storage_->snapshot_heights(), (std::vector<Height>{20, 30}));
  EXPECT_EQ(storage_->snapshot_at(10), std::nullopt);
  EXPECT_EQ(storage_->snapshot_at(20), make_snapshot(chain[19].block));

  RocksStorage& storage = open(retain(5));
  EXPECT_EQ(storage.first_height(), 25u);
  EXPECT_EQ(storage.snapshot_heights(), (std::vector<Height>{20, 30}));
  EXPECT_TRUE(storage.finalized_range(24, 10, SIZE_MAX).empty());
  EXPECT_EQ(heights_of(storage.finalized_range(25, 100, SIZE_MAX)), range(25, 40));
  EXPECT_EQ(heights_of(storage.load_finalized()), range(31, 40));
}

TEST_F(RocksStorageTest, RetentionLongerThanTheChainPrunesNothing) {
  open(retain(100));
  std::vector<FinalizedEntry> chain = append(30);
  ASSERT_TRUE(storage_->save_snapshot(make_snapshot(chain[29].block)).is_ok());
  EXPECT_EQ(storage_->first_height(), 1u);
  EXPECT_TRUE(storage_->load_finalized().empty());
  EXPECT_EQ(storage_->last_height(), 30u);
}

TEST_F(RocksStorageTest, SnapshotsOfAnotherChainOrAnOlderHeightAreRefused) {
  open();
  std::vector<FinalizedEntry> chain = append(10);
  ASSERT_TRUE(storage_->save_snapshot(make_snapshot(chain[5].block)).is_ok());

  Status older = storage_->save_snapshot(make_snapshot(chain[3].block));
  EXPECT_EQ(older.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(older.message(), "older than the latest")) << older.message();

  consensus::Block foreign = testing::make_block(8, sha256(as_bytes("another chain")));
  Status other = storage_->save_snapshot(make_snapshot(foreign));
  EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(other.message(), "not the finalized block stored")) << other.message();

  Status beyond = storage_->save_snapshot(make_snapshot(testing::make_block(11, Hash256{})));
  EXPECT_EQ(beyond.code(), StatusCode::kFailedPrecondition);

  StoredSnapshot unfinalized = make_snapshot(chain[8].block);
  unfinalized.anchor.finalization.block = chain[7].block.hash();
  EXPECT_EQ(storage_->save_snapshot(unfinalized).code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(storage_->latest_snapshot(), make_snapshot(chain[5].block));
}

TEST_F(RocksStorageTest, FinalizedRangeHonoursCountAndBytes) {
  open();
  std::vector<FinalizedEntry> chain = append(10);
  EXPECT_EQ(heights_of(storage_->finalized_range(3, 4, SIZE_MAX)), range(3, 6));
  EXPECT_EQ(heights_of(storage_->finalized_range(9, 100, SIZE_MAX)), range(9, 10));
  std::size_t two_bytes =
      encode_finalized_entry(chain[2]).size() + encode_finalized_entry(chain[3]).size();
  EXPECT_EQ(heights_of(storage_->finalized_range(3, 100, two_bytes)), range(3, 4));
  EXPECT_EQ(heights_of(storage_->finalized_range(3, 100, two_bytes - 1)), range(3, 3));
  // One entry always travels, so a peer can make progress whatever the budget.
  EXPECT_EQ(heights_of(storage_->finalized_range(3, 100, 1)), range(3, 3));
  EXPECT_TRUE(storage_->finalized_range(3, 0, SIZE_MAX).empty());
  EXPECT_TRUE(storage_->finalized_range(0, 5, SIZE_MAX).empty());
  EXPECT_TRUE(storage_->finalized_range(11, 5, SIZE_MAX).empty());
  std::vector<FinalizedEntry> served = storage_->finalized_range(5, 1, SIZE_MAX);
  ASSERT_EQ(served.size(), 1u);
  EXPECT_TRUE(same_entry(served[0], chain[4]));
}

TEST_F(RocksStorageTest, InstallingOnEmptyStorageStartsTheChainAtTheSnapshot) {
  open().persist_voting_state(make_voting_state(70));
  std::vector<FinalizedEntry> remote = make_chain(1, Hash256{}, 52);
  StoredSnapshot snapshot = make_snapshot(remote[49].block);  // height 50
  ASSERT_TRUE(storage_->install_snapshot(snapshot).is_ok());
  EXPECT_EQ(storage_->last_height(), 50u);
  EXPECT_EQ(storage_->first_height(), 0u);
  EXPECT_TRUE(storage_->load_finalized().empty());
  storage_->append_finalized({&remote[50], 1});  // height 51 extends the snapshot

  RocksStorage& storage = open();
  EXPECT_EQ(storage.load_voting_state(), make_voting_state(70));
  EXPECT_EQ(storage.latest_snapshot(), snapshot);
  EXPECT_EQ(heights_of(storage.load_finalized()), range(51, 51));
  EXPECT_EQ(storage.first_height(), 51u);
}

TEST_F(RocksStorageTest, InstallingKeepsOnlyTheBlocksAboveThatChainOntoTheSnapshot) {
  open();
  std::vector<FinalizedEntry> chain = append(30);
  ASSERT_TRUE(storage_->save_snapshot(make_snapshot(chain[9].block)).is_ok());
  StoredSnapshot same_chain = make_snapshot(chain[19].block);
  ASSERT_TRUE(storage_->install_snapshot(same_chain).is_ok());
  EXPECT_EQ(storage_->snapshot_heights(), (std::vector<Height>{20}));
  EXPECT_EQ(storage_->first_height(), 21u);
  EXPECT_EQ(storage_->last_height(), 30u);
  EXPECT_TRUE(storage_->finalized_range(20, 1, SIZE_MAX).empty());

  // A snapshot of another chain drops every local block above it.
  std::vector<FinalizedEntry> other = make_chain(1, sha256(as_bytes("fork")), 25);
  StoredSnapshot foreign = make_snapshot(other[24].block);
  ASSERT_TRUE(storage_->install_snapshot(foreign).is_ok());
  EXPECT_EQ(storage_->first_height(), 0u);
  EXPECT_EQ(storage_->last_height(), 25u);

  RocksStorage& storage = open();
  EXPECT_EQ(storage.latest_snapshot(), foreign);
  EXPECT_TRUE(storage.load_finalized().empty());
  EXPECT_EQ(storage.last_height(), 25u);
}

TEST_F(RocksStorageTest, SecondOpenOfALockedDirectoryIsAClearError) {
  open();
  Result<std::unique_ptr<RocksStorage>> second = RocksStorage::open(directory_, {});
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(second.status().message(), "in use")) << second.status().message();
}

TEST_F(RocksStorageTest, CorruptVotingStateIsReported) {
  open().persist_voting_state(make_voting_state(4));
  overwrite(std::string(keys::kVotingState), "garbage");
  Result<std::unique_ptr<RocksStorage>> reopened = RocksStorage::open(directory_, {});
  ASSERT_FALSE(reopened.is_ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(contains(reopened.status().message(), "voting state")) << reopened.status().message();
}

TEST_F(RocksStorageTest, CorruptFinalizedBlockIsReported) {
  open();
  std::vector<FinalizedEntry> chain = append(8);
  Bytes encoded = encode_finalized_entry(chain[4]);
  overwrite(keys::block(5), std::string(encoded.begin(), encoded.end() - 3));
  Result<std::unique_ptr<RocksStorage>> reopened = RocksStorage::open(directory_, {});
  ASSERT_FALSE(reopened.is_ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(contains(reopened.status().message(), "finalized entry"))
      << reopened.status().message();
}

TEST_F(RocksStorageTest, ABlockThatBreaksTheChainIsReported) {
  open();
  append(8);
  Bytes stranger = encode_finalized_entry(make_entry(5, sha256(as_bytes("elsewhere"))));
  overwrite(keys::block(5), std::string(stranger.begin(), stranger.end()));
  Result<std::unique_ptr<RocksStorage>> reopened = RocksStorage::open(directory_, {});
  ASSERT_FALSE(reopened.is_ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(contains(reopened.status().message(), "does not extend"))
      << reopened.status().message();
}

TEST_F(RocksStorageTest, AnUnknownStorageFormatIsRefused) {
  open();
  append(2);
  overwrite(std::string(keys::kFormat), std::string(1, '\x07'));
  Result<std::unique_ptr<RocksStorage>> reopened = RocksStorage::open(directory_, {});
  ASSERT_FALSE(reopened.is_ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(reopened.status().message(), "unsupported storage format 7"))
      << reopened.status().message();
}

TEST_F(RocksStorageTest, ADirectoryThatCannotBeCreatedIsAnIoError) {
  std::filesystem::create_directories(directory_);
  std::filesystem::path file = directory_ / "not-a-directory";
  { std::ofstream(file) << "x"; }
  Result<std::unique_ptr<RocksStorage>> opened = RocksStorage::open(file / "chain", {});
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(opened.status().message(), "cannot open storage directory"))
      << opened.status().message();
}

TEST_F(RocksStorageTest, AppendingOutOfOrderAborts) {
  open();
  append(3);
  FinalizedEntry gap = make_entry(5, Hash256{});
  EXPECT_DEATH(storage_->append_finalized({&gap, 1}), "height order");
}

TEST_F(RocksStorageTest, GoingBackToAnEarlierViewAborts) {
  open().persist_voting_state(make_voting_state(8));
  EXPECT_DEATH(storage_->persist_voting_state(make_voting_state(7)), "earlier view");
}

}  // namespace
}  // namespace ballast::storage
