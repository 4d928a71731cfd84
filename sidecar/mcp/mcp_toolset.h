// The agent's MCP tools: one mcp::Client per server in agent.mcpServers, their tools offered to
// the model as "<server>__<tool>" so that two servers' tools never collide with each other or with
// agent.tools, filtered by each server's allow-list.
//
//   Toolset mcp(config.agent.mcp_servers);
//   json decls = mcp.declarations(&cancel);           // lists servers as needed
//   if (mcp.owns(call.name)) answer = mcp.call(call, &cancel);
//
// Lists: a server's tools are listed on first use, again once it notifies that its list changed,
// and at most every `kRefresh` otherwise, by one execution at a time (the others use the list they
// have). A server that cannot be listed offers no tools for that execution (logged, counted, a
// breaker failure) and is asked again after 10 s; while its breaker is open it is not listed and
// every call to it fails fast, with a text that tells the model the server is down. Calls never
// hang: each request has the server's timeout and the execution's cancel token.
//
// Thread-safety: all methods may be called from several executions at once (mu_ guards the
// per-server list cache; the clients are thread-safe).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sidecar/config.h"
#include "sidecar/exec/cancel.h"
#include "sidecar/exec/providers/breaker.h"
#include "sidecar/exec/providers/provider.h"
#include "sidecar/mcp/call_chain.h"
#include "sidecar/mcp/mcp_client.h"

namespace agentry::sidecar::mcp {

// "<server>__<tool>": the name the model sees.
std::string qualified_name(const std::string& server, const std::string& tool);

class Toolset {
 public:
  explicit Toolset(const std::vector<McpServerConfig>& servers);
  bool empty() const { return servers_.empty(); }

  // OpenAI-style declarations of the tools of every server that could be listed.
  nlohmann::json declarations(CancelToken* cancel);
  // The qualified name is one of ours (whether or not that server is up).
  bool owns(const std::string& name) const;
  // Runs the tool. Never fails: errors (server down, protocol error, result too large, a tool
  // outside the allow-list) become "error: ..." text for the model. A call to a server of kind
  // "agent" carries ctx's chain and an Idempotency-Key derived from it (call_chain.h).
  std::string call(const ToolCall& call, const CallContext& ctx, CancelToken* cancel);

  static constexpr std::chrono::seconds kRefresh{300};

 private:
  struct Server {
    McpServerConfig config;
    std::unique_ptr<Client> client;
    CircuitBreaker breaker{3, std::chrono::seconds(30)};
    // Guarded by Toolset::mu_.
    nlohmann::json decls = nlohmann::json::array();
    std::chrono::steady_clock::time_point listed_at{};
    std::chrono::steady_clock::time_point retry_at{};
    bool listed = false;
    bool listing = false;  // a list_tools() is on its way
  };
  bool allowed(const Server& s, const std::string& tool) const;
  void refresh(Server& s, CancelToken* cancel);

  std::vector<std::unique_ptr<Server>> servers_;
  std::mutex mu_;  // guards each Server's list cache (decls, listed_at, retry_at, listed)
};

}  // namespace agentry::sidecar::mcp
