// A real Kubernetes control plane for integration tests (hack/cluster.sh underneath).
//
// ControlPlane::shared() reuses the cluster the test command started (AGENTRY_CLUSTER_DIR points at
// it) or, when a test binary runs alone, starts one in a temp dir and stops it at exit. Tests that
// kill or restart parts of the control plane start their own with ControlPlane::start_private().
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace agentry::testing {

class ControlPlane {
 public:
  struct Options {
    bool full = true;            // false: etcd + kube-apiserver only (faster)
    std::string apiserver_args;  // extra kube-apiserver flags
  };

  // The shared cluster; nullptr (with the reason in *error) if it cannot be had.
  static ControlPlane* shared(std::string* error);
  // A cluster of the caller's own, stopped when the object dies.
  static std::unique_ptr<ControlPlane> start_private(const Options& opts, std::string* error);
  ~ControlPlane();

  const std::string& dir() const { return dir_; }
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }
  std::string server_url() const;  // https://127.0.0.1:PORT
  int apiserver_port() const;
  std::string etcd_url() const;
  std::string ca_file() const { return dir_ + "/pki/ca.crt"; }
  std::string admin_cert_file() const { return dir_ + "/pki/admin.crt"; }
  std::string admin_key_file() const { return dir_ + "/pki/admin.key"; }
  std::string bin_dir() const;
  // The full cluster's Prometheus ("" without one) and the dir it reads scrape targets from: one
  // JSON file per local sidecar (hack/cluster.sh says the format).
  std::string prometheus_url() const;
  std::string prometheus_targets_dir() const { return dir_ + "/prometheus/targets"; }
  // The pid of a component ("kube-apiserver", "etcd", ...), -1 if unknown.
  int pid_of(const std::string& component) const;

  // Runs the cluster's kubectl with this kubeconfig; returns the exit code, output in *out.
  int kubectl(const std::vector<std::string>& args, std::string* out) const;
  // Same, with stdin from a string (for `apply -f -`).
  int kubectl_stdin(const std::vector<std::string>& args, const std::string& input,
                    std::string* out) const;
  // Installs crds/ (server-side apply, retried: other suites install the same CRDs at the same
  // moment) and waits until Agent, Workflow and AgentPolicy are Established. kubectl's output in
  // *out; false on failure.
  bool install_crds(std::string* out) const;

  // Kills (SIGKILL) and restarts kube-apiserver with the same flags, waiting for /readyz.
  bool restart_apiserver(std::string* error);
  bool kill_apiserver() { return kill_component("kube-apiserver"); }
  bool start_apiserver_again(std::string* error) {
    return start_component_again("kube-apiserver", error);
  }
  // Any component ("etcd", "kwok", ...): SIGKILL, remembering its argv; then the same argv started
  // again (detached, logging to the same file, its pid where `down` finds it). For kube-apiserver
  // the start waits for /readyz.
  bool kill_component(const std::string& component);
  bool start_component_again(const std::string& component, std::string* error);
  // True when kube-apiserver answers /readyz with "ok" within 2 s.
  bool apiserver_ready() const;

 private:
  ControlPlane(std::string dir, bool owned) : dir_(std::move(dir)), owned_(owned) {}
  std::string dir_;
  bool owned_;
  // argv of each killed component, NUL-separated, read before the kill. Not thread-safe: one
  // caller kills and restarts.
  std::map<std::string, std::string> saved_cmdlines_;
};

// Where the repository is (the tests are built with its path baked in).
std::string repo_dir();

}  // namespace agentry::testing
