// The agentry-sidecar process as one object. It builds every part from a validated Config and owns
// them; main.cpp only parses flags, loads the config and runs it:
//
//   auto sidecar = Sidecar::create(std::move(config));     // an error names the field at fault
//   if (!sidecar.ok()) return fail(sidecar.status());
//   if (Status s = (*sidecar)->start(); !s) return fail(s); // binds server.listen, serves
//   int sig = wait_for_termination_signal();
//   (*sidecar)->shutdown(sig);                              // drains, then stops serving
//
// Lifecycle. create() opens everything that can fail: the token file, the provider client, the
// cache, the memory store and its embedder; it mounts the execution, cache and memory routes and
// sets the engine's hooks. start() binds the port, serves on its own thread and starts the RAM
// pressure monitor. shutdown() stops admitting executions, drains the engine (running ones get
// server.shutdownDrainSeconds, then are cut) and the memory queue, keeps results readable for
// server.shutdownGraceSeconds, and stops the server; it is idempotent. The destructor shuts down
// what start() began (no grace) and then destroys the parts.
//
// Ownership. The members below are declared in the order they are built, so they are destroyed in
// the reverse, which is the order of shutdown: the server first (its routes call everything), the
// pressure monitor (its cleanup hooks call the engine, the cache and the provider), the engine (its
// workers call the memory and cache hooks), memory (its destructor writes what is still queued),
// the cache, the provider, the token check. Nothing here lives in a static.
//
// Thread-safety: create/start/shutdown/destruction from one thread (main's); the accessors return
// parts that are themselves thread-safe.
#pragma once

#include <memory>
#include <thread>

#include "common/result.h"
#include "sidecar/api/auth.h"
#include "sidecar/api/server.h"
#include "sidecar/cache/cache_service.h"
#include "sidecar/config.h"
#include "sidecar/exec/engine.h"
#include "sidecar/exec/providers/http_provider.h"
#include "sidecar/memory/memory_service.h"
#include "sidecar/process/ram_pressure.h"

namespace agentry::sidecar {

class Sidecar {
 public:
  static Result<std::unique_ptr<Sidecar>> create(Config config);
  ~Sidecar();
  Sidecar(const Sidecar&) = delete;
  Sidecar& operator=(const Sidecar&) = delete;

  // Binds server.listen and serves on a thread of its own; starts the pressure monitor.
  Status start();
  int port() const { return server_->port(); }
  // See the header comment. `signal` is logged (0: not from a signal).
  Engine::DrainReport shutdown(int signal = 0);

  const Config& config() const { return cfg_; }
  ApiServer& server() { return *server_; }
  Engine& engine() { return *engine_; }
  memory::MemoryService& memory() { return *memory_; }
  cache::CacheService& cache() { return *cache_; }

 private:
  explicit Sidecar(Config config) : cfg_(std::move(config)) {}
  Status build();
  void stop_serving();

  const Config cfg_;
  std::unique_ptr<TokenAuth> auth_;
  std::shared_ptr<HttpProvider> provider_;
  std::unique_ptr<cache::CacheService> cache_;
  std::unique_ptr<memory::MemoryService> memory_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RamPressureMonitor> monitor_;
  std::unique_ptr<ApiServer> server_;
  std::thread serving_;  // runs server_->serve() between start() and shutdown()
  bool shut_down_ = false;
};

}  // namespace agentry::sidecar
