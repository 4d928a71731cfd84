// The Agent controller against the real control plane (kube-controller-manager for garbage
// collection and Deployments, kube-scheduler, kwok pods): kubectl apply of the examples ends with
// every owned object and a Ready Agent, and it heals, reverts drift and never fights the HPA.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/metrics.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"
#include "tests/integration/controllers/operator_harness.h"
#include "tests/integration/sidecar/mcp_servers.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
namespace res = kube::resources;

class AgentControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    cp_ = ControlPlane::shared(&err);
    ASSERT_NE(cp_, nullptr) << err;
    std::string out;
    ASSERT_TRUE(cp_->install_crds(&out)) << out;
    ns_ = "agent-test-" + std::to_string(::getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(ns_.begin(), ns_.end(), ns_.begin(), ::tolower);
    ns_ = ns_.substr(0, 63);
    ASSERT_EQ(cp_->kubectl({"create", "namespace", ns_}, &out), 0) << out;
    op_ = std::make_unique<OperatorHarness>(cp_, ns_);
    ASSERT_TRUE(op_->start());
  }
  void TearDown() override {
    op_.reset();
    std::string out;
    if (cp_) cp_->kubectl({"delete", "namespace", ns_, "--wait=false"}, &out);
  }

  void apply(const std::string& yaml) {
    std::string out;
    ASSERT_EQ(cp_->kubectl_stdin({"apply", "-n", ns_, "-f", "-"}, yaml, &out), 0) << out;
  }
  void apply_file(const std::string& path) {
    std::string out;
    ASSERT_EQ(cp_->kubectl({"apply", "-n", ns_, "-f", repo_dir() + "/" + path}, &out), 0) << out;
  }
  json get(const kube::Resource& r, const std::string& name) {
    auto o = op_->client().get(r, r.namespaced ? ns_ : "", name);
    return o.ok() ? *o : json();
  }
  bool exists(const kube::Resource& r, const std::string& name) { return !get(r, name).is_null(); }
  std::string phase(const std::string& agent) {
    return get(res::kAgents, agent).value("/status/phase"_json_pointer, std::string());
  }
  // The condition of that type ({} when absent).
  json condition(const json& agent, const std::string& type) {
    for (const auto& c : agent.value("/status/conditions"_json_pointer, json::array())) {
      if (c["type"] == type) return c;
    }
    return json::object();
  }
  ::testing::AssertionResult wait_phase(const std::string& agent, const std::string& want,
                                        std::chrono::seconds t = std::chrono::seconds(90)) {
    if (eventually([&] { return phase(agent) == want; }, t)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << agent << " phase is '" << phase(agent) << "', want " << want
           << "; status: " << get(res::kAgents, agent).value("status", json()).dump();
  }

  ControlPlane* cp_ = nullptr;
  std::string ns_;
  std::unique_ptr<OperatorHarness> op_;
};

// The sum of a counter family's samples in this process's registry whose labels include every
// given (name, value) pair. The harness's operator and this test's client share the registry.
// Every sample of a counter family, "label=value,...: count" per line (for failure messages).
std::string counter_samples(const std::string& family) {
  std::string out;
  for (const auto& f : metrics::registry()->Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) out += l.name + "=" + l.value + ",";
      out += ": " + std::to_string(m.counter.value) + "\n";
    }
  }
  return out;
}

double counter_sum(const std::string& family, const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const auto& f : metrics::registry()->Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      size_t hits = 0;
      for (const auto& l : m.label) {
        auto it = match.find(l.name);
        if (it != match.end() && it->second == l.value) ++hits;
      }
      if (hits == match.size()) sum += m.counter.value;
    }
  }
  return sum;
}

