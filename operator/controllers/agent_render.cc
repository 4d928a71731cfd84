#include "operator/controllers/agent_render.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "common/base64.h"
#include "operator/planner/capacity_planner.h"
#include "sidecar/config.h"

namespace agentry::controllers {
namespace {

using nlohmann::json;

const json& at_or_null(const json& j, const char* ptr) {
  static const json kNull;
  auto p = json::json_pointer(ptr);
  return j.contains(p) ? j.at(p) : kNull;
}

int int_at(const json& j, const char* ptr, int def) {
  const json& v = at_or_null(j, ptr);
  return v.is_number_integer() ? v.get<int>() : def;
}

std::string str_at(const json& j, const char* ptr, const std::string& def = "") {
  const json& v = at_or_null(j, ptr);
  return v.is_string() ? v.get<std::string>() : def;
}

bool bool_at(const json& j, const char* ptr, bool def) {
  const json& v = at_or_null(j, ptr);
  return v.is_boolean() ? v.get<bool>() : def;
}

json labels_for(const std::string& agent) {
  return {{"app.kubernetes.io/name", "agentry-agent"},
          {"app.kubernetes.io/instance", agent},
          {"app.kubernetes.io/managed-by", "agentry-operator"},
          {"agentry.dev/agent", agent}};
}

json owner_ref(const json& agent) {
  return json::array({{{"apiVersion", "agentry.dev/v1alpha1"},
                       {"kind", "Agent"},
                       {"name", agent["metadata"]["name"]},
                       {"uid", agent["metadata"].value("uid", "")},
                       {"controller", true},
                       {"blockOwnerDeletion", true}}});
}

json object_meta(const json& agent, const std::string& name) {
  return {{"name", name},
          {"namespace", agent["metadata"].value("namespace", "default")},
          {"labels", labels_for(agent["metadata"]["name"].get<std::string>())},
          {"ownerReferences", owner_ref(agent)}};
}

// Merges {requests, limits} quantity maps: `over` wins field by field.
json merge_resources(const json& base, const json& over) {
  json out = base.is_object() ? base : json::object();
  if (!over.is_object()) return out;
  for (const char* part : {"requests", "limits"}) {
    if (!over.contains(part) || !over[part].is_object()) continue;
    for (auto& [k, v] : over[part].items()) out[part][k] = v;
  }
  return out;
}

std::string quantity_str(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return "";
}

// Keeps every limit >= its request and every request within the policy ceiling.
void clamp_resources(json& res, const json& max, std::vector<std::string>* warnings) {
  for (const char* r : {"cpu", "memory"}) {
    auto parse = [&](const std::string& q, int64_t* v) {
      return std::string(r) == "cpu" ? planner::parse_cpu(q, v) : planner::parse_memory(q, v);
    };
    auto fmt = [&](int64_t v) {
      return std::string(r) == "cpu" ? planner::format_cpu(v) : planner::format_memory(v);
    };
    int64_t req = 0, lim = 0, ceiling = 0;
    bool has_req = res.contains("requests") && res["requests"].contains(r) &&
                   parse(quantity_str(res["requests"][r]), &req);
    bool has_lim = res.contains("limits") && res["limits"].contains(r) &&
                   parse(quantity_str(res["limits"][r]), &lim);
    bool has_max = max.is_object() && max.contains(r) && parse(quantity_str(max[r]), &ceiling);
    if (has_max && has_req && req > ceiling) {
      warnings->push_back(std::string(r) + " request " + quantity_str(res["requests"][r]) +
                          " exceeds the policy maximum " + quantity_str(max[r]) + "; capped");
      req = ceiling;
      res["requests"][r] = fmt(req);
    }
    if (has_max && has_lim && lim > ceiling) {
      lim = ceiling;
      res["limits"][r] = fmt(lim);
    }
    if (has_req && has_lim && lim < req) {
      warnings->push_back(std::string(r) + " limit raised to the request " + fmt(req));
      res["limits"][r] = fmt(req);
    }
  }
}

json hpa_metric(const char* resource, int target) {
  return {{"type", "Resource"},
          {"resource",
           {{"name", resource},
            {"target", {{"type", "Utilization"}, {"averageUtilization", target}}}}}};
}

json restricted_security_context() {
  return {{"allowPrivilegeEscalation", false},
          {"readOnlyRootFilesystem", true},
          {"runAsNonRoot", true},
          {"capabilities", {{"drop", json::array({"ALL"})}}}};
}

}  // namespace

namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 1035 label, as the API server checks a Service name: [a-z]([-a-z0-9]*[a-z0-9])?, <= 63.
bool dns1035_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || !(s[0] >= 'a' && s[0] <= 'z') || !lower_alnum(s.back()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

// A container env var name as the API server checks it: [-._a-zA-Z][-._a-zA-Z0-9]*.
bool env_name(const std::string& s) {
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '.' ||
           (!first && c >= '0' && c <= '9');
  };
  if (s.empty() || !ok(s[0], true)) return false;
  return std::all_of(s.begin() + 1, s.end(), [&](char c) { return ok(c, false); });
}

// An IANA service name, as a port name must be: <= 15, [a-z0-9-], a letter, no "--", no edge '-'.
bool iana_svc_name(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-' ||
      s.find("--") != std::string::npos)
    return false;
  bool letter = false;
  for (char c : s) {
    if (!lower_alnum(c) && c != '-') return false;
    letter |= c >= 'a' && c <= 'z';
  }
  return letter;
}

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace

