// HTTP routes of the cache:
//   GET    /v1/cache          stats (JSON)
//   GET    /v1/cache/{key}    the raw value; X-Cache-Source l1|l2, X-Cache-TTL-Ms, X-Cache-Degraded
//   PUT    /v1/cache/{key}    raw body, or a JSON body {"value": ..., "ttl": seconds} when the
//                             Content-Type is application/json; ?ttl=seconds overrides
//   DELETE /v1/cache/{key}    204, or 404 when absent
#pragma once

#include <httplib.h>

#include "sidecar/api/router.h"
#include "sidecar/cache/cache_service.h"

namespace agentry::cache {

void mount_cache_routes(sidecar::Router& server, CacheService& cache);

}  // namespace agentry::cache
