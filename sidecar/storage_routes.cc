// Wires the cache (L1 + Redis L2) and agent memory into the sidecar: routes, engine hooks,
// memory-pressure cleanup and readiness.
#include "sidecar/storage_routes.h"

#include <array>
#include <cstdlib>
#include <memory>

#include "common/http_util.h"
#include "common/log.h"
#include "sidecar/api/server.h"
#include "sidecar/cache/cache_routes.h"
#include "sidecar/config.h"
#include "sidecar/exec/engine.h"
#include "sidecar/exec/memory_hook.h"
#include "sidecar/exec/providers/provider.h"
#include "sidecar/exec/response_cache_hook.h"
#include "sidecar/memory/memory_routes.h"
#include "sidecar/sidecar_metrics.h"

namespace agentry::sidecar {
namespace {

// The engine collapses concurrent identical misses itself, so this is a plain get/put.
class CacheHook : public ResponseCacheHook {
 public:
  explicit CacheHook(cache::CacheService& c) : c_(c) {}
  std::optional<std::string> get(const std::string& key) override {
    auto v = c_.get(cache::CacheService::KeySpace::kResponses, key);
    if (!v.ok()) return std::nullopt;
    return std::move(v->value);
  }
  void put(const std::string& key, const std::string& value, std::chrono::seconds ttl) override {
    (void)c_.put(cache::CacheService::KeySpace::kResponses, key, value,
                 std::chrono::duration_cast<cache::Ms>(ttl));
  }

 private:
  cache::CacheService& c_;
};

class MemoryHookImpl : public MemoryHook {
 public:
  explicit MemoryHookImpl(memory::MemoryService& m) : m_(m) {}
  std::vector<MemoryHit> recall(const std::string& agent, const std::string& session,
                                const std::string& query, int k) override {
    std::vector<MemoryHit> out;
    for (auto& h : m_.recall(agent, session, query, k)) out.push_back({h.id, h.text, h.score});
    return out;
  }
  void remember(const std::string& agent, const std::string& session, const std::string& input,
                const std::string& output) override {
    m_.remember(agent, session, input, output);
  }

