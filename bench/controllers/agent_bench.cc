// Agent controller benchmark against a real control plane (its own etcd, kube-apiserver,
// controller-manager, scheduler and kwok) and the real agentry-operator binary:
//   1. Agent creation to Ready (kwok pods), p50/p95 over 50 Agents, one at a time.
//   2. N Agents (default 1,000) created at once: time until all are Ready; operator peak RSS and
//      CPU seconds.
//   3. Idle (default 120 s): reconciles and API writes must stay flat.
//   4. The control plane's floor, with the operator stopped: N bare Deployments with the pod
//      template the operator rendered, created at once, until all are available. No operator
//      can make N Agents Ready faster than the control plane makes N Deployments available.
// Prints each figure beside its target. Usage: agent_bench [--agents N] [--idle-seconds S]
#include <httplib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"
#include "tests/support/control_plane.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/tempdir.h"

using namespace agentry;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace res = kube::resources;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

long proc_status_kb(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  }
  return 0;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  auto close = s.rfind(')');
  std::istringstream rest(s.substr(close + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15; ++i) {
    rest >> f;
    if (i == 14) utime = std::atol(f.c_str());
    if (i == 15) stime = std::atol(f.c_str());
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Sum of a metric family's samples whose labels contain `filter` (empty: all).
double metric_sum(const std::string& text, const std::string& name,
                  const std::string& filter = "") {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    if (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ') continue;
    if (!filter.empty() && line.find(filter) == std::string::npos) continue;
    sum += std::atof(line.substr(line.rfind(' ') + 1).c_str());
  }
  return sum;
}

json agent(const std::string& name) {
  return {{"apiVersion", "agentry.dev/v1alpha1"},
          {"kind", "Agent"},
          {"metadata", {{"name", name}, {"namespace", "bench"}}},
          {"spec",
           {{"model", {{"provider", "ollama"}, {"name", "llama3.2"}}},
            {"autoscaling", {{"enabled", false}}},
            {"replicas", 1},
            {"policyRef", {{"name", "development"}}}}}};
}

// For each sample of the given families whose value changed from `before` to `after`: the
// sample line (name and labels) and the change.
std::string metric_deltas(const std::string& before, const std::string& after,
                          const std::vector<std::string>& families) {
  auto samples = [&](const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      for (const auto& f : families) {
        if (line.rfind(f + "{", 0) == 0) {
          auto sp = line.rfind(' ');
          out[line.substr(0, sp)] = std::atof(line.c_str() + sp + 1);
        }
      }
    }
    return out;
  };
  auto b = samples(before);
  std::string out;
  for (const auto& [k, v] : samples(after)) {
    double d = v - (b.count(k) ? b[k] : 0);
    if (d != 0) out += "  " + k + " +" + std::to_string(static_cast<long>(d)) + "\n";
  }
  return out;
}

std::set<std::string> event_uids(kube::Client& client) {
  std::set<std::string> out;
  auto list = client.list_all(res::kEventsV1, "");
  if (list.ok()) {
    for (const auto& e : (*list)["items"]) out.insert(kube::uid(e));
  }
  return out;
}

// Events not in `before`, counted by reporting controller, reason and the start of the note.
std::string new_events_summary(kube::Client& client, const std::set<std::string>& before) {
  std::map<std::string, int> counts;
  auto list = client.list_all(res::kEventsV1, "");
  if (!list.ok()) return "  (cannot list events: " + list.status().to_string() + ")\n";
  for (const auto& e : (*list)["items"]) {
    if (before.count(kube::uid(e))) continue;
    std::string who = e.value("reportingController", "");
    if (who.empty()) who = e.value("/deprecatedSource/component"_json_pointer, std::string("?"));
    counts[who + " " + e.value("reason", "") + ": " + e.value("note", "").substr(0, 48)]++;
  }
  std::string out;
  for (const auto& [k, n] : counts) out += "  " + std::to_string(n) + " x " + k + "\n";
  return out;
}

// create(i) for i in [0, n), from 8 client threads (how `kubectl apply` of many files looks).
void create_all(int n, const std::function<void(int)>& create) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++) create(i);
    });
  }
  for (auto& t : threads) t.join();
}