std::optional<std::string> check_names(const json& agent) {
  const std::string name = agent["metadata"].value("name", "");
  const std::string owned = owned_name(name);
  if (!dns1035_label(owned))
    return "metadata.name \"" + name + "\": the Agent's Service is named \"" + owned +
           "\", which must be a DNS-1035 label (lower-case letters, digits and '-', starting with "
           "a letter, at most 63 characters): use a name of at most " +
           std::to_string(63 - (owned.size() - name.size())) + " such characters";
  const json& spec = agent.at("spec");
  if (spec.contains("sidecarImage") && blank(str_at(spec, "/sidecarImage")))
    return std::string("spec.sidecarImage: empty; remove it to use the operator's image");
  const json& c = at_or_null(spec, "/container");
  if (!c.is_object()) return std::nullopt;
  if (blank(c.value("image", ""))) return std::string("spec.container.image: empty");
  const json& env = at_or_null(c, "/env");
  for (size_t i = 0; env.is_array() && i < env.size(); ++i) {
    std::string n = env[i].value("name", "");
    if (!env_name(n))
      return "spec.container.env[" + std::to_string(i) + "].name \"" + n +
             "\": want letters, digits, '_', '-' or '.', not starting with a digit";
  }
  const json& ports = at_or_null(c, "/ports");
  // Checked reads: a containerPort of 1e300 converted to int64 is undefined behaviour, and a
  // non-string name threw (both found by kube_watch_fuzz; the CRD refuses them, this code must
  // not rely on it).
  auto port_of = [](const json& p) {
    const json& v = at_or_null(p, "/containerPort");
    return v.is_number_integer() ? v.get<int64_t>() : int64_t{0};
  };
  for (size_t i = 0; ports.is_array() && i < ports.size(); ++i) {
    const std::string at = "spec.container.ports[" + std::to_string(i) + "]";
    if (!ports[i].is_object()) return at + ": want an object with containerPort";
    if (!at_or_null(ports[i], "/containerPort").is_number_integer())
      return at + ".containerPort: want a whole number";
    int64_t port = port_of(ports[i]);
    if (port == kSidecarPort)
      return at + ".containerPort " + std::to_string(port) +
             ": the sidecar listens there (the pod shares one network namespace); pick another";
    std::string pname = str_at(ports[i], "/name");
    if (!pname.empty() && (!iana_svc_name(pname) || pname == "http"))
      return at + ".name \"" + pname +
             "\": want at most 15 lower-case letters, digits and '-' with a letter, and not "
             "\"http\" (the sidecar's)";
    for (size_t j = 0; j < i; ++j)
      if (port_of(ports[j]) == port)
        return at + ".containerPort " + std::to_string(port) + ": also spec.container.ports[" +
               std::to_string(j) + "]";
  }
  return std::nullopt;
}

