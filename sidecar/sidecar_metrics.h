// The sidecar's Prometheus families (names from the performance guidelines plus our own),
// registered once in the process registry. Label children are cached so the hot path does no map
// lookups.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>

namespace agentry::sidecar {

struct SidecarMetrics {
  prometheus::Family<prometheus::Counter>* http_requests;  // {method,endpoint,status}
  prometheus::Histogram* http_duration;
  prometheus::Family<prometheus::Histogram>* execution_duration_family;  // {result}
  prometheus::Family<prometheus::Counter>* executions_total;             // {result}
  prometheus::Gauge* memory_usage_bytes;
  prometheus::Gauge* executions_in_flight;
  prometheus::Gauge* execution_queue_depth;
  prometheus::Family<prometheus::Counter>* provider_requests;    // {provider,code}
  prometheus::Family<prometheus::Histogram>* provider_duration;  // {provider}
  prometheus::Counter* memory_cleanups;
  // MCP tools (sidecar/mcp/mcp_toolset.h).
  prometheus::Family<prometheus::Counter>* mcp_tool_calls;            // {server,tool,result}
  prometheus::Family<prometheus::Histogram>* mcp_tool_call_duration;  // {server}
  prometheus::Family<prometheus::Counter>* mcp_list_failures;         // {server}
  prometheus::Counter* executions_rejected;                           // 429s from backpressure
  // The HTTP server, refreshed at each scrape.
  prometheus::Gauge* http_connections;
  prometheus::Gauge* http_workers;
  prometheus::Gauge* http_worker_queue;
  prometheus::Gauge* http_busy_refused;  // a count, kept as a gauge: it is copied, not counted
  // Agent memory, refreshed at each scrape.
  prometheus::Gauge* memory_entries;
  prometheus::Gauge* memory_index_backlog;
  prometheus::Gauge* memory_writes_waiting;
  prometheus::Gauge* memory_writes_refused;  // 503s because the index was behind (since start)
  prometheus::Gauge* memory_facts;           // agentry_memory_entries_by_kind{kind="fact"}
  prometheus::Gauge* memory_exchanges;       // {kind="exchange"}
  prometheus::Gauge* memory_fill_facts;      // agentry_memory_fill_ratio{kind="fact"}
  prometheus::Gauge* memory_fill_exchanges;  // {kind="exchange"}
  // agentry_memory_evictions_total{kind,reason}: [kind: fact, exchange][reason: bound, ttl]
  prometheus::Counter* memory_evictions[2][2];
  prometheus::Counter* memory_refused_full;  // agentry_memory_writes_refused_full_total

  void count_http(const std::string& method, const std::string& endpoint, int status,
                  double seconds);
  void count_provider(const std::string& provider, const std::string& code, double seconds);
  void observe_execution(const std::string& result, double seconds);
};

SidecarMetrics& metrics();

}  // namespace agentry::sidecar
