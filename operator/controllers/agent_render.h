// Renders the objects an Agent owns from its spec and its policy: pure functions, no I/O, so the
// whole mapping is unit-tested and the controller only applies what comes out (server-side apply).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "operator/controllers/agent_names.h"
#include "operator/controllers/agent_tools.h"
#include "operator/controllers/operator_settings.h"

namespace agentry::controllers {

// The numbers the Agent will run with after merging its spec, its policy and the planner.
struct EffectiveSpec {
  bool autoscaling = true;
  int replicas = 1;  // when autoscaling is off
  int min_replicas = 1;
  int max_replicas = 1;
  int cpu_target = 70;
  int memory_target = 80;
  // Average executions in flight / queued per pod to scale on as well; 0: not. Either one makes
  // the Agent scale through a KEDA ScaledObject instead of a plain HPA (render()).
  int in_flight_target = 0;
  int queued_target = 0;
  bool scales_on_executions() const { return autoscaling && (in_flight_target || queued_target); }
  nlohmann::json resources;           // {"requests": {...}, "limits": {...}}
  std::vector<std::string> warnings;  // e.g. a request capped at the policy ceiling
};

// Merges; an error message when the combination cannot work (e.g. min > max after defaults).
std::optional<std::string> resolve(const nlohmann::json& agent, const nlohmann::json& policy_spec,
                                   EffectiveSpec* out);

// Names and ports the API server would refuse on the owned objects, as an error naming the
// Agent's field (metadata.name, spec.container.ports[1].containerPort, ...). resolve() runs it.
std::optional<std::string> check_names(const nlohmann::json& agent);

// An error naming the Agent's field when its effective spec asks for what this operator cannot
// render: scaling on executions needs --keda-prometheus-url (KEDA reads the sidecars' gauges from
// that Prometheus).
std::optional<std::string> check_autoscaling_backend(const nlohmann::json& agent,
                                                     const EffectiveSpec& e,
                                                     const OperatorSettings& settings);

// The name of the HPA that scales the Agent's Deployment: ours, or the one KEDA creates for the
// ScaledObject ("keda-hpa-<name>-agent").
std::string hpa_name(const std::string& agent, const EffectiveSpec& e);

// Display names of the ScaledObject's execution triggers in the HPA's external metrics
// ("s2-prometheus" -> "in-flight"), for status.autoscaling.metrics.
std::map<std::string, std::string> execution_metric_names(const EffectiveSpec& e);

// memory.exchanges.maxEntries when the Agent does not set it: a quarter of the sidecar's memory
// limit at kExchangeBytes an entry (its text, float vector and int8 codes, HNSW links and maps at
// 384 dimensions: an estimate, see docs/sidecar.md), within [kMinExchanges, kMaxExchanges]. 512 MiB
// gives 21,845. kMaxExchanges when the limit is unknown.
inline constexpr int64_t kExchangeBytes = 6 * 1024;
inline constexpr int64_t kMinExchanges = 1000;
inline constexpr int64_t kMaxExchanges = 100000;
int default_exchange_bound(const nlohmann::json& agent, const nlohmann::json& policy_spec);

// The sidecar's config file (YAML; rendered as JSON, which YAML reads as is), with one
// agent.mcpServers entry per tool source (agent_tools.h).
std::string render_sidecar_config(const nlohmann::json& agent, const nlohmann::json& policy_spec,
                                  const std::vector<ToolSource>& tool_sources = {});

// Runs the sidecar's own parser and validator (sidecar/config.h) on a rendered config: nullopt
// when the sidecar will accept it, else the error with the Agent's field in front
// ("spec.execution.maxToolTurns: want 1..64, got 0 (the sidecar's agent.maxToolTurns)").
std::optional<std::string> check_rendered_config(const std::string& config);

// The Agent field a sidecar config field is rendered from ("agent.maxToolTurns" ->
// "spec.execution.maxToolTurns"); "" for fields the operator sets on its own.
std::string agent_field_for(const std::string& sidecar_field);

struct RenderInput {
  nlohmann::json agent;        // the Agent object
  nlohmann::json policy_spec;  // the AgentPolicy's spec
  EffectiveSpec effective;
  std::string config;       // render_sidecar_config()
  std::string config_hash;  // over config and referenced Secrets: rolls the pods when it changes
  std::string token;        // the sidecar API token (kept from the existing Secret)
  std::vector<ToolSource> tool_sources;  // bind_tools(): their token env vars and caller labels
  OperatorSettings settings;
};

struct RenderedObjects {
  nlohmann::json config_map, secret, deployment, service, network_policy;
  std::optional<nlohmann::json> hpa;  // only while autoscaling is on, on CPU and memory alone
  // A KEDA ScaledObject instead of the HPA when the Agent scales on executions (KEDA owns the HPA).
  std::optional<nlohmann::json> scaled_object;
  std::optional<nlohmann::json> pdb;  // only when more than one replica can run
};

RenderedObjects render(const RenderInput& in);

// Hex SHA-256 (OpenSSL).
std::string sha256_hex(const std::string& data);
// 32 random bytes as hex from OpenSSL's CSPRNG.
std::string random_token();

}  // namespace agentry::controllers