std::optional<std::string> resolve(const json& agent, const json& policy, EffectiveSpec* out) {
  if (auto err = check_names(agent)) return err;
  const json& spec = agent.at("spec");
  EffectiveSpec e;
  e.autoscaling = bool_at(spec, "/autoscaling/enabled", true);
  e.cpu_target = int_at(spec, "/autoscaling/targetCPUUtilizationPercentage",
                        int_at(policy, "/autoscaling/targetCPUUtilizationPercentage", 70));
  e.memory_target = int_at(spec, "/autoscaling/targetMemoryUtilizationPercentage",
                           int_at(policy, "/autoscaling/targetMemoryUtilizationPercentage", 80));
  e.in_flight_target = int_at(spec, "/autoscaling/targetInFlightExecutionsPerPod",
                              int_at(policy, "/autoscaling/targetInFlightExecutionsPerPod", 0));
  e.queued_target = int_at(spec, "/autoscaling/targetQueuedExecutionsPerPod",
                           int_at(policy, "/autoscaling/targetQueuedExecutionsPerPod", 0));

  std::optional<planner::Plan> plan;
  const json& target = at_or_null(spec, "/capacity/targetRPS");
  if (target.is_number_integer()) {
    auto in = planner::inputs_from_policy(policy, target.get<int64_t>());
    in.cpu_target_percent = e.cpu_target;
    in.memory_target_percent = e.memory_target;
    plan = planner::plan(in);
    if (plan->capped) e.warnings.push_back("capacity plan: " + plan->note);
  }

  int planned = plan ? plan->replicas : 0;
  e.min_replicas = int_at(spec, "/autoscaling/minReplicas",
                          plan ? planned : int_at(policy, "/autoscaling/minReplicas", 1));
  e.max_replicas = int_at(spec, "/autoscaling/maxReplicas",
                          int_at(policy, "/autoscaling/maxReplicas", std::max(1, e.min_replicas)));
  if (plan && !at_or_null(spec, "/autoscaling/maxReplicas").is_number_integer()) {
    e.max_replicas = std::max(e.max_replicas, planned);
  }
  if (e.autoscaling && e.min_replicas > e.max_replicas) {
    return "autoscaling.minReplicas " + std::to_string(e.min_replicas) +
           " is greater than maxReplicas " + std::to_string(e.max_replicas) +
           " (after applying the policy's defaults)";
  }
  e.replicas = int_at(spec, "/replicas", plan ? planned : 1);

  json res = merge_resources(at_or_null(policy, "/resources"), json::object());
  res.erase("max");
  if (plan) res = merge_resources(res, planner::to_json(*plan)["resources"]);
  res = merge_resources(res, at_or_null(spec, "/resources"));
  clamp_resources(res, at_or_null(policy, "/resources/max"), &e.warnings);
  // The HPA scales on utilization, a percent of the request: with no request it can never read a
  // metric (FailedGetResourceMetric "missing request for cpu"), so refuse rather than render an HPA
  // that cannot work.
  if (e.autoscaling) {
    for (const char* r : {"cpu", "memory"}) {
      if (!quantity_str(at_or_null(res, (std::string("/requests/") + r).c_str())).empty()) continue;
      return std::string("spec.resources.requests.") + r +
             ": autoscaling (spec.autoscaling.enabled, on by default) scales on " + r +
             " utilization, a percent of the request, and neither the Agent nor its policy's "
             "resources.requests gives one; set it, or set spec.autoscaling.enabled: false";
    }
  }
  e.resources = res;
  *out = std::move(e);
  return std::nullopt;
}

std::optional<std::string> check_autoscaling_backend(const json& agent, const EffectiveSpec& e,
                                                     const OperatorSettings& settings) {
  if (!e.scales_on_executions() || !settings.keda_prometheus_url.empty()) return std::nullopt;
  const char* field =
      e.in_flight_target ? "targetInFlightExecutionsPerPod" : "targetQueuedExecutionsPerPod";
  const bool own = at_or_null(agent.at("spec"), (std::string("/autoscaling/") + field).c_str())
                       .is_number_integer();
  return std::string(own ? "spec.autoscaling." : "the policy's autoscaling.") + field +
         ": scaling on executions goes through KEDA, which reads the sidecars' gauges from "
         "Prometheus, and this operator runs without --keda-prometheus-url (Helm: "
         "autoscaling.keda.prometheusURL); set it, or drop the field";
}

std::string hpa_name(const std::string& agent, const EffectiveSpec& e) {
  return (e.scales_on_executions() ? "keda-hpa-" : "") + owned_name(agent);
}

namespace {

// The ScaledObject's triggers after cpu and memory, in order: KEDA names trigger i's external
// metric "s<i>-prometheus".
struct ExecutionTrigger {
  const char* display;  // in status.autoscaling.metrics
  const char* gauge;    // the sidecar's
  int target;
};
std::vector<ExecutionTrigger> execution_triggers(const EffectiveSpec& e) {
  std::vector<ExecutionTrigger> out;
  if (e.in_flight_target) out.push_back({"in-flight", "executions_in_flight", e.in_flight_target});
  if (e.queued_target) out.push_back({"queued", "execution_queue_depth", e.queued_target});
  return out;
}

}  // namespace

std::map<std::string, std::string> execution_metric_names(const EffectiveSpec& e) {
  std::map<std::string, std::string> out;
  auto triggers = execution_triggers(e);
  for (size_t i = 0; i < triggers.size(); ++i)
    out["s" + std::to_string(i + 2) + "-prometheus"] = triggers[i].display;
  return out;
}

