// Durability under kill -9. A child process extends a stored chain and reports each call only
// after it returned (and, writing the way a node does, after the sync that followed it); the
// test kills it at varying points, reopens the directory and checks that everything reported is
// there and that the stored chain is still one consistent chain.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>

#include "storage/rocks_storage.h"
#include "test_chain.h"

namespace ballast::storage {
namespace {

using consensus::FinalizedEntry;
using consensus::Height;
using consensus::View;

constexpr Height kRetainBlocks = 8;
constexpr Height kSnapshotInterval = 10;

// The highest values the child reported as returned.
struct Reports {
  std::size_t count = 0;
  Height block = 0;
  View view = 0;
  Height snapshot = 0;
};

class ChildProcess {
 public:
  ChildProcess(const std::filesystem::path& directory, const std::string& sync) {
    std::vector<std::string> args = {BALLAST_STORAGE_CRASH_CHILD, directory.string(),
                                     std::to_string(kRetainBlocks),
                                     std::to_string(kSnapshotInterval), sync};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int fds[2];
    BALLAST_ASSERT(pipe2(fds, O_CLOEXEC) == 0);
    pid_ = fork();
    BALLAST_ASSERT(pid_ >= 0);
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      dup2(fds[1], STDOUT_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~ChildProcess() {
    if (pid_ > 0) kill_and_drain();
    close(fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads reports until `count` have arrived; false if the child stops or the time runs out.
  bool wait_for_reports(std::size_t count, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (reports_.count < count) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd readable{fd_, POLLIN, 0};
      if (poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
      if (!read_some()) return false;
    }
    return true;
  }

  // SIGKILL, reap, then take in whatever it reported before it died. True if the kill did it.
  bool kill_and_drain() {
    kill(pid_, SIGKILL);
    int status = 0;
    BALLAST_ASSERT(waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    while (read_some()) {
    }
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

  const Reports& reports() const { return reports_; }

 private:
  // Reads one chunk and parses its complete lines; false at end of stream.
  bool read_some() {
    char buffer[4096];
    ssize_t got = read(fd_, buffer, sizeof buffer);
    if (got <= 0) return false;
    pending_.append(buffer, static_cast<std::size_t>(got));
    std::size_t end;
    while ((end = pending_.find('\n')) != std::string::npos) {
      parse(pending_.substr(0, end));
      pending_.erase(0, end + 1);
    }
    return true;
  }

  void parse(const std::string& line) {
    BALLAST_ASSERT(line.size() > 2);
    std::uint64_t value = std::stoull(line.substr(2));
    reports_.count += 1;
    if (line[0] == 'b') reports_.block = value;
    if (line[0] == 'v') reports_.view = value;
    if (line[0] == 's') reports_.snapshot = value;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string pending_;  // at most one partial line
  Reports reports_;
};

class StorageCrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::random_device random;
    directory_ = std::filesystem::temp_directory_path() /
                 ("ballast-storage-crash-" + std::to_string(random()) + std::to_string(random()));
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  // Everything the child reported is stored, and what is stored is one chain from the latest
  // snapshot (or genesis) up, as the child wrote it.
  void check_recovered(const Reports& reported, Height& previous_last) {
    StorageOptions options;
    options.retain_blocks = kRetainBlocks;
    Result<std::unique_ptr<RocksStorage>> opened = RocksStorage::open(directory_, options);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    RocksStorage& storage = *opened.value();

    EXPECT_GE(storage.last_height(), reported.block);
    EXPECT_GE(storage.last_height(), previous_last);
    previous_last = storage.last_height();
    consensus::VotingState voting = storage.load_voting_state();
    EXPECT_GE(voting.view, reported.view);
    if (voting.view > 0) {
      EXPECT_EQ(voting, testing::make_voting_state(voting.view));
    }

    std::vector<FinalizedEntry> stored =
        storage.finalized_range(storage.first_height(), SIZE_MAX, SIZE_MAX);
    ASSERT_FALSE(stored.empty());
    EXPECT_EQ(stored.back().block.height, storage.last_height());
    for (std::size_t i = 1; i < stored.size(); ++i) {
      EXPECT_EQ(stored[i].block.height, stored[i - 1].block.height + 1);
      EXPECT_EQ(stored[i].block.parent, stored[i - 1].block.hash());
    }
    check_snapshot(storage, reported, stored);
  }

  void check_snapshot(RocksStorage& storage, const Reports& reported,
                      const std::vector<FinalizedEntry>& stored) {
    std::optional<StoredSnapshot> snapshot = storage.latest_snapshot();
    if (!snapshot) {
      EXPECT_EQ(reported.snapshot, 0u);
      EXPECT_EQ(stored.front().block.height, 1u);
      return;
    }
    Height height = snapshot->anchor.block.height;
    EXPECT_GE(height, reported.snapshot);
    EXPECT_EQ(storage.first_height(), std::max<Height>(1, height - kRetainBlocks));
    const FinalizedEntry& at_snapshot = stored[height - storage.first_height()];
    EXPECT_EQ(*snapshot, testing::make_snapshot(at_snapshot.block));
    std::vector<FinalizedEntry> replay = storage.load_finalized();
    EXPECT_EQ(replay.size(), storage.last_height() - height);
    if (!replay.empty()) {
      EXPECT_EQ(replay.front().block.parent, at_snapshot.block.hash());
    }
  }

  std::filesystem::path directory_;
};

TEST_P(StorageCrashTest, KillNineLosesNothingThatReturned) {
  std::mt19937 random(20'240'601);  // fixed, so that a failure reproduces
  Height previous_last = 0;
  for (int iteration = 0; iteration < 6; ++iteration) {
    Reports reported;
    {
      ChildProcess child(directory_, GetParam());
      std::size_t kill_after = 2 + random() % 100;
      ASSERT_TRUE(child.wait_for_reports(kill_after, std::chrono::seconds(60)))
          << "the child stopped after " << child.reports().count << " reports";
      ASSERT_TRUE(child.kill_and_drain());
      reported = child.reports();
    }
    check_recovered(reported, previous_last);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(previous_last, kSnapshotInterval);
}

TEST_F(StorageCrashTest, AnotherProcessHoldingTheDirectoryIsAClearError) {
  ChildProcess child(directory_, "synced");
  ASSERT_TRUE(child.wait_for_reports(1, std::chrono::seconds(60)));  // it has opened
  Result<std::unique_ptr<RocksStorage>> opened = RocksStorage::open(directory_, {});
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("in use by another process"), std::string::npos)
      << opened.status().message();
}

// As RocksStorage syncs on its own, and as a node uses it (docs/STORAGE.md).
INSTANTIATE_TEST_SUITE_P(Writes, StorageCrashTest, ::testing::Values("synced", "deferred"));

}  // namespace
}  // namespace ballast::storage
