// The SRE loop on a real control plane: the operator renders an Agent's HPA from its policy, the
// real HPA controller (kube-controller-manager) reads the resource metrics API served by a real
// metrics-server, which scrapes kwok's emulated kubelet. Load is each pod's emulated CPU usage
// (the kwok.x-k8s.io/usage-cpu annotation, hack/cluster.sh): a driver spreads a total load over
// the Agent's pods as they come and go, as a Service would. Nothing is faked at the HPA or the API
// server; every assertion is on replica counts observed over time.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "operator/kube/object.h"
#include "operator/kube/resource.h"
#include "operator/planner/capacity_planner.h"
#include "tests/integration/controllers/operator_harness.h"
#include "tests/integration/controllers/pod_load.h"
#include "tests/integration/sidecar/harness.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
namespace res = kube::resources;

// Utilization is usage over the request: the policies here give the sidecar one.
const std::string kResources =
    "  resources:\n    requests: {cpu: 500m, memory: 256Mi}\n    limits: {cpu: '1', memory: "
    "512Mi}\n";

// The count `agentry-operator plan --what-if-cpu` predicts (planner::hpa_settle).
int predicted(int64_t load, int64_t request, int target, int min, int max, int current) {
  planner::HpaWhatIf w;
  w.load_millicores = load;
  w.cpu_request_millicores = request;
  w.cpu_target_percent = target;
  w.min_replicas = min;
  w.max_replicas = max;
  w.current_replicas = current;
  return planner::hpa_settle(w).replicas;
}

class AutoscalingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    cp_ = ControlPlane::shared(&err);
    ASSERT_NE(cp_, nullptr) << err;
    std::string out;
    ASSERT_TRUE(cp_->install_crds(&out)) << out;
    ns_ = "hpa-" + std::to_string(::getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(ns_.begin(), ns_.end(), ns_.begin(), ::tolower);
    ns_ = ns_.substr(0, 63);
    policy_ = ns_.substr(0, 50) + "-pol";
    ASSERT_EQ(cp_->kubectl({"create", "namespace", ns_}, &out), 0) << out;
    controllers::OperatorSettings settings;
    settings.keda_prometheus_url = cp_->prometheus_url();  // the cluster's KEDA reads it
    op_ = std::make_unique<OperatorHarness>(cp_, ns_, OperatorHarness::Register{}, settings);
    ASSERT_TRUE(op_->start());
  }
  void TearDown() override {
    stop_driver();
    if (cp_) std::remove(targets_file().c_str());
    op_.reset();
    std::string out;
    if (cp_) {
      cp_->kubectl({"delete", "namespace", ns_, "--wait=false"}, &out);
      cp_->kubectl({"delete", "agentpolicy", policy_, "--ignore-not-found"}, &out);
    }
  }

  void apply(const std::string& yaml) {
    std::string out;
    ASSERT_EQ(cp_->kubectl_stdin({"apply", "-n", ns_, "-f", "-"}, yaml, &out), 0) << out;
  }
  json get(const kube::Resource& r, const std::string& name) {
    auto o = op_->client().get(r, r.namespaced ? ns_ : "", name);
    return o.ok() ? *o : json();
  }
  int replicas(const std::string& agent) { return deployment_replicas(op_->client(), ns_, agent); }
  int64_t cpu_request(const std::string& agent) {
    json d = get(res::kDeployments, agent + "-agent");
    auto p = json::json_pointer("/spec/template/spec/containers/0/resources/requests/cpu");
    if (!d.contains(p) || !d.at(p).is_string()) {
      ADD_FAILURE() << "no CPU request on the sidecar: " << d.dump();
      return 0;
    }
    int64_t m = 0;
    if (!planner::parse_cpu(d.at(p).get<std::string>(), &m)) ADD_FAILURE() << d.at(p);
    return m;
  }

  // Spreads `total` millicores over the Agent's pods (PodLoad), until stop_driver().
  void drive(const std::string& agent, int64_t total) {
    if (!load_) load_ = std::make_unique<PodLoad>(op_->client(), ns_, agent);
    load_->set_total(total);
  }
  void stop_driver() { load_.reset(); }

  // Samples the replica count every second for up to `timeout` until `done(count)`; records the
  // smallest and largest counts seen. Returns whether done() held.
  bool watch_replicas(const std::string& agent, seconds timeout,
                      const std::function<bool(int)>& done, int* lowest, int* highest) {
    const auto until = Clock::now() + timeout;
    for (;;) {
      const int n = replicas(agent);
      if (n >= 0) {
        *lowest = std::min(*lowest, n);
        *highest = std::max(*highest, n);
        if (done(n)) return true;
      }
      if (Clock::now() > until) return false;
      std::this_thread::sleep_for(seconds(1));
    }
  }
  std::string hpa_state(const std::string& agent) {
    json h = get(res::kHorizontalPodAutoscalers, agent + "-agent");
    return h.value("status", json()).dump();
  }
  // The Deployment's fields the operator's server-side applies own: it must never own replicas
  // while the HPA runs.
  bool operator_owns_replicas(const std::string& agent) {
    json d = get(res::kDeployments, agent + "-agent");
    auto md = d.value("metadata", json::object());
    for (const auto& m : md.value("managedFields", json::array())) {
      if (m.value("manager", "") != "agentry-operator") continue;
      const json& f = m.value("fieldsV1", json::object());
      if (f.contains("f:spec") && f["f:spec"].contains("f:replicas")) return true;
    }
    return false;
  }

  // Where the cluster's Prometheus finds this test's local sidecar (hack/cluster.sh).
  std::string targets_file() const { return cp_->prometheus_targets_dir() + "/" + ns_ + ".json"; }
  void scrape(const Sidecar& sc, const std::string& agent) {
    json t = json::array({{{"targets", {"127.0.0.1:" + std::to_string(sc.port())}},
                           {"labels", {{"namespace", ns_}, {"agentry_dev_agent", agent}}}}});
    // Whole or not at all: Prometheus re-reads *.json files as they change.
    ASSERT_TRUE(write_file(targets_file() + ".tmp", t.dump()));
    ASSERT_EQ(std::rename((targets_file() + ".tmp").c_str(), targets_file().c_str()), 0);
  }
  // The sidecar's own gauge, as Prometheus will read it.
  static double gauge(const Sidecar& sc, const std::string& name) {
    auto r = sc.get("/metrics");
    if (!r) return -1;
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::atof(r->body.c_str() + at + name.size() + 2);
  }

  ControlPlane* cp_ = nullptr;
  std::string ns_, policy_;
  std::unique_ptr<OperatorHarness> op_;
  std::unique_ptr<PodLoad> load_;
};

