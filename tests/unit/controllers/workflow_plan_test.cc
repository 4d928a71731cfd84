// The Workflow controller's planner (workflow_plan.h) without a cluster: every rule of
// docs/workflows.md as a plan from a spec, a status and observations at a given time.
#include "operator/controllers/workflow_plan.h"

#include <gtest/gtest.h>

namespace agentry::controllers::workflow {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

json step(const std::string& name, std::vector<std::string> deps = {},
          const std::string& input = "x", json extra = json::object()) {
  json s = {{"name", name}, {"agentRef", {{"name", "ag"}}}, {"input", input}, {"dependsOn", deps}};
  s.update(extra);
  return s;
}

Result<WorkflowSpec> spec_of(json steps, json extra = json::object()) {
  json spec = {{"input", "topic"}, {"steps", steps}};
  spec.update(extra);
  return parse_spec(spec);
}

Observations seen(int64_t now = kT0) {
  Observations o;
  o.now_ms = now;
  o.generation = 3;
  o.uid = "uid-1";
  o.targets.emplace("ag", Target{"http://127.0.0.1:1", "tok"});
  o.waiting_retry = milliseconds(5000);
  return o;
}

// Plans, gathering what the plan asks for as a reconciler would: every slot granted (or `slots`)
// and every input rendered as "input of NAME".
Plan plan_gathering(const Result<WorkflowSpec>& spec, const WorkflowStatus& st, Observations o,
                    int slots = 100, bool workflow_slot = true) {
  Plan p = plan(spec, st, o);
  for (int round = 0; round < 5 && !p.needs.empty(); ++round) {
    for (const auto& n : p.needs.inputs) o.inputs.emplace(n, "input of " + n);
    if (p.needs.workflow_slot && !o.workflow_slot) {
      o.workflow_slot = workflow_slot;
      o.workflow_refusal = "queued: 1 workflows are running";
    }
    if (p.needs.ask_step_slots && !o.step_slots) {
      o.step_slots = std::min(slots, p.needs.step_slots);
      o.step_refusal = "waiting: namespace ns runs 1 steps";
    }
    p = plan(spec, st, o);
  }
  EXPECT_TRUE(p.needs.empty());
  return p;
}

Execution execution(const std::string& state, const std::string& output = "",
                    int64_t created = kT0) {
  Execution e;
  e.id = "ex-1";
  e.state = state;
  e.output = output;
  e.created_at = format_rfc3339(created);
  if (state == "failed") {
    e.error_code = "provider_unavailable";
    e.error_message = "connection refused";
  }
  return e;
}

// The status after `p`, read back as the API server would return it.
WorkflowStatus written(const Plan& p) {
  return status_from_json(to_json(p.status));
}

TEST(WorkflowPlan, AskFirstThenDispatchTheFirstStepWithItsKey) {
  auto spec = spec_of({step("a"), step("b", {"a"}, "{{ steps.a.output }}")});
  Plan first = plan(spec, {}, seen());
  EXPECT_TRUE(first.needs.workflow_slot);
  EXPECT_EQ(first.needs.step_slots, 1);
  EXPECT_EQ(first.needs.inputs, std::vector<std::string>{"a"});
  EXPECT_TRUE(first.dispatches.empty());

  Plan p = plan_gathering(spec, {}, seen());
  ASSERT_EQ(p.dispatches.size(), 1u);
  EXPECT_EQ(p.dispatches[0].step, "a");
  EXPECT_EQ(p.dispatches[0].key, "uid-1/a/1");
  EXPECT_EQ(p.dispatches[0].input, "input of a");
  EXPECT_EQ(p.status.phase, kRunning);
  EXPECT_EQ(p.status.started_at, format_rfc3339(kT0));
  EXPECT_EQ(p.status.step("a")->phase, kRunning);
  EXPECT_EQ(p.status.step("a")->attempts, 1);
  EXPECT_EQ(p.status.step("b")->phase, kPending);
  EXPECT_EQ(p.status.progress, "0/2");
  EXPECT_EQ(p.status.observed_generation, 3);
  EXPECT_TRUE(p.poll && p.poll_reset);
  EXPECT_TRUE(p.started);
  EXPECT_EQ(p.running, 1);
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].reason, "Started");
}

