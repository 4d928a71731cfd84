// API errors as Status values. The API server's Status object (code, reason, message) becomes a
// Status whose Code follows the HTTP code and whose message is "<Reason>: <message>", so callers
// can switch on the Code and still log or match the API reason (api_reason()).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agentry::kube {

// Maps an HTTP response (status code and body, ideally a metav1.Status) to a Status.
// 404->kNotFound, 409->kConflict or kAlreadyExists (reason AlreadyExists), 410->kGone,
// 400/422->kInvalidArgument, 403->kPermissionDenied, 401->kUnauthenticated,
// 429->kResourceExhausted, 5xx->kUnavailable, 504->kDeadlineExceeded.
Status status_from_http(int http_status, std::string_view body);
// The same, from a metav1.Status object (watch ERROR events carry one).
Status status_from_api_status(const nlohmann::json& status_object);
// A transport failure (connection refused, reset, timeout): kUnavailable, http_status 0.
Status transport_error(std::string_view what);

// The API reason ("NotFound", "Conflict", "AlreadyExists", "Expired", "Invalid", ...) or "".
std::string api_reason(const Status& s);

inline bool is_not_found(const Status& s) {
  return s.code() == Code::kNotFound;
}
inline bool is_conflict(const Status& s) {
  return s.code() == Code::kConflict;
}
inline bool is_already_exists(const Status& s) {
  return s.code() == Code::kAlreadyExists;
}
inline bool is_gone(const Status& s) {
  return s.code() == Code::kGone;
}
// Worth retrying an idempotent request: transport errors, 429, 5xx.
bool is_transient(const Status& s);

}  // namespace agentry::kube
