#include "operator/controllers/agent_controller.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/base64.h"
#include "common/log.h"
#include "operator/controllers/agent_autoscaling.h"
#include "operator/controllers/agent_memory.h"
#include "operator/controllers/builtin_policies.h"
#include "operator/controllers/conditions.h"
#include "operator/controllers/policy_controller.h"
#include "operator/controllers/tool_server_controller.h"
#include "operator/controllers/workflow_controller.h"
#include "operator/controllers/workflow_sidecar.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"
#include "operator/runtime/subset_diff.h"

namespace agentry::controllers {
namespace {

using nlohmann::json;
using runtime::ObjectPtr;
using runtime::ReconcileResult;
namespace res = kube::resources;

constexpr const char* kSecretIndex = "agentry.dev/secret";
constexpr const char* kToolServerIndex = "agentry.dev/toolserver";  // ns/toolserver an Agent names
constexpr const char* kAgentToolIndex = "agentry.dev/agent-tool";   // ns/agent an Agent calls

struct SecretRef {
  std::string name, key, field;  // field: where the Agent names it (for messages)
};

std::vector<SecretRef> referenced_secrets(const json& agent) {
  std::vector<SecretRef> out;
  const json& spec = agent.value("spec", json::object());
  auto add = [&](const char* ptr, const char* field, const char* def_key) {
    auto p = json::json_pointer(ptr);
    if (!spec.contains(p) || !spec.at(p).is_object()) return;
    const json& ref = spec.at(p);
    out.push_back({ref.value("name", ""), ref.value("key", def_key), field});
  };
  add("/model/apiKeySecretRef", "spec.model.apiKeySecretRef", "api-key");
  add("/model/caBundleSecretRef", "spec.model.caBundleSecretRef", "ca.crt");
  add("/cache/redis/passwordSecretRef", "spec.cache.redis.passwordSecretRef", "api-key");
  add("/memory/redis/passwordSecretRef", "spec.memory.redis.passwordSecretRef", "api-key");
  if (spec.contains("imagePullSecrets") && spec["imagePullSecrets"].is_array()) {
    for (const auto& s : spec["imagePullSecrets"]) {
      out.push_back({s.value("name", ""), "", "spec.imagePullSecrets"});
    }
  }
  return out;
}

}  // namespace

namespace {

class AgentReconciler {
 public:
  AgentReconciler(runtime::Manager& mgr, OperatorSettings settings)
      : mgr_(mgr), settings_(std::move(settings)) {
    const std::string& ns = settings_.watch_namespace;
    agents_ = mgr.informer(res::kAgents, ns);
    policies_ = mgr.informer(res::kAgentPolicies);
    index_agents_by_policy(*agents_, settings_.default_policy);
    secrets_ = mgr.informer(res::kSecrets, ns);
    deployments_ = mgr.informer(res::kDeployments, ns);
    tool_servers_ = mgr.informer(res::kToolServers, ns);
    for (const kube::Resource* r :
         {&res::kConfigMaps, &res::kServices, &res::kHorizontalPodAutoscalers,
          &res::kPodDisruptionBudgets, &res::kNetworkPolicies}) {
      owned_[r] = mgr.informer(*r, ns);
    }
    // ScaledObjects only where KEDA is (the resource does not exist without its CRDs).
    if (!settings_.keda_prometheus_url.empty())
      owned_[&res::kScaledObjects] = mgr.informer(res::kScaledObjects, ns);

    agents_->add_index(kSecretIndex, [](const json& a) {
      std::vector<std::string> out;
      for (auto& r : referenced_secrets(a)) out.push_back(kube::namespace_of(a) + "/" + r.name);
      return out;
    });
    auto in_namespace = [](std::vector<std::string> (*names)(const json&)) {
      return [names](const json& a) {
        std::vector<std::string> out;
        for (auto& n : names(a)) out.push_back(kube::namespace_of(a) + "/" + n);
        return out;
      };
    };
    agents_->add_index(kToolServerIndex, in_namespace(&referenced_tool_servers));
    agents_->add_index(kAgentToolIndex, in_namespace(&referenced_agents));
  }