int default_exchange_bound(const json& agent, const json& policy) {
  EffectiveSpec eff;
  int64_t limit = 0;
  if (!resolve(agent, policy, &eff) && eff.resources.contains("limits") &&
      eff.resources["limits"].contains("memory") &&
      planner::parse_memory(quantity_str(eff.resources["limits"]["memory"]), &limit)) {
    return static_cast<int>(
        std::clamp<int64_t>(limit / 4 / kExchangeBytes, kMinExchanges, kMaxExchanges));
  }
  return kMaxExchanges;
}

std::string render_sidecar_config(const json& agent, const json& policy,
                                  const std::vector<ToolSource>& tool_sources) {
  // The schema is the sidecar's (sidecar/config.h, docs/sidecar.md); the sidecar rejects unknown
  // fields, and a test feeds this output to `agentry-sidecar --check-config`.
  const json& spec = agent.at("spec");
  std::string provider = str_at(spec, "/model/provider", "ollama");
  std::string def_endpoint =
      provider == "openai" ? "https://api.openai.com" : "http://ollama:11434";
  json tools = json::array();
  for (const auto& t : at_or_null(spec, "/tools").is_array() ? spec["tools"] : json::array()) {
    json tool = {{"name", t.value("name", "")},
                 {"description", t.value("description", "")},
                 {"url", t.value("url", "")},
                 {"method", t.value("method", "POST")}};
    // Clamped before the multiplication: a huge timeoutSeconds would overflow (undefined); the
    // sidecar's validator then refuses what is out of its bounds, naming the field.
    if (t.contains("timeoutSeconds") && t["timeoutSeconds"].is_number_integer())
      tool["timeoutMs"] =
          std::clamp<int64_t>(t["timeoutSeconds"].get<int64_t>(), -1, INT64_MAX / 1000) * 1000;
    if (t.contains("parameters")) tool["parameters"] = t["parameters"];
    tools.push_back(tool);
  }
  json options = {{"temperature", at_or_null(spec, "/model/temperature").is_number()
                                      ? spec["model"]["temperature"].get<double>()
                                      : 0.0}};
  if (at_or_null(spec, "/model/maxTokens").is_number_integer()) {
    options["num_predict"] = spec["model"]["maxTokens"];
  }
  int chunk = int_at(spec, "/execution/chunkInputBytes", 0);
  json agent_cfg = {
      {"name", agent["metadata"]["name"]},
      {"systemPrompt", str_at(spec, "/systemPrompt")},
      {"options", options},
      {"tools", tools},
      {"maxToolTurns", int_at(spec, "/execution/maxToolTurns", 8)},
      {"maxCallDepth", int_at(spec, "/execution/maxCallDepth", 4)},
      {"cacheResponses", bool_at(spec, "/cache/enabled", true)},
      {"responseCacheTtlSeconds", int_at(spec, "/cache/ttlSeconds", 300)},
      {"memoryRecallK",
       bool_at(spec, "/memory/enabled", true) ? int_at(spec, "/memory/recallTopK", 4) : 0}};
  if (chunk > 0) agent_cfg["chunking"] = {{"enabled", true}, {"chunkChars", chunk}};
  if (!tool_sources.empty()) {
    json servers = json::array();
    for (const auto& t : tool_sources) servers.push_back(t.server);
    agent_cfg["mcpServers"] = servers;
  }
  json provider_cfg = {{"type", provider},
                       {"endpoint", str_at(spec, "/model/endpoint", def_endpoint)},
                       {"model", str_at(spec, "/model/name")},
                       {"retries", int_at(spec, "/execution/retries", 3)}};
  if (spec.contains("model") && spec["model"].contains("apiKeySecretRef")) {
    provider_cfg["apiKeyEnv"] = "AGENTRY_PROVIDER_API_KEY";
  }
  if (const json t = at_or_null(spec, "/model/completion"); t.is_object())
    provider_cfg["completion"] = t;  // the sidecar validates the lines (check_rendered_config)
  if (spec.contains("model") && spec["model"].contains("caBundleSecretRef")) {
    provider_cfg["caBundleFile"] = "/var/run/agentry/provider-ca/ca.crt";
  }
  json cache = {{"l1MaxEntries", int_at(spec, "/cache/l1MaxEntries", 10000)},
                {"l1MaxBytes", at_or_null(spec, "/cache/l1MaxBytes").is_number_integer()
                                   ? spec["cache"]["l1MaxBytes"].get<int64_t>()
                                   : int64_t{64} << 20},
                {"defaultTtlSeconds", int_at(spec, "/cache/ttlSeconds", 300)}};
  if (!str_at(spec, "/cache/redis/url").empty())
    cache["redisUrl"] = str_at(spec, "/cache/redis/url");
  json memory = {{"backend", str_at(spec, "/memory/backend", "embedded")},
                 {"dir", "/var/lib/agentry/memory"},
                 {"maxEntries", int_at(spec, "/memory/maxEntries", 100000)},
                 {"onFull", str_at(spec, "/memory/onFull", "refuse")},
                 {"exchanges",
                  {{"maxEntries", int_at(spec, "/memory/exchanges/maxEntries",
                                         default_exchange_bound(agent, policy))},
                   {"ttlSeconds", int_at(spec, "/memory/exchanges/ttlSeconds", 604800)}}},
                 {"embedder", str_at(spec, "/memory/embedder", "minilm")},
                 {"embeddingDim", int_at(spec, "/memory/embeddingDimension", 0)},
                 {"ttlSeconds", int_at(spec, "/memory/ttlSeconds", 0)}};
  if (!str_at(spec, "/memory/redis/url").empty())
    memory["redisUrl"] = str_at(spec, "/memory/redis/url");
  const std::string profile = str_at(policy, "/profile", "production");
  json cfg = {
      {"server",
       {{"listen", "0.0.0.0:" + std::to_string(kSidecarPort)},
        {"tokenFile", "/var/run/agentry/token"}}},
      {"limits",
       {{"maxConcurrency", int_at(spec, "/execution/maxConcurrency", 200)},
        {"queueSize", int_at(spec, "/execution/queueSize", 1000)},
        {"executionTimeoutSeconds", int_at(spec, "/execution/timeoutSeconds", 120)}}},
      {"provider", provider_cfg},
      {"agent", agent_cfg},
      {"memoryPressure",
       {{"profile", profile == "development" ? "development" : "production"},
        {"threshold", int_at(policy, "/memoryPressurePercent", 80) / 100.0}}},
      {"cache", cache},
      {"memory", memory},
  };
  return cfg.dump(2) + "\n";
}