// Load above the policy's target scales up, at most to maxReplicas; when it falls away the count
// stays put for the policy's scale-down stabilization window, then comes down, never below
// minReplicas. The operator never takes spec.replicas from the HPA.
TEST_F(AutoscalingTest, LoadScalesUpWithinMaxAndDownOnlyAfterTheWindow) {
  apply("apiVersion: agentry.dev/v1alpha1\nkind: AgentPolicy\nmetadata: {name: " + policy_ +
        "}\nspec:\n" + kResources +
        "  autoscaling:\n    minReplicas: 1\n    maxReplicas: 4\n"
        "    targetCPUUtilizationPercentage: 50\n    targetMemoryUtilizationPercentage: 80\n"
        "    behavior:\n"
        "      scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 4, "
        "periodSeconds: 15}]}\n"
        "      scaleDown: {stabilizationWindowSeconds: 60, policies: [{type: Percent, value: 100, "
        "periodSeconds: 15}]}\n");
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: a1}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: " +
      policy_ + "}\n");
  ASSERT_TRUE(eventually([&] { return replicas("a1") >= 1; }, seconds(90)));
  const int64_t req = cpu_request("a1");
  ASSERT_GT(req, 0);

  // 125% of one pod's request at a 50% target: ceil(1.25 / 0.5) = 3 pods, as the what-if says.
  drive("a1", req * 125 / 100);
  ASSERT_EQ(predicted(req * 125 / 100, req, 50, 1, 4, 1), 3);
  int lowest = 1000, highest = 0;
  EXPECT_TRUE(watch_replicas(
      "a1", seconds(150), [](int n) { return n == 3; }, &lowest, &highest))
      << "replicas " << replicas("a1") << "; HPA " << hpa_state("a1");
  EXPECT_LE(highest, 4);

  // Eight pods' worth at the target: held at maxReplicas.
  drive("a1", req * 4);
  ASSERT_EQ(predicted(req * 4, req, 50, 1, 4, 3), 4);
  EXPECT_TRUE(watch_replicas(
      "a1", seconds(150), [](int n) { return n == 4; }, &lowest, &highest))
      << "HPA " << hpa_state("a1");
  // Sampled over more sync periods, every second: still never above the max.
  watch_replicas(
      "a1", seconds(20), [](int) { return false; }, &lowest, &highest);
  EXPECT_EQ(highest, 4) << "never above maxReplicas";

  // The load falls away: nothing moves within the 60 s window, then down to minReplicas. The
  // window runs from the HPA's last high recommendation, which may precede the drop by one sync
  // period (15 s): so nothing may move for 40 s, and the count is down no sooner than 45 s.
  drive("a1", req / 10);
  const auto dropped = Clock::now();
  int low_in_window = 1000, high_in_window = 0;
  watch_replicas(
      "a1", seconds(40), [](int) { return false; }, &low_in_window, &high_in_window);
  EXPECT_EQ(low_in_window, 4) << "scaled down inside the stabilization window";
  lowest = 1000;
  EXPECT_TRUE(watch_replicas(
      "a1", seconds(180), [](int n) { return n == 1; }, &lowest, &highest))
      << "HPA " << hpa_state("a1");
  EXPECT_GE(std::chrono::duration_cast<seconds>(Clock::now() - dropped).count(), 45);  // 60 - 15
  watch_replicas(
      "a1", seconds(20), [](int) { return false; }, &lowest, &highest);
  EXPECT_EQ(lowest, 1) << "never below minReplicas";
  EXPECT_FALSE(operator_owns_replicas("a1"));
}

