// The AgentPolicy controller: counts the Agents that use each policy into the policy's status
// (status.agents and, per namespace, status.agentsByNamespace). The index of Agents by policy it
// reads is shared with the Agent controller, which re-reconciles an Agent when its policy changes.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/controllers/operator_settings.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/manager.h"

namespace agentry::controllers {

// The informer index of Agents by the name of the policy they use.
inline constexpr const char* kPolicyIndex = "agentry.dev/policy";
// spec.policyRef.name, or default_policy when the Agent names none.
std::string policy_of(const nlohmann::json& agent, const std::string& default_policy);
// Adds kPolicyIndex to the Agent informer (idempotent: the same index replaces itself).
void index_agents_by_policy(runtime::Informer& agents, const std::string& default_policy);

// Registers the AgentPolicy controller (one worker). Call before mgr.run().
void register_policy_controller(runtime::Manager& mgr, const OperatorSettings& settings);

// The merge patch for an AgentPolicy's status given the Agents this operator sees per namespace,
// or null when the status already says so. status.agentsByNamespace is shared by operators scoped
// to different namespaces: each writes only its own key (a cluster-wide one the whole map), and
// status.agents is the map's sum. The patch carries the cached resourceVersion, so a write based
// on a stale copy is a conflict instead of overwriting another operator's count. Pure.
nlohmann::json policy_status_patch(const nlohmann::json& policy,
                                   const std::map<std::string, int64_t>& counts,
                                   const std::string& watch_namespace);

}  // namespace agentry::controllers
