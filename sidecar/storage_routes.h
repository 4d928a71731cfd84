// Mount point for the cache and memory route groups (/v1/cache, /v1/memory) and their hooks into
// the engine. sidecar/storage_routes.cc is a stub here; the cache/memory code replaces it.
#pragma once

namespace agentry::sidecar {

class ApiServer;
class Engine;
struct Config;

// Called once by main() after the server and engine exist and before the port opens. An
// implementation registers routes on server.routes() (auth, request IDs, JSON errors, 405s, access
// logs and metrics apply to them automatically), saying which may block, sets
// engine.set_memory_hook() / set_response_cache_hook(), adds cleanup hooks with
// server.memory_monitor().add_cleanup_hook() and readiness checks with server.readiness().add().
void mount_storage_routes(ApiServer& server, const Config& config, Engine& engine);

}  // namespace agentry::sidecar