// The same load settles on different counts under different targets: editing the policy's target
// moves the HPA and the count; an Agent's own target wins over its policy's.
TEST_F(AutoscalingTest, ThePolicyTargetAndAnAgentOverrideDecideTheSettledCount) {
  auto policy = [&](int cpu_target) {
    apply("apiVersion: agentry.dev/v1alpha1\nkind: AgentPolicy\nmetadata: {name: " + policy_ +
          "}\nspec:\n" + kResources +
          "  autoscaling:\n    minReplicas: 1\n    maxReplicas: 8\n"
          "    targetCPUUtilizationPercentage: " +
          std::to_string(cpu_target) +
          "\n    targetMemoryUtilizationPercentage: 90\n    behavior:\n"
          "      scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 8, "
          "periodSeconds: 15}]}\n"
          "      scaleDown: {stabilizationWindowSeconds: 0, policies: [{type: Percent, value: "
          "100, periodSeconds: 15}]}\n");
  };
  policy(90);  // the development profile's CPU target
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: a2}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: " +
      policy_ + "}\n");
  ASSERT_TRUE(eventually([&] { return replicas("a2") >= 1; }, seconds(90)));
  const int64_t req = cpu_request("a2");
  // 2.5 requests of load: ceil(2.5 / 0.9) = 3 at 90%, ceil(2.5 / 0.7) = 4 at 70%, 5 at 50%: what
  // `plan --what-if-cpu` predicts for each.
  const int64_t load = req * 250 / 100;
  ASSERT_EQ(predicted(load, req, 90, 1, 8, 1), 3);
  ASSERT_EQ(predicted(load, req, 70, 1, 8, 3), 4);
  ASSERT_EQ(predicted(load, req, 50, 1, 8, 4), 5);
  drive("a2", load);
  int lowest = 1000, highest = 0;
  EXPECT_TRUE(watch_replicas(
      "a2", seconds(150), [](int n) { return n == 3; }, &lowest, &highest))
      << "at 90%: replicas " << replicas("a2") << "; HPA " << hpa_state("a2");

  policy(70);  // the production profile's
  ASSERT_TRUE(eventually([&] {
    json h = get(res::kHorizontalPodAutoscalers, "a2-agent");
    return h["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70;
  }));
  EXPECT_TRUE(watch_replicas(
      "a2", seconds(150), [](int n) { return n == 4; }, &lowest, &highest))
      << "at 70%: replicas " << replicas("a2") << "; HPA " << hpa_state("a2");

  // The Agent's own target (50%) wins over the policy's: ceil(2.5 / 0.5) = 5.
  std::string out;
  ASSERT_EQ(cp_->kubectl({"patch", "-n", ns_, "agent/a2", "--type=merge", "-p",
                          R"({"spec":{"autoscaling":{"targetCPUUtilizationPercentage":50}}})"},
                         &out),
            0)
      << out;
  EXPECT_TRUE(watch_replicas(
      "a2", seconds(150), [](int n) { return n == 5; }, &lowest, &highest))
      << "override 50%: replicas " << replicas("a2") << "; HPA " << hpa_state("a2");
  EXPECT_LE(highest, 8);
  EXPECT_FALSE(operator_owns_replicas("a2"));
}

