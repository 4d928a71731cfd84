// The Workflow controller's decisions as one pure function. Given the spec, the status and what the
// reconciler observed (the Agents' sidecars, the running steps' executions, the inputs of the steps
// it would start, the slots the operator's limits grant) at a given time, plan() returns the next
// status and what to do: executions to cancel and to start, events, and when to look again. No
// I/O and no clock, so every rule of docs/workflows.md is unit-tested without a cluster
// (tests/unit/controllers/workflow_plan_test.cc); the reconciler (workflow_controller.cc) only
// observes, plans, acts and writes.
//
// What to observe is driven by the plan: a plan with non-empty `needs` lacked something (the
// rendered input of a step it would start, the operator's slots); the reconciler gathers exactly
// that and plans again, and acts only on a plan whose `needs` are empty. Two rounds suffice: the
// first asks for everything the second can use.
//
//   Observations obs = observe(...);             // targets, executions of Running steps
//   Plan p = plan(spec, status, obs);
//   if (!p.needs.empty()) { gather(p.needs, &obs); p = plan(spec, status, obs); }
//   act(p);                                      // cancels, dispatches, then the status write
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "operator/controllers/workflow_dag.h"
#include "operator/controllers/workflow_sidecar.h"
#include "operator/controllers/workflow_status.h"

namespace agentry::controllers::workflow {

// An Agent's sidecar.
struct Target {
  std::string endpoint, token;
};

struct Observations {
  int64_t now_ms = 0;
  int64_t generation = 0;
  std::string uid;  // the Workflow's: idempotency keys are "<uid>/<step>/<attempt>"
  // Per Agent the spec names: its sidecar, or why it cannot take work now.
  std::map<std::string, Result<Target>> targets;
  // Per Running step: its execution as its sidecar reports it (by id, or by re-sending the
  // attempt's key when the id was never learnt or the sidecar forgot it), or why it could not be
  // asked. A Running step missing here counts as a sidecar that could not be asked.
  std::map<std::string, Result<Execution>> executions;
  // Per step in Needs::inputs: its rendered input, or why it cannot be rendered yet.
  std::map<std::string, Result<std::string>> inputs;
  // What the operator's limits grant this reconcile; nullopt: not asked yet (the plan asks).
  std::optional<bool> workflow_slot;
  std::optional<int> step_slots;
  std::string workflow_refusal, step_refusal;     // the status message when refused
  std::chrono::milliseconds waiting_retry{5000};  // look again at a missing or not-Ready Agent
};

struct Needs {
  std::vector<std::string> inputs;  // steps whose rendered input the plan lacks
  bool workflow_slot = false;       // the plan would start the Workflow
  int step_slots = 0;               // steps the plan would start, when the slots were not asked
  bool ask_step_slots = false;
  bool empty() const { return inputs.empty() && !workflow_slot && !ask_step_slots; }
};

// An attempt to send: POST /v1/executions to the Agent's sidecar with Idempotency-Key `key`.
struct Dispatch {
  std::string step, agent, key, input;
  int attempt = 0;
};

// An execution to cancel. With no execution_id the reconciler learns it by re-sending `key`.
struct Cancel {
  std::string step, agent, execution_id, key;
  bool required = false;  // suspend: a failed cancel fails the reconcile (nothing is written)
};

struct PlannedEvent {
  bool warning = false;
  std::string reason, note;
};

// A step attempt that ended (workflow_step_duration_seconds).
struct StepEnded {
  std::string result;  // "succeeded" or "failed"
  double seconds = 0;  // since the step's first dispatch
};

struct Plan {
  Needs needs;  // non-empty: gather these and plan again; do not act on this plan
  WorkflowStatus status;
  std::vector<Cancel> cancels;       // first
  std::vector<Dispatch> dispatches;  // then; sent before the status is written (see the header
                                     // of workflow_controller.h: exactly once by key)
  std::vector<PlannedEvent> events;  // after the status is written
  std::vector<StepEnded> steps_ended;
  // Running steps are looked at again after the Workflow's poll interval, which doubles from one
  // poll to the next (WorkflowSettings::poll_min .. poll_max) unless poll_reset brings it back to
  // the minimum (a step just started or ended).
  bool poll = false;
  bool poll_reset = false;
  std::optional<std::chrono::milliseconds> wake_after;  // the earliest other deadline
  bool finished = false;                                // Succeeded or Failed (now or before)
  bool suspended = false;  // spec.suspend: nothing runs and nothing is due
  bool started = false;    // started and not finished (the max-concurrent-workflows count)
  int running = 0;         // steps Running after this plan (the namespace count)
};

// spec: parse_spec()'s result (an error fails the Workflow as InvalidSpec, as does validate()).
Plan plan(const Result<WorkflowSpec>& spec, const WorkflowStatus& status, const Observations& obs);

}  // namespace agentry::controllers::workflow
