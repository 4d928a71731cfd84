// The glue between the engine and the storage services, and what the API server reads of them:
// the engine's response-cache and memory hooks, the memory gauges copied at each /metrics scrape,
// and the storage readiness check. Each object refers to a service it does not own; the Sidecar
// (sidecar/app/sidecar.h) keeps the service alive for longer than anything holding the object.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sidecar/cache/cache_service.h"
#include "sidecar/exec/memory_hook.h"
#include "sidecar/exec/response_cache_hook.h"
#include "sidecar/memory/memory_service.h"

namespace agentry::sidecar {

// Responses in the cache's response key space. The engine collapses concurrent identical misses
// itself, so this is a plain get/put; a failed put is counted by the cache, not retried.
std::shared_ptr<ResponseCacheHook> response_cache_hook(cache::CacheService& cache);

// recall() searches; remember() enqueues on the memory service's own queue (the only queue), and
// pending()/flush() report and drain it.
std::shared_ptr<MemoryHook> memory_hook(memory::MemoryService& memory);

// Copies the memory service's write statistics into the sidecar's gauges and advances the eviction
// and refusal counters by what it counted since the previous call. For ApiServer::add_scrape_hook.
std::function<void()> memory_metrics_publisher(memory::MemoryService& memory);

// "" while the cache and memory serve normally, else why not (Redis down). Readiness fails on it
// only with cache.readyWhenDegraded: false: every replica shares the outage, and failing them all
// would take the agent off its Service while L1 and memory reads still work.
std::function<std::string()> storage_readiness(cache::CacheService& cache,
                                               memory::MemoryService& memory,
                                               bool ready_when_degraded);

}  // namespace agentry::sidecar
