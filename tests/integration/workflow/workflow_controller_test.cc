// The Workflow controller against the real control plane, real agentry-sidecar processes and the
// fake LLM server (which answers "echo: <last user message>", so outputs passed along are visible).
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/integration/workflow/workflow_harness.h"

namespace agentry::testing {
namespace {

namespace res = kube::resources;
using std::chrono::seconds;

std::string workflow_yaml(const std::string& name, const std::string& spec_body) {
  return "apiVersion: agentry.dev/v1alpha1\nkind: Workflow\nmetadata:\n  name: " + name +
         "\nspec:\n" + spec_body;
}

class WorkflowTest : public WorkflowTestBase {};

// Issue 23: the Agent's status says how full its memory is, per kind, from the sidecar's own stats,
// and a Warning event says so at 90% of the fact bound, before writes get 507.
TEST_F(WorkflowTest, AgentStatusReportsMemoryFillPerKindFromTheSidecar) {
  agent("memfill", /*with_sidecar=*/false);
  auto* sc = start_sidecar("memfill", "memory:\n  maxEntries: 10\n");
  for (int i = 0; i < 10; ++i) {
    json out;
    ASSERT_EQ(sc->post("/v1/memory", {{"text", "fact " + std::to_string(i)}}, &out), 201) << out;
    EXPECT_EQ(out["kind"], "fact");
  }
  json refused;
  EXPECT_EQ(sc->post("/v1/memory", {{"text", "one too many"}}, &refused), 507) << refused;
  EXPECT_NE(refused.dump().find("memory.maxEntries"), std::string::npos) << refused;
  // Any change of the Agent makes the operator look again (it also looks every minute).
  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "label", "--overwrite", "agent", "memfill", "poke=1"}, &out),
            0)
      << out;
  json mem;
  EXPECT_TRUE(eventually(
      [&] {
        mem = get(kube::resources::kAgents, "memfill").value("/status/memory"_json_pointer, json());
        return mem.is_object() && mem.value("facts", 0) == 10 && mem.value("refusedFull", 0) == 1;
      },
      std::chrono::seconds(30)))
      << mem.dump();
  EXPECT_EQ(mem.value("factsPercent", 0), 100);
  EXPECT_EQ(mem.value("summary", "").rfind("facts 100% of bound (10/10)", 0), 0u) << mem;
  EXPECT_TRUE(eventually([&] {
    std::string ev;
    cp_->kubectl(
        {"-n", ns_, "get", "events", "--field-selector", "reason=MemoryNearlyFull", "-o", "name"},
        &ev);
    return !ev.empty();
  })) << "no MemoryNearlyFull event";
}

TEST_F(WorkflowTest, LinearChainPassesOutputsAlong) {
  auto* sc = agent("writer");
  apply(workflow_yaml("chain", R"(  input: "kubernetes operators"
  steps:
  - {name: research, agentRef: {name: writer}, input: "research {{ input }}"}
  - {name: draft, agentRef: {name: writer}, dependsOn: [research], input: "draft from [{{steps.research.output}}]"}
  - {name: polish, agentRef: {name: writer}, dependsOn: [draft], input: "polish [{{ steps.draft.output }}]"}
)"));
  ASSERT_TRUE(wait_phase("chain", "Succeeded"));
  json wf = get(res::kWorkflows, "chain");
  const json& st = wf["status"];
  EXPECT_EQ(st["progress"], "3/3");
  EXPECT_FALSE(st.value("startedAt", "").empty());
  EXPECT_FALSE(st.value("finishedAt", "").empty());
  EXPECT_FALSE(st.value("duration", "").empty());
  EXPECT_EQ(st["observedGeneration"], wf["metadata"]["generation"]);
  EXPECT_EQ(st["conditions"][0]["type"], "Complete");
  EXPECT_EQ(st["conditions"][0]["status"], "True");
  std::string r = step_status("chain", "research")["output"];
  std::string d = step_status("chain", "draft")["output"];
  std::string p = step_status("chain", "polish")["output"];
  EXPECT_NE(r.find("research kubernetes operators"), std::string::npos) << r;
  // Each step's input carried the previous step's output (the fake LLM echoes its input).
  EXPECT_NE(d.find("draft from [" + r + "]"), std::string::npos) << d;
  EXPECT_NE(p.find("polish [" + d + "]"), std::string::npos) << p;
  for (const char* s : {"research", "draft", "polish"}) {
    json ss = step_status("chain", s);
    EXPECT_EQ(ss["attempts"], 1) << s;
    std::string id = ss.value("executionId", "");
    ASSERT_FALSE(id.empty()) << s;
    json ex = sc->get("/v1/executions/" + id);
    EXPECT_EQ(ex["state"], "succeeded");
    EXPECT_EQ(ex["output"], ss["output"]);
  }
  EXPECT_EQ(sc->executions().size(), 3u);
  EXPECT_TRUE(eventually(
      [&] {
        auto ev = events_of("chain");
        return ev.find("Started") != std::string::npos && ev.find("Succeeded") != std::string::npos;
      },
      seconds(10)))
      << events_of("chain");
  // Printer columns.
  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "get", "awf", "chain"}, &out), 0);
  EXPECT_NE(out.find("3/3"), std::string::npos) << out;
}

