// The agent's tools: HTTP endpoints declared in the config (agent.tools) and the tools of its MCP
// servers (agent.mcpServers, as "<server>__<tool>": sidecar/mcp/mcp_toolset.h). A model's call of
// an HTTP tool becomes one HTTP request (POST with the arguments as the JSON body, or GET with them
// as query parameters); the answer body (or an error text the model can react to) goes back to
// the model.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sidecar/config.h"
#include "sidecar/exec/cancel.h"
#include "sidecar/exec/providers/provider.h"
#include "sidecar/mcp/mcp_toolset.h"

namespace agentry::sidecar {

class ToolRunner {
 public:
  ToolRunner(std::vector<ToolConfig> tools, int timeout_ms,
             const std::vector<McpServerConfig>& mcp_servers = {});
  // OpenAI-style declarations ({"type":"function","function":{...}}), understood by both dialects:
  // the HTTP tools, then each reachable MCP server's (listed as needed, within cancel).
  nlohmann::json declarations(CancelToken* cancel);
  bool empty() const { return tools_.empty() && mcp_.empty(); }
  // Never fails: errors become text for the model ("error: ..."). ctx matters to MCP servers of
  // kind "agent" only.
  std::string call(const ToolCall& call, const mcp::CallContext& ctx, CancelToken* cancel);

 private:
  std::vector<ToolConfig> tools_;
  int timeout_ms_;
  nlohmann::json decls_ = nlohmann::json::array();  // of tools_
  mcp::Toolset mcp_;
};

}  // namespace agentry::sidecar