  void register_controllers() {
    auto& c =
        mgr_.add_controller("agent", [this](const kube::ObjectKey& k) { return reconcile(k); });
    c.watches_for(agents_, {runtime::predicates::generation_changed()});
    c.watches_owned(deployments_, res::kAgents, {runtime::predicates::resource_version_changed()});
    c.watches_owned(secrets_, res::kAgents, {runtime::predicates::resource_version_changed()});
    for (auto& [r, inf] : owned_) {
      c.watches_owned(inf, res::kAgents, {runtime::predicates::resource_version_changed()});
    }
    // The HPA KEDA creates for a ScaledObject is the ScaledObject's, not ours: it carries our
    // labels (KEDA copies them), and its status feeds the Agent's.
    c.watches(owned_.at(&res::kHorizontalPodAutoscalers),
              [](const json& hpa) -> std::vector<kube::ObjectKey> {
                const json* ref = kube::controller_of(hpa);
                if (!ref || ref->value("kind", "") != "ScaledObject") return {};
                std::string agent = kube::string_at(
                    hpa.value("metadata", json::object()).value("labels", json::object()),
                    "agentry.dev/agent");
                if (agent.empty()) return {};
                return {kube::ObjectKey{kube::namespace_of(hpa), agent}};
              },
              {runtime::predicates::resource_version_changed()});
    // A policy edit re-reconciles every Agent that uses it; a referenced Secret appearing or
    // changing re-reconciles the Agents that name it (heals, and rolls pods via the hash).
    auto by_index = [this](const char* index, std::function<std::string(const json&)> value) {
      return [this, index, value](const json& obj) {
        std::vector<kube::ObjectKey> keys;
        for (auto& a : agents_->store().by_index(index, value(obj)))
          keys.push_back(kube::key_of(*a));
        return keys;
      };
    };
    c.watches(policies_, by_index(kPolicyIndex, [](const json& p) { return kube::name(p); }),
              {runtime::predicates::generation_changed()});
    c.watches(secrets_,
              by_index(kSecretIndex,
                       [](const json& s) { return kube::namespace_of(s) + "/" + kube::name(s); }),
              {runtime::predicates::resource_version_changed()});
    // Tool sources: a ToolServer's spec or probe result, a called Agent's phase or address, and
    // the Secrets their tokens come from re-reconcile the Agents that use them.
    auto key_of = [](const json& o) { return kube::namespace_of(o) + "/" + kube::name(o); };
    c.watches(tool_servers_, by_index(kToolServerIndex, key_of),
              {runtime::predicates::resource_version_changed()});
    c.watches(agents_, by_index(kAgentToolIndex, key_of),
              {runtime::predicates::resource_version_changed()});
    c.watches(secrets_,
              [this](const json& secret) {
                std::vector<kube::ObjectKey> keys;
                const std::string ns = kube::namespace_of(secret), name = kube::name(secret);
                auto add = [&](const char* index, const std::string& value) {
                  for (auto& a : agents_->store().by_index(index, value))
                    keys.push_back(kube::key_of(*a));
                };
                for (auto& ts : tool_servers_->store().list())
                  if (reads_secret(*ts, secret)) add(kToolServerIndex, ns + "/" + kube::name(*ts));
                const std::string suffix = token_secret_name("");  // "<agent>" + suffix
                if (name.size() > suffix.size() && name.ends_with(suffix))
                  add(kAgentToolIndex, ns + "/" + name.substr(0, name.size() - suffix.size()));
                return keys;
              },
              {runtime::predicates::resource_version_changed()});

    // Memory fill: read from a sidecar about once a minute while the Agent is Ready.
    if (settings_.memory_status_interval.count() > 0) {
      auto& mc = mgr_.add_controller(
          "agent-memory", [this](const kube::ObjectKey& k) { return reconcile_memory(k); },
          {.workers = 1});
      mc.watches_for(agents_, {runtime::predicates::resource_version_changed()});
    }
  }

