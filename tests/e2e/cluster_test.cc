// Real validator processes on loopback: finalization, crashes, restarts, leader loss and state
// sync. Conditions are awaited with generous timeouts; the Localnet kills its processes on
// every exit path.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "localnet.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;

const std::vector<std::size_t> kAll{0, 1, 2, 3};

std::string as_body(const Bytes& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<std::size_t> all_but(std::size_t excluded) {
  std::vector<std::size_t> rest;
  for (std::size_t i : kAll) {
    if (i != excluded) rest.push_back(i);
  }
  return rest;
}

std::uint64_t max_height(const Localnet& net, const std::vector<std::size_t>& validators) {
  std::uint64_t best = 0;
  for (std::size_t i : validators) best = std::max(best, net.height(i));
  return best;
}

// Submits signed transfers round-robin to the given validators until stopped (bounded by count).
class Load {
 public:
  Load(const Localnet& net, std::vector<std::size_t> targets, std::size_t max_transactions)
      : thread_([this, &net, targets, max_transactions] {
          TransferSource source(net);
          for (std::size_t i = 0; i < max_transactions && !stop_; ++i) {
            // Each trader's transactions go to one validator, so its nonces arrive in order.
            std::size_t target = targets[(i % net.traders()) % targets.size()];
            HttpReply reply =
                http_request(net.api_port(target), "POST", "/v1/tx", as_body(source.next()));
            if (reply.status == 202) accepted_ += 1;
            std::this_thread::sleep_for(5ms);
          }
        }) {}
  ~Load() {
    stop_ = true;
    thread_.join();
  }
  std::size_t accepted() const { return accepted_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

TEST(LocalnetTest, FourValidatorsFinalizeSubmittedTransactionsAndAgree) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s)) << net.log(0);
  TransferSource source(net);
  std::vector<Bytes> sent;
  for (std::size_t i = 0; i < 200; ++i) {
    sent.push_back(source.next());
    std::size_t target = (i % net.traders()) % kAll.size();
    HttpReply reply = http_request(net.api_port(target), "POST", "/v1/tx", as_body(sent.back()));
    ASSERT_EQ(reply.status, 202u) << reply.body.dump();
    EXPECT_EQ(reply.body["status"], "accepted");
  }
  ASSERT_TRUE(wait_until(
      [&] {
        for (std::size_t i : kAll) {
          auto status = net.status(i);
          if (!status || (*status)["transactions_finalized"].get<std::uint64_t>() < sent.size() ||
              (*status)["mempool_transactions"].get<std::uint64_t>() != 0) {
            return false;
          }
        }
        return true;
      },
      120s));
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kAll); }, 30s));
  // A finalized transaction sent again is refused, with the reason.
  HttpReply replay = http_request(net.api_port(1), "POST", "/v1/tx", as_body(sent.front()));
  EXPECT_EQ(replay.status, 409u) << replay.body.dump();
  EXPECT_EQ(replay.body["status"], "rejected");
  EXPECT_NE(replay.body["reason"].get<std::string>().find("nonce"), std::string::npos);
  // Garbage is refused with a reason and changes nothing.
  HttpReply garbage = http_request(net.api_port(2), "POST", "/v1/tx", "not a transaction");
  EXPECT_EQ(garbage.status, 400u);
  EXPECT_EQ(garbage.body["status"], "rejected");
}

TEST(LocalnetTest, AKilledValidatorUnderLoadCatchesUpToTheSameRoot) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s));
  Load load(net, {0, 1, 2}, 5'000);
  net.kill(3);
  std::uint64_t before = max_height(net, all_but(3));
  ASSERT_TRUE(net.wait_for_height(all_but(3), before + 30, 120s));
  net.start(3);
  ASSERT_TRUE(wait_until([&] { return net.height(3) >= max_height(net, all_but(3)) - 2; }, 120s))
      << net.log(3);
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kAll); }, 30s));
  EXPECT_GT(load.accepted(), 0u);
}

TEST(LocalnetTest, FinalizationContinuesWhileTheLeaderIsKilledRepeatedly) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s));
  for (int round = 0; round < 3; ++round) {
    auto status = net.status(0);
    ASSERT_TRUE(status);
    auto leader = (*status)["leader"].get<std::size_t>();
    net.kill(leader);
    std::vector<std::size_t> live = all_but(leader);
    std::uint64_t before = max_height(net, live);
    EXPECT_TRUE(net.wait_for_height(live, before + 10, 60s)) << "round " << round << "\n"
                                                             << net.describe();
    net.start(leader);
    EXPECT_TRUE(net.wait_for_height({leader}, before + 10, 60s)) << net.log(leader);
  }
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kAll); }, 30s));
}

TEST(LocalnetTest, StoppingEveryValidatorLosesNoFinalizedBlock) {
  Localnet net(4);
  net.start();
  Load load(net, kAll, 2'000);
  ASSERT_TRUE(net.wait_for_height(kAll, 20, 60s));
  std::vector<std::uint64_t> before;
  for (std::size_t i : kAll) before.push_back(net.height(i));
  net.kill_all();
  net.start();
  for (std::size_t i : kAll) {
    ASSERT_TRUE(wait_until([&] { return net.status(i).has_value(); }, 60s)) << net.log(i);
    EXPECT_GE(net.height(i), before[i]) << "validator " << i << " lost finalized blocks";
  }
  std::uint64_t resumed = max_height(net, kAll) + 10;
  EXPECT_TRUE(net.wait_for_height(kAll, resumed, 60s));
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kAll); }, 30s));
  for (std::size_t i : kAll) {
    auto status = net.status(i);
    ASSERT_TRUE(status);
    EXPECT_EQ((*status)["evidence"], 0) << "validator " << i << " saw equivocation";
    EXPECT_TRUE((*status)["divergence"].is_null());
  }
}