namespace {

// Where each field of the sidecar's config comes from in the Agent (render_sidecar_config): a
// sidecar field path prefix and the Agent field it was rendered from.
struct FieldSource {
  const char* sidecar;
  const char* agent;
};
constexpr FieldSource kFieldSources[] = {
    {"limits.maxConcurrency", "spec.execution.maxConcurrency"},
    {"limits.queueSize", "spec.execution.queueSize"},
    {"limits.executionTimeoutSeconds", "spec.execution.timeoutSeconds"},
    {"provider.type", "spec.model.provider"},
    {"provider.endpoint", "spec.model.endpoint"},
    {"provider.model", "spec.model.name"},
    {"provider.retries", "spec.execution.retries"},
    {"agent.systemPrompt", "spec.systemPrompt"},
    {"agent.maxToolTurns", "spec.execution.maxToolTurns"},
    {"agent.maxCallDepth", "spec.execution.maxCallDepth"},
    {"agent.chunking.chunkChars", "spec.execution.chunkInputBytes"},
    {"agent.responseCacheTtlSeconds", "spec.cache.ttlSeconds"},
    {"agent.memoryRecallK", "spec.memory.recallTopK"},
    {"cache.l1MaxEntries", "spec.cache.l1MaxEntries"},
    {"cache.l1MaxBytes", "spec.cache.l1MaxBytes"},
    {"cache.defaultTtlSeconds", "spec.cache.ttlSeconds"},
    {"cache.redisUrl", "spec.cache.redis.url"},
    {"memory.backend", "spec.memory.backend"},
    {"memory.redisUrl", "spec.memory.redis.url"},
    {"memory.maxEntries", "spec.memory.maxEntries"},
    {"memory.onFull", "spec.memory.onFull"},
    {"memory.exchanges.maxEntries", "spec.memory.exchanges.maxEntries"},
    {"memory.exchanges.ttlSeconds", "spec.memory.exchanges.ttlSeconds"},
    {"memory.embedder", "spec.memory.embedder"},
    {"memory.embeddingDim", "spec.memory.embeddingDimension"},
    {"memory.ttlSeconds", "spec.memory.ttlSeconds"},
    {"memoryPressure.threshold", "the AgentPolicy's spec.memoryPressurePercent"},
};

}  // namespace