 private:
  Result<ReconcileResult> reconcile(const kube::ObjectKey& key) {
    ObjectPtr cached = agents_->store().get(key.str());
    if (!cached || kube::being_deleted(*cached)) return ReconcileResult{};  // GC removes the rest
    const json& agent = *cached;
    const std::string ns = kube::namespace_of(agent), name = kube::name(agent);
    const std::string policy_name = policy_of(agent, settings_.default_policy);
    Status status_update;

    ObjectPtr policy = policies_->store().get(policy_name);
    if (!policy) {
      return wait_for(agent, policy_name, "PolicyNotFound",
                      "AgentPolicy \"" + policy_name +
                          "\" does not exist: create it or set spec.policyRef.name to production "
                          "or development");
    }
    auto in_ns = [ns](const std::shared_ptr<runtime::Informer>& inf) {
      return [ns, inf](const std::string& n) { return inf->store().get(ns + "/" + n); };
    };
    const ToolBindings tools = bind_tools(agent, in_ns(tool_servers_), in_ns(agents_));
    if (!tools.invalid.empty())
      return invalid_spec(agent, policy_name, "InvalidToolSource", tools.invalid);
    if (!tools.waiting.empty())
      return wait_for(agent, policy_name, "ToolSourceNotFound", tools.waiting);
    std::vector<SecretRef> secret_refs = referenced_secrets(agent);
    for (const auto& t : tools.sources) {
      if (!t.secret_name.empty())
        secret_refs.push_back(
            {t.secret_name, t.secret_key,
             t.field + (t.kind == "Agent"
                            ? " (its token Secret)"
                            : " (ToolServer " + t.name + "'s spec.bearerTokenSecretRef)")});
    }
    for (const auto& ref : secret_refs) {
      ObjectPtr s = secrets_->store().get(ns + "/" + ref.name);
      if (!s) {
        return wait_for(agent, policy_name, "SecretNotFound",
                        ref.field + ": Secret " + ns + "/" + ref.name +
                            " does not exist; create it (kubectl -n " + ns +
                            " create secret generic " + ref.name + " ...)");
      }
      if (!ref.key.empty() && !(s->contains("data") && (*s)["data"].contains(ref.key))) {
        return wait_for(
            agent, policy_name, "SecretKeyNotFound",
            ref.field + ": Secret " + ns + "/" + ref.name + " has no key \"" + ref.key + "\"");
      }
    }
    const json& policy_spec = policy->value("spec", json::object());
    RenderInput in;
    in.agent = agent;
    in.policy_spec = policy_spec;
    in.settings = settings_;
    if (auto err = resolve(agent, policy_spec, &in.effective))
      return invalid_spec(agent, policy_name, "InvalidSpec", *err);
    if (auto err = check_autoscaling_backend(agent, in.effective, settings_))
      return invalid_spec(agent, policy_name, "AutoscalingUnavailable", *err);
    in.tool_sources = tools.sources;
    in.config = render_sidecar_config(agent, policy_spec, tools.sources);
    // Nothing is applied that the sidecar would refuse: its own validator decides.
    if (auto err = check_rendered_config(in.config))
      return invalid_spec(agent, policy_name, "InvalidConfig", *err);
    auto token = existing_token(ns, name);
    if (!token.ok()) return token.status();
    in.token = token->empty() ? random_token() : *token;
    // The hash covers the config and the content of every Secret the pods read, so a rotated
    // API key or a config change rolls the pods.
    std::string hash_input = in.config;
    for (const auto& ref : secret_refs) {
      ObjectPtr s = secrets_->store().get(ns + "/" + ref.name);
      if (s) hash_input += "\n" + ref.name + ":" + s->value("data", json::object()).dump();
    }
    in.config_hash = sha256_hex(hash_input).substr(0, 16);
    RenderedObjects objs = render(in);

    const std::string obj_name = owned_name(name);
    struct Want {
      const kube::Resource* r;
      std::optional<json> obj;
      std::string name;
    };
    std::vector<Want> wants = {
        {&res::kConfigMaps, objs.config_map, obj_name},
        {&res::kSecrets, objs.secret, token_secret_name(name)},
        {&res::kServices, objs.service, obj_name},
        {&res::kNetworkPolicies, objs.network_policy, obj_name},
        {&res::kDeployments, objs.deployment, obj_name},
        {&res::kHorizontalPodAutoscalers, objs.hpa, obj_name},
        {&res::kPodDisruptionBudgets, objs.pdb, obj_name},
    };
    if (owned_.count(&res::kScaledObjects))
      wants.push_back({&res::kScaledObjects, objs.scaled_object, obj_name});
    for (auto& w : wants) {
      ObjectPtr have = cache_for(*w.r)->store().get(ns + "/" + w.name);
      if (w.obj) {
        if (have) {
          std::string diff = runtime::applied_difference(*w.obj, *have);
          if (diff.empty()) continue;
          log::debug(
              "re-applying",
              {{"agent", key.str()}, {"kind", w.obj->value("kind", "")}, {"differs_at", diff}});
        }
        if (Status s = apply(*w.r, *w.obj, have, in.effective); !s.is_ok()) {
          const std::string what = w.obj->value("kind", "") + " " + w.name + ": " + s.message();
          log::warn(
              "apply failed",
              {{"agent", key.str()}, {"kind", w.obj->value("kind", "")}, {"error", s.to_string()}});
          // Say why in the Agent's status too (e.g. a quota or an admission webhook said no).
          // The apply's error is returned either way, so a failed status write is retried too.
          (void)write_status(agent, policy_name,
                             agent.value("/status/phase"_json_pointer, std::string("Pending")),
                             {{"Ready", false, "ApplyFailed", what}},
                             deployments_->store().get(ns + "/" + obj_name));
          return s;
        }
        log::debug("applied", {{"agent", key.str()}, {"kind", w.obj->value("kind", "")}});
      } else if (have && owned_by(*have, agent)) {
        // No longer wanted (autoscaling turned off, replicas down to one).
        auto removed = mgr_.client()->remove(*w.r, ns, w.name);
        if (!removed.ok() && removed.status().code() != Code::kNotFound) return removed.status();
      }
    }

    ObjectPtr dep = deployments_->store().get(ns + "/" + obj_name);
    std::vector<Condition> conds = {
        {"ConfigValid", true, "Valid",
         in.effective.warnings.empty() ? "configuration is valid"
                                       : "valid with adjustments: " + join(in.effective.warnings)}};
    std::string phase = deployment_phase(dep, &conds);
    ObjectPtr hpa = cache_for(res::kHorizontalPodAutoscalers)
                        ->store()
                        .get(ns + "/" + hpa_name(name, in.effective));
    const AutoscalingReport scaling =
        autoscaling_report(in.effective.autoscaling, in.effective.replicas, hpa.get(),
                           execution_metric_names(in.effective));
    conds.push_back(scaling.condition);
    const ToolsReady tr = tools_ready(tools);
    conds.push_back({"ToolsReady", tr.ok, tr.reason, tr.message});
    const json tool_status = tools_status(agent, tools);
    if (Status s = write_status(agent, policy_name, phase, conds, dep, in.config_hash, &scaling,
                                &tool_status);
        !s.is_ok())
      return s;
    return ReconcileResult{};
  }