TEST_F(AgentControllerTest, ExampleAgentGetsEveryObjectAndBecomesReady) {
  apply_file("examples/agent.yaml");
  ASSERT_TRUE(wait_phase("researcher", "Ready"));
  const std::string n = "researcher-agent";
  json dep = get(res::kDeployments, n);
  ASSERT_FALSE(dep.is_null());
  const json& pod = dep["spec"]["template"]["spec"];
  EXPECT_EQ(pod["containers"][0]["name"], "agentry-sidecar");
  EXPECT_EQ(pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  EXPECT_FALSE(dep["spec"]["template"]["metadata"]["annotations"]["agentry.dev/config-hash"]
                   .get<std::string>()
                   .empty());
  json hpa = get(res::kHorizontalPodAutoscalers, n);
  ASSERT_FALSE(hpa.is_null());
  EXPECT_EQ(hpa["spec"]["minReplicas"], 2);
  EXPECT_EQ(hpa["spec"]["maxReplicas"], 10);
  EXPECT_EQ(hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 70);
  EXPECT_EQ(hpa["spec"]["metrics"][1]["resource"]["target"]["averageUtilization"], 80);
  EXPECT_TRUE(exists(res::kServices, n));
  EXPECT_TRUE(exists(res::kConfigMaps, n));
  EXPECT_TRUE(exists(res::kPodDisruptionBudgets, n));
  EXPECT_TRUE(exists(res::kNetworkPolicies, n));
  json token = get(res::kSecrets, "researcher-agent-token");
  ASSERT_FALSE(token.is_null());
  EXPECT_EQ(token["metadata"]["ownerReferences"][0]["kind"], "Agent");

  json agent = get(res::kAgents, "researcher");
  EXPECT_EQ(agent["status"]["endpoint"], "http://researcher-agent." + ns_ + ".svc:8080");
  EXPECT_EQ(agent["status"]["policy"], "production");
  EXPECT_EQ(agent["status"]["observedGeneration"], agent["metadata"]["generation"]);
  EXPECT_EQ(condition(agent, "Ready").value("status", ""), "True");
  // The pods really run (on the kwok node).
  std::string out;
  ASSERT_EQ(
      cp_->kubectl({"-n", ns_, "get", "pods", "-l", "agentry.dev/agent=researcher", "-o", "json"},
                   &out),
      0);
  auto pods = json::parse(out)["items"];
  ASSERT_GE(pods.size(), 2u);
  for (auto& p : pods) EXPECT_EQ(p["status"]["phase"], "Running");
  // The phase transitions were recorded as Events.
  ASSERT_TRUE(eventually([&] {
    std::string ev;
    cp_->kubectl({"-n", ns_, "get", "events.events.k8s.io", "-o", "json"}, &ev);
    const json events = json::parse(ev);  // keep the parsed list alive while iterating it
    for (const auto& e : events["items"]) {
      if (e["regarding"]["name"] == "researcher" && e["reason"] == "Ready") return true;
    }
    return false;
  }));
  // kubectl get agentry lists it with the printer columns.
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "get", "agentry"}, &out), 0);
  EXPECT_NE(out.find("researcher"), std::string::npos);
  EXPECT_NE(out.find("Ready"), std::string::npos);
}

TEST_F(AgentControllerTest, ByoAgentWaitsForItsSecretThenHeals) {
  apply_file("examples/byo-agent.yaml");
  ASSERT_TRUE(wait_phase("triage-bot", "Pending"));
  ASSERT_TRUE(eventually([&] {
    json c = condition(get(res::kAgents, "triage-bot"), "ConfigValid");
    return c.value("reason", "") == "SecretNotFound" &&
           c.value("message", "").find("triage-bot-llm") != std::string::npos;
  }));
  EXPECT_FALSE(exists(res::kDeployments, "triage-bot-agent"));
  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "create", "secret", "generic", "triage-bot-llm",
                          "--from-literal=api-key=sk-test"},
                         &out),
            0)
      << out;
  ASSERT_TRUE(wait_phase("triage-bot", "Ready"));
  json dep = get(res::kDeployments, "triage-bot-agent");
  const json& cs = dep["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[1]["image"], "registry.example/triage-bot:1.4.2");
  EXPECT_EQ(dep["spec"]["replicas"], 1);
  EXPECT_FALSE(exists(res::kHorizontalPodAutoscalers, "triage-bot-agent")) << "autoscaling is off";
  // The API key is referenced, never copied into the ConfigMap.
  json cm = get(res::kConfigMaps, "triage-bot-agent");
  EXPECT_EQ(cm["data"]["config.yaml"].get<std::string>().find("sk-test"), std::string::npos);

  // kubectl scale works through the scale subresource.
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "scale", "agent/triage-bot", "--replicas=3"}, &out), 0) << out;
  ASSERT_TRUE(eventually(
      [&] { return get(res::kDeployments, "triage-bot-agent")["spec"]["replicas"] == 3; }));
  ASSERT_TRUE(eventually([&] {
    return get(res::kAgents, "triage-bot").value("/status/replicas"_json_pointer, 0) == 3;
  }));
  // Rotating the key rolls the pods (the config hash covers referenced Secrets).
  std::string before = get(
      res::kDeployments,
      "triage-bot-agent")["spec"]["template"]["metadata"]["annotations"]["agentry.dev/config-hash"];
  ASSERT_EQ(cp_->kubectl_stdin({"-n", ns_, "apply", "-f", "-"},
                               "apiVersion: v1\nkind: Secret\nmetadata: {name: "
                               "triage-bot-llm}\nstringData: {api-key: sk-rotated}\n",
                               &out),
            0)
      << out;
  ASSERT_TRUE(eventually([&] {
    return get(res::kDeployments, "triage-bot-agent")["spec"]["template"]["metadata"]["annotations"]
                                                     ["agentry.dev/config-hash"] != before;
  }));
}

