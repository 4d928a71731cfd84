// What an Agent's status says of its memory (status.memory), from a sidecar's memory stats (the
// "stats" of GET /v1/memory: sidecar/memory/memory_service.h). Pure: no I/O. The Agent controller
// reads the stats about once a minute while the Agent is Ready (docs/agents.md "Memory fill") so
// that `kubectl describe agent` shows "facts 98% of bound" before fact writes start to get 507.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace agentry::controllers {

// status.memory for these stats, observed at observed_at (RFC 3339). Fields the stats lack are
// left out; never throws.
nlohmann::json memory_status(const nlohmann::json& stats, const std::string& observed_at);

// The percent of the fact bound at which the Agent gets a Warning event (and the chart's
// PrometheusRule alerts).
inline constexpr int kMemoryWarnPercent = 90;

// The Warning event's note when the facts crossed kMemoryWarnPercent between two status.memory
// values (old may be null); nullopt when they did not.
std::optional<std::string> memory_crossing_note(const nlohmann::json& old_memory,
                                                const nlohmann::json& new_memory);

}  // namespace agentry::controllers