  Status apply(const kube::Resource& r, const json& want, const ObjectPtr& have,
               const EffectiveSpec& e) {
    auto& client = *mgr_.client();
    // An autoscaled Deployment starts at minReplicas (an HPA without metrics never scales up from
    // the default 1), created by a plain create so that our apply never owns spec.replicas.
    if (!have && &r == &res::kDeployments && e.autoscaling) {
      json initial = want;
      initial["spec"]["replicas"] = e.min_replicas;
      auto created = client.create(r, kube::namespace_of(want), initial);
      if (!created.ok() && created.status().code() != Code::kAlreadyExists) return created.status();
    }
    auto applied = client.apply(r, want, {kFieldManager, /*force=*/true});
    if (applied.ok() || applied.status().code() != Code::kInvalidArgument || !have) {
      return applied.status();
    }
    // Apply merges lists by key, so a hand edit can leave an entry beside ours that makes the
    // merged object invalid (a Service port renamed/renumbered). Replace our fields wholesale.
    json updated = *have;
    for (auto it = want.begin(); it != want.end(); ++it) {
      if (it.key() == "metadata") continue;
      if (it->is_object() && updated[it.key()].is_object()) {
        for (auto f = it->begin(); f != it->end(); ++f) updated[it.key()][f.key()] = *f;
      } else {
        updated[it.key()] = *it;
      }
    }
    updated["apiVersion"] = want["apiVersion"];
    updated["kind"] = want["kind"];
    log::info("replacing drifted object", {{"kind", want.value("kind", "")},
                                           {"name", kube::name(want)},
                                           {"apply_error", applied.status().message()}});
    auto replaced = client.update(r, updated);
    return replaced.ok() ? ok_status() : replaced.status();
  }

