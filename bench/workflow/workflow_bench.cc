// Workflow controller benchmark (issue 7): the controller in this process against a real
// kube-apiserver (the shared test cluster: AGENTRY_CLUSTER_DIR), one real agentry-sidecar and the
// fake LLM server. Prints each figure beside its target.
//
//   workflow_bench [--workflows 500] [--latency-samples 50] [--workers 8] [--qps 1000]
//
// 1. start latency: one Workflow at a time, creation request sent -> first step's POST accepted
//    by the sidecar (the on_dispatch hook), p50/p95;
// 2. N concurrent 3-step workflows created at once: all succeed, wall time, process RSS delta,
//    workflows/min.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "operator/controllers/workflow_controller.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/kube/object.h"
#include "operator/runtime/manager.h"
#include "tests/support/control_plane.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/tempdir.h"

using namespace agentry;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace res = kube::resources;

namespace {

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// The build's binaries, or AGENTRY_SIDECAR_BIN / AGENTRY_FAKE_LLM_BIN from the environment.
std::string bin_path(const char* env, const char* built) {
  const char* v = std::getenv(env);
  return v && *v ? v : built;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

json workflow(const std::string& ns, const std::string& name) {
  auto mk = [](const std::string& n, const std::string& dep, const std::string& in) {
    json s = {{"name", n}, {"agentRef", {{"name", "bench"}}}, {"input", in}};
    if (!dep.empty()) s["dependsOn"] = json::array({dep});
    return s;
  };
  return {
      {"apiVersion", "agentry.dev/v1alpha1"},
      {"kind", "Workflow"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec",
       {{"input", name},
        {"steps", json::array({mk("a", "", "a {{ input }}"), mk("b", "a", "b {{ steps.a.output }}"),
                               mk("c", "b", "c {{ steps.b.output }}")})}}}};
}

}  // namespace

int main(int argc, char** argv) {
  int n_workflows = 500, samples = 50, workers = 8;
  double qps = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--workflows") n_workflows = std::stoi(argv[i + 1]);
    if (a == "--latency-samples") samples = std::stoi(argv[i + 1]);
    if (a == "--workers") workers = std::stoi(argv[i + 1]);
    if (a == "--qps") qps = std::stod(argv[i + 1]);
  }
  std::string err;
  auto* cp = testing::ControlPlane::shared(&err);
  if (!cp) {
    std::cerr << "control plane: " << err << "\n";
    return 1;
  }
  std::string out;
  cp->kubectl({"apply", "--server-side", "--force-conflicts", "-f", testing::repo_dir() + "/crds/"},
              &out);
  cp->kubectl({"wait", "--for=condition=Established", "--timeout=60s", "crd/workflows.agentry.dev"},
              &out);
  const std::string ns = "wf-bench-" + std::to_string(::getpid());
  cp->kubectl({"create", "namespace", ns}, &out);

  // Fake LLM + one sidecar.
  testing::TempDir dir("wf-bench");
  int llm_port = testing::free_port(), sc_port = testing::free_port();
  testing::Process llm({.argv = {bin_path("AGENTRY_FAKE_LLM_BIN", AGENTRY_FAKE_LLM_BIN), "--port",
                                 std::to_string(llm_port), "--threads", "128"},
                        .env = {},
                        .log_path = dir.file("llm.log"),
                        .cwd = ""});
  llm.start();
  const std::string token = "bench-token-0123456789abcdef";
  testing::write_file(dir.file("token"), token);
  testing::write_file(dir.file("sidecar.yaml"),
                      "server:\n  listen: 127.0.0.1:" + std::to_string(sc_port) +
                          "\n  tokenFile: " + dir.file("token") +
                          "\n  threads: 128\n  accessLog: false\n  shutdownGraceSeconds: 1\n"
                          "limits:\n  maxConcurrency: 400\n  queueSize: 5000\n"
                          "provider:\n  type: ollama\n  endpoint: http://127.0.0.1:" +
                          std::to_string(llm_port) +
                          "\n  model: fake\n  retries: 0\n  breakerFailures: 100000\n"
                          "agent:\n  name: bench\n  cacheResponses: false\n");
  testing::Process sidecar({.argv = {bin_path("AGENTRY_SIDECAR_BIN", AGENTRY_SIDECAR_BIN),
                                     "--config", dir.file("sidecar.yaml")},
                            .env = {},
                            .log_path = dir.file("sidecar.log"),
                            .cwd = ""});
  sidecar.start();
  if (!testing::wait_for_port(llm_port, std::chrono::seconds(10)) ||
      !testing::wait_for_port(sc_port, std::chrono::seconds(10))) {
    std::cerr << "sidecar/fake llm did not start\n" << sidecar.log_tail();
    return 1;
  }

  auto cfg = kube::load_kubeconfig(cp->kubeconfig());
  cfg->qps = qps;
  cfg->burst = static_cast<int>(qps * 2);
  cfg->max_idle_connections = static_cast<size_t>(workers + 2);  // as agentry-operator sizes it
  auto client = *kube::Client::create(*cfg);
  // The Agent (annotated with the endpoint override) and its token Secret, as the Agent controller
  // would have made them.
  client->create(res::kAgents, ns,
                 {{"apiVersion", "agentry.dev/v1alpha1"},
                  {"kind", "Agent"},
                  {"metadata",
                   {{"name", "bench"},
                    {"annotations",
                     {{controllers::kEndpointOverrideAnnotation,
                       "http://127.0.0.1:" + std::to_string(sc_port)}}}}},
                  {"spec", {{"model", {{"provider", "ollama"}, {"name", "fake"}}}}}});
  client->create(res::kSecrets, ns,
                 {{"apiVersion", "v1"},
                  {"kind", "Secret"},
                  {"metadata", {{"name", "bench-agent-token"}}},
                  {"data", {{"token", base64_encode(token)}}}});