TEST_F(AgentControllerTest, NeverFightsTheHpaAndRevertsDrift) {
  apply_file("examples/agent.yaml");
  ASSERT_TRUE(wait_phase("researcher", "Ready"));
  const std::string n = "researcher-agent";
  // Our field manager does not own spec.replicas while the HPA does.
  json dep = get(res::kDeployments, n);
  // (The initial count, minReplicas, came from a plain create; the apply never claims it.)
  int applies = 0;
  for (const auto& mf : dep["metadata"].value("managedFields", json::array())) {
    if (mf.value("manager", "") == "agentry-operator" && mf.value("operation", "") == "Apply") {
      ++applies;
      EXPECT_FALSE(mf["fieldsV1"]["f:spec"].contains("f:replicas")) << mf.dump();
    }
  }
  EXPECT_EQ(applies, 1);
  EXPECT_EQ(dep["spec"]["replicas"], 2) << "starts at the HPA's minReplicas";
  std::string out;
  // What the HPA would do: scale the Deployment through its scale subresource.
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "scale", "deployment/" + n, "--replicas=5"}, &out), 0) << out;
  // A spec change makes the operator re-apply everything...
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "patch", "agent/researcher", "--type=merge", "-p",
                          R"({"spec":{"systemPrompt":"v2"}})"},
                         &out),
            0)
      << out;
  ASSERT_TRUE(eventually([&] {
    return get(res::kConfigMaps, n)["data"]["config.yaml"].get<std::string>().find("\"v2\"") !=
           std::string::npos;
  }));
  ASSERT_TRUE(wait_phase("researcher", "Ready"));
  // ...and the HPA's replica count survives it.
  EXPECT_EQ(get(res::kDeployments, n)["spec"]["replicas"], 5);

  // Drift: a hand edit is reverted, a deleted object recreated.
  ASSERT_EQ(
      cp_->kubectl({"-n", ns_, "patch", "service/" + n, "--type=merge", "-p",
                    R"({"spec":{"ports":[{"name":"http","port":9999,"targetPort":"http"}]}})"},
                   &out),
      0)
      << out;
  ASSERT_TRUE(
      eventually([&] { return get(res::kServices, n)["spec"]["ports"][0]["port"] == 8080; }));
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "delete", "networkpolicy/" + n}, &out), 0) << out;
  ASSERT_TRUE(eventually([&] { return exists(res::kNetworkPolicies, n); }));
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "delete", "configmap/" + n}, &out), 0) << out;
  ASSERT_TRUE(eventually([&] { return exists(res::kConfigMaps, n); }));
}

