#include "operator/runtime/metrics.h"

#include "common/metrics.h"

namespace agentry::runtime {

RuntimeMetrics& runtime_metrics() {
  auto& reg = *metrics::registry();
  static RuntimeMetrics m{
      prometheus::BuildCounter()
          .Name("controller_runtime_reconcile_total")
          .Help("Total number of reconciliations per controller, by result.")
          .Register(reg),
      prometheus::BuildCounter()
          .Name("controller_runtime_reconcile_errors_total")
          .Help("Total number of reconciliation errors per controller.")
          .Register(reg),
      prometheus::BuildHistogram()
          .Name("controller_runtime_reconcile_time_seconds")
          .Help("Length of time per reconciliation per controller.")
          .Register(reg),
      prometheus::BuildGauge()
          .Name("controller_runtime_active_workers")
          .Help("Number of currently used workers per controller.")
          .Register(reg),
      prometheus::BuildGauge()
          .Name("workqueue_depth")
          .Help("Current depth of the work queue.")
          .Register(reg),
      prometheus::BuildCounter()
          .Name("workqueue_adds_total")
          .Help("Total number of adds handled by the work queue.")
          .Register(reg),
      prometheus::BuildHistogram()
          .Name("workqueue_queue_duration_seconds")
          .Help("How long an item stays in the work queue before being requested.")
          .Register(reg),
      prometheus::BuildHistogram()
          .Name("workqueue_work_duration_seconds")
          .Help("How long processing an item from the work queue takes.")
          .Register(reg),
      prometheus::BuildCounter()
          .Name("workqueue_retries_total")
          .Help("Total number of retries handled by the work queue.")
          .Register(reg),
      prometheus::BuildGauge()
          .Name("leader_election_master_status")
          .Help("1 if this process holds the leader lease, else 0.")
          .Register(reg)};
  return m;
}

}  // namespace agentry::runtime
