#include "tests/support/control_plane.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "tests/support/process.h"
#include "tests/support/tempdir.h"

#ifndef AGENTRY_REPO_DIR
#error "AGENTRY_REPO_DIR must be defined by the build"
#endif

namespace agentry::testing {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int cluster_sh(const std::string& dir, const std::string& verb, const ControlPlane::Options& o,
               std::string* out) {
  std::vector<std::string> argv = {
      "env",
      "AGENTRY_CLUSTER_DIR=" + dir,
      "AGENTRY_CLUSTER_COMPONENTS=" + std::string(o.full ? "full" : "apiserver"),
      "AGENTRY_APISERVER_ARGS=" + o.apiserver_args,
      "bash",
      repo_dir() + "/hack/cluster.sh",
      verb};
  return run_command(argv, out, std::chrono::seconds(1800));
}

}  // namespace

std::string repo_dir() {
  return AGENTRY_REPO_DIR;
}

ControlPlane* ControlPlane::shared(std::string* error) {
  static std::once_flag once;
  static std::unique_ptr<ControlPlane> cp;
  static std::string failure;
  std::call_once(once, [] {
    const char* env = std::getenv("AGENTRY_CLUSTER_DIR");
    if (env && *env) {
      std::string dir = env;
      if (read_file(dir + "/apiserver.port").empty()) {
        failure = "AGENTRY_CLUSTER_DIR=" + dir + " holds no running cluster (hack/cluster.sh up)";
        return;
      }
      cp.reset(new ControlPlane(dir, /*owned=*/false));
      return;
    }
    std::string err;
    cp = start_private(Options{}, &err);
    if (!cp) failure = err;
    // Stop it when the test binary exits, even if a test failed.
    std::atexit([] { cp.reset(); });
  });
  if (!cp && error) *error = failure;
  return cp.get();
}

std::unique_ptr<ControlPlane> ControlPlane::start_private(const Options& opts, std::string* error) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/agentry-cluster.XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    if (error) *error = "mkdtemp failed";
    return nullptr;
  }
  std::string out;
  int rc = cluster_sh(tmpl, "up", opts, &out);
  std::unique_ptr<ControlPlane> cp(new ControlPlane(tmpl, /*owned=*/true));
  if (rc != 0) {
    if (error) *error = "hack/cluster.sh up failed (" + std::to_string(rc) + "):\n" + out;
    return nullptr;  // cp's destructor runs `down`
  }
  return cp;
}

ControlPlane::~ControlPlane() {
  if (!owned_) return;
  std::string out;
  cluster_sh(dir_, "down", Options{}, &out);
}

int ControlPlane::apiserver_port() const {
  return std::atoi(read_file(dir_ + "/apiserver.port").c_str());
}
std::string ControlPlane::server_url() const {
  return "https://127.0.0.1:" + std::to_string(apiserver_port());
}
std::string ControlPlane::etcd_url() const {
  return "http://127.0.0.1:" + trim(read_file(dir_ + "/etcd.port"));
}
std::string ControlPlane::prometheus_url() const {
  std::string port = trim(read_file(dir_ + "/prometheus.port"));
  return port.empty() ? "" : "http://127.0.0.1:" + port;
}
std::string ControlPlane::bin_dir() const {
  return trim(read_file(dir_ + "/bin"));
}

int ControlPlane::pid_of(const std::string& component) const {
  std::string s = read_file(dir_ + "/pids/" + component);
  return s.empty() ? -1 : std::atoi(s.c_str());
}

bool ControlPlane::install_crds(std::string* out) const {
  int rc = 1;
  for (int attempt = 0; attempt < 5 && rc != 0; ++attempt)
    rc = kubectl({"apply", "--server-side", "--force-conflicts", "-f", repo_dir() + "/crds/"}, out);
  if (rc != 0) return false;
  return kubectl({"wait", "--for=condition=Established", "--timeout=60s", "crd/agents.agentry.dev",
                  "crd/workflows.agentry.dev", "crd/agentpolicies.agentry.dev"},
                 out) == 0;
}

int ControlPlane::kubectl(const std::vector<std::string>& args, std::string* out) const {
  std::vector<std::string> argv = {bin_dir() + "/kubectl", "--kubeconfig", kubeconfig()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, out, std::chrono::seconds(120));
}

int ControlPlane::kubectl_stdin(const std::vector<std::string>& args, const std::string& input,
                                std::string* out) const {
  TempDir tmp("kubectl");
  write_file(tmp.file("in"), input);
  std::string cmd = "'" + bin_dir() + "/kubectl' --kubeconfig '" + kubeconfig() + "'";
  for (auto& a : args) cmd += " '" + a + "'";
  cmd += " < '" + tmp.file("in") + "'";
  return run_command({"bash", "-c", cmd}, out, std::chrono::seconds(120));
}

bool ControlPlane::kill_component(const std::string& component) {
  int pid = pid_of(component);
  if (pid <= 0) return false;
  saved_cmdlines_[component] = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (kill(pid, SIGKILL) != 0) return false;
  for (int i = 0; i < 500 && kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool ControlPlane::apiserver_ready() const {
  std::string probe = "curl -s --max-time 2 --cacert '" + ca_file() + "' --cert '" +
                      admin_cert_file() + "' --key '" + admin_key_file() + "' " + server_url() +
                      "/readyz";
  std::string out;
  return run_command({"bash", "-c", probe}, &out, std::chrono::seconds(5)) == 0 &&
         trim(out) == "ok";
}

bool ControlPlane::start_component_again(const std::string& component, std::string* error) {
  const std::string& saved = saved_cmdlines_[component];
  if (saved.empty()) {
    if (error) *error = "kill_component(" + component + ") was not called";
    return false;
  }
  std::vector<std::string> argv;
  size_t start = 0;
  for (size_t i = 0; i < saved.size(); ++i) {
    if (saved[i] == '\0') {
      argv.push_back(saved.substr(start, i - start));
      start = i + 1;
    }
  }
  // Detach through a shell so the new process outlives this Process object; record its pid
  // where cluster.sh looks, so `down` stops it.
  std::string cmd;
  for (auto& a : argv) cmd += "'" + a + "' ";
  cmd = "(setsid " + cmd + ">>'" + dir_ + "/logs/" + component +
        ".log' 2>&1 < /dev/null & echo $! > '" + dir_ + "/pids/" + component + "')";
  std::string out;
  if (run_command({"bash", "-c", cmd}, &out, std::chrono::seconds(10)) != 0) {
    if (error) *error = "restart of " + component + " failed: " + out;
    return false;
  }
  if (component != "kube-apiserver") return true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (apiserver_ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (error) *error = "kube-apiserver not ready after restart";
  return false;
}

bool ControlPlane::restart_apiserver(std::string* error) {
  if (!kill_apiserver()) {
    if (error) *error = "could not kill kube-apiserver";
    return false;
  }
  return start_apiserver_again(error);
}

}  // namespace agentry::testing
