// Small helpers shared by the cache and memory HTTP routes.
#pragma once

#include <httplib.h>

#include "common/result.h"

namespace agentry::cache {

// The Status as a JSON error ({"error": {"code", "message"}}), its HTTP number or one by code.
void send_status(httplib::Response& res, const Status& s);
int http_status_for(const Status& s);

}  // namespace agentry::cache
