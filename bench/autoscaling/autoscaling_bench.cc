// autoscaling_bench: time from a load step to the replicas the HPA settles on, up and down, for
// the production and development policies, on the real loop (the operator in process, the real
// HPA controller, metrics-server scraping kwok's emulated kubelet; load is pod CPU usage, spread
// by PodLoad). Each figure is printed beside what the policy configures and the floor the loop
// itself sets: the HPA's 15 s sync period and metrics-server's 10 s resolution (a scale-up cannot
// start before the next scrape and the next sync after it: up to 25 s), plus, down, the policy's
// stabilization window and its rate policies.
//
// Usage: autoscaling_bench   (AGENTRY_CLUSTER_DIR: a running hack/cluster.sh cluster; else it
// starts one). About 8 minutes: production's scale-down window is 5 minutes.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "operator/controllers/builtin_policies.h"
#include "operator/planner/capacity_planner.h"
#include "tests/integration/controllers/operator_harness.h"
#include "tests/integration/controllers/pod_load.h"

namespace {

namespace planner = agentry::planner;
namespace kube = agentry::kube;
namespace controllers = agentry::controllers;
namespace testing = agentry::testing;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

struct Run {
  std::string profile, behavior;
  int min = 0, up_to = 0;
  double up_s = -1, down_s = -1;
  std::string error;
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Waits until the Agent's Deployment has `want` replicas; seconds taken, or -1 after `limit`.
double time_to(kube::Client& c, const std::string& ns, int want, seconds limit) {
  const auto t0 = Clock::now();
  while (seconds_since(t0) < static_cast<double>(limit.count())) {
    if (testing::deployment_replicas(c, ns, "bench") == want) return seconds_since(t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return -1;
}

void run_profile(testing::ControlPlane* cp, const nlohmann::json& policy, Run* out) {
  const nlohmann::json& spec = policy["spec"];
  out->profile = policy["metadata"]["name"];
  out->behavior = spec["autoscaling"]["behavior"].dump();
  const std::string ns = "bench-hpa-" + out->profile;
  std::string log;
  cp->kubectl({"delete", "namespace", ns, "--wait=true", "--ignore-not-found"}, &log);
  cp->kubectl({"create", "namespace", ns}, &log);
  testing::OperatorHarness op(cp, ns);
  if (!op.start()) {
    out->error = "operator did not start";
    return;
  }
  cp->kubectl_stdin({"apply", "-n", ns, "-f", "-"},
                    "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: bench}\n"
                    "spec:\n  model: {provider: ollama, name: m}\n  policyRef: {name: " +
                        out->profile + "}\n",
                    &log);
  const auto in = planner::inputs_from_policy(spec, 1);
  out->min = in.min_replicas;
  if (time_to(op.client(), ns, out->min, seconds(120)) < 0) {
    out->error = "the Deployment never reached minReplicas";
    return;
  }
  int64_t request = 0;
  planner::parse_cpu(spec["resources"]["requests"]["cpu"].get<std::string>(), &request);
  // A load that wants two pods more than the minimum (within the maximum).
  out->up_to = std::min(in.max_replicas, in.min_replicas + 2);
  const int64_t load = out->up_to * request * in.cpu_target_percent / 100;
  planner::HpaWhatIf w{
      load, request, in.cpu_target_percent, in.min_replicas, in.max_replicas, in.min_replicas};
  out->up_to = planner::hpa_settle(w).replicas;
  // The step starts once the HPA reads metrics for the first pods (the Agent's Autoscaling
  // condition turns True), so the figure is the loop's reaction, not metrics-server's warm-up.
  if (cp->kubectl(
          {"wait", "-n", ns, "--for=condition=Autoscaling", "agent/bench", "--timeout=180s"},
          &log) != 0) {
    out->error = "the HPA never read metrics: " + log;
    return;
  }
  testing::PodLoad pods(op.client(), ns, "bench");
  pods.set_total(load);
  out->up_s = time_to(op.client(), ns, out->up_to, seconds(300));
  pods.set_total(in.min_replicas);  // 1m a pod: nothing left to serve
  out->down_s = time_to(op.client(), ns, out->min, seconds(900));
  pods.stop();
  cp->kubectl({"delete", "namespace", ns, "--wait=false"}, &log);
}

}  // namespace

int main() {
  std::string err;
  agentry::testing::ControlPlane* cp = agentry::testing::ControlPlane::shared(&err);
  if (!cp) {
    std::fprintf(stderr, "autoscaling_bench: %s\n", err.c_str());
    return 1;
  }
  std::string out;
  if (!cp->install_crds(&out)) {
    std::fprintf(stderr, "autoscaling_bench: CRDs: %s\n", out.c_str());
    return 1;
  }
  std::vector<Run> runs(2);
  std::thread prod(run_profile, cp, controllers::production_policy(), &runs[0]);
  std::thread dev(run_profile, cp, controllers::development_policy(), &runs[1]);
  prod.join();
  dev.join();
  std::printf(
      "floor: HPA sync period 15 s + metrics-server resolution 10 s = up to 25 s before a "
      "step is acted on\n");
  std::printf("| %-11s | %-9s | %-10s | %-12s | %s\n", "policy", "step", "measured", "floor",
              "configured behavior");
  for (const auto& r : runs) {
    if (!r.error.empty()) {
      std::printf("| %-11s | error: %s\n", r.profile.c_str(), r.error.c_str());
      continue;
    }
    std::printf("| %-11s | %d -> %d    | %7.1f s  | <= 25 s      | %s\n", r.profile.c_str(), r.min,
                r.up_to, r.up_s, r.behavior.c_str());
    std::printf("| %-11s | %d -> %d    | %7.1f s  | window + rate |\n", r.profile.c_str(), r.up_to,
                r.min, r.down_s);
  }
  return 0;
}
