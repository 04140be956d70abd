// The admission journal: an acknowledgement is sent only once its transaction is on disk, the
// record outlives the process, and a journal whose writer is behind says so before it would
// have to queue without bound.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <random>

#include "node/admission_journal.h"

namespace ballast::node {
namespace {

using namespace std::chrono_literals;

Bytes transaction(std::uint8_t seed) {
  return Bytes{seed, 7, 7};
}

class AdmissionJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    directory_ = std::filesystem::temp_directory_path() /
                 ("ballast-journal-test-" + std::to_string(random()) + std::to_string(random()));
    reopen_store();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(directory_);
  }
  void reopen_store() {
    store_.reset();
    auto opened = storage::AdmittedStore::open(directory_.string());
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    store_ = std::move(opened).value();
  }
  std::unique_ptr<AdmissionJournal> open_journal(std::size_t capacity = 16) {
    auto opened = AdmissionJournal::open(*store_, capacity);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    return std::move(opened).value();
  }
  bool stored(const Bytes& bytes) {
    auto loaded = store_->load();
    EXPECT_TRUE(loaded.is_ok());
    return std::find(loaded->begin(), loaded->end(), bytes) != loaded->end();
  }

  std::filesystem::path directory_;
  std::unique_ptr<storage::AdmittedStore> store_;
};

TEST_F(AdmissionJournalTest, AnAcknowledgementIsSentOnlyOnceItsTransactionIsStored) {
  auto journal = open_journal();
  Bytes tx = transaction(1);
  std::promise<bool> acknowledged;
  journal->record(sha256(tx), tx);
  journal->acknowledge_after([&] { acknowledged.set_value(stored(tx)); });
  auto answer = acknowledged.get_future();
  EXPECT_EQ(answer.wait_for(200ms), std::future_status::timeout) << "acknowledged before commit";
  journal->commit();
  ASSERT_EQ(answer.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(answer.get()) << "acknowledged before the record was durable";
}

TEST_F(AdmissionJournalTest, TheRecordOutlivesTheJournalAndForgottenTransactionsLeaveIt) {
  Bytes kept = transaction(1), settled = transaction(2);
  {
    auto journal = open_journal();
    journal->record(sha256(kept), kept);
    journal->record(sha256(settled), settled);
    journal->commit();
    journal->forget(sha256(settled));
    journal->forget(sha256(transaction(3)));  // never recorded: ignored
  }                                           // the destructor writes what is left
  auto journal = open_journal();
  ASSERT_EQ(journal->recorded().size(), 1u);
  EXPECT_EQ(journal->recorded().at(sha256(kept)), kept);
}

TEST_F(AdmissionJournalTest, ABatchAnswerWaitsForTheTransactionsRecordedBeforeIt) {
  auto journal = open_journal();
  Bytes a = transaction(1), b = transaction(2);
  journal->record(sha256(a), a);
  journal->record(sha256(b), b);
  std::promise<bool> answered;
  journal->acknowledge_after([&] { answered.set_value(stored(a) && stored(b)); });
  journal->commit();
  auto answer = answered.get_future();
  ASSERT_EQ(answer.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(answer.get());
}

TEST_F(AdmissionJournalTest, AJournalWhoseWriterIsBehindHasNoRoomUntilItCatchesUp) {
  auto journal = open_journal(/*capacity=*/1);
  // The writer is held inside the first acknowledgement; the next commit fills the queue.
  std::promise<void> writer_busy, release;
  std::shared_future<void> released = release.get_future().share();
  Bytes first = transaction(1), second = transaction(2);
  journal->record(sha256(first), first);
  journal->acknowledge_after([&, released] {
    writer_busy.set_value();
    released.wait();
  });
  journal->commit();
  writer_busy.get_future().wait();
  std::promise<void> second_acknowledged;
  journal->record(sha256(second), second);
  journal->acknowledge_after([&] { second_acknowledged.set_value(); });
  journal->commit();
  EXPECT_FALSE(journal->has_room());
  // Forgetting needs no room: it waits for a later commit, still after the record it undoes.
  journal->forget(sha256(second));
  journal->commit();
  release.set_value();
  ASSERT_EQ(second_acknowledged.get_future().wait_for(30s), std::future_status::ready);
  ASSERT_TRUE([&] {
    for (int i = 0; i < 300 && !journal->has_room(); ++i) std::this_thread::sleep_for(10ms);
    return journal->has_room();
  }());
  Bytes fourth = transaction(4);
  std::promise<void> fourth_acknowledged;
  journal->record(sha256(fourth), fourth);
  journal->acknowledge_after([&] { fourth_acknowledged.set_value(); });
  journal->commit();
  ASSERT_EQ(fourth_acknowledged.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(stored(first));
  EXPECT_FALSE(stored(second));
  EXPECT_TRUE(stored(fourth));
}

}  // namespace
}  // namespace ballast::node
