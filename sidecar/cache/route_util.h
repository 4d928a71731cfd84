// Small helpers shared by the cache and memory HTTP routes.
#pragma once

#include <httplib.h>

#include <functional>

#include "common/result.h"

namespace agentry::cache {

// Returns true to let the request through; on false it has already written the response (401).
using AuthCheck = std::function<bool(const httplib::Request&, httplib::Response&)>;

// The Status as a JSON error ({"error": {"code", "message"}}), its HTTP number or one by code.
void send_status(httplib::Response& res, const Status& s);
int http_status_for(const Status& s);

}  // namespace agentry::cache