  // Something the Agent needs is missing: say what, and retry (the watches also heal it).
  // The spec cannot work as it is: Failed with ConfigValid=False, and no retry until it changes.
  // Terminal only once the status says so; a failed status write is retried.
  Result<ReconcileResult> invalid_spec(const json& agent, const std::string& policy,
                                       const std::string& reason, const std::string& message) {
    if (Status s = write_status(
            agent, policy, "Failed",
            {{"ConfigValid", false, reason, message}, {"Ready", false, reason, message}}, nullptr);
        !s.is_ok())
      return s;
    return runtime::terminal(invalid_argument(message));
  }

  Result<ReconcileResult> wait_for(const json& agent, const std::string& policy,
                                   const std::string& reason, const std::string& message) {
    if (Status s = write_status(
            agent, policy, "Pending",
            {{"ConfigValid", false, reason, message}, {"Ready", false, reason, message}}, nullptr);
        !s.is_ok())
      return s;
    return ReconcileResult{.requeue = true};
  }

  // The token the Secret holds; "" only when the API server has none. A cache miss is checked
  // against the server: the Secret written by the previous reconcile may not have reached the
  // informer yet, and a fresh random token would then overwrite the one sidecars already use.
  Result<std::string> existing_token(const std::string& ns, const std::string& agent) {
    ObjectPtr cached = secrets_->store().get(ns + "/" + token_secret_name(agent));
    json live;
    if (!cached) {
      auto got = mgr_.client()->get(res::kSecrets, ns, token_secret_name(agent));
      if (!got.ok())
        return kube::is_not_found(got.status()) ? Result<std::string>("") : got.status();
      live = std::move(*got);
    }
    return token_of_secret(cached ? *cached : live);
  }

