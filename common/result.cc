#include "common/result.h"

namespace agentry {

const char* code_name(Code c) {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kConflict: return "Conflict";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kDeadlineExceeded: return "DeadlineExceeded";
    case Code::kUnavailable: return "Unavailable";
    case Code::kCancelled: return "Cancelled";
    case Code::kInternal: return "Internal";
    case Code::kGone: return "Gone";
  }
  return "Unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  std::string s = code_name(code_);
  if (http_status_ != 0) s += " (" + std::to_string(http_status_) + ")";
  return s + ": " + message_;
}

}  // namespace agentry
