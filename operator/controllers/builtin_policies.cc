#include "operator/controllers/builtin_policies.h"

namespace agentry::controllers {
namespace {

using nlohmann::json;

json policy(const char* name, const char* profile, json spec) {
  spec["profile"] = profile;
  return {{"apiVersion", "agentry.dev/v1alpha1"},
          {"kind", "AgentPolicy"},
          {"metadata",
           {{"name", name}, {"labels", {{"app.kubernetes.io/managed-by", "agentry-operator"}}}}},
          {"spec", spec}};
}

json capacity() {
  return {{"baselineRPS", 1000},
          {"baselineLatencyMillis", 150},
          {"memoryPerRequestBytes", 51200},
          {"cpuMillicoresPerRPS", 10},
          {"perReplicaRPS", 500}};
}

}  // namespace

json production_policy() {
  return policy(
      "production", "production",
      {{"autoscaling",
        {{"minReplicas", 2},
         {"maxReplicas", 20},
         {"targetCPUUtilizationPercentage", 70},
         {"targetMemoryUtilizationPercentage", 80},
         {"behavior",
          {{"scaleUp",
            {{"stabilizationWindowSeconds", 0},
             {"selectPolicy", "Max"},
             {"policies",
              {{{"type", "Percent"}, {"value", 100}, {"periodSeconds", 15}},
               {{"type", "Pods"}, {"value", 4}, {"periodSeconds", 15}}}}}},
           {"scaleDown",
            {{"stabilizationWindowSeconds", 300},
             {"selectPolicy", "Max"},
             {"policies", {{{"type", "Percent"}, {"value", 10}, {"periodSeconds", 60}}}}}}}}}},
       {"resources",
        {{"requests", {{"cpu", "250m"}, {"memory", "256Mi"}}},
         {"limits", {{"cpu", "1"}, {"memory", "512Mi"}}},
         {"max", {{"cpu", "8"}, {"memory", "16Gi"}}}}},
       {"capacity", capacity()},
       {"slo",
        {{"apiP95Millis", 200},
         {"agentCreationMillis", 2000},
         {"workflowStartMillis", 500},
         {"memoryRetrievalMillis", 100}}},
       {"memoryPressurePercent", 80},
       {"redisPoolAlertPercent", 80}});
}

json development_policy() {
  return policy(
      "development", "development",
      {{"autoscaling",
        {{"minReplicas", 1},
         {"maxReplicas", 3},
         {"targetCPUUtilizationPercentage", 90},
         {"targetMemoryUtilizationPercentage", 90},
         {"behavior",
          {{"scaleUp",
            {{"stabilizationWindowSeconds", 0},
             {"selectPolicy", "Max"},
             {"policies", {{{"type", "Pods"}, {"value", 1}, {"periodSeconds", 30}}}}}},
           {"scaleDown",
            {{"stabilizationWindowSeconds", 60},
             {"selectPolicy", "Max"},
             {"policies", {{{"type", "Pods"}, {"value", 1}, {"periodSeconds", 60}}}}}}}}}},
       {"resources",
        {{"requests", {{"cpu", "50m"}, {"memory", "64Mi"}}},
         {"limits", {{"cpu", "500m"}, {"memory", "256Mi"}}},
         {"max", {{"cpu", "2"}, {"memory", "4Gi"}}}}},
       {"capacity", capacity()},
       {"slo",
        {{"apiP95Millis", 2000},
         {"agentCreationMillis", 10000},
         {"workflowStartMillis", 5000},
         {"memoryRetrievalMillis", 1000}}},
       {"memoryPressurePercent", 90},
       {"redisPoolAlertPercent", 90}});
}

std::vector<json> builtin_policies() {
  return {production_policy(), development_policy()};
}

Status ensure_builtin_policies(kube::Client& client) {
  for (const auto& p : builtin_policies()) {
    auto r = client.create(kube::resources::kAgentPolicies, "", p);
    if (!r.ok() && r.status().code() != Code::kAlreadyExists &&
        r.status().code() != Code::kConflict) {
      return r.status();
    }
  }
  return ok_status();
}

}  // namespace agentry::controllers