  // Ready / Progressing / Degraded from the Deployment the informer sees.
  static std::string deployment_phase(const ObjectPtr& dep, std::vector<Condition>* conds) {
    if (!dep) {
      conds->push_back(
          {"Ready", false, "DeploymentPending", "waiting for the Deployment to appear"});
      conds->push_back({"Progressing", true, "Creating", "creating the agent's objects"});
      return "Pending";
    }
    const json& st = dep->value("status", json::object());
    const int64_t desired = dep->value("/spec/replicas"_json_pointer, int64_t{1});
    const int64_t ready = st.value("readyReplicas", int64_t{0});
    const int64_t updated = st.value("updatedReplicas", int64_t{0});
    const int64_t total = st.value("replicas", int64_t{0});
    const bool observed = st.value("observedGeneration", int64_t{0}) >= kube::generation(*dep);
    bool deadline_exceeded = false;
    for (const auto& c : st.value("conditions", json::array())) {
      if (c.value("type", "") == "Progressing" &&
          c.value("reason", "") == "ProgressDeadlineExceeded") {
        deadline_exceeded = true;
      }
    }
    const std::string counts =
        std::to_string(ready) + "/" + std::to_string(desired) + " replicas ready";
    const bool rolled_out = observed && updated >= desired && total == updated;
    if (deadline_exceeded) {
      conds->push_back(
          {"Ready", ready >= desired && desired > 0, "ProgressDeadlineExceeded", counts});
      conds->push_back(
          {"Progressing", false, "ProgressDeadlineExceeded", "the rollout is stuck: " + counts});
      conds->push_back({"Degraded", true, "ProgressDeadlineExceeded", counts});
      return "Degraded";
    }
    if (rolled_out && ready >= desired && desired > 0) {
      conds->push_back({"Ready", true, "ReplicasReady", counts});
      conds->push_back({"Progressing", false, "RolloutComplete", counts});
      conds->push_back({"Degraded", false, "ReplicasReady", counts});
      return "Ready";
    }
    if (desired == 0) {
      conds->push_back({"Ready", false, "ScaledToZero", "scaled to zero replicas"});
      conds->push_back({"Progressing", false, "ScaledToZero", counts});
      conds->push_back({"Degraded", false, "ScaledToZero", counts});
      return "Ready";
    }
    conds->push_back({"Ready", false, "ReplicasNotReady", counts});
    conds->push_back({"Progressing", true, "RollingOut", counts});
    conds->push_back({"Degraded", false, "RollingOut", counts});
    return "Progressing";
  }

  // Writes the Agent's status (nothing when it would not change). A failed write is the caller's
  // error: returned, so the reconcile is retried with backoff instead of leaving a false status.
  Status write_status(const json& agent, const std::string& policy, const std::string& phase,
                      const std::vector<Condition>& conds, const ObjectPtr& dep,
                      const std::string& config_hash = "",
                      const AutoscalingReport* scaling = nullptr,
                      const json* tool_status = nullptr) {
    const json& old = agent.value("status", json::object());
    const int64_t gen = kube::generation(agent);
    json st = old;
    st["phase"] = phase;
    st["policy"] = policy;
    st["observedGeneration"] = gen;
    st["selector"] = selector_string(kube::name(agent));
    st["endpoint"] = service_endpoint(agent);
    if (!config_hash.empty()) st["configHash"] = config_hash;
    if (dep) {
      const json& ds = dep->value("status", json::object());
      int64_t replicas = ds.value("replicas", int64_t{0});
      int64_t ready = ds.value("readyReplicas", int64_t{0});
      st["replicas"] = replicas;
      st["readyReplicas"] = ready;
      st["ready"] = std::to_string(ready) + "/" +
                    std::to_string(dep->value("/spec/replicas"_json_pointer, int64_t{0}));
    } else {
      st["replicas"] = 0;
      st["readyReplicas"] = 0;
      st["ready"] = "0/0";
    }
    if (scaling) {
      // A merge patch removes a key only by an explicit null, and only when there is one.
      if (!scaling->status.is_null()) {
        st["autoscaling"] = scaling->status;
      } else if (old.contains("autoscaling")) {
        st["autoscaling"] = nullptr;
      }
    }
    if (tool_status)
      for (auto it = tool_status->begin(); it != tool_status->end(); ++it) st[it.key()] = *it;
    json conditions = old.value("conditions", json::array());
    for (const auto& c : conds) set_condition(&conditions, c, gen);
    st["conditions"] = conditions;
    if (st == old) return ok_status();  // nothing changed: nothing written
    auto r = mgr_.client()->patch(res::kAgents, kube::namespace_of(agent), kube::name(agent),
                                  kube::PatchType::kMerge, {{"status", st}}, "status");
    if (!r.ok()) {
      log::warn("status update failed",
                {{"agent", kube::key_of(agent).str()}, {"error", r.status().to_string()}});
      return r.status();
    }
    const std::string before = old.value("phase", "");
    log::debug("status written", {{"agent", kube::key_of(agent).str()},
                                  {"phase", phase},
                                  {"was", before},
                                  {"ready", st.value("ready", "")}});
    if (before != phase) {
      const bool bad = phase == "Failed" || phase == "Degraded" || phase == "Pending";
      std::string note =
          "phase " + (before.empty() ? std::string("none") : before) + " -> " + phase;
      for (const auto& c : conds) {
        if (c.type == "Ready") note += ": " + c.message;
      }
      mgr_.events().record(agent, bad ? "Warning" : "Normal", phase, "Reconcile", note);
    }
    return ok_status();
  }