TEST_F(AgentControllerTest, PolicyEditPropagatesAndUnknownPolicyIsReported) {
  const std::string policy = ns_.substr(0, 40) + "-pol";
  // First without requests: an HPA on utilization could never read a metric, so the Agent is
  // refused naming the field; the policy edit that adds them makes it Ready.
  apply("apiVersion: agentry.dev/v1alpha1\nkind: AgentPolicy\nmetadata: {name: " + policy +
        "}\nspec:\n  autoscaling: {minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: "
        "60}\n");
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: a1}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: " +
      policy + "}\n");
  ASSERT_TRUE(eventually([&] {
    json c = condition(get(res::kAgents, "a1"), "ConfigValid");
    return c.value("status", "") == "False" && c.value("reason", "") == "InvalidSpec" &&
           c.value("message", "").find("spec.resources.requests.cpu") != std::string::npos;
  }));
  EXPECT_FALSE(exists(res::kHorizontalPodAutoscalers, "a1-agent"));
  apply("apiVersion: agentry.dev/v1alpha1\nkind: AgentPolicy\nmetadata: {name: " + policy +
        "}\nspec:\n  resources: {requests: {cpu: 50m, memory: 64Mi}}\n"
        "  autoscaling: {minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 60}\n");
  ASSERT_TRUE(wait_phase("a1", "Ready"));
  EXPECT_EQ(get(res::kHorizontalPodAutoscalers,
                "a1-agent")["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            60);
  std::string out;
  ASSERT_EQ(
      cp_->kubectl(
          {"patch", "agentpolicy/" + policy, "--type=merge", "-p",
           R"({"spec":{"autoscaling":{"targetCPUUtilizationPercentage":55,"maxReplicas":6}}})"},
          &out),
      0)
      << out;
  ASSERT_TRUE(eventually([&] {
    json h = get(res::kHorizontalPodAutoscalers, "a1-agent");
    return h["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 55 &&
           h["spec"]["maxReplicas"] == 6;
  }));
  ASSERT_TRUE(eventually([&] {
    return get(res::kAgentPolicies, policy).value("/status/agents"_json_pointer, 0) == 1;
  }));

  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: a2}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: no-such-policy}\n");
  ASSERT_TRUE(eventually([&] {
    json c = condition(get(res::kAgents, "a2"), "ConfigValid");
    return c.value("status", "") == "False" && c.value("reason", "") == "PolicyNotFound";
  }));
  cp_->kubectl({"delete", "agentpolicy/" + policy}, &out);
}

// AgentPolicies are cluster-wide, operators may be scoped to one namespace each (Helm's
// watchNamespaces): their counts must add up, never overwrite each other.
TEST_F(AgentControllerTest, OperatorsScopedToTwoNamespacesShareAPolicysCount) {
  const std::string policy = ns_.substr(0, 40) + "-shared";
  const std::string ns2 = ns_.substr(0, 60) + "-b";
  std::string out;
  ASSERT_EQ(cp_->kubectl({"create", "namespace", ns2}, &out), 0) << out;
  OperatorHarness op2(cp_, ns2);
  ASSERT_TRUE(op2.start());
  apply("apiVersion: agentry.dev/v1alpha1\nkind: AgentPolicy\nmetadata: {name: " + policy +
        "}\nspec:\n  resources: {requests: {cpu: 50m, memory: 64Mi}}\n"
        "  autoscaling: {minReplicas: 1, maxReplicas: 3}\n");
  auto agent = [&](const std::string& name) {
    return "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: " + name +
           "}\nspec:\n  model: {provider: ollama, name: m}\n  policyRef: {name: " + policy + "}\n";
  };
  apply(agent("a1"));
  for (const char* name : {"b1", "b2"}) {
    ASSERT_EQ(cp_->kubectl_stdin({"apply", "-n", ns2, "-f", "-"}, agent(name), &out), 0) << out;
  }
  auto status = [&] { return get(res::kAgentPolicies, policy).value("status", json::object()); };
  auto counts_are = [&](int64_t total, int64_t here, int64_t there, int64_t generation) {
    json st = status();
    json by = st.value("agentsByNamespace", json::object());
    return st.value("agents", int64_t{-1}) == total && by.value(ns_, int64_t{0}) == here &&
           by.value(ns2, int64_t{0}) == there &&
           st.value("observedGeneration", int64_t{-1}) == generation;
  };
  EXPECT_TRUE(eventually([&] { return counts_are(3, 1, 2, 1); })) << status().dump();

  // A spec edit makes both operators write the status at once; neither may lose the other's count.
  ASSERT_EQ(cp_->kubectl({"patch", "agentpolicy/" + policy, "--type=merge", "-p",
                          R"({"spec":{"autoscaling":{"maxReplicas":4}}})"},
                         &out),
            0)
      << out;
  EXPECT_TRUE(eventually([&] { return counts_are(3, 1, 2, 2); })) << status().dump();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_TRUE(counts_are(3, 1, 2, 2)) << status().dump();

  ASSERT_EQ(cp_->kubectl({"-n", ns2, "delete", "agent/b1"}, &out), 0) << out;
  EXPECT_TRUE(eventually([&] { return counts_are(2, 1, 1, 2); })) << status().dump();
  ASSERT_EQ(cp_->kubectl({"-n", ns2, "delete", "agent/b2"}, &out), 0) << out;
  EXPECT_TRUE(eventually([&] {
    return counts_are(1, 1, 0, 2) && !status()["agentsByNamespace"].contains(ns2);
  })) << status().dump();
  op2.stop();
  cp_->kubectl({"delete", "namespace", ns2, "--wait=false"}, &out);
  cp_->kubectl({"delete", "agentpolicy/" + policy}, &out);
}

