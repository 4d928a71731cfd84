#include "sidecar/app/sidecar.h"

#include <malloc.h>

#include <chrono>

#include "agentry/version.h"
#include "common/log.h"
#include "sidecar/api/a2a_routes.h"
#include "sidecar/api/mcp_routes.h"
#include "sidecar/app/options.h"
#include "sidecar/app/storage_hooks.h"
#include "sidecar/cache/cache_routes.h"
#include "sidecar/memory/memory_routes.h"

namespace agentry::sidecar {

Result<std::unique_ptr<Sidecar>> Sidecar::create(Config config) {
  std::unique_ptr<Sidecar> s(new Sidecar(std::move(config)));  // the constructor is private
  if (Status st = s->build(); !st) return st;
  return s;
}

Status Sidecar::build() {
  auto auth = TokenAuth::from_file(cfg_.server.token_file);
  if (!auth.ok()) return auth.status();
  auth_ = std::move(auth.value());
  auto provider = make_provider(cfg_.provider);
  if (!provider.ok()) return provider.status();
  provider_ = provider.value();

  cache_ = std::make_unique<cache::CacheService>(cache_options(cfg_));
  auto embedder = make_embedder(cfg_, provider_);
  if (!embedder.ok()) return embedder.status();
  const memory::MemoryOptions mo = memory_options(cfg_);
  if (mo.persistence == memory::MemoryOptions::Persistence::kNone)
    log::warn("memory has no memoryDir and no Redis: entries are kept in process only", {});
  auto mem = memory::MemoryService::open(mo, embedder.value());
  // Without its store the sidecar would silently forget: it does not start.
  if (!mem.ok()) return Status(mem.status().code(), "memory store: " + mem.status().message());
  memory_ = std::move(mem.value());

  engine_ = std::make_unique<Engine>(cfg_, provider_);
  if (cfg_.agent.cache_responses) engine_->set_response_cache_hook(response_cache_hook(*cache_));
  engine_->set_memory_hook(memory_hook(*memory_));

  monitor_ = std::make_unique<RamPressureMonitor>(cfg_.memory_pressure);
  monitor_->add_cleanup_hook("finished-executions", [e = engine_.get(), this](double) {
    size_t n = e->trim_finished(static_cast<size_t>(cfg_.limits.retain_executions) / 2);
    log::info("trimmed finished executions", {{"count", n}});
  });
  monitor_->add_cleanup_hook("provider-idle-connections",
                             [p = provider_.get()](double) { p->pool().clear_idle(); });
  monitor_->add_cleanup_hook("cache-l1", [c = cache_.get()](double) { c->l1().clear(); });
  monitor_->add_cleanup_hook("malloc-trim", [](double) { malloc_trim(0); });

  server_ = std::make_unique<ApiServer>(cfg_, *engine_, *auth_);  // mounts /v1/executions
  cache::mount_cache_routes(server_->routes(), *cache_);          // the server applies auth
  memory::mount_memory_routes(server_->routes(), *memory_);
  mount_mcp_routes(server_->routes(), *engine_, cfg_);  // the agent as an MCP server
  mount_a2a_routes(server_->routes(), *engine_, cfg_);  // and as an A2A agent
  server_->add_scrape_hook(memory_metrics_publisher(*memory_));
  server_->readiness().add("storage",
                           storage_readiness(*cache_, *memory_, cfg_.cache.ready_when_degraded));
  log::info("cache and memory mounted", {{"redis", !cfg_.cache.redis_url.empty()},
                                         {"memory", memory_->stats()["persistence"]},
                                         {"embedder", memory_->embedder().name()}});
  return ok_status();
}

Status Sidecar::start() {
  if (Status s = server_->bind(); !s) return s;
  serving_ = std::thread([this] { server_->serve(); });
  monitor_->start();
  log::info("started", {{"version", kVersion},
                        {"listen", cfg_.server.listen},
                        {"port", server_->port()},
                        {"provider", cfg_.provider.type},
                        {"endpoint", cfg_.provider.endpoint},
                        {"model", cfg_.provider.model},
                        {"max_concurrency", cfg_.limits.max_concurrency}});
  return ok_status();
}

Engine::DrainReport Sidecar::shutdown(int signal) {
  if (shut_down_) return {};
  shut_down_ = true;
  log::info("shutting down: no new executions; draining",
            {{"signal", signal},
             {"running", engine_->running()},
             {"queued", engine_->queued()},
             {"deadline_seconds", cfg_.server.shutdown_drain_seconds}});
  auto report = engine_->drain(std::chrono::seconds(cfg_.server.shutdown_drain_seconds));
  log::info("drained", {{"finished", report.finished},
                        {"cut", report.cut},
                        {"cut_count", report.cut.size()},
                        {"memory_updates_flushed", report.memory_updates_flushed}});
  // Results stay readable briefly so callers polling for them see their final state.
  if (serving_.joinable())
    std::this_thread::sleep_for(std::chrono::seconds(cfg_.server.shutdown_grace_seconds));
  stop_serving();
  log::info("stopped");
  return report;
}

void Sidecar::stop_serving() {
  if (serving_.joinable()) {
    server_->stop();
    serving_.join();
  }
  if (monitor_) monitor_->stop();
}

Sidecar::~Sidecar() {
  if (server_) stop_serving();
}

}  // namespace agentry::sidecar