const char* getenv_or(const char* name, const char* def) {
  const char* v = std::getenv(name);
  return v && *v ? v : def;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int n_agents = 1000, idle_s = 120;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--agents") n_agents = std::atoi(argv[i + 1]);
    if (a == "--idle-seconds") idle_s = std::atoi(argv[i + 1]);
  }
  std::string err;
  std::fprintf(stderr, "starting a private control plane...\n");
  auto cp = testing::ControlPlane::start_private({}, &err);
  if (!cp) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  std::string out;
  cp->kubectl({"apply", "--server-side", "-f", testing::repo_dir() + "/crds/"}, &out);
  cp->kubectl({"wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"}, &out);
  cp->kubectl({"create", "namespace", "bench"}, &out);

  testing::TempDir dir("agent-bench");
  if (std::getenv("AGENTRY_BENCH_KEEP")) {
    dir.keep();
    std::fprintf(stderr, "operator log: %s\n", dir.file("operator.log").c_str());
  }
  int port = testing::free_port();
  testing::Process op(
      {{AGENTRY_OPERATOR_BIN, "--kubeconfig", cp->kubeconfig(), "--metrics-addr",
        "127.0.0.1:" + std::to_string(port), "--workers", "4", "--kube-api-qps", "300",
        "--kube-api-burst", "600", "--log-level", getenv_or("AGENTRY_BENCH_LOG_LEVEL", "warn")},
       {},
       dir.file("operator.log"),
       ""});
  if (!op.start(&err)) {
    std::fprintf(stderr, "operator: %s\n", err.c_str());
    return 1;
  }
  httplib::Client metrics("127.0.0.1", port);
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    auto r = metrics.Get("/readyz");
    if (r && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto cfg = kube::load_kubeconfig(cp->kubeconfig());
  cfg->qps = 1000;
  cfg->burst = 2000;
  auto client = *kube::Client::create(*cfg);
  auto ready = [&](const std::string& name) {
    auto a = client->get(res::kAgents, "bench", name);
    return a.ok() && a->value("/status/phase"_json_pointer, std::string()) == "Ready";
  };

  // 1. One at a time.
  std::vector<double> lat;
  for (int i = 0; i < 50; ++i) {
    std::string name = "single-" + std::to_string(i);
    auto t0 = Clock::now();
    auto c = client->create(res::kAgents, "bench", agent(name));
    if (!c.ok()) {
      std::fprintf(stderr, "create: %s\n", c.status().to_string().c_str());
      return 1;
    }
    auto until = Clock::now() + std::chrono::seconds(30);
    while (!ready(name) && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    lat.push_back(ms_since(t0));
  }

  // 2. Many at once.
  auto burst_m0 = metrics.Get("/metrics");
  const double cpu0 = cpu_seconds(op.pid());
  auto t0 = Clock::now();
  create_all(n_agents, [&](int i) {
    (void)client->create(res::kAgents, "bench", agent("many-" + std::to_string(i)));
  });
  const double create_ms = ms_since(t0);
  int ready_count = 0;
  long peak_rss_kb = 0;
  auto until = Clock::now() + std::chrono::seconds(600);
  while (Clock::now() < until) {
    peak_rss_kb = std::max(peak_rss_kb, proc_status_kb(op.pid(), "VmRSS:"));
    auto list = client->list_all(res::kAgents, "bench");
    ready_count = 0;
    if (list.ok()) {
      for (const auto& a : (*list)["items"]) {
        if (kube::name(a).rfind("many-", 0) == 0 &&
            a.value("/status/phase"_json_pointer, std::string()) == "Ready") {
          ++ready_count;
        }
      }
    }
    if (ready_count == n_agents) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const double all_ready_s = ms_since(t0) / 1000.0;
  // The pod template the operator rendered, for the floor below.
  Result<json> model = internal_error("not read");
  for (int attempt = 0; attempt < 10 && !model.ok(); ++attempt) {
    model = client->get(res::kDeployments, "bench", "many-0-agent");
  }
  peak_rss_kb = std::max(peak_rss_kb, proc_status_kb(op.pid(), "VmHWM:"));
  const double cpu_used = cpu_seconds(op.pid()) - cpu0;
  auto burst_m1 = metrics.Get("/metrics");

  // 3. Idle.
  std::this_thread::sleep_for(std::chrono::seconds(5));  // let the last status writes land
  auto m0 = metrics.Get("/metrics");
  const std::set<std::string> events_before = event_uids(*client);
  std::this_thread::sleep_for(std::chrono::seconds(idle_s));
  auto m1 = metrics.Get("/metrics");
  // What happened in the cluster meanwhile: new Events by who reported them and why.
  std::fprintf(stderr, "events during the idle window:\n%s",
               new_events_summary(*client, events_before).c_str());
  double rec0 = metric_sum(m0 ? m0->body : "", "controller_runtime_reconcile_total");
  double rec1 = metric_sum(m1 ? m1->body : "", "controller_runtime_reconcile_total");
  double w0 = 0, w1 = 0;
  for (const char* m :
       {"method=\"POST\"", "method=\"PUT\"", "method=\"PATCH\"", "method=\"DELETE\""}) {
    w0 += metric_sum(m0 ? m0->body : "", "rest_client_requests_total", m);
    w1 += metric_sum(m1 ? m1->body : "", "rest_client_requests_total", m);
  }

  // Where the idle reconciles and writes went, by result and by method/code.
  std::fprintf(stderr, "idle deltas:\n%s",
               metric_deltas(m0 ? m0->body : "", m1 ? m1->body : "",
                             {"controller_runtime_reconcile_total", "rest_client_requests_total"})
                   .c_str());

  // 4. The floor: the operator stopped, on a fresh control plane (the first one's node is full).
  op.stop(SIGTERM);
  double floor_s = -1;
  int floor_ready = 0;
  if (!model.ok()) std::fprintf(stderr, "floor: %s\n", model.status().to_string().c_str());
  client.reset();
  cp.reset();
  if (model.ok()) cp = testing::ControlPlane::start_private({}, &err);
  if (model.ok() && !cp) std::fprintf(stderr, "floor: %s\n", err.c_str());
  if (cp && cp->kubectl({"create", "namespace", "floor"}, &out) != 0) {
    std::fprintf(stderr, "floor: create namespace: %s\n", out.c_str());
  } else if (cp) {
    auto fcfg = kube::load_kubeconfig(cp->kubeconfig());
    fcfg->qps = 1000;
    fcfg->burst = 2000;
    client = *kube::Client::create(*fcfg);
    json tmpl = (*model)["spec"]["template"];
    tmpl["spec"].erase("serviceAccountName");  // the namespace's default one
    tmpl["spec"].erase("volumes");  // their ConfigMap and Secret live in the other cluster
    for (auto& c : tmpl["spec"]["containers"]) c.erase("volumeMounts");
    auto bare = [&](const std::string& name) {
      json t = tmpl;
      t["metadata"]["labels"] = {{"app", name}};
      return json{
          {"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", "floor"}}},
          {"spec",
           {{"replicas", 1}, {"selector", {{"matchLabels", {{"app", name}}}}}, {"template", t}}}};
    };
    // The namespace's default ServiceAccount comes from the controller-manager.
    auto sa_until = Clock::now() + std::chrono::seconds(30);
    while (!client->get(res::kServiceAccounts, "floor", "default").ok() && Clock::now() < sa_until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto f0 = Clock::now();
    create_all(n_agents, [&](int i) {
      (void)client->create(res::kDeployments, "floor", bare("bare-" + std::to_string(i)));
    });
    auto floor_until = Clock::now() + std::chrono::seconds(600);
    while (Clock::now() < floor_until) {
      auto list = client->list_all(res::kDeployments, "floor");
      floor_ready = 0;
      if (list.ok()) {
        for (const auto& d : (*list)["items"]) {
          if (d.value("/status/availableReplicas"_json_pointer, 0) >= 1) ++floor_ready;
        }
      }
      if (floor_ready == n_agents) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    floor_s = ms_since(f0) / 1000.0;
  }

  std::printf(
      "\nAgent controller benchmark (real kube-apiserver + kwok, agentry-operator binary)\n");
  std::printf("%-52s %-22s %s\n", "figure", "measured", "target");
  std::printf("%-52s %-22s %s\n", "agent creation -> Ready, p50 (50 agents)",
              (std::to_string(static_cast<int>(pct(lat, 0.5))) + " ms").c_str(),
              "< 1000 ms (guideline 2 s)");
  std::printf("%-52s %-22s %s\n", "agent creation -> Ready, p95 (50 agents)",
              (std::to_string(static_cast<int>(pct(lat, 0.95))) + " ms").c_str(),
              "< 1000 ms (guideline 2 s)");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d/%d in %.1f s", ready_count, n_agents, all_ready_s);
  std::printf("%-52s %-22s %s\n",
              ("agents created at once, all Ready (" + std::to_string(n_agents) + ")").c_str(), buf,
              "< 60 s");
  std::snprintf(buf, sizeof buf, "%d/%d in %.1f s", floor_ready, n_agents, floor_s);
  std::printf("%-52s %-22s %s\n", "  floor: as many bare Deployments, no operator", buf,
              "- (the control plane alone)");
  std::snprintf(buf, sizeof buf, "%.1f s", create_ms / 1000.0);
  std::printf("%-52s %-22s %s\n", "  of which creating them (8 client threads)", buf, "-");
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(peak_rss_kb) / 1024.0);
  std::printf("%-52s %-22s %s\n", "operator peak RSS", buf, "< 40 MB");
  std::snprintf(buf, sizeof buf, "%.1f s", cpu_used);
  std::printf("%-52s %-22s %s\n", "operator CPU for the burst", buf, "-");
  // Where the burst's API calls went: per Agent, by method and resource (the operator's own
  // rest_client_requests_by_resource_total), writes first.
  {
    std::map<std::string, double> per;  // "METHOD resource" -> calls
    std::istringstream b(metric_deltas(burst_m0 ? burst_m0->body : "", burst_m1 ? burst_m1->body : "",
                                       {"rest_client_requests_by_resource_total"}));
    for (std::string line; std::getline(b, line);) {
      auto m = line.find("method=\""), r = line.find("resource=\"");
      if (m == std::string::npos || r == std::string::npos) continue;
      std::string method = line.substr(m + 8, line.find('"', m + 8) - m - 8);
      std::string resource = line.substr(r + 10, line.find('"', r + 10) - r - 10);
      per[method + " " + resource] += std::atof(line.c_str() + line.rfind('+') + 1);
    }
    double writes = 0, reads = 0;
    for (const auto& [k, v] : per) (k.rfind("GET", 0) == 0 ? reads : writes) += v;
    std::snprintf(buf, sizeof buf, "%.1f writes, %.1f reads", writes / n_agents, reads / n_agents);
    std::printf("%-52s %-22s %s\n", "  API calls per Agent in the burst", buf, "-");
    for (const auto& [k, v] : per) {
      if (k.rfind("GET", 0) == 0 || v / n_agents < 0.05) continue;
      std::snprintf(buf, sizeof buf, "%.2f", v / n_agents);
      std::printf("%-52s %-22s %s\n", ("    " + k).c_str(), buf, "-");
    }
  }
  std::snprintf(buf, sizeof buf, "%.0f reconciles, %.0f writes", rec1 - rec0, w1 - w0);
  std::printf("%-52s %-22s %s\n",
              ("idle " + std::to_string(idle_s) + " s: reconciles and API writes").c_str(), buf,
              "0 and 0 (flat)");
  return 0;
}
