#include "sidecar/sidecar_metrics.h"

#include <mutex>
#include <unordered_map>

#include "common/metrics.h"

namespace agentry::sidecar {
namespace {

SidecarMetrics build() {
  auto& reg = *agentry::metrics::registry();
  const auto& b = agentry::metrics::latency_buckets();
  SidecarMetrics m{};
  m.http_requests = &prometheus::BuildCounter()
                         .Name("http_requests_total")
                         .Help("HTTP requests by method, route and status")
                         .Register(reg);
  m.http_duration = &prometheus::BuildHistogram()
                         .Name("http_request_duration_seconds")
                         .Help("HTTP request duration")
                         .Register(reg)
                         .Add({}, b);
  m.execution_duration_family = &prometheus::BuildHistogram()
                                     .Name("agent_execution_duration_seconds")
                                     .Help("Agent execution time, by result")
                                     .Register(reg);
  m.executions_total = &prometheus::BuildCounter()
                            .Name("agent_executions_total")
                            .Help("Finished executions by result")
                            .Register(reg);
  m.memory_usage_bytes = &prometheus::BuildGauge()
                              .Name("memory_usage_bytes")
                              .Help("Memory in use (cgroup memory.current, else RSS)")
                              .Register(reg)
                              .Add({});
  m.executions_in_flight = &prometheus::BuildGauge()
                                .Name("executions_in_flight")
                                .Help("Executions running now")
                                .Register(reg)
                                .Add({});
  m.execution_queue_depth = &prometheus::BuildGauge()
                                 .Name("execution_queue_depth")
                                 .Help("Executions accepted and waiting for a slot")
                                 .Register(reg)
                                 .Add({});
  m.provider_requests = &prometheus::BuildCounter()
                             .Name("provider_requests_total")
                             .Help("Requests to the LLM provider by HTTP code (or error)")
                             .Register(reg);
  m.provider_duration = &prometheus::BuildHistogram()
                             .Name("provider_request_duration_seconds")
                             .Help("LLM provider request duration")
                             .Register(reg);
  m.mcp_tool_calls =
      &prometheus::BuildCounter()
           .Name("agentry_mcp_tool_calls_total")
           .Help(
               "MCP tool calls by server, tool and result (ok, tool_error, error, unavailable, "
               "refused, cancelled)")
           .Register(reg);
  m.mcp_tool_call_duration = &prometheus::BuildHistogram()
                                  .Name("agentry_mcp_tool_call_duration_seconds")
                                  .Help("MCP tool call duration by server")
                                  .Register(reg);
  m.mcp_list_failures = &prometheus::BuildCounter()
                             .Name("agentry_mcp_list_failures_total")
                             .Help("MCP servers that could not be listed (their tools left out)")
                             .Register(reg);
  m.memory_cleanups = &prometheus::BuildCounter()
                           .Name("memory_cleanups_total")
                           .Help("Cleanups run because memory use passed the threshold")
                           .Register(reg)
                           .Add({});
  m.executions_rejected = &prometheus::BuildCounter()
                               .Name("executions_rejected_total")
                               .Help("Executions refused with 429 (queue full)")
                               .Register(reg)
                               .Add({});
  auto gauge = [&reg](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(reg).Add({});
  };
  m.http_connections = gauge("agentry_http_connections", "Open HTTP connections");
  m.http_workers =
      gauge("agentry_http_workers", "HTTP worker threads alive (server.threads bound)");
  m.http_worker_queue = gauge("agentry_http_worker_queue",
                              "Blocking requests waiting for a worker (server.queue bound)");
  m.http_busy_refused =
      gauge("agentry_http_busy_refused",
            "Requests refused with 503 because every worker and queue slot was taken "
            "(since start)");
  m.memory_entries = gauge("agentry_memory_entries", "Memory entries held, all agents");
  m.memory_index_backlog =
      gauge("agentry_memory_index_backlog",
            "Memory vectors waiting for the HNSW graph (searches scan them exactly; writes wait "
            "while an agent's backlog is above its bound)");
  m.memory_writes_waiting =
      gauge("agentry_memory_writes_waiting", "Memory writes waiting for the group commit");
  m.memory_writes_refused =
      gauge("agentry_memory_writes_refused",
            "Memory writes refused with 503 because the index stayed behind (since start)");
  auto& by_kind = prometheus::BuildGauge()
                      .Name("agentry_memory_entries_by_kind")
                      .Help("Memory entries held, all agents, by kind (fact, exchange)")
                      .Register(reg);
  m.memory_facts = &by_kind.Add({{"kind", "fact"}});
  m.memory_exchanges = &by_kind.Add({{"kind", "exchange"}});
  auto& fill = prometheus::BuildGauge()
                   .Name("agentry_memory_fill_ratio")
                   .Help(
                       "The fullest agent's entries of a kind over that kind's bound "
                       "(memory.maxEntries for facts, memory.exchanges.maxEntries)")
                   .Register(reg);
  m.memory_fill_facts = &fill.Add({{"kind", "fact"}});
  m.memory_fill_exchanges = &fill.Add({{"kind", "exchange"}});
  auto& ev = prometheus::BuildCounter()
                 .Name("agentry_memory_evictions_total")
                 .Help(
                     "Memory entries evicted, by kind and reason (bound: over the kind's bound; "
                     "ttl: expired)")
                 .Register(reg);
  for (int k = 0; k < 2; ++k) {
    for (int r = 0; r < 2; ++r) {
      m.memory_evictions[k][r] =
          &ev.Add({{"kind", k == 0 ? "fact" : "exchange"}, {"reason", r == 0 ? "bound" : "ttl"}});
    }
  }
  m.memory_refused_full = &prometheus::BuildCounter()
                               .Name("agentry_memory_writes_refused_full_total")
                               .Help("Fact writes refused with 507 at memory.maxEntries")
                               .Register(reg)
                               .Add({});
  return m;
}

struct ChildCache {
  std::mutex mu;
  std::unordered_map<std::string, prometheus::Counter*> counters;
  std::unordered_map<std::string, prometheus::Histogram*> histograms;
};

ChildCache& cache() {
  static ChildCache c;
  return c;
}

}  // namespace

SidecarMetrics& metrics() {
  static SidecarMetrics m = build();
  return m;
}

void SidecarMetrics::count_http(const std::string& method, const std::string& endpoint, int status,
                                double seconds) {
  std::string key = method + '\x1f' + endpoint + '\x1f' + std::to_string(status);
  prometheus::Counter* c;
  {
    auto& cc = cache();
    std::lock_guard<std::mutex> lock(cc.mu);
    auto& slot = cc.counters[key];
    if (!slot)
      slot = &http_requests->Add(
          {{"method", method}, {"endpoint", endpoint}, {"status", std::to_string(status)}});
    c = slot;
  }
  c->Increment();
  http_duration->Observe(seconds);
}

void SidecarMetrics::count_provider(const std::string& provider, const std::string& code,
                                    double seconds) {
  provider_requests->Add({{"provider", provider}, {"code", code}}).Increment();
  provider_duration->Add({{"provider", provider}}, agentry::metrics::latency_buckets())
      .Observe(seconds);
}

void SidecarMetrics::observe_execution(const std::string& result, double seconds) {
  executions_total->Add({{"result", result}}).Increment();
  execution_duration_family->Add({{"result", result}}, agentry::metrics::latency_buckets())
      .Observe(seconds);
}

}  // namespace agentry::sidecar
