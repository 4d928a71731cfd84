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

// Registers the Agent controller, its memory-status controller ("agent-memory"), the AgentPolicy
// controller (policy_controller.h) and the ToolServer controller (tool_server_controller.h) with
// the manager: informers, indexes, watches. Call before
// mgr.run().
void register_agent_controllers(runtime::Manager& mgr, const OperatorSettings& settings);

}  // namespace agentry::controllers