std::string agent_field_for(const std::string& sidecar_field) {
  for (const auto& f : kFieldSources)
    if (sidecar_field == f.sidecar) return f.agent;
  // provider.completion[.x] -> spec.model.completion[.x] (copied as written)
  if (sidecar_field.rfind("provider.completion", 0) == 0)
    return "spec.model" + sidecar_field.substr(8);
  // agent.tools[i].x -> spec.tools[i].x (timeoutMs was rendered from timeoutSeconds)
  if (sidecar_field.rfind("agent.tools[", 0) == 0) {
    std::string rest = sidecar_field.substr(6);
    auto dot = rest.rfind(".timeoutMs");
    if (dot != std::string::npos) rest = rest.substr(0, dot) + ".timeoutSeconds";
    return "spec." + rest;
  }
  return "";
}

std::optional<std::string> check_rendered_config(const std::string& config) {
  auto parsed = sidecar::parse_config(config);
  Status s = parsed.ok() ? sidecar::validate(*parsed) : parsed.status();
  if (s.is_ok()) return std::nullopt;
  const std::string& m = s.message();
  auto colon = m.find(": ");
  std::string field = colon == std::string::npos ? "" : m.substr(0, colon);
  std::string agent_field = agent_field_for(field);
  if (agent_field.empty())
    return "the sidecar would refuse the config the operator rendered (a bug in the operator: "
           "please report it): " +
           m;
  return agent_field + ": " + m.substr(colon + 2) + " (the sidecar's " + field + ")";
}

namespace {

// The sidecar's environment: the provider's API key and the Redis passwords, from their Secrets.
json sidecar_env(const json& spec) {
  json env = json::array();
  if (spec.contains("model") && spec["model"].contains("apiKeySecretRef")) {
    const json& ref = spec["model"]["apiKeySecretRef"];
    env.push_back({{"name", "AGENTRY_PROVIDER_API_KEY"},
                   {"valueFrom",
                    {{"secretKeyRef",
                      {{"name", ref.value("name", "")}, {"key", ref.value("key", "api-key")}}}}}});
  }
  for (const char* section : {"cache", "memory"}) {
    json ptr = at_or_null(spec, (std::string("/") + section + "/redis/passwordSecretRef").c_str());
    if (ptr.is_object()) {
      env.push_back(
          {{"name",
            std::string("AGENTRY_") + (section[0] == 'c' ? "CACHE" : "MEMORY") + "_REDIS_PASSWORD"},
           {"valueFrom",
            {{"secretKeyRef",
              {{"name", ptr.value("name", "")}, {"key", ptr.value("key", "api-key")}}}}}});
    }
  }
  return env;
}

// The pod: the sidecar (config, token, data and tmp volumes; the provider's CA when named), and the
// user's container beside it when spec.container is set.
json render_pod_spec(const RenderInput& in, const std::string& name, const std::string& obj) {
  const json& spec = in.agent.at("spec");
  const EffectiveSpec& e = in.effective;
  json env = sidecar_env(spec);
  for (const auto& t : in.tool_sources)
    if (!t.env.is_null()) env.push_back(t.env);
  json mounts = json::array({
      {{"name", "config"}, {"mountPath", "/etc/agentry"}, {"readOnly", true}},
      {{"name", "token"}, {"mountPath", "/var/run/agentry"}, {"readOnly", true}},
      {{"name", "data"}, {"mountPath", "/var/lib/agentry"}},
      {{"name", "tmp"}, {"mountPath", "/tmp"}},
  });
  json volumes = json::array({
      {{"name", "config"}, {"configMap", {{"name", obj}}}},
      {{"name", "token"},
       {"secret",
        {{"secretName", token_secret_name(name)},
         {"defaultMode", 0440},
         {"items", json::array({{{"key", "token"}, {"path", "token"}}})}}}},
      {{"name", "data"}, {"emptyDir", json::object()}},
      {{"name", "tmp"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "64Mi"}}}},
  });
  if (spec.contains("model") && spec["model"].contains("caBundleSecretRef")) {
    const json& ref = spec["model"]["caBundleSecretRef"];
    volumes.push_back(
        {{"name", "provider-ca"},
         {"secret",
          {{"secretName", ref.value("name", "")},
           {"items", json::array({{{"key", ref.value("key", "ca.crt")}, {"path", "ca.crt"}}})}}}});
    mounts.push_back({{"name", "provider-ca"},
                      {"mountPath", "/var/run/agentry/provider-ca"},
                      {"readOnly", true}});
  }
  auto probe = [](const char* path, int period) {
    return json{{"httpGet", {{"path", path}, {"port", "http"}}},
                {"periodSeconds", period},
                {"timeoutSeconds", 2},
                {"failureThreshold", 3}};
  };
  json sidecar = {
      {"name", "agentry-sidecar"},
      {"image", str_at(spec, "/sidecarImage", in.settings.sidecar_image)},
      {"args", json::array({"--config", "/etc/agentry/config.yaml"})},
      {"ports",
       json::array({{{"name", "http"}, {"containerPort", kSidecarPort}, {"protocol", "TCP"}}})},
      {"volumeMounts", mounts},
      {"livenessProbe", probe("/healthz", 10)},
      {"readinessProbe", probe("/readyz", 5)},
      {"resources", e.resources},
      {"securityContext", restricted_security_context()},
  };
  // No empty list: the API server omits it, and the cached object would never match ours again.
  if (!env.empty()) sidecar["env"] = env;
  json containers = json::array({sidecar});
  if (spec.contains("container")) {
    const json& c = spec["container"];
    json user = {{"name", "agent"}, {"image", c.value("image", "")}};
    for (const char* f : {"command", "args", "ports", "resources"}) {
      if (c.contains(f)) user[f] = c[f];
    }
    json uenv = c.value("env", json::array());
    uenv.push_back({{"name", "AGENTRY_SIDECAR_URL"},
                    {"value", "http://127.0.0.1:" + std::to_string(kSidecarPort)}});
    uenv.push_back({{"name", "AGENTRY_TOKEN_FILE"}, {"value", "/var/run/agentry/token"}});
    user["env"] = uenv;
    user["volumeMounts"] =
        json::array({{{"name", "token"}, {"mountPath", "/var/run/agentry"}, {"readOnly", true}}});
    user["securityContext"] = restricted_security_context();
    containers.push_back(user);
  }
  json pod_spec = {
      {"automountServiceAccountToken", false},
      {"enableServiceLinks", false},
      {"securityContext",
       {{"runAsNonRoot", true},
        {"runAsUser", 65532},
        {"runAsGroup", 65532},
        {"fsGroup", 65532},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"containers", containers},
      {"volumes", volumes},
  };
  if (spec.contains("imagePullSecrets")) pod_spec["imagePullSecrets"] = spec["imagePullSecrets"];
  return pod_spec;
}