TEST_F(WorkflowTest, FanOutFanInAcrossTwoAgents) {
  auto* a1 = agent("alpha");
  auto* a2 = agent("beta");
  apply(workflow_yaml("diamond", R"(  input: "topic"
  parallelism: 2
  steps:
  - {name: plan, agentRef: {name: alpha}, input: "plan {{ input }}"}
  - {name: left, agentRef: {name: alpha}, dependsOn: [plan], input: "left of {{ steps.plan.output }}"}
  - {name: right, agentRef: {name: beta}, dependsOn: [plan], input: "right of {{ steps.plan.output }}"}
  - {name: join, agentRef: {name: beta}, dependsOn: [left, right], input: "join <{{ steps.left.output }}> <{{ steps.right.output }}>"}
)"));
  ASSERT_TRUE(wait_phase("diamond", "Succeeded"));
  std::string left = step_status("diamond", "left")["output"];
  std::string right = step_status("diamond", "right")["output"];
  std::string join = step_status("diamond", "join")["output"];
  EXPECT_NE(left.find("left of echo: plan topic"), std::string::npos) << left;
  EXPECT_NE(right.find("right of echo: plan topic"), std::string::npos) << right;
  EXPECT_NE(join.find("<" + left + ">"), std::string::npos) << join;
  EXPECT_NE(join.find("<" + right + ">"), std::string::npos) << join;
  EXPECT_EQ(a1->executions().size(), 2u);  // plan, left
  EXPECT_EQ(a2->executions().size(), 2u);  // right, join
  EXPECT_EQ(get(res::kWorkflows, "diamond")["status"]["progress"], "4/4");
}

TEST_F(WorkflowTest, FailingStepIsRetriedThenFailsWithTheReason) {
  auto* sc = agent("flaky");
  ASSERT_TRUE(llm_->faults({{"mode", "error500"}}));
  apply(workflow_yaml("failing", R"(  steps:
  - {name: first, agentRef: {name: flaky}, input: "hello", retries: {limit: 2, backoffSeconds: 1}}
  - {name: second, agentRef: {name: flaky}, dependsOn: [first], input: "{{ steps.first.output }}"}
)"));
  ASSERT_TRUE(wait_phase("failing", "Failed", seconds(60)));
  json first = step_status("failing", "first");
  EXPECT_EQ(first["phase"], "Failed");
  EXPECT_EQ(first["attempts"], 3);
  std::string msg = first.value("message", "");
  EXPECT_NE(msg.find("failed after 3 attempt(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("provider_unavailable"), std::string::npos) << msg;
  EXPECT_EQ(step_status("failing", "second")["phase"], "Skipped");
  std::string wmsg = get(res::kWorkflows, "failing")["status"].value("message", "");
  EXPECT_NE(wmsg.find("step first"), std::string::npos) << wmsg;
  EXPECT_EQ(get(res::kWorkflows, "failing")["status"]["progress"], "0/2");
  // Three attempts, three distinct executions (keys uid/first/1..3), nothing else.
  json ex = sc->executions();
  EXPECT_EQ(ex.size(), 3u);
  for (auto& e : ex) EXPECT_EQ(e["state"], "failed");
  EXPECT_TRUE(eventually(
      [&] { return events_of("failing").find("StepRetrying") != std::string::npos; }, seconds(10)));
}

TEST_F(WorkflowTest, StepTimeoutCancelsTheExecution) {
  auto* sc = agent("slow");
  ASSERT_TRUE(llm_->faults({{"latencyMs", 20000}}));
  apply(workflow_yaml("timeout", R"(  steps:
  - {name: only, agentRef: {name: slow}, input: "take your time", timeoutSeconds: 1, retries: {limit: 0}}
)"));
  ASSERT_TRUE(wait_phase("timeout", "Failed", seconds(30)));
  json only = step_status("timeout", "only");
  EXPECT_NE(only.value("message", "").find("timed out after 1s"), std::string::npos) << only.dump();
  std::string id = only.value("executionId", "");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(
      eventually([&] { return sc->get("/v1/executions/" + id).value("state", "") == "cancelled"; },
                 seconds(10)))
      << sc->get("/v1/executions/" + id).dump();
}

TEST_F(WorkflowTest, InvalidDagsAreRejectedOrFailNamingTheCycle) {
  agent("any", false);
  apply(workflow_yaml("loop", R"(  steps:
  - {name: a, agentRef: {name: any}, dependsOn: [b], input: "x"}
  - {name: b, agentRef: {name: any}, dependsOn: [a], input: "y"}
  - {name: c, agentRef: {name: any}, input: "z"}
)"));
  ASSERT_TRUE(wait_phase("loop", "Failed", seconds(20)));
  std::string msg = get(res::kWorkflows, "loop")["status"].value("message", "");
  EXPECT_NE(msg.find("cycle: a -> b -> a"), std::string::npos) << msg;
  EXPECT_TRUE(dispatches().empty());  // nothing ran, not even the independent step
  // An unknown template reference fails at once, naming it.
  apply(workflow_yaml("badref", R"(  steps:
  - {name: a, agentRef: {name: any}, input: "{{ steps.nosuch.output }}"}
)"));
  ASSERT_TRUE(wait_phase("badref", "Failed", seconds(20)));
  msg = get(res::kWorkflows, "badref")["status"].value("message", "");
  EXPECT_NE(msg.find("steps.nosuch.output"), std::string::npos) << msg;
  // What CEL can check is rejected by the API server.
  std::string out;
  EXPECT_NE(cp_->kubectl_stdin({"apply", "-n", ns_, "-f", "-"},
                               workflow_yaml("unknowndep",
                                             "  steps:\n  - {name: a, agentRef: {name: any}, "
                                             "dependsOn: [ghost], input: x}\n"),
                               &out),
            0);
  EXPECT_NE(out.find("dependsOn"), std::string::npos) << out;
}

TEST_F(WorkflowTest, DeleteCancelsRunningSteps) {
  auto* sc = agent("busy");
  ASSERT_TRUE(llm_->faults({{"latencyMs", 20000}}));
  apply(workflow_yaml("doomed", R"(  steps:
  - {name: long, agentRef: {name: busy}, input: "a long job"}
)"));
  std::string id;
  ASSERT_TRUE(eventually(
      [&] {
        id = step_status("doomed", "long").value("executionId", "");
        return !id.empty();
      },
      seconds(30)));
  EXPECT_EQ(get(res::kWorkflows, "doomed")["metadata"]["finalizers"][0],
            controllers::kWorkflowFinalizer);
  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "delete", "workflow", "doomed", "--wait=false"}, &out), 0)
      << out;
  EXPECT_TRUE(eventually([&] { return get(res::kWorkflows, "doomed").is_null(); }, seconds(30)));
  EXPECT_EQ(sc->get("/v1/executions/" + id).value("state", ""), "cancelled");
}

TEST_F(WorkflowTest, SuspendCancelsAndResumeRunsTheNextAttempt) {
  auto* sc = agent("pausable");
  ASSERT_TRUE(llm_->faults({{"latencyMs", 20000}}));
  apply(workflow_yaml("pausing", R"(  steps:
  - {name: work, agentRef: {name: pausable}, input: "work"}
  - {name: after, agentRef: {name: pausable}, dependsOn: [work], input: "after {{ steps.work.output }}"}
)"));
  std::string id;
  ASSERT_TRUE(eventually(
      [&] {
        id = step_status("pausing", "work").value("executionId", "");
        return !id.empty();
      },
      seconds(30)));
  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "patch", "workflow", "pausing", "--type=merge", "-p",
                          R"({"spec":{"suspend":true}})"},
                         &out),
            0)
      << out;
  ASSERT_TRUE(wait_phase("pausing", "Suspended", seconds(20)));
  EXPECT_TRUE(
      eventually([&] { return sc->get("/v1/executions/" + id).value("state", "") == "cancelled"; },
                 seconds(10)));
  EXPECT_EQ(step_status("pausing", "work")["phase"], "Pending");
  ASSERT_TRUE(llm_->faults({{"reset", true}}));
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "patch", "workflow", "pausing", "--type=merge", "-p",
                          R"({"spec":{"suspend":false}})"},
                         &out),
            0)
      << out;
  ASSERT_TRUE(wait_phase("pausing", "Succeeded", seconds(60)));
  EXPECT_EQ(step_status("pausing", "work")["attempts"],
            2);                            // the cancelled attempt, then a new one
  EXPECT_EQ(sc->executions().size(), 3u);  // work/1 (cancelled), work/2, after/1
}

