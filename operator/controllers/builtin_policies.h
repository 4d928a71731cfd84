// The two AgentPolicies the operator ships with the guidelines' numbers. The operator creates them
// when absent and never overwrites them, so SREs (or Helm values) may tune them in place.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "common/result.h"
#include "operator/kube/client.h"

namespace agentry::controllers {

// "production": CPU 70%, memory 80%, API p95 200 ms, agent creation 2 s, workflow start 500 ms,
// memory retrieval 100 ms, memory pressure and Redis pool alerts at 80%.
nlohmann::json production_policy();
// "development": CPU 90%, memory 90%, API p95 2 s, agent creation 10 s, workflow start 5 s,
// memory retrieval 1 s, memory pressure and Redis pool alerts at 90%.
nlohmann::json development_policy();
std::vector<nlohmann::json> builtin_policies();

// Creates the built-in AgentPolicies that do not exist yet (never overwrites).
Status ensure_builtin_policies(kube::Client& client);

}  // namespace agentry::controllers
