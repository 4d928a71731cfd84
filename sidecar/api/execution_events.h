// Following an execution's streamed events (the delta and tool_call frames the pipeline pushes,
// sidecar/exec/execution.h) from a chunked response, for the protocols that relay them in their
// own words: A2A artifact updates (a2a_routes.cc), MCP progress notifications (mcp_routes.cc).
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "sidecar/exec/execution.h"

namespace agentry::sidecar {

// Called per event: "delta" {content} or "tool_call" {name, arguments}; false stops (the
// client left).
using ExecutionEventFn = std::function<bool(const std::string& event, const nlohmann::json& data)>;

// Relays the events after *next, waiting up to `wait` for one; sets *done once the execution
// is terminal and every event it pushed was relayed. False when fn returned false.
bool follow_execution(const Execution& ex, size_t* next, std::chrono::milliseconds wait,
                      const ExecutionEventFn& fn, bool* done);

}  // namespace agentry::sidecar