  std::mutex mu;
  std::map<std::string, Clock::time_point> first_dispatch;
  controllers::WorkflowSettings ws;
  ws.workers = workers;
  ws.poll_min = std::chrono::milliseconds(50);
  ws.poll_max = std::chrono::milliseconds(500);
  ws.on_dispatch = [&](const std::string& key, const std::string&, int) {
    std::lock_guard<std::mutex> l(mu);
    first_dispatch.try_emplace(key, Clock::now());
  };
  runtime::Manager::Options mo;
  mo.metrics_addr = "";
  runtime::Manager mgr(client, mo);
  controllers::OperatorSettings os;
  os.watch_namespace = ns;
  controllers::register_workflow_controller(mgr, os, ws);
  std::thread run([&] { (void)mgr.run(); });
  while (!mgr.controllers_running()) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  // 1. Start latency, one at a time.
  // Two clocks: from sending the create request (includes the API server persisting it), and
  // from its response (the Workflow exists; everything after is the operator's). A dispatch that
  // beats the create response to the client counts as 0 in the second.
  std::vector<double> lat_ms, after_create_ms;
  for (int i = 0; i < samples; ++i) {
    std::string name = "lat-" + std::to_string(i);
    auto t0 = Clock::now();
    auto r = client->create(res::kWorkflows, ns, workflow(ns, name));
    auto t1 = Clock::now();
    if (!r.ok()) {
      std::cerr << "create: " << r.status().to_string() << "\n";
      return 1;
    }
    auto deadline = t0 + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> l(mu);
        auto it = first_dispatch.find(ns + "/" + name);
        if (it != first_dispatch.end()) {
          lat_ms.push_back(std::chrono::duration<double, std::milli>(it->second - t0).count());
          after_create_ms.push_back(
              std::max(0.0, std::chrono::duration<double, std::milli>(it->second - t1).count()));
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // Let the latency workflows finish, then measure the concurrent run.
  auto finished = [&](const std::string& prefix, int* failed) {
    auto l = client->list_all(res::kWorkflows, ns);
    int n = 0;
    if (failed) *failed = 0;
    if (!l.ok()) return 0;
    for (auto& w : (*l)["items"]) {
      if (kube::name(w).rfind(prefix, 0) != 0) continue;
      std::string p = w.value("/status/phase"_json_pointer, std::string());
      n += p == "Succeeded" || p == "Failed";
      if (failed && p == "Failed") ++*failed;
    }
    return n;
  };
  for (int i = 0; i < 600 && finished("lat-", nullptr) < samples; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // 2. N concurrent 3-step workflows.
  long rss0 = rss_kib();
  auto t0 = Clock::now();
  std::atomic<int> next{0}, create_errors{0};
  std::vector<std::thread> creators;
  for (int t = 0; t < 16; ++t) {
    creators.emplace_back([&] {
      for (int i = next++; i < n_workflows; i = next++) {
        if (!client->create(res::kWorkflows, ns, workflow(ns, "c-" + std::to_string(i))).ok())
          ++create_errors;
      }
    });
  }
  for (auto& t : creators) t.join();
  auto created = Clock::now();
  int failed = 0, done = 0;
  long rss_peak = rss0;
  auto deadline = t0 + std::chrono::seconds(600);
  while (Clock::now() < deadline) {
    done = finished("c-", &failed);
    rss_peak = std::max(rss_peak, rss_kib());
    if (done >= n_workflows) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double create_s = std::chrono::duration<double>(created - t0).count();

  std::printf("\nWorkflow controller benchmark (%d workers, client qps %.0f, fake LLM latency 0)\n",
              workers, qps);
  std::printf("| figure | measured | target |\n|---|---|---|\n");
  std::printf(
      "| start latency p50 (create request sent -> first dispatch, %zu samples) | %.1f ms | "
      "guideline < 500 ms |\n",
      lat_ms.size(), pct(lat_ms, 0.5));
  std::printf("| start latency p95 (same) | %.1f ms | guideline < 500 ms |\n", pct(lat_ms, 0.95));
  std::printf("| start latency p50 (Workflow created -> first dispatch) | %.1f ms | |\n",
              pct(after_create_ms, 0.5));
  std::printf(
      "| start latency p95 (Workflow created -> first dispatch) | %.1f ms | p95 < 100 ms |\n",
      pct(after_create_ms, 0.95));
  std::printf(
      "| %d concurrent 3-step workflows: succeeded | %d/%d (failed %d, create errors %d) | all "
      "succeed |\n",
      n_workflows, done - failed, n_workflows, failed, create_errors.load());
  std::printf("| wall time (first create -> last finished; creating took %.1f s) | %.1f s | |\n",
              create_s, wall);
  std::printf("| throughput | %.0f workflows/min | > 1,000/min |\n", done / wall * 60);
  std::printf(
      "| process RSS (operator in-process) before / peak / delta | %.1f / %.1f / %.1f MiB | |\n",
      rss0 / 1024.0, rss_peak / 1024.0, (rss_peak - rss0) / 1024.0);

  mgr.stop();
  run.join();
  cp->kubectl({"-n", ns, "patch", "workflows", "--all", "--type=merge", "-p",
               R"({"metadata":{"finalizers":null}})"},
              &out);
  cp->kubectl({"delete", "namespace", ns, "--wait=false"}, &out);
  return done - failed == n_workflows ? 0 : 1;
}
