// A Workflow's status as types (status.steps[] and the rest), read from and written to the
// object's JSON. The CRD's schema lists every field, so nothing is lost in the round trip; a field
// of the wrong type reads as absent. Pure.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentry::controllers::workflow {

struct StepStatus {
  std::string name;
  std::string phase;  // kPending, kWaiting, kRunning, ... (workflow_dag.h)
  int attempts = 0;   // attempts dispatched; attempt k's idempotency key ends in /k
  std::string started_at, finished_at, next_attempt_at;  // RFC 3339; "" absent
  std::string execution_id;                              // "" not learnt yet
  std::optional<std::string> output;                     // summary (kMaxOutputSummary)
  std::string message;                                   // "" absent
};

struct WorkflowStatus {
  std::string phase;  // "" until the first reconcile
  std::string message, started_at, finished_at, duration, progress;
  std::optional<int64_t> observed_generation;
  std::vector<StepStatus> steps;
  nlohmann::json conditions = nlohmann::json::array();

  StepStatus* step(std::string_view name);
  const StepStatus* step(std::string_view name) const;
};

WorkflowStatus status_from_json(const nlohmann::json& status);
nlohmann::json to_json(const WorkflowStatus& status);

}  // namespace agentry::controllers::workflow
