#include "operator/controllers/workflow_slots.h"

#include <algorithm>

namespace agentry::controllers::workflow {

bool SlotLimiter::reserve_workflow(const std::string& key, const std::string& ns) {
  if (max_workflows_ <= 0) return true;
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (const auto& [k, c] : counts_)
    if (k != key) n += c.active;
  if (n >= max_workflows_) return false;
  auto& me = counts_[key];
  me.ns = ns;
  me.active = true;
  return true;
}

int SlotLimiter::reserve_steps(const std::string& key, const std::string& ns, int running_here,
                               int wanted) {
  if (namespace_parallelism_ <= 0 || wanted <= 0) return std::max(0, wanted);
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (const auto& [k, c] : counts_)
    if (c.ns == ns && k != key) n += c.running;
  const int granted = std::clamp(namespace_parallelism_ - n - running_here, 0, wanted);
  auto& me = counts_[key];
  me.ns = ns;
  me.running = running_here + granted;
  return granted;
}

void SlotLimiter::settle(const std::string& key, const std::string& ns, int running, bool active) {
  std::lock_guard<std::mutex> l(mu_);
  auto& me = counts_[key];
  me.ns = ns;
  me.running = running;
  me.active = active;
}

void SlotLimiter::forget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  counts_.erase(key);
}

int SlotLimiter::active() const {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (const auto& [k, c] : counts_) n += c.active;
  return n;
}

std::string SlotLimiter::workflow_refusal() const {
  return "queued: " + std::to_string(max_workflows_) +
         " workflows are running (the operator's max concurrent workflows)";
}

std::string SlotLimiter::step_refusal(const std::string& ns) const {
  return "waiting: namespace " + ns + " runs " + std::to_string(namespace_parallelism_) +
         " steps (the operator's per-namespace limit)";
}

}  // namespace agentry::controllers::workflow