TEST_F(AgentControllerTest, RestartConvergesWithoutDuplicatesAndIdleWritesNothing) {
  apply_file("examples/agent.yaml");
  ASSERT_TRUE(wait_phase("researcher", "Ready"));
  json token = get(res::kSecrets, "researcher-agent-token");
  op_->stop();
  ASSERT_TRUE(op_->start());
  // Give the new operator its initial reconcile, then nothing may change any more.
  ASSERT_TRUE(eventually([&] { return op_->manager().informers_synced(); }));
  ASSERT_TRUE(wait_phase("researcher", "Ready"));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  json agent = get(res::kAgents, "researcher");
  json dep = get(res::kDeployments, "researcher-agent");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(get(res::kAgents, "researcher")["metadata"]["resourceVersion"],
            agent["metadata"]["resourceVersion"])
      << "status written while nothing changed";
  EXPECT_EQ(get(res::kDeployments, "researcher-agent")["metadata"]["resourceVersion"],
            dep["metadata"]["resourceVersion"]);
  EXPECT_EQ(get(res::kSecrets, "researcher-agent-token")["data"]["token"], token["data"]["token"])
      << "token must be stable";
  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "get", "deployments", "-o", "name"}, &out), 0);
  EXPECT_EQ(out, "deployment.apps/researcher-agent\n");

  // A change to an owned object that leaves our fields alone (a label; new annotations would bump
  // a Deployment's generation, a rollout) makes the operator reconcile, but it must find
  // everything already applied and write nothing. A server-side apply that changes nothing
  // leaves no trace on the object, so count the operator's requests instead: a rendered field
  // the API server drops or normalizes would be re-applied on every such event.
  auto reconciles = [] {
    return counter_sum("controller_runtime_reconcile_total", {{"controller", "agent"}});
  };
  auto writes = [] {
    return counter_sum("rest_client_requests_total", {{"method", "PATCH"}}) +
           counter_sum("rest_client_requests_total", {{"method", "PUT"}}) +
           counter_sum("rest_client_requests_total", {{"method", "POST"}});
  };
  const double writes_before = writes();
  const std::string requests_before = counter_samples("rest_client_requests_total");
  for (const auto* r :
       {&res::kDeployments, &res::kServices, &res::kConfigMaps, &res::kNetworkPolicies,
        &res::kHorizontalPodAutoscalers, &res::kPodDisruptionBudgets}) {
    const double before = reconciles();
    ASSERT_TRUE(op_->client()
                    .patch(*r, ns_, "researcher-agent", kube::PatchType::kMerge,
                           {{"metadata", {{"labels", {{"test.agentry.dev/touched", "yes"}}}}}})
                    .ok())
        << r->plural;
    ASSERT_TRUE(eventually([&] { return reconciles() > before; }, std::chrono::seconds(20)))
        << r->plural;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // any write would follow at once
  EXPECT_EQ(writes() - writes_before, 6)
      << "only this test's six patches; the operator wrote something. Requests before:\n"
      << requests_before << "after:\n"
      << counter_samples("rest_client_requests_total");
}