// Ingress to the sidecar port from the agent's own pods, the operator, and spec.networkPolicy.
json render_network_policy(const RenderInput& in, const std::string& name, const std::string& obj) {
  const json& agent = in.agent;
  const json& spec = agent.at("spec");
  json from = json::array({
      {{"podSelector", {{"matchLabels", selector_labels(name)}}}},
      // Agents that list this one in spec.agentTools (their pods carry the label).
      {{"podSelector", {{"matchLabels", {{caller_label(name), "true"}}}}}},
      {{"namespaceSelector",
        {{"matchLabels", {{"kubernetes.io/metadata.name", in.settings.operator_namespace}}}}},
       {"podSelector", {{"matchLabels", {{"app.kubernetes.io/name", "agentry-operator"}}}}}},
  });
  const json& extra = at_or_null(spec, "/networkPolicy/allowFrom");
  if (extra.is_array()) {
    for (const auto& peer : extra) from.push_back(peer);
  }
  json r_network_policy = {
      {"apiVersion", "networking.k8s.io/v1"},
      {"kind", "NetworkPolicy"},
      {"metadata", object_meta(agent, obj)},
      {"spec",
       {{"podSelector", {{"matchLabels", selector_labels(name)}}},
        {"policyTypes", json::array({"Ingress"})},
        {"ingress", json::array({{{"from", from},
                                  {"ports", json::array({{{"protocol", "TCP"},
                                                          {"port", kSidecarPort}}})}}})}}}};

  return r_network_policy;
}

// The HPA on CPU and memory utilization, with the policy's behavior.
json render_hpa(const RenderInput& in, const std::string& obj) {
  const json& agent = in.agent;
  const EffectiveSpec& e = in.effective;
  json hpa_spec = {
      {"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", obj}}},
      {"minReplicas", e.min_replicas},
      {"maxReplicas", e.max_replicas},
      {"metrics",
       json::array({hpa_metric("cpu", e.cpu_target), hpa_metric("memory", e.memory_target)})},
  };
  const json& behavior = at_or_null(in.policy_spec, "/autoscaling/behavior");
  if (behavior.is_object() && !behavior.empty()) hpa_spec["behavior"] = behavior;
  return json{{"apiVersion", "autoscaling/v2"},
              {"kind", "HorizontalPodAutoscaler"},
              {"metadata", object_meta(agent, obj)},
              {"spec", hpa_spec}};
}

