// The Agent controller: turns each Agent into the objects that run it (agent_render.h), applied
// with server-side apply under one field manager, and reports what it sees in the Agent's status.
//
// Level-triggered and quiet: it re-renders on every event, but applies an object only when the
// cached copy differs from what it wants (so an idle cluster sees no writes), and writes status
// only when it changed. It never writes spec.replicas of a Deployment while an HPA owns it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "operator/controllers/agent_render.h"
#include "operator/runtime/manager.h"

namespace agentry::controllers {

// Registers the Agent controller and the policy controller with the manager (informers, indexes,
// watches). Call before mgr.run().
void register_agent_controllers(runtime::Manager& mgr, const OperatorSettings& settings);

// Creates the built-in AgentPolicies that do not exist yet (never overwrites).
Status ensure_builtin_policies(kube::Client& client);

// The merge patch for an AgentPolicy's status given the Agents this operator sees per namespace,
// or null when the status already says so. status.agentsByNamespace is shared by operators scoped
// to different namespaces: each writes only its own key (a cluster-wide one the whole map), and
// status.agents is the map's sum. The patch carries the cached resourceVersion, so a write based
// on a stale copy is a conflict instead of overwriting another operator's count.
nlohmann::json policy_status_patch(const nlohmann::json& policy,
                                   const std::map<std::string, int64_t>& counts,
                                   const std::string& watch_namespace);

// Whether what we would apply is already there: objects compared recursively, arrays element by
// element.
// "" when every field of want is in have with the same value (numbers compared by value); else
// the JSON pointer of the first field that differs ("/" when the values themselves differ).
std::string subset_difference(const nlohmann::json& want, const nlohmann::json& have);
// subset_difference for a whole object we apply: apiVersion/kind are skipped (informer list items
// lack them) and of metadata only labels, annotations and ownerReferences count.
std::string applied_difference(const nlohmann::json& want, const nlohmann::json& have);

}  // namespace agentry::controllers