// A status write the API server refuses is an error of that reconcile, retried with backoff: once
// the server accepts status writes again the Agent's status becomes true without any change to
// the Agent. (It was logged and counted a success, and the status stayed wrong.) The refusal is
// the API server's own: a ValidatingAdmissionPolicy on agents/status in this namespace.
TEST_F(AgentControllerTest, AFailedStatusWriteIsRetriedUntilItLands) {
  const std::string policy = "deny-agent-status-" + std::to_string(::getpid());
  apply(R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: )" +
        policy + R"(}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [agentry.dev], apiVersions: ["*"], operations: [UPDATE], resources: [agents/status]}
  validations:
  - {expression: "false", message: "status writes refused by the test"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: )" +
        policy + R"(}
spec:
  policyName: )" +
        policy + R"(
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: )" +
        ns_ + R"(}
)");
  struct Cleanup {  // cluster-scoped: removed whatever the test's outcome
    ControlPlane* cp;
    std::string name;
    ~Cleanup() {
      std::string out;
      cp->kubectl({"delete", "--ignore-not-found", "validatingadmissionpolicybinding", name}, &out);
      cp->kubectl({"delete", "--ignore-not-found", "validatingadmissionpolicy", name}, &out);
    }
  } cleanup{cp_, policy};
  // Policies take effect once the API server has loaded them: probe with a status write of ours.
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: probe}\n"
      "spec: {model: {provider: ollama, name: m}, policyRef: {name: no-such-policy}}\n");
  ASSERT_TRUE(eventually(
      [&] {
        auto r = op_->client().patch(res::kAgents, ns_, "probe", kube::PatchType::kMerge,
                                     {{"status", {{"phase", "Degraded"}}}}, "status");
        return !r.ok() && r.status().message().find("refused by the test") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << "the admission policy never took effect";

  const double errors_before =
      counter_sum("controller_runtime_reconcile_errors_total", {{"controller", "agent"}});
  apply_file("examples/agent.yaml");
  ASSERT_TRUE(eventually(
      [&] {
        return counter_sum("controller_runtime_reconcile_errors_total",
                           {{"controller", "agent"}}) >= errors_before + 2;
      },
      std::chrono::seconds(30)))
      << "refused status writes did not fail their reconciles\n"
      << counter_samples("controller_runtime_reconcile_total");
  EXPECT_EQ(phase("researcher"), "") << "no status can have been written";

  std::string out;
  ASSERT_EQ(cp_->kubectl({"delete", "validatingadmissionpolicybinding", policy}, &out), 0) << out;
  ASSERT_EQ(cp_->kubectl({"delete", "validatingadmissionpolicy", policy}, &out), 0) << out;
  // Nothing about the Agent changes now: only the retries can write its status.
  ASSERT_TRUE(eventually([&] { return !phase("researcher").empty(); }, std::chrono::seconds(60)))
      << "the refused status write was never retried: " << get(res::kAgents, "researcher").dump();
  const json a = get(res::kAgents, "researcher");
  EXPECT_EQ(condition(a, "ConfigValid").value("status", ""), "True") << a.dump();
}

TEST_F(AgentControllerTest, DeletingTheAgentRemovesEverythingItOwns) {
  apply_file("examples/agent.yaml");
  ASSERT_TRUE(wait_phase("researcher", "Ready"));
  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "delete", "agent/researcher"}, &out), 0) << out;
  ASSERT_TRUE(eventually(
      [&] {
        return !exists(res::kDeployments, "researcher-agent") &&
               !exists(res::kServices, "researcher-agent") &&
               !exists(res::kConfigMaps, "researcher-agent") &&
               !exists(res::kSecrets, "researcher-agent-token") &&
               !exists(res::kHorizontalPodAutoscalers, "researcher-agent");
      },
      std::chrono::seconds(90)));
}

}  // namespace
}  // namespace agentry::testing

namespace agentry::testing {
namespace {

// A ToolServer on the older HTTP+SSE transport (the reference server's sse mode): the operator
// probes it over that transport and renders it into the Agent's config; a transport the CRD does
// not know is refused by the API server, naming the field.
TEST_F(AgentControllerTest, AToolServerOnTheHttpSseTransport) {
  EverythingServer server("sse");
  ASSERT_TRUE(server.start());
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: ToolServer\nmetadata: {name: legacy}\nspec:\n"
      "  url: " +
      server.url() + "\n  transport: sse\n  allowTools: [echo]\n");
  ASSERT_TRUE(eventually([&] {
    return get(res::kToolServers, "legacy").value("/status/reachable"_json_pointer, false);
  })) << get(res::kToolServers, "legacy").dump();
  EXPECT_EQ(get(res::kToolServers, "legacy")["status"]["tools"][0]["name"], "echo");
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: oldtools}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: development}\n"
      "  toolServers: [{name: legacy}]\n");
  ASSERT_TRUE(wait_phase("oldtools", "Ready"));
  json cfg = json::parse(
      get(res::kConfigMaps, "oldtools-agent")["data"]["config.yaml"].get<std::string>());
  EXPECT_EQ(cfg["agent"]["mcpServers"][0]["transport"], "sse") << cfg["agent"];
  EXPECT_EQ(cfg["agent"]["mcpServers"][0]["url"], server.url());

  std::string out;
  EXPECT_NE(cp_->kubectl_stdin({"apply", "-n", ns_, "-f", "-"},
                               "apiVersion: agentry.dev/v1alpha1\nkind: ToolServer\nmetadata: "
                               "{name: bad}\nspec: {url: 'http://x/mcp', transport: websocket}\n",
                               &out),
            0);
  EXPECT_NE(out.find("spec.transport"), std::string::npos) << out;
}