  // Observes a sidecar's memory stats and writes status.memory (only when it changed), with a
  // Warning event when the facts pass kMemoryWarnPercent of their bound. An unreachable sidecar
  // is not an error of the Agent (its pods may be anywhere): it is tried again later, less often.
  Result<ReconcileResult> reconcile_memory(const kube::ObjectKey& key) {
    using std::chrono::minutes;
    ObjectPtr agent = agents_->store().get(key.str());
    if (!agent) return ReconcileResult{};
    const json& spec = agent->value("spec", json::object());
    if (!spec.value("memory", json::object()).value("enabled", true)) return ReconcileResult{};
    std::string endpoint =
        kube::annotations(*agent).value(kEndpointOverrideAnnotation, std::string());
    if (endpoint.empty()) {
      if (agent->value("/status/phase"_json_pointer, std::string()) != "Ready")
        return ReconcileResult{};  // comes back when the status changes
      endpoint = agent->value("/status/endpoint"_json_pointer, std::string());
    }
    auto token = existing_token(key.ns, key.name);
    if (!token.ok()) return token.status();
    if (endpoint.empty() || token->empty()) return ReconcileResult{};
    auto stats = sidecars_.memory_stats(endpoint, *token);
    if (!stats.ok()) {
      log::debug("memory stats unavailable",
                 {{"agent", key.str()}, {"error", stats.status().message()}});
      return ReconcileResult{.requeue_after = minutes(5)};
    }
    const json old = agent->value("/status/memory"_json_pointer, json());
    json now = memory_status(*stats, kube::now_rfc3339_micro());
    // observedAt alone changing is not worth a write.
    json a = now, b = old.is_object() ? old : json::object();
    a.erase("observedAt");
    b.erase("observedAt");
    if (a != b) {
      auto r = mgr_.client()->patch(res::kAgents, key.ns, key.name, kube::PatchType::kMerge,
                                    {{"status", {{"memory", now}}}}, "status");
      if (!r.ok()) return r.status();
      if (auto note = memory_crossing_note(old, now))
        mgr_.events().record(*agent, "Warning", "MemoryNearlyFull", "Observe", *note);
    }
    return ReconcileResult{.requeue_after = settings_.memory_status_interval};
  }

  std::shared_ptr<runtime::Informer> cache_for(const kube::Resource& r) {
    if (&r == &res::kSecrets) return secrets_;
    if (&r == &res::kDeployments) return deployments_;
    return owned_.at(&r);
  }

  static bool owned_by(const json& obj, const json& owner) {
    const json* ref = kube::controller_of(obj);
    return ref && ref->value("uid", "") == kube::uid(owner);
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
    return out;
  }

  runtime::Manager& mgr_;
  OperatorSettings settings_;
  std::shared_ptr<runtime::Informer> agents_, policies_, secrets_, deployments_, tool_servers_;
  std::map<const kube::Resource*, std::shared_ptr<runtime::Informer>> owned_;
  workflow::SidecarClient sidecars_{{.connect_timeout = std::chrono::milliseconds(1000),
                                     .read_timeout = std::chrono::milliseconds(3000),
                                     .max_idle_per_endpoint = 1}};
};

}  // namespace

void register_agent_controllers(runtime::Manager& mgr, const OperatorSettings& settings) {
  auto r = std::make_shared<AgentReconciler>(mgr, settings);
  r->register_controllers();
  mgr.keep_alive(std::move(r));
  register_policy_controller(mgr, settings);
  register_tool_server_controller(mgr, settings);
}

}  // namespace agentry::controllers