// KEDA's ScaledObject: the same bounds, CPU and memory targets and behavior as the HPA, plus one
// prometheus trigger per execution gauge. AverageValue: KEDA's HPA divides the sum over the
// Agent's pods by the replica count, so N executions in flight settle on ceil(N / target) pods.
// The labels are the ones the chart's ServiceMonitor gives the sidecars' series (namespace, and
// the pod label agentry.dev/agent); the local cluster's Prometheus sets the same (hack/cluster.sh).
json render_scaled_object(const RenderInput& in, const std::string& obj) {
  const json& agent = in.agent;
  const EffectiveSpec& e = in.effective;
  const std::string ns = agent["metadata"].value("namespace", "default");
  const std::string name = agent["metadata"]["name"];
  auto utilization = [](const char* type, int target) {
    return json{{"type", type},
                {"metricType", "Utilization"},
                {"metadata", {{"value", std::to_string(target)}}}};
  };
  json triggers =
      json::array({utilization("cpu", e.cpu_target), utilization("memory", e.memory_target)});
  for (const auto& t : execution_triggers(e)) {
    triggers.push_back({{"type", "prometheus"},
                        {"metricType", "AverageValue"},
                        {"metadata",
                         {{"serverAddress", in.settings.keda_prometheus_url},
                          {"query", std::string("sum(") + t.gauge + "{namespace=\"" + ns +
                                        "\",agentry_dev_agent=\"" + name + "\"})"},
                          {"threshold", std::to_string(t.target)}}}});
  }
  json spec = {
      {"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", obj}}},
      {"minReplicaCount", e.min_replicas},
      {"maxReplicaCount", e.max_replicas},
      {"pollingInterval", 15},
      {"triggers", triggers},
  };
  const json& behavior = at_or_null(in.policy_spec, "/autoscaling/behavior");
  if (behavior.is_object() && !behavior.empty())
    spec["advanced"] = {{"horizontalPodAutoscalerConfig", {{"behavior", behavior}}}};
  return json{{"apiVersion", "keda.sh/v1alpha1"},
              {"kind", "ScaledObject"},
              {"metadata", object_meta(agent, obj)},
              {"spec", spec}};
}

}  // namespace

RenderedObjects render(const RenderInput& in) {
  const json& agent = in.agent;
  const std::string name = agent["metadata"]["name"];
  const std::string obj = owned_name(name);
  const EffectiveSpec& e = in.effective;
  RenderedObjects r;

  r.config_map = {{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata", object_meta(agent, obj)},
                  {"data", {{"config.yaml", in.config}}}};
  r.secret = {{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", object_meta(agent, token_secret_name(name))},
              {"type", "Opaque"},
              {"data", {{"token", base64_encode(in.token)}}}};

  const json pod_spec = render_pod_spec(in, name, obj);
  json pod_labels = labels_for(name);
  for (const auto& t : in.tool_sources)
    if (t.kind == "Agent") pod_labels[caller_label(t.name)] = "true";
  json dep_spec = {
      {"selector", {{"matchLabels", selector_labels(name)}}},
      {"template",
       {{"metadata",
         {{"labels", pod_labels}, {"annotations", {{"agentry.dev/config-hash", in.config_hash}}}}},
        {"spec", pod_spec}}},
  };
  // While the HPA runs, spec.replicas is left out of our apply so the HPA alone owns it.
  if (!e.autoscaling) dep_spec["replicas"] = e.replicas;
  r.deployment = {{"apiVersion", "apps/v1"},
                  {"kind", "Deployment"},
                  {"metadata", object_meta(agent, obj)},
                  {"spec", dep_spec}};

  r.service = {{"apiVersion", "v1"},
               {"kind", "Service"},
               {"metadata", object_meta(agent, obj)},
               {"spec",
                {{"type", "ClusterIP"},
                 {"selector", selector_labels(name)},
                 {"ports", json::array({{{"name", "http"},
                                         {"port", kSidecarPort},
                                         {"targetPort", "http"},
                                         {"protocol", "TCP"}}})}}}};

  r.network_policy = render_network_policy(in, name, obj);
  if (e.scales_on_executions()) {
    r.scaled_object = render_scaled_object(in, obj);
  } else if (e.autoscaling) {
    r.hpa = render_hpa(in, obj);
  }
  // maxUnavailable 1 never blocks the eviction of a lone pod, so the budget is safe whenever more
  // than one replica can run (an HPA may scale a min-1 agent up).
  int most = e.autoscaling ? e.max_replicas : e.replicas;
  if (most > 1) {
    r.pdb = json{
        {"apiVersion", "policy/v1"},
        {"kind", "PodDisruptionBudget"},
        {"metadata", object_meta(agent, obj)},
        {"spec", {{"maxUnavailable", 1}, {"selector", {{"matchLabels", selector_labels(name)}}}}}};
  }
  return r;
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

std::string random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  std::string out;
  char buf[3];
  for (unsigned char b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

}  // namespace agentry::controllers
