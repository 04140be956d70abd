// The cluster benchmark's peak search, over scripted levels: it climbs while rates are sustained,
// gives a level that falls short a second run before it counts, tries halfway once, and reports
// the highest finalized rate of a sustained level.
#include "cli/bench_cluster.h"

#include <gtest/gtest.h>

#include <deque>

namespace ballast::cli {
namespace {

// Plays back outcomes in order and records the rates offered.
struct ScriptedLevels {
  std::deque<SearchOutcome> outcomes;
  std::vector<double> offered;

  Result<SearchOutcome> run(double rate) {
    offered.push_back(rate);
    if (outcomes.empty()) return failed_precondition("unscripted level");
    SearchOutcome next = outcomes.front();
    outcomes.pop_front();
    return next;
  }
};

TEST(BenchClusterSearchTest, ClimbsUntilARateFailsTwiceThenTriesHalfway) {
  ScriptedLevels levels;
  levels.outcomes = {{true, 99}, {true, 129}, {false, 150}, {false, 151}, {true, 145}};
  auto peak = search_peak(1'000, [&](double rate) { return levels.run(rate); });
  ASSERT_TRUE(peak.is_ok()) << peak.status().to_string();
  EXPECT_DOUBLE_EQ(*peak, 145);
  ASSERT_EQ(levels.offered.size(), 5u);
  EXPECT_DOUBLE_EQ(levels.offered[0], 100);
  EXPECT_DOUBLE_EQ(levels.offered[1], 130);
  EXPECT_DOUBLE_EQ(levels.offered[2], 169);
  EXPECT_DOUBLE_EQ(levels.offered[3], 169) << "a level that falls short runs once more";
  EXPECT_DOUBLE_EQ(levels.offered[4], (130.0 + 169.0) / 2);
}

// Regression: one disturbed first level ended the search with "sustained none of the offered
// rates".
TEST(BenchClusterSearchTest, ADisturbedLevelDoesNotEndTheSearch) {
  ScriptedLevels levels;
  levels.outcomes = {{false, 50},  {true, 99},   {false, 100},
                     {false, 110}, {false, 112}, {false, 113}};
  auto peak = search_peak(1'000, [&](double rate) { return levels.run(rate); });
  ASSERT_TRUE(peak.is_ok()) << peak.status().to_string();
  EXPECT_DOUBLE_EQ(*peak, 99);
  EXPECT_DOUBLE_EQ(levels.offered[1], 100) << "the first rate again";
  EXPECT_DOUBLE_EQ(levels.offered[2], 130);
}

TEST(BenchClusterSearchTest, NothingSustainedIsAnError) {
  ScriptedLevels levels;
  levels.outcomes = {{false, 10}, {false, 12}};
  auto peak = search_peak(1'000, [&](double rate) { return levels.run(rate); });
  EXPECT_FALSE(peak.is_ok());
  EXPECT_EQ(levels.offered.size(), 2u) << "no halfway step without a sustained rate";
}

TEST(BenchClusterSearchTest, AFailedRunIsTheSearchsError) {
  ScriptedLevels levels;
  levels.outcomes = {{true, 99}};
  auto peak = search_peak(1'000, [&](double rate) { return levels.run(rate); });
  EXPECT_FALSE(peak.is_ok()) << "the second level had no script";
}

}  // namespace
}  // namespace ballast::cli
