// A steady total CPU load spread over an Agent's pods, as a Service would spread requests: every
// second the pods carrying agentry.dev/agent=NAME get kwok.x-k8s.io/usage-cpu = total / count
// (kwok's usage emulation, hack/cluster.sh), so pods that come and go share it. For the
// autoscaling test and bench; header-only because both link it.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"

namespace agentry::testing {

class PodLoad {
 public:
  PodLoad(kube::Client& client, std::string ns, std::string agent)
      : client_(client), ns_(std::move(ns)), agent_(std::move(agent)) {}
  ~PodLoad() { stop(); }
  PodLoad(const PodLoad&) = delete;
  PodLoad& operator=(const PodLoad&) = delete;

  // Sets the total (millicores) and starts spreading it, if not already.
  void set_total(int64_t millicores) {
    total_ = millicores;
    if (thread_.joinable()) return;
    running_ = true;
    thread_ = std::thread([this] {
      while (running_) {
        spread_once();
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    });
  }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void spread_once() {
    kube::ListOptions lo;
    lo.label_selector = "agentry.dev/agent=" + agent_;
    auto pods = client_.list(kube::resources::kPods, ns_, lo);
    if (!pods.ok() || !pods->contains("items") || !(*pods)["items"].is_array()) return;
    const auto& items = (*pods)["items"];
    if (items.empty()) return;
    const std::string each =
        std::to_string(total_.load() / static_cast<int64_t>(items.size())) + "m";
    for (const auto& p : items) {
      if (kube::annotations(p).value("kwok.x-k8s.io/usage-cpu", "") == each) continue;
      (void)client_.patch(kube::resources::kPods, ns_, kube::name(p), kube::PatchType::kMerge,
                          {{"metadata", {{"annotations", {{"kwok.x-k8s.io/usage-cpu", each}}}}}});
    }
  }

  kube::Client& client_;
  const std::string ns_, agent_;
  std::atomic<int64_t> total_{0};
  std::atomic<bool> running_{false};
  std::thread thread_;
};

// spec.replicas of the Agent's Deployment; -1 when there is none (yet).
inline int deployment_replicas(kube::Client& client, const std::string& ns,
                               const std::string& agent) {
  auto d = client.get(kube::resources::kDeployments, ns, agent + "-agent");
  if (!d.ok() || !d->is_object()) return -1;
  auto p = nlohmann::json::json_pointer("/spec/replicas");
  return d->contains(p) && d->at(p).is_number_integer() ? d->at(p).get<int>() : -1;
}

}  // namespace agentry::testing
