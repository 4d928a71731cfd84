#include "operator/controllers/workflow_status.h"

#include "operator/kube/object.h"

namespace agentry::controllers::workflow {
namespace {

using nlohmann::json;

void put(json& o, const char* k, const std::string& v) {
  if (!v.empty()) o[k] = v;
}

StepStatus step_from_json(const json& j) {
  StepStatus s;
  s.name = kube::string_at(j, "name");
  s.phase = kube::string_at(j, "phase");
  if (auto it = j.find("attempts"); it != j.end() && it->is_number_integer()) {
    const int64_t a = it->get<int64_t>();
    s.attempts = a < 0 ? 0 : a > 1000000 ? 1000000 : static_cast<int>(a);
  }
  s.started_at = kube::string_at(j, "startedAt");
  s.finished_at = kube::string_at(j, "finishedAt");
  s.next_attempt_at = kube::string_at(j, "nextAttemptAt");
  s.execution_id = kube::string_at(j, "executionId");
  if (auto it = j.find("output"); it != j.end() && it->is_string())
    s.output = it->get<std::string>();
  s.message = kube::string_at(j, "message");
  return s;
}

json step_to_json(const StepStatus& s) {
  json j = {{"name", s.name}, {"attempts", s.attempts}};
  put(j, "phase", s.phase);
  put(j, "startedAt", s.started_at);
  put(j, "finishedAt", s.finished_at);
  put(j, "nextAttemptAt", s.next_attempt_at);
  put(j, "executionId", s.execution_id);
  if (s.output) j["output"] = *s.output;
  put(j, "message", s.message);
  return j;
}

}  // namespace

StepStatus* WorkflowStatus::step(std::string_view name) {
  for (auto& s : steps)
    if (s.name == name) return &s;
  return nullptr;
}
const StepStatus* WorkflowStatus::step(std::string_view name) const {
  for (const auto& s : steps)
    if (s.name == name) return &s;
  return nullptr;
}

WorkflowStatus status_from_json(const json& j) {
  WorkflowStatus st;
  if (!j.is_object()) return st;
  st.phase = kube::string_at(j, "phase");
  st.message = kube::string_at(j, "message");
  st.started_at = kube::string_at(j, "startedAt");
  st.finished_at = kube::string_at(j, "finishedAt");
  st.duration = kube::string_at(j, "duration");
  st.progress = kube::string_at(j, "progress");
  if (auto it = j.find("observedGeneration"); it != j.end() && it->is_number_integer())
    st.observed_generation = it->get<int64_t>();
  if (auto it = j.find("steps"); it != j.end() && it->is_array()) {
    for (const auto& s : *it)
      if (s.is_object()) st.steps.push_back(step_from_json(s));
  }
  if (auto it = j.find("conditions"); it != j.end() && it->is_array()) st.conditions = *it;
  return st;
}

json to_json(const WorkflowStatus& st) {
  json j = json::object();
  put(j, "phase", st.phase);
  put(j, "message", st.message);
  put(j, "startedAt", st.started_at);
  put(j, "finishedAt", st.finished_at);
  put(j, "duration", st.duration);
  put(j, "progress", st.progress);
  if (st.observed_generation) j["observedGeneration"] = *st.observed_generation;
  if (!st.steps.empty()) {
    json steps = json::array();
    for (const auto& s : st.steps) steps.push_back(step_to_json(s));
    j["steps"] = std::move(steps);
  }
  if (!st.conditions.empty()) j["conditions"] = st.conditions;
  return j;
}

}  // namespace agentry::controllers::workflow
