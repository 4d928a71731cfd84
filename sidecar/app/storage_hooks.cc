#include "sidecar/app/storage_hooks.h"

#include <array>

#include "sidecar/sidecar_metrics.h"

namespace agentry::sidecar {
namespace {

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

class MemoryServiceHook : public MemoryHook {
 public:
  explicit MemoryServiceHook(memory::MemoryService& m) : m_(m) {}
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
  size_t pending() const override { return m_.remember_pending(); }
  bool flush(std::chrono::milliseconds deadline) override { return m_.drain_for(deadline); }

 private:
  memory::MemoryService& m_;
};

}  // namespace

std::shared_ptr<ResponseCacheHook> response_cache_hook(cache::CacheService& cache) {
  return std::make_shared<CacheHook>(cache);
}

std::shared_ptr<MemoryHook> memory_hook(memory::MemoryService& memory) {
  return std::make_shared<MemoryServiceHook>(memory);
}

std::function<void()> memory_metrics_publisher(memory::MemoryService& memory) {
  return [m = &memory, seen = std::make_shared<std::array<uint64_t, 5>>()] {
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
  };
}

std::function<std::string()> storage_readiness(cache::CacheService& cache,
                                               memory::MemoryService& memory,
                                               bool ready_when_degraded) {
  return [c = &cache, m = &memory, ready_when_degraded]() -> std::string {
    if (ready_when_degraded) return "";
    std::string why = c->degraded_reason();
    if (why.empty()) why = m->degraded_reason();
    return why;
  };
}

}  // namespace agentry::sidecar
