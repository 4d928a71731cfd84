// Status and Result<T>: the error policy across module boundaries.
//
// Failure that is normal (network, API conflicts, bad input) is returned, never thrown. A Status
// carries a machine-readable code, an HTTP-like number where one applies, and a message for people.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace agentry {

enum class Code {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kConflict,
  kPermissionDenied,
  kUnauthenticated,
  kResourceExhausted,
  kDeadlineExceeded,
  kUnavailable,
  kCancelled,
  kInternal,
  kGone,
};

const char* code_name(Code c);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message, int http_status = 0)
      : code_(code), http_status_(http_status), message_(std::move(message)) {}

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  int http_status() const { return http_status_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  int http_status_ = 0;
  std::string message_;
};

// The OK status. A free function, not Status::ok(): a static member could be called on an
// instance, and `status.ok()` would then compile and always be true.
inline Status ok_status() {
  return {};
}
inline Status invalid_argument(std::string m) {
  return {Code::kInvalidArgument, std::move(m), 400};
}
inline Status not_found(std::string m) {
  return {Code::kNotFound, std::move(m), 404};
}
inline Status unavailable(std::string m) {
  return {Code::kUnavailable, std::move(m), 503};
}
inline Status internal_error(std::string m) {
  return {Code::kInternal, std::move(m), 500};
}

// Result<T> holds a value or a non-ok Status (an expected-like type; std::expected is C++23).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The error; an ok Status when this holds a value.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace agentry
