// Broken invariants must abort loudly in every build type, with the failed expression named.
#include "base/assert.h"

#include <gtest/gtest.h>

#include "base/status.h"

namespace ballast {
namespace {

class AssertDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

int forty_two() {
  return 42;
}

TEST_F(AssertDeathTest, PassingAssertionDoesNothing) {
  BALLAST_ASSERT(forty_two() == 42);
  BALLAST_ASSERT_MSG(forty_two() == 42, "never printed");
  SUCCEED();
}

TEST_F(AssertDeathTest, FailingAssertionAbortsAndNamesTheExpression) {
  EXPECT_DEATH(BALLAST_ASSERT(forty_two() == 7),
               "ballast: invariant violated: forty_two\\(\\) == 7 at .*assert_test\\.cc:[0-9]+");
}

TEST_F(AssertDeathTest, FailingAssertionWithMessagePrintsTheMessage) {
  EXPECT_DEATH(BALLAST_ASSERT_MSG(forty_two() < 0, "the answer went negative"),
               "invariant violated: forty_two\\(\\) < 0 .*: the answer went negative");
}

TEST_F(AssertDeathTest, AssertionsStayOnWithNdebug) {
#ifdef NDEBUG
  FAIL() << "NDEBUG is defined: the build dropped assertions that must stay on";
#endif
  EXPECT_DEATH(BALLAST_ASSERT(false), "invariant violated: false");
}

TEST_F(AssertDeathTest, OkStatusWithMessageIsAnInvariantViolation) {
  EXPECT_DEATH((void)Status(StatusCode::kOk, "not really an error"), "code != StatusCode::kOk");
}

TEST_F(AssertDeathTest, ResultFromOkStatusIsAnInvariantViolation) {
  EXPECT_DEATH((void)Result<int>{Status::ok()}, "Result built from an ok Status");
}

TEST_F(AssertDeathTest, ValueOfFailedResultIsAnInvariantViolation) {
  Result<int> failed = invalid_argument("no value here");
  EXPECT_DEATH((void)failed.value(), "value\\(\\) of a failed Result");
}

TEST_F(AssertDeathTest, StatusOfSuccessfulResultIsAnInvariantViolation) {
  Result<int> succeeded = 3;
  EXPECT_DEATH((void)succeeded.status(), "status\\(\\) of a successful Result");
}

}  // namespace
}  // namespace ballast
