// Status and Result<T>: the value every operation that input can make fail returns. A status
// has a stable machine-readable code and a human-readable message, and optionally a finer
// stable reason (a string literal such as "stale_nonce") that clients and metrics can match on.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace ballast {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // malformed or out-of-range input
  kNotFound,            // the thing referred to does not exist
  kAlreadyExists,       // a duplicate of something that must be unique
  kPermissionDenied,    // the caller may not do this (wrong signer, wrong file mode)
  kFailedPrecondition,  // valid input that the current state does not allow
  kResourceExhausted,   // a bound was reached
  kIoError,             // the operating system refused
  kCorruption,          // stored or received data fails its own checks
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {
    BALLAST_ASSERT(code != StatusCode::kOk);
  }
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The same status tagged with a finer reason; `reason` must have static storage (a literal).
  Status with_reason(std::string_view reason) && {
    reason_ = reason;
    return std::move(*this);
  }
  // The finer reason if tagged, otherwise the code's name.
  std::string_view reason() const { return reason_.empty() ? status_code_name(code_) : reason_; }
  // "invalid_argument: price is not a multiple of the tick size"
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string_view reason_;
};

inline Status invalid_argument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status not_found(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status failed_precondition(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}
inline Status corruption(std::string message) {
  return Status(StatusCode::kCorruption, std::move(message));
}
inline Status io_error(std::string message) {
  return Status(StatusCode::kIoError, std::move(message));
}
inline Status permission_denied(std::string message) {
  return Status(StatusCode::kPermissionDenied, std::move(message));
}
inline Status already_exists(std::string message) {
  return Status(StatusCode::kAlreadyExists, std::move(message));
}
inline Status resource_exhausted(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message));
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : storage_(std::move(status)) {  // NOLINT: implicit by design
    BALLAST_ASSERT_MSG(!std::get<Status>(storage_).is_ok(), "Result built from an ok Status");
  }

  bool is_ok() const { return std::holds_alternative<T>(storage_); }
  const Status& status() const {
    BALLAST_ASSERT_MSG(!is_ok(), "status() of a successful Result");
    return std::get<Status>(storage_);
  }
  T& value() & {
    BALLAST_ASSERT_MSG(is_ok(), "value() of a failed Result");
    return std::get<T>(storage_);
  }
  const T& value() const& {
    BALLAST_ASSERT_MSG(is_ok(), "value() of a failed Result");
    return std::get<T>(storage_);
  }
  T&& value() && {
    BALLAST_ASSERT_MSG(is_ok(), "value() of a failed Result");
    return std::get<T>(std::move(storage_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> storage_;
};

}  // namespace ballast

// Propagates a failed Status out of the current function.
#define BALLAST_RETURN_IF_ERROR(expression)   \
  do {                                        \
    ::ballast::Status status_ = (expression); \
    if (!status_.is_ok()) return status_;     \
  } while (false)

#define BALLAST_CONCAT_INNER(a, b) a##b
#define BALLAST_CONCAT(a, b) BALLAST_CONCAT_INNER(a, b)
// Declares `lhs` from a Result, or returns its Status from the current function.
#define BALLAST_ASSIGN_OR_RETURN(lhs, expression) \
  BALLAST_ASSIGN_OR_RETURN_IMPL(BALLAST_CONCAT(result_, __LINE__), lhs, expression)
#define BALLAST_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expression) \
  auto tmp = (expression);                                  \
  if (!tmp.is_ok()) return tmp.status();                    \
  lhs = std::move(tmp).value()
