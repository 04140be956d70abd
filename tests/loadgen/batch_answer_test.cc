// Reading a node's answer to POST /v1/txs: each transaction's status and reason in order, the
// request's own reason when it was refused whole, and nothing from fields that do not matter.
#include "loadgen/batch_answer.h"

#include <gtest/gtest.h>

namespace ballast::loadgen {
namespace {

TEST(BatchAnswerTest, ReadsEachResultsStatusAndReasonInOrder) {
  auto answer = read_batch_answer(
      R"({"results":[{"hash":"aa","status":"accepted"},)"
      R"({"code":"resource_exhausted","fee_floor":64,"hash":"bb","message":"fee 1 is below",)"
      R"("reason":"ingress_breaker","status":"rejected"},)"
      R"({"status":"rejected"},)"
      R"({"status":"finalized","events":[{"status":"accepted","reason":"nested"}],"x":null}]})");
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->has_results);
  ASSERT_EQ(answer->results.size(), 4u);
  EXPECT_TRUE(answer->results[0].accepted);
  EXPECT_FALSE(answer->results[1].accepted);
  EXPECT_EQ(answer->results[1].reason, "ingress_breaker");
  EXPECT_EQ(answer->results[2].reason, "") << "no reason given";
  EXPECT_FALSE(answer->results[3].accepted) << "a nested object's fields are not the result's";
  EXPECT_EQ(answer->results[3].reason, "");
}

TEST(BatchAnswerTest, ARequestRefusedWholeHasItsReasonAndNoResults) {
  auto answer = read_batch_answer(
      R"({"status":"rejected","code":"resource_exhausted","reason":"overloaded","message":"m"})");
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->has_results);
  EXPECT_EQ(answer->reason, "overloaded");
}

TEST(BatchAnswerTest, WhatIsNotJsonIsNoAnswer) {
  EXPECT_FALSE(read_batch_answer("").has_value());
  EXPECT_FALSE(read_batch_answer("<html>502</html>").has_value());
  EXPECT_FALSE(read_batch_answer(R"({"results":[{"status":"accepted"})").has_value())
      << "cut short";
}

}  // namespace
}  // namespace ballast::loadgen