TEST_F(WorkflowTest, AgentThatAppearsAfterTheWorkflow) {
  apply(workflow_yaml("early", R"(  steps:
  - {name: only, agentRef: {name: late}, input: "hi {{ input }}"}
  input: there
)"));
  ASSERT_TRUE(wait_step("early", "only", "Waiting", seconds(20)));
  EXPECT_NE(step_status("early", "only").value("message", "").find("Agent \"late\" not found"),
            std::string::npos)
      << step_status("early", "only").dump();
  EXPECT_EQ(phase("early"), "Pending");
  agent("late");
  ASSERT_TRUE(wait_phase("early", "Succeeded", seconds(60)));
  EXPECT_EQ(step_status("early", "only")["output"], "echo: hi there");
}

TEST_F(WorkflowTest, ActiveDeadlineFailsTheWorkflowAndCancels) {
  auto* sc = agent("tardy");
  ASSERT_TRUE(llm_->faults({{"latencyMs", 20000}}));
  apply(workflow_yaml("deadline", R"(  activeDeadlineSeconds: 2
  steps:
  - {name: slow, agentRef: {name: tardy}, input: "x"}
  - {name: next, agentRef: {name: tardy}, dependsOn: [slow], input: "y"}
)"));
  ASSERT_TRUE(wait_phase("deadline", "Failed", seconds(30)));
  EXPECT_NE(
      get(res::kWorkflows, "deadline")["status"].value("message", "").find("activeDeadlineSeconds"),
      std::string::npos);
  json slow = step_status("deadline", "slow");
  EXPECT_EQ(slow["phase"], "Cancelled");
  EXPECT_EQ(step_status("deadline", "next")["phase"], "Skipped");
  EXPECT_TRUE(eventually(
      [&] {
        return sc->get("/v1/executions/" + slow.value("executionId", "")).value("state", "") ==
               "cancelled";
      },
      seconds(10)));
}

TEST_F(WorkflowTest, TtlDeletesFinishedWorkflows) {
  agent("quick");
  apply(workflow_yaml("ephemeral", R"(  ttlSecondsAfterFinished: 1
  steps:
  - {name: only, agentRef: {name: quick}, input: "x"}
)"));
  ASSERT_TRUE(eventually([&] { return get(res::kWorkflows, "ephemeral").is_null(); }, seconds(30)))
      << get(res::kWorkflows, "ephemeral").dump();
  EXPECT_EQ(dispatches().size(), 1u);
}

// The SRE knobs: a per-namespace limit on running steps, and a cap on started workflows.
TEST_F(WorkflowTest, NamespaceParallelismLimitsRunningSteps) {
  op_.reset();
  settings_.namespace_parallelism = 1;
  start_operator();
  agent("limited");
  ASSERT_TRUE(llm_->faults({{"latencyMs", 2000}}));  // a window wide enough on a loaded machine
  std::string all;                                   // one apply, so the three arrive together
  for (const char* name : {"first", "second", "third"})
    all += "---\n" + workflow_yaml(name, R"(  steps:
  - {name: only, agentRef: {name: limited}, input: "hi"})") +
           "\n";
  apply(all);
  // While one step runs, the others wait with the reason in their status.
  ASSERT_TRUE(eventually(
      [&] {
        int waiting = 0;
        for (const char* name : {"first", "second", "third"}) {
          std::string m = get(kube::resources::kWorkflows, name)
                              .value("/status/message"_json_pointer, std::string());
          waiting += m.find("per-namespace limit") != std::string::npos;
        }
        return waiting == 2;
      },
      seconds(20)));
  for (const char* name : {"first", "second", "third"})
    EXPECT_TRUE(wait_phase(name, "Succeeded", seconds(60)));
  EXPECT_EQ(llm_->stats()["chat"], 3);
  EXPECT_EQ(llm_->stats()["maxInflight"], 1) << "two steps of the namespace ran at once";
}

TEST_F(WorkflowTest, MaxConcurrentWorkflowsQueuesTheRest) {
  op_.reset();
  settings_.max_concurrent_workflows = 1;
  start_operator();
  agent("capped");
  ASSERT_TRUE(llm_->faults({{"latencyMs", 2000}}));  // a window wide enough on a loaded machine
  apply(workflow_yaml("running", R"(  steps:
  - {name: a, agentRef: {name: capped}, input: "one"}
  - {name: b, agentRef: {name: capped}, dependsOn: [a], input: "two"})"));
  ASSERT_TRUE(wait_step("running", "a", "Running", seconds(30)));
  apply(workflow_yaml("queued", R"(  steps:
  - {name: a, agentRef: {name: capped}, input: "three"})"));
  ASSERT_TRUE(eventually(
      [&] {
        json st = get(kube::resources::kWorkflows, "queued").value("status", json::object());
        return st.value("phase", "") == "Pending" &&
               st.value("message", "").find("max concurrent workflows") != std::string::npos;
      },
      seconds(20)));
  // Between the running workflow's two steps the slot stays taken: queued never starts early.
  ASSERT_TRUE(wait_step("running", "b", "Running", seconds(30)));
  EXPECT_EQ(phase("queued"), "Pending");
  EXPECT_TRUE(wait_phase("running", "Succeeded", seconds(60)));
  EXPECT_TRUE(wait_phase("queued", "Succeeded", seconds(60)));
  EXPECT_EQ(llm_->stats()["maxInflight"], 1);
}

class WorkflowRestartTest : public WorkflowTestBase {
 protected:
  // Three chained steps on one agent, each feeding the next.
  void apply_chain(const std::string& wf, const std::string& agent) {
    auto step = [&](const std::string& name, const std::string& after, const std::string& input) {
      return "  - {name: " + name + ", agentRef: {name: " + agent + "}" + after + ", input: \"" +
             input + "\"}\n";
    };
    apply(
        workflow_yaml(wf, "  input: \"go\"\n  steps:\n" + step("one", "", "one {{ input }}") +
                              step("two", ", dependsOn: [one]", "two {{ steps.one.output }}") +
                              step("three", ", dependsOn: [two]", "three {{ steps.two.output }}")));
  }
  // The chain finished and the sidecar ran each step exactly once.
  void expect_each_step_ran_once(const std::string& wf, SidecarProcess* sc) {
    json ex = sc->executions();
    EXPECT_EQ(ex.size(), 3u) << ex.dump(2);
    EXPECT_EQ(llm_->stats()["chat"], 3) << llm_->stats().dump();
    for (const char* s : {"one", "two", "three"}) {
      EXPECT_EQ(step_status(wf, s)["attempts"], 1) << s;
      EXPECT_NE(step_status(wf, s).value("executionId", ""), "") << s;
    }
    EXPECT_EQ(step_status(wf, "three")["output"], "echo: three echo: two echo: one go");
  }
};

// The operator stops mid-workflow (a fresh manager, caches and in-memory state replace it): the
// workflow finishes and the sidecar ran every step exactly once.
TEST_F(WorkflowRestartTest, OperatorRestartMidWorkflowRunsEachStepOnce) {
  auto* sc = agent("steady");
  ASSERT_TRUE(llm_->faults({{"latencyMs", 1500}}));
  apply_chain("survivor", "steady");
  ASSERT_TRUE(wait_step("survivor", "one", "Running", seconds(30)));
  op_->stop();  // mid-step: the execution runs on at the sidecar
  ASSERT_TRUE(eventually(
      [&] { return sc->executions().size() == 1 && sc->executions()[0]["state"] == "succeeded"; },
      seconds(20)));
  start_operator();
  ASSERT_TRUE(wait_step("survivor", "two", "Running", seconds(30)));
  op_->stop();
  start_operator();
  ASSERT_TRUE(wait_phase("survivor", "Succeeded", seconds(60)));
  expect_each_step_ran_once("survivor", sc);
}

// The real agentry-operator binary, killed with SIGKILL twice: once the instant the sidecar
// has the first step (before the operator can have recorded it: the send-then-record window) and
// once while the second step runs. Each restart resends the stored attempt's idempotency key, so
// the workflow finishes and every step ran exactly once.
TEST_F(WorkflowRestartTest, OperatorKilledWithSigkillRunsEachStepOnce) {
  op_.reset();  // the binary below is the only operator of this namespace
  TempDir dir("wf-kill");
  int n = 0;
  auto operator_process = [&] {
    Process p({.argv = {bin_path("AGENTRY_OPERATOR_BIN", AGENTRY_OPERATOR_BIN), "--kubeconfig",
                        cp_->kubeconfig(), "--watch-namespace", ns_, "--metrics-addr",
                        "127.0.0.1:0", "--default-policy", "development"},
               .env = {},
               .log_path = dir.file("operator-" + std::to_string(++n) + ".log"),
               .cwd = ""});
    std::string err;
    EXPECT_TRUE(p.start(&err)) << err;
    return p;
  };
  Process op = operator_process();
  auto* sc = agent("tough");
  ASSERT_TRUE(llm_->faults({{"latencyMs", 1500}}));
  apply_chain("killed", "tough");
  // Kill the moment the sidecar has the first step: the operator records it only after sending.
  auto until = std::chrono::steady_clock::now() + seconds(30);
  while (sc->executions().empty() && std::chrono::steady_clock::now() < until) {
  }
  ASSERT_EQ(sc->executions().size(), 1u)
      << get(kube::resources::kWorkflows, "killed").value("status", json()).dump(2) << "\n"
      << op.log_tail();
  op.stop(SIGKILL);
  op = operator_process();
  ASSERT_TRUE(wait_step("killed", "two", "Running", seconds(30))) << op.log_tail();
  op.stop(SIGKILL);
  op = operator_process();
  ASSERT_TRUE(wait_phase("killed", "Succeeded", seconds(60))) << op.log_tail();
  expect_each_step_ran_once("killed", sc);
  op.stop(SIGTERM);
}

}  // namespace
}  // namespace agentry::testing
