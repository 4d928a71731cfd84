// POST /mcp: the agent served as a Model Context Protocol server (Streamable HTTP), so that MCP
// clients (IDEs, other agents, the official SDKs) can call it as a tool. One tool, named after
// the agent (agent.name), runs an execution: {input, sessionId?} in, the answer out.
//
// Stateless by design: no Mcp-Session-Id is issued, so any replica behind the agent's Service can
// answer any request (no sticky sessions), which the spec allows. Answers are application/json
// (one JSON-RPC response per POST), except a tools/call with params._meta.progressToken from a
// client that accepts text/event-stream: that one is an SSE stream of notifications/progress (one
// per streamed piece of the answer, its text in `message`, and per tool the agent calls), then
// the response. GET (a server-to-client stream) is 405, as the spec allows for servers that send
// nothing unprompted. Behind the same bearer auth as /v1.
#pragma once

#include "sidecar/api/router.h"
#include "sidecar/config.h"

namespace agentry::sidecar {

class Engine;

void mount_mcp_routes(Router& router, Engine& engine, const Config& cfg);

}  // namespace agentry::sidecar
