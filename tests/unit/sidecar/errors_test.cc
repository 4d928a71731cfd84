// The sidecar API's one error vocabulary (sidecar/api/errors.h): one failure, one status and code.
#include "sidecar/api/errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace agentry::sidecar::api {
namespace {

TEST(ApiErrors, EveryCodeHasOneStatusAndOneName) {
  struct Case {
    Code code;
    int http;
    const char* name;
  };
  const Case cases[] = {
      {Code::kInvalidArgument, 400, "invalid_argument"},
      {Code::kUnauthenticated, 401, "unauthenticated"},
      {Code::kPermissionDenied, 403, "permission_denied"},
      {Code::kNotFound, 404, "not_found"},
      {Code::kAlreadyExists, 409, "already_exists"},
      {Code::kConflict, 409, "conflict"},
      {Code::kGone, 410, "gone"},
      {Code::kResourceExhausted, 429, "too_many_requests"},  // 429's own name
      {Code::kUnavailable, 503, "unavailable"},
      {Code::kDeadlineExceeded, 504, "deadline_exceeded"},
      {Code::kInternal, 500, "internal"},
  };
  for (const auto& c : cases) {
    Status s(c.code, "m");
    EXPECT_EQ(http_status(s), c.http) << code_name(c.code);
    EXPECT_STREQ(error_code(s), c.name) << code_name(c.code);
  }
}

TEST(ApiErrors, TheStatusOwnNumberWinsAndProtocolStatusesKeepTheirNames) {
  EXPECT_EQ(http_status(Status(Code::kResourceExhausted, "full", 507)), 507);
  EXPECT_STREQ(error_code(Status(Code::kResourceExhausted, "full", 507)), "resource_exhausted");
  EXPECT_STREQ(error_code(Status(Code::kResourceExhausted, "big", 413)), "payload_too_large");
  EXPECT_STREQ(error_code(Status(Code::kUnavailable, "provider", 502)), "unavailable");
}

TEST(ApiErrors, TheServersOwnAnswersUseTheSameWords) {
  EXPECT_STREQ(error_code_for_http(400), "invalid_argument");
  EXPECT_STREQ(error_code_for_http(401), "unauthenticated");
  EXPECT_STREQ(error_code_for_http(404), "not_found");
  EXPECT_STREQ(error_code_for_http(405), "method_not_allowed");
  EXPECT_STREQ(error_code_for_http(413), "payload_too_large");
  EXPECT_STREQ(error_code_for_http(429), "too_many_requests");
  EXPECT_STREQ(error_code_for_http(431), "request_header_fields_too_large");
  EXPECT_STREQ(error_code_for_http(503), "unavailable");
  EXPECT_STREQ(error_code_for_http(599), "internal");
}

TEST(ApiErrors, SendWritesTheJsonBodyAndRetryAfter) {
  httplib::Response res;
  send_status(res, Status(Code::kUnavailable, "redis down", 503), 3);
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.get_header_value("Retry-After"), "3");
  auto j = nlohmann::json::parse(res.body);
  EXPECT_EQ(j["error"]["code"], "unavailable");
  EXPECT_EQ(j["error"]["message"], "redis down");
  httplib::Response conflict;
  send_status(conflict, Status(Code::kConflict, "taken"));
  EXPECT_EQ(conflict.status, 409);
  EXPECT_FALSE(conflict.has_header("Retry-After"));
  EXPECT_EQ(nlohmann::json::parse(conflict.body)["error"]["code"], "conflict");
}

}  // namespace
}  // namespace agentry::sidecar::api
