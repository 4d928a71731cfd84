#include "sidecar/api/errors.h"

#include <algorithm>
#include <string>

#include "common/http_util.h"

namespace agentry::sidecar::api {
namespace {

int http_for_code(Code c) {
  switch (c) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
    case Code::kConflict:
      return 409;
    case Code::kGone:
      return 410;
    case Code::kResourceExhausted:
      return 429;
    case Code::kCancelled:
      return 499;
    case Code::kUnavailable:
      return 503;
    case Code::kDeadlineExceeded:
      return 504;
    case Code::kInternal:
      return 500;
  }
  return 500;
}

const char* name_of_code(Code c) {
  switch (c) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kConflict:
      return "conflict";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kResourceExhausted:
      return "resource_exhausted";
    case Code::kDeadlineExceeded:
      return "deadline_exceeded";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kCancelled:
      return "cancelled";
    case Code::kGone:
      return "gone";
    case Code::kInternal:
      return "internal";
  }
  return "internal";
}

// The HTTP statuses whose own name is the code (see the header).
const char* protocol_name(int http_status) {
  switch (http_status) {
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "too_many_requests";
    case 431:
      return "request_header_fields_too_large";
    default:
      return nullptr;
  }
}

}  // namespace

int http_status(const Status& s) {
  return s.http_status() != 0 ? s.http_status() : http_for_code(s.code());
}

const char* error_code(const Status& s) {
  if (const char* p = protocol_name(http_status(s))) return p;
  return name_of_code(s.code());
}

const char* error_code_for_http(int status) {
  if (const char* p = protocol_name(status)) return p;
  switch (status) {
    case 400:
      return name_of_code(Code::kInvalidArgument);
    case 401:
      return name_of_code(Code::kUnauthenticated);
    case 403:
      return name_of_code(Code::kPermissionDenied);
    case 404:
      return name_of_code(Code::kNotFound);
    case 409:
      return name_of_code(Code::kConflict);
    case 410:
      return name_of_code(Code::kGone);
    case 503:
      return name_of_code(Code::kUnavailable);
    case 504:
      return name_of_code(Code::kDeadlineExceeded);
    default:
      return name_of_code(status >= 500 ? Code::kInternal : Code::kInvalidArgument);
  }
}

void send_status(httplib::Response& res, const Status& s, int retry_after_seconds) {
  const int status = http_status(s);
  http::send_error(res, status, error_code(s), s.message());
  if (status == 429 || status == 503)
    res.set_header("Retry-After", std::to_string(std::max(1, retry_after_seconds)));
}

}  // namespace agentry::sidecar::api
