#include "operator/controllers/policy_controller.h"

#include "operator/kube/errors.h"
#include "operator/kube/object.h"

namespace agentry::controllers {
namespace {

using nlohmann::json;
using runtime::ObjectPtr;
using runtime::ReconcileResult;
namespace res = kube::resources;

class PolicyReconciler {
 public:
  PolicyReconciler(runtime::Manager& mgr, OperatorSettings settings)
      : mgr_(mgr), settings_(std::move(settings)) {
    agents_ = mgr.informer(res::kAgents, settings_.watch_namespace);
    policies_ = mgr.informer(res::kAgentPolicies);
    index_agents_by_policy(*agents_, settings_.default_policy);
  }

  void register_controller() {
    auto& pc = mgr_.add_controller("agentpolicy",
                                   [this](const kube::ObjectKey& k) { return reconcile_policy(k); },
                                   {.workers = 1});
    pc.watches_for(policies_, {runtime::predicates::generation_changed()});
    pc.watches(agents_, [this](const json& a) {
      return std::vector<kube::ObjectKey>{{"", policy_of(a, settings_.default_policy)}};
    });
  }

 private:
  Result<ReconcileResult> reconcile_policy(const kube::ObjectKey& key) {
    ObjectPtr p = policies_->store().get(key.str());
    if (!p) return ReconcileResult{};
    std::map<std::string, int64_t> counts;
    for (const auto& a : agents_->store().by_index(kPolicyIndex, key.name)) {
      ++counts[kube::namespace_of(*a)];
    }
    json patch = policy_status_patch(*p, counts, settings_.watch_namespace);
    if (patch.is_null()) return ReconcileResult{};
    auto r = mgr_.client()->patch(res::kAgentPolicies, "", key.name, kube::PatchType::kMerge, patch,
                                  "status");
    if (r.ok() || r.status().code() == Code::kNotFound) return ReconcileResult{};
    // Another operator (scoped to another namespace) wrote its count first: our cached copy is
    // stale, and the next try merges into theirs.
    if (kube::is_conflict(r.status())) return ReconcileResult{.requeue = true};
    return r.status();
  }

  runtime::Manager& mgr_;
  const OperatorSettings settings_;
  std::shared_ptr<runtime::Informer> agents_, policies_;
};

}  // namespace

std::string policy_of(const json& agent, const std::string& default_policy) {
  auto p = json::json_pointer("/spec/policyRef/name");
  return agent.contains(p) && agent.at(p).is_string() ? agent.at(p).get<std::string>()
                                                      : default_policy;
}

void index_agents_by_policy(runtime::Informer& agents, const std::string& default_policy) {
  agents.add_index(kPolicyIndex, [default_policy](const json& a) {
    return std::vector<std::string>{policy_of(a, default_policy)};
  });
}

void register_policy_controller(runtime::Manager& mgr, const OperatorSettings& settings) {
  auto r = std::make_shared<PolicyReconciler>(mgr, settings);
  r->register_controller();
  mgr.keep_alive(std::move(r));
}

json policy_status_patch(const json& policy, const std::map<std::string, int64_t>& counts,
                         const std::string& watch_namespace) {
  const json st = policy.value("status", json::object());
  json reported = st.value("agentsByNamespace", json::object());
  if (!reported.is_object()) reported = json::object();
  // A scoped operator owns one key of the map; a cluster-wide one owns all of it.
  json merged = watch_namespace.empty() ? json::object() : reported;
  if (!watch_namespace.empty()) merged.erase(watch_namespace);
  for (const auto& [ns, n] : counts) {
    if (n > 0 && (watch_namespace.empty() || ns == watch_namespace)) merged[ns] = n;
  }
  int64_t total = 0;
  for (const auto& [ns, n] : merged.items()) total += n.is_number_integer() ? n.get<int64_t>() : 0;
  const int64_t generation = kube::generation(policy);
  if (merged == reported && st.value("agents", int64_t{-1}) == total &&
      st.value("observedGeneration", int64_t{-1}) == generation) {
    return nullptr;
  }
  json by_namespace = merged;
  for (const auto& [ns, n] : reported.items()) {
    if (!merged.contains(ns)) by_namespace[ns] = nullptr;  // merge patch: remove the key
  }
  return {{"metadata", {{"resourceVersion", kube::resource_version(policy)}}},
          {"status",
           {{"agents", total},
            {"agentsByNamespace", by_namespace},
            {"observedGeneration", generation}}}};
}

}  // namespace agentry::controllers
