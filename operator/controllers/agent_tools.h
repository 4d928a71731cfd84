// What an Agent's spec.toolServers and spec.agentTools resolve to (pure functions, no I/O): for
// each, the sidecar's agent.mcpServers entry, the container env var that carries its bearer token
// from a Secret, the pod label that lets the pods through a callee's NetworkPolicy, and what the
// Agent's status says about it.
//
//   ToolBindings b = bind_tools(agent, find_tool_server, find_agent);
//   if (!b.invalid.empty()) ... Failed (the spec can never work: an Agent calling itself)
//   if (!b.waiting.empty()) ... Pending (a ToolServer or Agent that does not exist yet)
//   render_sidecar_config(agent, policy, b.sources);   // agent.mcpServers
//
// A ToolServer is probed by the operator (tool_server_controller.h); its last probe's tools are
// what the Agent's status lists. Another Agent is reached at its Service's /mcp with its own token
// (its Secret <agent>-agent-token); its one tool is "<agent>__<agent>".
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agentry::controllers {

struct ToolSource {
  std::string name;       // the agent.mcpServers name: the prefix of its tools' names
  std::string kind;       // "ToolServer" or "Agent"
  std::string field;      // where the Agent names it: "spec.toolServers[0]"
  nlohmann::json server;  // the sidecar's agent.mcpServers entry
  nlohmann::json env;     // the sidecar container's env var with the bearer token; null: none
  std::string secret_name, secret_key;  // the Secret that env var reads ("": none)
  std::vector<std::string> tools;       // the qualified names the model will be offered
  bool reachable = false;
  std::string message;  // what the status says of it
};

struct ToolBindings {
  std::vector<ToolSource> sources;  // toolServers, then agentTools, in spec order
  std::string waiting;  // a reference to what does not exist (yet), naming the Agent's field
  std::string invalid;  // a reference that can never work, naming the Agent's field
};

// An object of the Agent's namespace by name; nullptr when there is none.
using FindObject = std::function<std::shared_ptr<const nlohmann::json>(const std::string& name)>;

ToolBindings bind_tools(const nlohmann::json& agent, const FindObject& tool_servers,
                        const FindObject& agents);

// The names of the ToolServers and of the Agents the Agent's spec refers to (for the indexes that
// re-reconcile it when one of them changes).
std::vector<std::string> referenced_tool_servers(const nlohmann::json& agent);
std::vector<std::string> referenced_agents(const nlohmann::json& agent);

// The ToolServer reads its bearer token from that Secret (same namespace,
// spec.bearerTokenSecretRef).
bool reads_secret(const nlohmann::json& tool_server, const nlohmann::json& secret);

// The pod label an Agent's pods carry for each Agent they call; the callee's NetworkPolicy admits
// pods with its own ("calls.agentry.dev/<callee>": "true").
std::string caller_label(const std::string& callee);

// status.tools and status.toolServers of the Agent, and its ToolsReady condition's parts.
nlohmann::json tools_status(const nlohmann::json& agent, const ToolBindings& b);
struct ToolsReady {
  bool ok;
  std::string reason, message;
};
ToolsReady tools_ready(const ToolBindings& b);

}  // namespace agentry::controllers