// Regression: a validator's mempool lived only in memory, so a validator killed before it
// gossiped the transactions it had acknowledged took them along (chaos leader-crash lost two).
// With three of four validators down nothing can finalize or spread, so only validator 0 ever
// holds these transactions when it is killed.
TEST(LocalnetTest, TransactionsAValidatorAcknowledgedSurviveItsCrash) {
  Localnet net(4);
  net.start();
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s));
  for (std::size_t i : {1, 2, 3}) net.kill(i);
  TransferSource source(net);
  std::vector<std::string> hashes;
  for (std::size_t i = 0; i < 20; ++i) {
    HttpReply reply = http_request(net.api_port(0), "POST", "/v1/tx", as_body(source.next()));
    ASSERT_EQ(reply.status, 202u) << reply.body.dump();
    hashes.push_back(reply.body["hash"].get<std::string>());
  }
  net.kill(0);
  net.start();
  auto finalized_everywhere = [&] {
    for (const std::string& hash : hashes) {
      for (std::size_t i : kAll) {
        HttpReply reply = http_request(net.api_port(i), "GET", "/v1/tx/" + hash);
        if (reply.status != 200 || reply.body["status"] != "finalized") return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(wait_until(finalized_everywhere, 120s)) << net.describe() << net.log(0);
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kAll); }, 30s));
  // Settled transactions leave the record.
  EXPECT_TRUE(wait_until(
      [&] {
        auto status = net.status(0);
        return status && (*status)["journaled_transactions"] == 0;
      },
      30s));
}

// A validator whose state goes wrong (here: its roots, from height 30 on, through the test-only
// flag) sees a certified root differ from its own, stops voting and says why, fetches a peer's
// snapshot and rejoins with the others' roots.
TEST(LocalnetTest, AValidatorWhoseStateDivergesStopsVotingAndResynchronizes) {
  Localnet net(4,
               [](nlohmann::json& config) { config["storage"]["snapshot_interval_blocks"] = 20; });
  for (std::size_t i : {0, 1, 2}) net.start(i);
  net.start(3, {"--test-corrupt-state-at-height", "30"});
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s)) << net.describe();
  Load load(net, {0, 1, 2}, 2'000);
  ASSERT_TRUE(wait_until(
      [&] { return net.log(3).find("installed the snapshot") != std::string::npos; }, 120s))
      << net.log(3);
  EXPECT_NE(net.log(3).find("state diverged, not voting"), std::string::npos) << net.log(3);
  ASSERT_TRUE(wait_until([&] { return net.height(3) + 2 >= max_height(net, all_but(3)); }, 120s))
      << net.log(3);
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kAll); }, 30s));
  auto status = net.status(3);
  ASSERT_TRUE(status);
  EXPECT_TRUE((*status)["divergence"].is_null()) << status->dump();
}

TEST(LocalnetTest, AValidatorDownPastThePrunedHistoryCatchesUpThroughStateSync) {
  Localnet net(4, [](nlohmann::json& config) {
    config["storage"]["snapshot_interval_blocks"] = 20;
    config["storage"]["retain_blocks"] = 20;
  });
  net.start();
  ASSERT_TRUE(net.wait_for_height(kAll, 2, 60s));
  net.kill(3);
  Load load(net, {0, 1, 2}, 1'000);
  std::uint64_t before = max_height(net, all_but(3));
  ASSERT_TRUE(net.wait_for_height(all_but(3), before + 80, 120s));
  net.start(3);
  ASSERT_TRUE(wait_until([&] { return net.height(3) + 2 >= max_height(net, all_but(3)); }, 120s))
      << net.log(3);
  EXPECT_NE(net.log(3).find("installed the snapshot"), std::string::npos) << net.log(3);
  EXPECT_TRUE(wait_until([&] { return net.roots_agree(kAll); }, 30s));
}

// A child process that runs `argv` and is killed when this object goes, whatever the outcome.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv) {
    std::vector<char*> pointers;
    for (std::string& argument : argv) pointers.push_back(argument.data());
    pointers.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execv(pointers[0], pointers.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Whether it has exited (reaping it), without waiting.
  bool exited() {
    if (reaped_) return true;
    reaped_ = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
    return reaped_;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Scratch localnets start their validators with --exit-with the command's pid, so that a command
// that is killed or aborts leaves none behind (one aborted `bench cluster` left four running).
TEST(ExitWithTest, AValidatorStopsOnceTheProcessItWatchesHasExited) {
  Localnet net(1);
  ChildProcess watched({"/bin/sleep", "60"});
  ASSERT_GT(watched.pid(), 0);
  ChildProcess node({BALLAST_BINARY, "node", "--config",
                     net.directory() + "/validator-0/config.json", "--exit-with",
                     std::to_string(watched.pid())});
  ASSERT_TRUE(wait_until(
      [&] { return http_request(net.api_port(0), "GET", "/v1/status").status == 200; }, 60s))
      << "the validator started";
  EXPECT_FALSE(node.exited());
  ::kill(watched.pid(), SIGKILL);
  EXPECT_TRUE(wait_until([&] { return node.exited(); }, 30s)) << "it stopped by itself";
}

}  // namespace
}  // namespace ballast::e2e