TEST(WorkflowPlan, ASucceededStepStartsItsDependent) {
  auto spec = spec_of({step("a"), step("b", {"a"}, "{{ steps.a.output }}")});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  Observations o = seen(kT0 + 2000);
  o.executions.emplace("a", execution("succeeded", "answer"));
  Plan p = plan_gathering(spec, st, o);
  EXPECT_EQ(p.status.step("a")->phase, kSucceeded);
  EXPECT_EQ(p.status.step("a")->output, "answer");
  EXPECT_EQ(p.status.step("a")->execution_id, "ex-1");
  ASSERT_EQ(p.dispatches.size(), 1u);
  EXPECT_EQ(p.dispatches[0].key, "uid-1/b/1");
  ASSERT_EQ(p.steps_ended.size(), 1u);
  EXPECT_EQ(p.steps_ended[0].result, "succeeded");
  EXPECT_DOUBLE_EQ(p.steps_ended[0].seconds, 2.0);
  EXPECT_EQ(p.status.progress, "1/2");

  // And when b succeeds, the Workflow does.
  WorkflowStatus st2 = written(p);
  Observations o2 = seen(kT0 + 3000);
  o2.executions.emplace("b", execution("succeeded", "done"));
  Plan end = plan_gathering(spec, st2, o2);
  EXPECT_EQ(end.status.phase, kSucceeded);
  EXPECT_TRUE(end.finished);
  EXPECT_FALSE(end.started);
  EXPECT_EQ(end.status.duration, "3s");
  EXPECT_EQ(end.status.finished_at, format_rfc3339(kT0 + 3000));
  EXPECT_EQ(end.status.conditions[0]["status"], "True");
  EXPECT_EQ(end.events.back().reason, "Succeeded");
}

TEST(WorkflowPlan, AFailedAttemptIsRetriedAfterItsBackoffWithANewKey) {
  auto spec = spec_of({step("a", {}, "x", {{"retries", {{"limit", 1}, {"backoffSeconds", 4}}}})});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  Observations o = seen(kT0 + 1000);
  o.executions.emplace("a", execution("failed"));
  Plan p = plan_gathering(spec, st, o);
  const StepStatus& a = *p.status.step("a");
  EXPECT_EQ(a.phase, kPending);
  EXPECT_EQ(a.next_attempt_at, format_rfc3339(kT0 + 5000));
  EXPECT_NE(a.message.find("retry 1/1 in 4s"), std::string::npos) << a.message;
  EXPECT_TRUE(p.dispatches.empty());
  ASSERT_TRUE(p.wake_after.has_value());
  EXPECT_EQ(*p.wake_after, milliseconds(4000));
  EXPECT_EQ(p.events.back().reason, "StepRetrying");

  Plan later = plan_gathering(spec, written(p), seen(kT0 + 5000));
  ASSERT_EQ(later.dispatches.size(), 1u);
  EXPECT_EQ(later.dispatches[0].key, "uid-1/a/2");
  EXPECT_EQ(later.dispatches[0].attempt, 2);
  EXPECT_TRUE(later.status.step("a")->next_attempt_at.empty());
}

TEST(WorkflowPlan, ExhaustedRetriesFailTheWorkflowAndSkipWhatDependsOnIt) {
  auto spec =
      spec_of({step("a", {}, "x", {{"retries", {{"limit", 0}}}}), step("b", {"a"}), step("c")},
              {{"parallelism", 1}});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  Observations o = seen(kT0 + 1000);
  o.executions.emplace("a", execution("failed"));
  Plan p = plan_gathering(spec, st, o);
  EXPECT_EQ(p.status.step("a")->phase, kFailed);
  EXPECT_EQ(p.status.step("b")->phase, kSkipped);
  EXPECT_EQ(p.status.step("c")->phase, kSkipped);  // failFast: not started yet
  EXPECT_EQ(p.status.phase, kFailed);
  EXPECT_TRUE(p.finished);
  EXPECT_NE(p.status.message.find("step a failed after 1 attempt(s)"), std::string::npos)
      << p.status.message;
  EXPECT_TRUE(p.dispatches.empty());
}

TEST(WorkflowPlan, WithoutFailFastIndependentStepsStillRun) {
  auto spec =
      spec_of({step("a", {}, "x", {{"retries", {{"limit", 0}}}}), step("b", {"a"}), step("c")},
              {{"parallelism", 1}, {"failFast", false}});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  Observations o = seen(kT0 + 1000);
  o.executions.emplace("a", execution("failed"));
  Plan p = plan_gathering(spec, st, o);
  EXPECT_EQ(p.status.step("b")->phase, kSkipped);
  ASSERT_EQ(p.dispatches.size(), 1u);
  EXPECT_EQ(p.dispatches[0].step, "c");
  EXPECT_EQ(p.status.phase, kRunning);
}

