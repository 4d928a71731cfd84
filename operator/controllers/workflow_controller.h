// The Workflow controller: runs each Workflow's DAG of steps on the Agents' sidecars.
//
// Exactly once: before a step's attempt k is sent, status records attempts=k (an optimistic-
// concurrency status write; a conflict aborts the dispatch), then the sidecar gets
// POST /v1/executions with Idempotency-Key "<workflow uid>/<step>/<k>". A restart (or a lost
// answer) re-sends the same key, which the sidecar answers with the same execution; a new key is
// only ever minted by a recorded retry. Progress is followed without blocking workers: an async
// execution, then GETs on requeue-after with a doubling interval.
//
// Development endpoint override (sidecars outside the cluster network): the Agent annotation
// agentry.dev/endpoint-override: http://127.0.0.1:PORT, or WorkflowSettings::endpoint_overrides
// ("ns/agent" or "agent" -> URL). With an override the Agent need not be Ready (it must exist and
// its token Secret must exist).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "operator/controllers/operator_settings.h"
#include "operator/runtime/manager.h"

namespace agentry::controllers {

inline constexpr const char* kWorkflowFinalizer = "agentry.dev/workflow";
inline constexpr const char* kEndpointOverrideAnnotation = "agentry.dev/endpoint-override";

struct WorkflowSettings {
  int workers = 4;  // --workflow-workers
  int namespace_parallelism =
      0;  // --workflow-namespace-parallelism: running steps per namespace, 0 = no limit
  int max_concurrent_workflows =
      0;  // --max-concurrent-workflows: started, unfinished workflows, 0 = no limit
  // --workflow-endpoint-override ns/agent=URL (repeatable): development only.
  std::map<std::string, std::string> endpoint_overrides;
  bool allow_endpoint_annotation = true;          // honour agentry.dev/endpoint-override
  std::chrono::milliseconds poll_min{100};        // first GET of a running step after this long,
  std::chrono::milliseconds poll_max{2000};       // then doubling up to this
  std::chrono::milliseconds waiting_retry{5000};  // re-check a missing/not-Ready Agent
  std::chrono::seconds cancel_give_up{30};        // deletion: stop retrying an unreachable sidecar
  // Test/benchmark hook: called right after a step's POST was accepted by the sidecar.
  std::function<void(const std::string& key, const std::string& step, int attempt)> on_dispatch{};
};

// Registers the Workflow controller (informers for Workflows, Agents and Secrets in
// settings.watch_namespace, an Agent -> Workflows index, the finalizer). Call before mgr.run().
void register_workflow_controller(runtime::Manager& mgr, const OperatorSettings& settings,
                                  const WorkflowSettings& workflow_settings);

// "ns/agent=URL" -> overrides; an error names the bad entry.
Status parse_endpoint_override(const std::string& flag, std::map<std::string, std::string>* out);

}  // namespace agentry::controllers
