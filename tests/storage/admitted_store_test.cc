// The record of acknowledged transactions: what is kept survives a reopen, changes apply in the
// order they happened, and damage is reported rather than served.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <random>

#include "storage/admitted_store.h"

namespace ballast::storage {
namespace {

Bytes transaction(std::uint8_t seed) {
  return Bytes{seed, static_cast<std::uint8_t>(seed + 1), 0x42};
}

AdmittedChange keep(const Bytes& bytes) {
  return {sha256(bytes), bytes};
}

AdmittedChange forget(const Bytes& bytes) {
  return {sha256(bytes), std::nullopt};
}

class AdmittedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    directory_ = std::filesystem::temp_directory_path() /
                 ("ballast-admitted-test-" + std::to_string(random()) + std::to_string(random()));
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(directory_);
  }
  AdmittedStore& open() {
    store_.reset();
    auto opened = AdmittedStore::open(directory_.string());
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    store_ = std::move(opened).value();
    return *store_;
  }
  std::vector<Bytes> load() {
    auto loaded = store_->load();
    EXPECT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    return loaded.is_ok() ? *loaded : std::vector<Bytes>{};
  }

  std::filesystem::path directory_;
  std::unique_ptr<AdmittedStore> store_;
};

TEST_F(AdmittedStoreTest, KeptTransactionsSurviveAReopenAndForgottenOnesDoNot) {
  Bytes a = transaction(1), b = transaction(2), c = transaction(3);
  std::vector<AdmittedChange> changes = {keep(a), keep(b), keep(c), forget(b)};
  ASSERT_TRUE(open().write(changes).is_ok());
  open();
  std::vector<Bytes> loaded = load();
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_NE(std::find(loaded.begin(), loaded.end(), a), loaded.end());
  EXPECT_NE(std::find(loaded.begin(), loaded.end(), c), loaded.end());
}

TEST_F(AdmittedStoreTest, ChangesApplyInTheOrderTheyHappened) {
  Bytes a = transaction(1), b = transaction(2);
  // Forgotten then acknowledged again (a resubmission): kept. Kept then forgotten: gone.
  std::vector<AdmittedChange> changes = {keep(a), forget(a), keep(a), keep(b), forget(b)};
  ASSERT_TRUE(open().write(changes).is_ok());
  EXPECT_EQ(load(), std::vector<Bytes>{a});
}

TEST_F(AdmittedStoreTest, AValueThatDoesNotHashToItsKeyIsReportedAsCorruption) {
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, directory_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    Hash256 wrong = sha256(transaction(9));
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(),
                        rocksdb::Slice(reinterpret_cast<const char*>(wrong.bytes.data()), 32),
                        "not that transaction")
                    .ok());
  }
  auto loaded = open().load();
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
}

TEST_F(AdmittedStoreTest, ASecondHolderOfTheDirectoryIsRefused) {
  open();
  auto second = AdmittedStore::open(directory_.string());
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ballast::storage