TEST(WorkflowPlan, SuspendCancelsRunningStepsAndWaits) {
  auto spec = spec_of({step("a")});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  st.step("a")->execution_id = "ex-1";
  auto suspended = spec_of({step("a")}, {{"suspend", true}});
  Plan p = plan(suspended, st, seen(kT0 + 1000));
  EXPECT_TRUE(p.needs.empty());
  EXPECT_TRUE(p.suspended);
  EXPECT_EQ(p.status.phase, kSuspended);
  ASSERT_EQ(p.cancels.size(), 1u);
  EXPECT_TRUE(p.cancels[0].required);
  EXPECT_EQ(p.cancels[0].execution_id, "ex-1");
  EXPECT_EQ(p.status.step("a")->phase, kPending);
  EXPECT_TRUE(p.status.step("a")->execution_id.empty());
  EXPECT_EQ(p.events[0].reason, "Suspended");

  // Resuming runs the step again as its next attempt.
  Plan resumed = plan_gathering(spec, written(p), seen(kT0 + 2000));
  ASSERT_EQ(resumed.dispatches.size(), 1u);
  EXPECT_EQ(resumed.dispatches[0].key, "uid-1/a/2");
  EXPECT_EQ(resumed.events[0].reason, "Resumed");
}

TEST(WorkflowPlan, ActiveDeadlineCancelsWhatRunsAndFails) {
  auto spec = spec_of({step("a"), step("b", {"a"})}, {{"activeDeadlineSeconds", 10}});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  Plan before = plan_gathering(spec, st, [] {
    Observations o = seen(kT0 + 4000);
    o.executions.emplace("a", execution("running"));
    return o;
  }());
  ASSERT_TRUE(before.wake_after.has_value());
  EXPECT_LE(*before.wake_after, milliseconds(6010));

  Plan p = plan_gathering(spec, st, seen(kT0 + 10000));
  ASSERT_EQ(p.cancels.size(), 1u);
  EXPECT_FALSE(p.cancels[0].required);
  EXPECT_EQ(p.cancels[0].key, "uid-1/a/1");
  EXPECT_EQ(p.status.step("a")->phase, kCancelled);
  EXPECT_EQ(p.status.step("b")->phase, kSkipped);
  EXPECT_EQ(p.status.phase, kFailed);
  EXPECT_NE(p.status.message.find("activeDeadlineSeconds (10s)"), std::string::npos);
}

TEST(WorkflowPlan, AStepOverItsTimeoutIsCancelledAndRetried) {
  auto spec = spec_of({step("a", {}, "x", {{"timeoutSeconds", 30}})});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  Observations o = seen(kT0 + 31000);
  o.executions.emplace("a", execution("running", "", kT0));
  Plan p = plan_gathering(spec, st, o);
  ASSERT_EQ(p.cancels.size(), 1u);
  EXPECT_EQ(p.cancels[0].execution_id, "ex-1");
  EXPECT_EQ(p.status.step("a")->phase, kPending);
  EXPECT_NE(p.status.step("a")->message.find("timed out after 30s"), std::string::npos);
}

TEST(WorkflowPlan, ARunningStepIsPolledUntilItsTimeout) {
  auto spec = spec_of({step("a", {}, "x", {{"timeoutSeconds", 30}})});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  Observations o = seen(kT0 + 1000);
  o.executions.emplace("a", execution("running"));
  Plan p = plan_gathering(spec, st, o);
  EXPECT_TRUE(p.cancels.empty());
  EXPECT_TRUE(p.poll);
  EXPECT_FALSE(p.poll_reset);
  EXPECT_EQ(*p.wake_after, milliseconds(29010));
  // An unreachable sidecar is polled too, and says so.
  Observations down = seen(kT0 + 1000);
  down.executions.emplace("a", unavailable("connection refused"));
  Plan q = plan_gathering(spec, st, down);
  EXPECT_TRUE(q.poll);
  EXPECT_NE(q.status.step("a")->message.find("sidecar unreachable"), std::string::npos);
  EXPECT_EQ(q.status.step("a")->phase, kRunning);
}