// The in-flight path end to end, nothing faked past the LLM: a real sidecar holds N executions
// (its fake LLM never answers) and exports executions_in_flight; the cluster's Prometheus scrapes
// it; the operator renders a KEDA ScaledObject whose prometheus trigger sums the gauge over the
// Agent; KEDA's adapter serves that to KEDA's HPA as an external metric, which the real HPA
// controller divides by the pods: N in flight settle on ceil(N / target). Cancelled, they go.
TEST_F(AutoscalingTest, ExecutionsInFlightMoveReplicasToCeilNOverTarget) {
  ASSERT_FALSE(cp_->prometheus_url().empty()) << "the cluster runs no Prometheus (hack/cluster.sh)";
  apply("apiVersion: agentry.dev/v1alpha1\nkind: AgentPolicy\nmetadata: {name: " + policy_ +
        "}\nspec:\n" + kResources +
        "  autoscaling:\n    minReplicas: 1\n    maxReplicas: 6\n"
        "    targetInFlightExecutionsPerPod: 2\n"
        "    behavior:\n"
        "      scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 6, "
        "periodSeconds: 15}]}\n"
        "      scaleDown: {stabilizationWindowSeconds: 30, policies: [{type: Percent, value: 100, "
        "periodSeconds: 15}]}\n");
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: a1}\nspec:\n"
      "  model: {provider: ollama, name: m}\n  policyRef: {name: " +
      policy_ + "}\n");
  // KEDA's HPA, made from our ScaledObject, scales the Deployment; the operator renders no HPA.
  ASSERT_TRUE(eventually(
      [&] { return !get(res::kHorizontalPodAutoscalers, "keda-hpa-a1-agent").is_null(); },
      seconds(90)))
      << "ScaledObject: " << get(res::kScaledObjects, "a1-agent").dump();
  EXPECT_TRUE(get(res::kHorizontalPodAutoscalers, "a1-agent").is_null());
  const json trigger = get(res::kScaledObjects, "a1-agent")["spec"]["triggers"][2];
  EXPECT_EQ(trigger.value("/metadata/query"_json_pointer, ""),
            "sum(executions_in_flight{namespace=\"" + ns_ + "\",agentry_dev_agent=\"a1\"})");
  ASSERT_TRUE(eventually([&] { return replicas("a1") == 1; }, seconds(90)));

  FakeLlm llm({"--mode", "hang"});
  SidecarOptions so;
  so.provider_endpoint = llm.url();
  so.provider_yaml = "  readTimeoutMs: 600000\n";
  so.limits_yaml = "  executionTimeoutSeconds: 600\n";
  Sidecar sc(so);
  scrape(sc, "a1");

  constexpr int kInFlight = 5, kTarget = 2;
  std::vector<std::string> ids;
  for (int i = 0; i < kInFlight; ++i) {
    auto r = sc.post_execution({{"input", "hold " + std::to_string(i)}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    ids.push_back(json::parse(r->body)["id"]);
  }
  ASSERT_TRUE(
      eventually([&] { return gauge(sc, "executions_in_flight") == kInFlight; }, seconds(10)));
  const int want = (kInFlight + kTarget - 1) / kTarget;  // 3
  int lowest = 1000, highest = 0;
  EXPECT_TRUE(watch_replicas(
      "a1", seconds(150), [&](int n) { return n == want; }, &lowest, &highest))
      << "replicas " << replicas("a1") << "; HPA "
      << get(res::kHorizontalPodAutoscalers, "keda-hpa-a1-agent")["status"];
  // Over more sync periods it stays there: never above ceil(N / target).
  watch_replicas(
      "a1", seconds(20), [](int) { return false; }, &lowest, &highest);
  EXPECT_EQ(highest, want);
  // The Agent's status reads KEDA's HPA: the in-flight average per pod over its target.
  EXPECT_TRUE(eventually(
      [&] {
        json st = get(res::kAgents, "a1").value("/status/autoscaling"_json_pointer, json());
        return st.value("metrics", "").find("in-flight") != std::string::npos &&
               st.value("desiredReplicas", 0) == want;
      },
      seconds(60)))
      << get(res::kAgents, "a1")["status"].dump();

  // Cancelled, nothing is in flight: down to minReplicas once the 30 s window has passed.
  auto c = sc.client();
  for (const auto& id : ids) {
    auto d = c.Delete(("/v1/executions/" + id).c_str(), sc.auth());
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, 200) << d->body;
  }
  EXPECT_EQ(gauge(sc, "executions_in_flight"), 0);
  lowest = 1000;
  EXPECT_TRUE(watch_replicas(
      "a1", seconds(180), [](int n) { return n == 1; }, &lowest, &highest))
      << "HPA " << get(res::kHorizontalPodAutoscalers, "keda-hpa-a1-agent")["status"];
  EXPECT_FALSE(operator_owns_replicas("a1"));
}

}  // namespace
}  // namespace agentry::testing