// Tool sources, with the MCP reference server as the ToolServer (no one here wrote it): the
// operator probes it and reports its tools; an Agent naming it and another Agent gets both in its
// rendered config (token env vars from Secrets, never values), the callee's NetworkPolicy admits
// it, and its status lists the tools it ended up with. The server going away, a missing
// ToolServer, a missing Secret and an Agent calling itself are each reported naming the field.
TEST_F(AgentControllerTest, ToolServersAndAgentToolsReachTheConfigAndTheStatus) {
  EverythingServer server;
  ASSERT_TRUE(server.start());
  const std::string ts_yaml =
      "apiVersion: agentry.dev/v1alpha1\nkind: ToolServer\nmetadata: {name: everything}\n"
      "spec:\n  url: " +
      server.url() +
      "\n  bearerTokenSecretRef: {name: mcp-token}\n  allowTools: [echo, get-sum, no-such-tool]\n"
      "  probeIntervalSeconds: 10\n";
  // The ToolServer's Secret is missing first: its status says so, and the Agent waits for it.
  apply(ts_yaml);
  ASSERT_TRUE(eventually([&] {
    return get(res::kToolServers, "everything")
               .value("/status/lastError"_json_pointer, std::string())
               .find("spec.bearerTokenSecretRef: Secret " + ns_ + "/mcp-token does not exist") !=
           std::string::npos;
  }));
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: writer}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: development}\n");
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: planner}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: development}\n"
      "  tools: [{name: weather, url: 'http://weather.example/v1'}]\n"
      "  toolServers: [{name: everything, allowTools: [echo]}]\n"
      "  agentTools: [{name: writer}]\n");
  ASSERT_TRUE(eventually([&] {
    json c = condition(get(res::kAgents, "planner"), "ConfigValid");
    return c.value("reason", "") == "SecretNotFound" &&
           c.value("message", "")
                   .find(
                       "spec.toolServers[0] (ToolServer everything's "
                       "spec.bearerTokenSecretRef): Secret " +
                       ns_ + "/mcp-token does not exist") != std::string::npos;
  })) << get(res::kAgents, "planner").dump();

  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "create", "secret", "generic", "mcp-token",
                          "--from-literal=token=s3cret"},
                         &out),
            0)
      << out;
  // The probe: reachable, the revision, every tool counted, the allowed ones listed.
  ASSERT_TRUE(eventually([&] {
    return get(res::kToolServers, "everything").value("/status/reachable"_json_pointer, false);
  })) << get(res::kToolServers, "everything").dump();
  json ts = get(res::kToolServers, "everything");
  EXPECT_GT(ts["status"]["toolCount"].get<int>(), 5) << ts["status"];
  std::vector<std::string> listed;
  for (const auto& t : ts["status"]["tools"]) listed.push_back(t["name"]);
  EXPECT_EQ(listed, (std::vector<std::string>{"echo", "get-sum"})) << ts["status"];
  EXPECT_FALSE(ts["status"]["protocolVersion"].get<std::string>().empty());
  EXPECT_EQ(condition(ts, "Ready").value("status", ""), "True");

  ASSERT_TRUE(wait_phase("planner", "Ready"));
  ASSERT_TRUE(wait_phase("writer", "Ready"));
  // The sidecar's config: the ToolServer narrowed to the Agent's allowTools, the other Agent at
  // its Service's /mcp, each with a token env var; the values stay in their Secrets.
  json cfg =
      json::parse(get(res::kConfigMaps, "planner-agent")["data"]["config.yaml"].get<std::string>());
  const json& servers = cfg["agent"]["mcpServers"];
  ASSERT_EQ(servers.size(), 2u) << cfg["agent"];
  EXPECT_EQ(servers[0]["name"], "everything");
  EXPECT_EQ(servers[0]["url"], server.url());
  EXPECT_EQ(servers[0]["allowTools"], json::array({"echo"}));
  EXPECT_EQ(servers[0]["bearerTokenEnv"], "AGENTRY_MCP_TOKEN_0");
  EXPECT_EQ(servers[1]["name"], "writer");
  EXPECT_EQ(servers[1]["kind"], "agent");
  EXPECT_EQ(servers[1]["url"], "http://writer-agent." + ns_ + ".svc:8080/mcp");
  EXPECT_EQ(servers[1]["bearerTokenEnv"], "AGENTRY_MCP_TOKEN_1");
  EXPECT_EQ(cfg.dump().find("s3cret"), std::string::npos);
  json dep = get(res::kDeployments, "planner-agent");
  const json& env = dep["spec"]["template"]["spec"]["containers"][0]["env"];
  std::map<std::string, json> by_name;
  for (const auto& e : env) by_name[e["name"]] = e;
  EXPECT_EQ(by_name["AGENTRY_MCP_TOKEN_0"]["valueFrom"]["secretKeyRef"],
            json({{"name", "mcp-token"}, {"key", "token"}}));
  EXPECT_EQ(by_name["AGENTRY_MCP_TOKEN_1"]["valueFrom"]["secretKeyRef"],
            json({{"name", "writer-agent-token"}, {"key", "token"}}));
  EXPECT_EQ(dep["spec"]["template"]["metadata"]["labels"]["calls.agentry.dev/writer"], "true");
  // The callee admits pods that carry its caller label.
  json np = get(res::kNetworkPolicies, "writer-agent");
  EXPECT_NE(np["spec"]["ingress"][0]["from"].dump().find(R"({"calls.agentry.dev/writer":"true"})"),
            std::string::npos)
      << np["spec"];
  // The status: what the model is offered, and each source's state.
  ASSERT_TRUE(eventually([&] {
    return condition(get(res::kAgents, "planner"), "ToolsReady").value("status", "") == "True";
  })) << get(res::kAgents, "planner")["status"].dump();
  json st = get(res::kAgents, "planner")["status"];
  EXPECT_EQ(st["tools"], json::array({"weather", "everything__echo", "writer__writer"})) << st;
  EXPECT_EQ(st["toolServers"][0]["reachable"], true);
  EXPECT_EQ(st["toolServers"][1]["kind"], "Agent");

  // The server goes away: the next probe says so, and so does the Agent (still Ready: it runs,
  // and its model is told the server is down when it calls).
  server.stop();
  ASSERT_TRUE(eventually(
      [&] {
        return !get(res::kToolServers, "everything").value("/status/reachable"_json_pointer, true);
      },
      std::chrono::seconds(40)));
  EXPECT_NE(get(res::kToolServers, "everything")["status"]["lastError"].get<std::string>().find(
                "unreachable"),
            std::string::npos);
  ASSERT_TRUE(eventually([&] {
    json c = condition(get(res::kAgents, "planner"), "ToolsReady");
    return c.value("status", "") == "False" &&
           c.value("message", "").find("ToolServer everything: ") != std::string::npos;
  }));
  EXPECT_EQ(phase("planner"), "Ready");

  // A ToolServer that does not exist, and an Agent calling itself.
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: lonely}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: development}\n"
      "  toolServers: [{name: nope}]\n");
  ASSERT_TRUE(eventually([&] {
    json c = condition(get(res::kAgents, "lonely"), "ConfigValid");
    return c.value("reason", "") == "ToolSourceNotFound" &&
           c.value("message", "")
                   .find("spec.toolServers[0].name: ToolServer " + ns_ + "/nope does not exist") !=
               std::string::npos;
  }));
  EXPECT_EQ(phase("lonely"), "Pending");
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: ToolServer\nmetadata: {name: nope}\n"
      "spec: {url: 'http://127.0.0.1:1/mcp'}\n");
  ASSERT_TRUE(wait_phase("lonely", "Ready")) << "created later: the Agent goes on by itself";
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: narcissus}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: development}\n"
      "  agentTools: [{name: narcissus}]\n");
  ASSERT_TRUE(wait_phase("narcissus", "Failed"));
  EXPECT_NE(condition(get(res::kAgents, "narcissus"), "ConfigValid")
                .value("message", "")
                .find("spec.agentTools[0].name: an Agent cannot list itself as a tool"),
            std::string::npos);
}

}  // namespace
}  // namespace agentry::testing
