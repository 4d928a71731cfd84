// The sidecar API's one error vocabulary: how a Status becomes an HTTP answer. Every route group
// (executions, cache, memory) and the HTTP server's own answers (parse errors, 404/405, limits)
// map through here, so one failure has one HTTP status and one `error.code` whichever route
// reports it. docs/sidecar.md ("Errors") lists every code.
//
//   if (!r.ok()) return api::send_status(res, r.status());
//
// The code is the snake_case name of the Status's Code (`invalid_argument`, `not_found`,
// `conflict`, ...), except for HTTP statuses whose own name says more than a Code could: 405
// `method_not_allowed`, 408 `request_timeout`, 413 `payload_too_large`, 414 `uri_too_long`, 415
// `unsupported_media_type`, 429 `too_many_requests`, 431 `request_header_fields_too_large`.
// Pure functions; thread-safe.
#pragma once

#include <httplib.h>

#include "common/result.h"

namespace agentry::sidecar::api {

// The HTTP status for s: the number it carries, else the one its Code implies (500 for kInternal
// and anything unmapped).
int http_status(const Status& s);

// The `error.code` for s (see above).
const char* error_code(const Status& s);

// The `error.code` for an answer that has an HTTP status but no Status (the server's own).
const char* error_code_for_http(int http_status);

// Writes {"error": {"code", "message"}} with the status's HTTP number. 429 and 503 also carry
// Retry-After (retry_after_seconds, at least 1): both are worth retrying after a pause.
void send_status(httplib::Response& res, const Status& s, int retry_after_seconds = 1);

}  // namespace agentry::sidecar::api
