// The agent served as an Agent2Agent (A2A) agent, so that A2A clients (the official SDKs, other
// agent platforms) can send it messages:
//   GET  /.well-known/agent-card.json  its agent card (also at the 0.2-era
//   /.well-known/agent.json);
//                                      public, like /healthz: it says where and how to
//                                      authenticate, nothing more
//   POST /a2a                          JSON-RPC 2.0, A2A 1.0 and 0.3 method names
//                                      (sidecar/a2a/a2a_protocol.h): send a message (answered once
//                                      the execution ends, at most server.maxWaitSeconds, or at
//                                      once with returnImmediately / blocking:false), stream it
//                                      (SSE), get, cancel and resubscribe to a task
// One task is one execution: the task id is the execution id (GET /v1/executions/{id} shows the
// same), the contextId is its sessionId (a new one is made when the message has none, so the
// caller can continue the conversation), and the messageId is its idempotency key, so a message
// sent twice runs once. Behind the same bearer auth as /v1 and /mcp. Stateless across replicas
// except for what the engine keeps (a task is found on the replica that ran it).
#pragma once

#include "sidecar/api/router.h"
#include "sidecar/config.h"

namespace agentry::sidecar {

class Engine;

// The paths served without a token (the card).
bool a2a_public_path(const std::string& path);

void mount_a2a_routes(Router& router, Engine& engine, const Config& cfg);

}  // namespace agentry::sidecar
