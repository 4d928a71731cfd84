// Operator runtime benchmark: informer initial sync of 10,000 ConfigMaps (time and RSS), idle
// operator RSS, and no-op reconcile throughput over 10,000 keys. Prints figure beside target.
//
//   operator_bench [--kubeconfig PATH] [--objects N]
// Without --kubeconfig it starts a private etcd + kube-apiserver (hack/cluster.sh) and stops it.
// The sync is measured in a child process (this binary re-executed with --sync-child) so its RSS
// is the informer's, not the setup's.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/kube/object.h"
#include "operator/runtime/controller.h"
#include "operator/runtime/informer.h"
#include "tests/support/control_plane.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"

using namespace agentry;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

double rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::shared_ptr<kube::Client> make_client(const std::string& kubeconfig) {
  auto cfg = kube::load_kubeconfig(kubeconfig);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().to_string().c_str());
    std::exit(1);
  }
  cfg->qps = 2000;
  cfg->burst = 4000;
  auto c = kube::Client::create(*cfg);
  if (!c.ok()) std::exit(1);
  return *c;
}

// Child: sync an informer over the namespace, print "seconds rss_mb objects".
int sync_child(const std::string& kubeconfig, const std::string& ns) {
  auto client = make_client(kubeconfig);
  runtime::InformerOptions o;
  o.watcher.ns = ns;
  runtime::Informer inf(client, kube::resources::kConfigMaps, o);
  auto t0 = std::chrono::steady_clock::now();
  inf.start();
  if (!inf.wait_for_sync(120s)) return 1;
  double secs = seconds_since(t0);
  std::printf("%.3f %.1f %zu\n", secs, rss_mb(0), inf.store().size());
  std::fflush(stdout);
  inf.stop();
  return 0;
}

void row(const char* what, const std::string& figure, const std::string& target, bool ok) {
  std::printf("%-52s %-14s %-12s %s\n", what, figure.c_str(), target.c_str(), ok ? "ok" : "MISSED");
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_level(log::Level::kWarn);
  std::string kubeconfig, sync_ns;
  int objects = 10000;
  bool child = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--kubeconfig" && i + 1 < argc)
      kubeconfig = argv[++i];
    else if (a == "--objects" && i + 1 < argc)
      objects = std::atoi(argv[++i]);
    else if (a == "--sync-child" && i + 1 < argc)
      child = true, sync_ns = argv[++i];
  }
  if (child) return sync_child(kubeconfig, sync_ns);

  std::unique_ptr<testing::ControlPlane> cp;
  if (kubeconfig.empty()) {
    std::fprintf(stderr, "starting a private etcd + kube-apiserver...\n");
    std::string err;
    cp = testing::ControlPlane::start_private({.full = false, .apiserver_args = ""}, &err);
    if (!cp) {
      std::fprintf(stderr, "cannot start a control plane: %s\n", err.c_str());
      return 1;
    }
    kubeconfig = cp->kubeconfig();
  }
  auto client = make_client(kubeconfig);
  std::string ns = "bench-" + std::to_string(getpid());
  if (!client
           ->create(kube::resources::kNamespaces, "",
                    {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}})
           .ok()) {
    std::fprintf(stderr, "cannot create namespace\n");
    return 1;
  }

  std::function<void()> idle_row;
  // Idle operator: the real binary (with whatever controllers main.cpp registers) on a cluster
  // with nothing of ours in it, measured before the ConfigMaps exist.
  int port = testing::free_port();
  testing::Process op({.argv = {AGENTRY_OPERATOR_BIN, "--kubeconfig", kubeconfig, "--metrics-addr",
                                "127.0.0.1:" + std::to_string(port)},
                       .env = {},
                       .log_path = "",
                       .cwd = ""});
  op.start();
  std::this_thread::sleep_for(3s);  // settle: the figure is a steady-state reading
  double idle_rss = rss_mb(op.pid());
  op.stop(SIGTERM);
  idle_row = [=] {
    row("idle agentry-operator RSS, empty cluster", fmt("%.1f MB", idle_rss), "< 15 MB",
        idle_rss > 0 && idle_rss < 15);
  };

  // Setup: N small ConfigMaps (a few hundred bytes each, like rendered agent configs).
  std::fprintf(stderr, "creating %d ConfigMaps...\n", objects);
  auto t_create = std::chrono::steady_clock::now();
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 32; ++w) {
    writers.emplace_back([&] {
      for (int i = next++; i < objects; i = next++) {
        json cm = {{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata",
                    {{"name", "cm-" + std::to_string(i)},
                     {"namespace", ns},
                     {"labels", {{"app", "bench"}, {"index", std::to_string(i)}}}}},
                   {"data", {{"config.yaml", std::string(200, 'x')}}}};
        if (!client->create(kube::resources::kConfigMaps, ns, cm).ok()) ++failed;
      }
    });
  }
  for (auto& t : writers) t.join();
  std::fprintf(stderr, "created in %.1f s (%d failed)\n", seconds_since(t_create), failed.load());

  std::printf("\n%-52s %-14s %-12s %s\n", "operator runtime", "figure", "target", "");
  idle_row();
  // 1. Informer initial sync, in a fresh process.
  std::string out;
  int rc = testing::run_command({"/proc/self/exe", "--kubeconfig", kubeconfig, "--sync-child", ns},
                                &out, std::chrono::seconds(180));
  double sync_s = -1, sync_rss = -1;
  size_t synced = 0;
  if (rc == 0) std::sscanf(out.c_str(), "%lf %lf %zu", &sync_s, &sync_rss, &synced);
  row(("informer initial sync, " + std::to_string(synced) + " ConfigMaps: time").c_str(),
      fmt("%.2f s", sync_s), "< 5 s", rc == 0 && sync_s < 5);
  row("informer initial sync: process RSS", fmt("%.1f MB", sync_rss), "< 60 MB",
      rc == 0 && sync_rss < 60);

  // 3. No-op reconcile throughput over N keys coming from an informer.
  {
    runtime::InformerOptions o;
    o.watcher.ns = ns;
    auto inf = std::make_shared<runtime::Informer>(client, kube::resources::kConfigMaps, o);
    runtime::ControllerOptions co;
    co.workers = 4;
    runtime::Controller ctl(
        "bench-noop",
        [](const kube::ObjectKey&) -> Result<runtime::ReconcileResult> {
          return runtime::ReconcileResult{};
        },
        co);
    ctl.watches_for(inf);
    inf->start();
    inf->wait_for_sync(120s);
    size_t keys = ctl.queue().len();
    auto t0 = std::chrono::steady_clock::now();
    ctl.start();
    while (ctl.reconciles() < keys && seconds_since(t0) < 60) std::this_thread::sleep_for(1ms);
    double secs = seconds_since(t0);
    double rate = static_cast<double>(ctl.reconciles()) / secs;
    ctl.stop(true);
    inf->stop();
    row(("no-op reconcile throughput, " + std::to_string(keys) + " keys, 4 workers").c_str(),
        fmt("%.0f /s", rate), "> 5000 /s", rate > 5000);
  }
  client->remove(kube::resources::kNamespaces, "", ns);
  return 0;
}