TEST(WorkflowPlan, ANotReadyAgentMakesTheStepWait) {
  auto spec = spec_of({step("a")});
  Observations o = seen();
  o.targets.clear();
  o.targets.emplace("ag", unavailable("Agent \"ag\" is not Ready (phase: Pending)"));
  Plan p = plan_gathering(spec, {}, o);
  EXPECT_TRUE(p.dispatches.empty());
  EXPECT_EQ(p.status.step("a")->phase, kWaiting);
  EXPECT_EQ(p.status.phase, kPending);
  EXPECT_EQ(*p.wake_after, milliseconds(5000));
  EXPECT_EQ(p.events[0].reason, "StepWaiting");
  // The same wait again is not a new event.
  Plan again = plan_gathering(spec, written(p), o);
  EXPECT_TRUE(again.events.empty());
}

TEST(WorkflowPlan, TheOperatorsLimitsHoldStepsBack) {
  auto spec = spec_of({step("a"), step("b"), step("c")}, {{"parallelism", 2}});
  Plan first = plan(spec, {}, seen());
  EXPECT_EQ(first.needs.step_slots, 2);  // parallelism 2 of three ready steps
  Plan one = plan_gathering(spec, {}, seen(), /*slots=*/1);
  ASSERT_EQ(one.dispatches.size(), 1u);
  EXPECT_EQ(one.status.message, "waiting: namespace ns runs 1 steps");
  EXPECT_EQ(*one.wake_after, milliseconds(500));

  Plan queued = plan_gathering(spec, {}, seen(), 100, /*workflow_slot=*/false);
  EXPECT_TRUE(queued.dispatches.empty());
  EXPECT_EQ(queued.status.phase, kPending);
  EXPECT_EQ(queued.status.message, "queued: 1 workflows are running");
  EXPECT_FALSE(queued.started);
}

TEST(WorkflowPlan, AnInputThatCannotBeRenderedWaits) {
  auto spec = spec_of({step("a")});
  Observations o = seen();
  o.workflow_slot = true;
  o.step_slots = 1;
  o.inputs.emplace("a", invalid_argument("step z has no output yet"));
  Plan p = plan(spec, {}, o);
  EXPECT_TRUE(p.needs.empty());
  EXPECT_EQ(p.status.step("a")->phase, kWaiting);
  EXPECT_NE(p.status.step("a")->message.find("rendering input"), std::string::npos);
}

TEST(WorkflowPlan, AnInvalidSpecFailsAtOnce) {
  auto spec = spec_of({step("a", {"b"}), step("b", {"a"})});
  Plan p = plan(spec, {}, seen());
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.status.phase, kFailed);
  EXPECT_EQ(p.status.message, "invalid workflow: cycle: a -> b -> a");
  EXPECT_EQ(p.status.progress, "0/2");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_TRUE(p.events[0].warning);
  EXPECT_EQ(p.events[0].reason, "InvalidSpec");
}

TEST(WorkflowPlan, TheSamePlanTwiceIsTheSameAndWritesNothingNew) {
  auto spec = spec_of({step("a"), step("b", {"a"})});
  WorkflowStatus st = written(plan_gathering(spec, {}, seen()));
  Observations o = seen(kT0 + 500);
  o.executions.emplace("a", execution("running"));
  Plan p1 = plan_gathering(spec, st, o);
  Plan p2 = plan_gathering(spec, st, o);
  EXPECT_EQ(to_json(p1.status), to_json(p2.status));
  // Planning from what was written changes nothing: a quiet reconcile writes no status.
  Plan p3 = plan_gathering(spec, written(p1), o);
  EXPECT_EQ(to_json(p3.status), to_json(p1.status));
}

TEST(WorkflowStatusJson, RoundTripsAndReadsWrongTypesAsAbsent) {
  json j = {{"phase", "Running"},
            {"startedAt", "2027-01-15T08:00:00Z"},
            {"observedGeneration", 2},
            {"steps",
             {{{"name", "a"}, {"phase", "Succeeded"}, {"attempts", 1}, {"output", ""}},
              {{"name", "b"}, {"phase", "Running"}, {"attempts", 2}, {"executionId", "ex"}}}}};
  EXPECT_EQ(to_json(status_from_json(j)), j);
  json bad = {{"phase", 7}, {"steps", {{{"name", "a"}, {"attempts", "x"}}, 5}}};
  WorkflowStatus st = status_from_json(bad);
  EXPECT_EQ(st.phase, "");
  ASSERT_EQ(st.steps.size(), 1u);
  EXPECT_EQ(st.steps[0].attempts, 0);
}

}  // namespace
}  // namespace agentry::controllers::workflow
