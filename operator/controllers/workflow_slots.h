// The operator's limits on running Workflows, shared by the Workflow controller's workers:
// --max-concurrent-workflows (started, unfinished Workflows) and --workflow-namespace-parallelism
// (Running steps per namespace); 0 is no limit.
//
// A reconcile reserves before it dispatches and settles after it wrote its status:
//
//   bool may_start = slots.reserve_workflow(key, ns);
//   int granted = slots.reserve_steps(key, ns, running_here, wanted);
//   ... dispatch at most `granted` steps ...
//   slots.settle(key, ns, running_after, started_and_unfinished);
//
// A check and its reservation are one step under the lock, so Workflows reconciled at the same
// moment on different workers cannot all pass the check before any of them is counted; settle()
// makes the counts exact again (a reservation that was not used is returned there). The counts are
// rebuilt from the Workflows' statuses after a restart, as each is reconciled. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

namespace agentry::controllers::workflow {

class SlotLimiter {
 public:
  SlotLimiter(int max_workflows, int namespace_parallelism)
      : max_workflows_(max_workflows), namespace_parallelism_(namespace_parallelism) {}

  // True when the Workflow may start (no limit, or fewer others started): it is then counted.
  bool reserve_workflow(const std::string& key, const std::string& ns);
  // How many of `wanted` more steps the Workflow may start beside its running_here ones (no limit:
  // all of them); they are counted until settle().
  int reserve_steps(const std::string& key, const std::string& ns, int running_here, int wanted);
  // The Workflow's exact counts after a reconcile.
  void settle(const std::string& key, const std::string& ns, int running, bool active);
  // The Workflow is gone.
  void forget(const std::string& key);
  // Started, unfinished Workflows (the workflows_running gauge).
  int active() const;

  // The status message of a Workflow that was refused a slot.
  std::string workflow_refusal() const;
  std::string step_refusal(const std::string& ns) const;

 private:
  struct Counts {
    std::string ns;
    int running = 0;      // steps Running
    bool active = false;  // started and not finished
  };
  const int max_workflows_, namespace_parallelism_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Counts> counts_;  // by Workflow key; guarded by mu_
};

}  // namespace agentry::controllers::workflow