 private:
  memory::MemoryService& m_;
};

// Process-lifetime: routes and hooks refer to them. Destroyed at exit, after main() has drained
// the engine, so the memory queue is drained last.
struct Storage {
  std::unique_ptr<cache::CacheService> cache;
  std::unique_ptr<memory::MemoryService> memory;
};
Storage& storage() {
  static Storage s;
  return s;
}

// validate() has checked the URL already. A password from a Secret wins over one in the URL.
cache::RedisOptions redis_options(const std::string& url, const std::string& name,
                                  const std::string& password) {
  cache::RedisOptions ro;
  ro.name = name;
  parse_redis_url(url, &ro.host, &ro.port, &ro.password);
  if (!password.empty()) ro.password = password;
  return ro;
}

std::shared_ptr<memory::Embedder> make_embedder(const Config& cfg, Engine& engine) {
  const std::string& kind = cfg.memory.embedder;
  int dim = cfg.memory.embedding_dim > 0 ? cfg.memory.embedding_dim : 384;
  if (kind != "provider") return std::make_shared<memory::LocalEmbedder>(dim);
  auto provider = engine.provider_ptr();
  if (cfg.memory.embedding_dim <= 0) {
    auto probe = provider->embed({"dimension probe"});
    if (!probe.ok() || probe->empty()) {
      log::warn("provider embeddings unavailable; using the local lexical embedder",
                {{"error", probe.ok() ? "empty" : probe.status().message()}});
      return std::make_shared<memory::LocalEmbedder>(384);
    }
    dim = static_cast<int>(probe->front().size());
  }
  return std::make_shared<memory::FunctionEmbedder>(
      [provider](const std::vector<std::string>& texts) { return provider->embed(texts); }, dim,
      "provider:" + provider->name());
}

}  // namespace

void mount_storage_routes(ApiServer& server, const Config& cfg, Engine& engine) {
  Storage& s = storage();
  std::optional<cache::RedisOptions> redis;
  if (!cfg.cache.redis_url.empty())
    redis = redis_options(cfg.cache.redis_url, cfg.agent.name, cfg.cache.redis_password);
  cache::CacheOptions co;
  co.l1.name = cfg.agent.name;
  co.l1.max_entries = static_cast<size_t>(cfg.cache.l1_max_entries);
  co.l1.max_bytes = static_cast<size_t>(cfg.cache.l1_max_bytes);
  co.default_ttl = cache::Ms(int64_t{cfg.cache.default_ttl_seconds} * 1000);
  co.key_prefix = "agentry:" + cfg.agent.name + ":cache:";
  co.redis = redis;
  s.cache = std::make_unique<cache::CacheService>(co);

  memory::MemoryOptions mo;
  mo.default_agent = cfg.agent.name;
  mo.limits.max_entries_per_agent = static_cast<size_t>(cfg.memory.memory_max_entries);
  mo.limits.default_ttl_s = cfg.memory.ttl_seconds;
  mo.limits.on_full = cfg.memory.on_full == "evictOldest" ? memory::Limits::OnFull::kEvictOldest
                                                          : memory::Limits::OnFull::kRefuse;
  mo.limits.max_exchanges_per_agent = static_cast<size_t>(cfg.memory.exchanges_max_entries);
  mo.limits.exchange_ttl_s = cfg.memory.exchanges_ttl_seconds;
  if (cfg.memory.memory_backend == "redis") {  // validate(): it has a URL
    mo.persistence = memory::MemoryOptions::Persistence::kRedis;
    const bool own = !cfg.memory.redis_url.empty();
    mo.redis = redis_options(memory_redis_url(cfg), cfg.agent.name,
                             own ? cfg.memory.redis_password : cfg.cache.redis_password);
    mo.redis_backend.prefix = "agentry:" + cfg.agent.name + ":mem:";
  } else if (!cfg.memory.memory_dir.empty()) {
    mo.persistence = memory::MemoryOptions::Persistence::kEmbedded;
    mo.log.dir = cfg.memory.memory_dir;
  } else {
    log::warn("memory has no memoryDir and no Redis: entries are kept in process only", {});
  }
  auto mem = memory::MemoryService::open(mo, make_embedder(cfg, engine));
  if (!mem.ok()) {
    // Without its store the sidecar would silently forget: refuse to start.
    log::error("memory store failed to open", {{"error", mem.status().message()}});
    std::exit(1);
  }
  s.memory = std::move(mem.value());

  cache::mount_cache_routes(server.routes(), *s.cache);  // the server applies auth
  memory::mount_memory_routes(server.routes(), *s.memory);

  if (cfg.agent.cache_responses)
    engine.set_response_cache_hook(std::make_shared<CacheHook>(*s.cache));
  engine.set_memory_hook(std::make_shared<MemoryHookImpl>(*s.memory));
  server.memory_monitor().add_cleanup_hook("cache-l1",
                                           [c = s.cache.get()](double) { c->l1().clear(); });
  // Degraded (Redis down) still serves: L1 and memory reads work, writes report it. Readiness
  // fails on it only when asked to (cache.readyWhenDegraded: false), since every replica shares
  // the outage and failing them all would take the agent off its Service.
  const bool ready_when_degraded = cfg.cache.ready_when_degraded;
  cache::CacheService* c = s.cache.get();
  memory::MemoryService* m = s.memory.get();
  // Counters advance by what the service counted since the last scrape.
  server.add_scrape_hook([m, seen = std::make_shared<std::array<uint64_t, 5>>()] {
    const auto w = m->write_stats();
    const auto ev = m->evictions();
    auto& g = metrics();
    g.memory_entries->Set(static_cast<double>(w.entries));
    g.memory_index_backlog->Set(static_cast<double>(w.index_backlog));
    g.memory_writes_waiting->Set(static_cast<double>(w.waiting));
    g.memory_writes_refused->Set(static_cast<double>(w.refused_index_behind));
    g.memory_facts->Set(static_cast<double>(w.facts));
    g.memory_exchanges->Set(static_cast<double>(w.exchanges));
    g.memory_fill_facts->Set(w.fill_facts);
    g.memory_fill_exchanges->Set(w.fill_exchanges);
    const uint64_t now[5] = {ev.fact_bound, ev.fact_ttl, ev.exchange_bound, ev.exchange_ttl,
                             w.refused_full};
    prometheus::Counter* counters[5] = {g.memory_evictions[0][0], g.memory_evictions[0][1],
                                        g.memory_evictions[1][0], g.memory_evictions[1][1],
                                        g.memory_refused_full};
    for (int i = 0; i < 5; ++i) {
      if (now[i] > (*seen)[i]) counters[i]->Increment(static_cast<double>(now[i] - (*seen)[i]));
      (*seen)[i] = now[i];
    }
  });
  server.readiness().add("storage", [c, m, ready_when_degraded]() -> std::string {
    if (ready_when_degraded) return "";
    std::string why = c->degraded_reason();
    if (why.empty()) why = m->degraded_reason();
    return why;
  });
  log::info("cache and memory mounted", {{"redis", redis.has_value()},
                                         {"memory", m->stats()["persistence"]},
                                         {"embedder", m->embedder().name()}});
}

}  // namespace agentry::sidecar
