// HTTP routes of agent memory (JSON in and out, errors as {"error": {"code", "message"}}):
//   POST   /v1/memory           one entry {"text", "session", "metadata", "embedding", "ttl",
//                               "id", "agent"}, or {"entries": [...]} for a batch -> 201
//   GET    /v1/memory           ?limit (1-1000, default 100) &continue (opaque) &session &agent
//   GET    /v1/memory/{id}      ?agent &embedding=true
//   DELETE /v1/memory/{id}      204, or 404
//   POST   /v1/memory/search    {"query" | "vector", "k", "minScore", "session", "filter":
//                               {metadata key: value, ...}, "agent"}
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "sidecar/api/router.h"
#include "sidecar/memory/memory_service.h"

namespace agentry::memory {

void mount_memory_routes(sidecar::Router& server, MemoryService& memory);

nlohmann::json entry_json(const Entry& e);

}  // namespace agentry::memory
