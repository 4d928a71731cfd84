// The ToolServer controller: probes each ToolServer (an MCP server declared once for the Agents of
// its namespace) with the MCP client the sidecars use (sidecar/mcp/mcp_client.h): initialize, then
// tools/list, with the server's headers and its bearer token from the referenced Secret. The
// status says whether it answered, which protocol revision, which tools (after spec.allowTools),
// and the last error; the Agents that name it read that status (agent_tools.h).
//
// Quiet: the status is written only when what it says changes (no probe timestamps), so an idle
// cluster sees no writes. Probed again every spec.probeIntervalSeconds, after 30 s while it fails,
// and at once when its spec or its Secret changes.
#pragma once

#include <nlohmann/json.hpp>

#include "operator/controllers/operator_settings.h"
#include "operator/runtime/manager.h"

namespace agentry::controllers {

struct ProbeResult {
  bool reachable = false;
  std::string protocol_version;
  std::vector<std::pair<std::string, std::string>> tools;  // name, description
  std::string error;
};

// The ToolServer's status after a probe (pure): observedGeneration, reachable, protocolVersion,
// toolCount (all it listed), tools (those spec.allowTools lets through), lastError and the Ready
// condition.
nlohmann::json tool_server_status(const nlohmann::json& tool_server, const ProbeResult& probe);

// Registers the "toolserver" controller (informers, watches). Call before mgr.run().
void register_tool_server_controller(runtime::Manager& mgr, const OperatorSettings& settings);

}  // namespace agentry::controllers
