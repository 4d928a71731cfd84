// What the console's API shows of each kind, in pure code: the row a list returns (and the watch
// stream carries), and the id clients use. Agents and Workflows are namespaced: their id is
// "NAMESPACE/NAME". Nothing here ever copies a Secret or a token.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace agentry::console {

// {id, namespace, name, displayName, template, phase, ready, replicas, readyReplicas,
//  provider, model, policy, createdAt, conditions, labels}
nlohmann::json agent_view(const nlohmann::json& agent);
// {id, namespace, name, phase, progress, startedAt, finishedAt, message, createdAt, labels,
//  steps: [{name, agent, dependsOn, phase, attempts, startedAt, finishedAt, message, output}]}
nlohmann::json workflow_view(const nlohmann::json& workflow);
// {name, labels, description, spec, createdAt}
nlohmann::json policy_view(const nlohmann::json& policy);

}  // namespace agentry::console
