#include "base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ballast {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.to_string(), "ok");
  EXPECT_TRUE(Status::ok().is_ok());
}

TEST(StatusTest, ErrorKeepsCodeAndMessage) {
  Status status = invalid_argument("price is not a multiple of the tick size");
  EXPECT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "price is not a multiple of the tick size");
  EXPECT_EQ(status.to_string(), "invalid_argument: price is not a multiple of the tick size");
}

TEST(StatusTest, HelpersMakeTheirCodes) {
  EXPECT_EQ(invalid_argument("m").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(not_found("m").code(), StatusCode::kNotFound);
  EXPECT_EQ(failed_precondition("m").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(corruption("m").code(), StatusCode::kCorruption);
  EXPECT_EQ(io_error("m").code(), StatusCode::kIoError);
  EXPECT_EQ(permission_denied("m").code(), StatusCode::kPermissionDenied);
}

TEST(StatusTest, EveryCodeHasAStableName) {
  EXPECT_EQ(status_code_name(StatusCode::kOk), "ok");
  EXPECT_EQ(status_code_name(StatusCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(status_code_name(StatusCode::kNotFound), "not_found");
  EXPECT_EQ(status_code_name(StatusCode::kAlreadyExists), "already_exists");
  EXPECT_EQ(status_code_name(StatusCode::kPermissionDenied), "permission_denied");
  EXPECT_EQ(status_code_name(StatusCode::kFailedPrecondition), "failed_precondition");
  EXPECT_EQ(status_code_name(StatusCode::kResourceExhausted), "resource_exhausted");
  EXPECT_EQ(status_code_name(StatusCode::kIoError), "io_error");
  EXPECT_EQ(status_code_name(StatusCode::kCorruption), "corruption");
  EXPECT_EQ(status_code_name(static_cast<StatusCode>(999)), "unknown");
}

TEST(ResultTest, HoldsAValue) {
  Result<std::string> result = std::string("filled");
  ASSERT_TRUE(result.is_ok());
  EXPECT_EQ(result.value(), "filled");
  EXPECT_EQ(*result, "filled");
  EXPECT_EQ(result->size(), 6u);
  result.value() += "!";
  EXPECT_EQ(*result, "filled!");
}

TEST(ResultTest, HoldsAnError) {
  Result<int> result = not_found("no such order");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(result.status().message(), "no such order");
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(7);
  ASSERT_TRUE(result.is_ok());
  std::unique_ptr<int> value = std::move(result).value();
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 7);
}

Status check_positive(int value) {
  if (value <= 0) return invalid_argument("not positive: " + std::to_string(value));
  return Status::ok();
}

Result<int> halve_positive(int value) {
  if (value <= 0) return invalid_argument("cannot halve " + std::to_string(value));
  return value / 2;
}

Status validate_both(int first, int second) {
  BALLAST_RETURN_IF_ERROR(check_positive(first));
  BALLAST_RETURN_IF_ERROR(check_positive(second));
  return Status::ok();
}

Result<int> quarter(int value) {
  BALLAST_ASSIGN_OR_RETURN(int half, halve_positive(value));
  BALLAST_ASSIGN_OR_RETURN(int result, halve_positive(half));
  return result;
}

TEST(StatusMacrosTest, ReturnIfErrorPropagatesTheFirstFailure) {
  EXPECT_TRUE(validate_both(1, 2).is_ok());
  Status status = validate_both(1, -2);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "not positive: -2");
  EXPECT_EQ(validate_both(0, -2).message(), "not positive: 0");
}

TEST(StatusMacrosTest, AssignOrReturnUnwrapsOrPropagates) {
  Result<int> ok = quarter(20);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, 5);
  Result<int> failed = quarter(1);  // halves to 0, which cannot be halved
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().message(), "cannot halve 0");
}

}  // namespace
}  // namespace ballast
