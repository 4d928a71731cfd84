// The controller-runtime metric families (same names as Go's controller-runtime and client-go),
// registered once in the process registry (common/metrics.h).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

namespace agentry::runtime {

struct RuntimeMetrics {
  prometheus::Family<prometheus::Counter>& reconcile_total;   // {controller,result}
  prometheus::Family<prometheus::Counter>& reconcile_errors;  // {controller}
  prometheus::Family<prometheus::Histogram>& reconcile_time;  // {controller}
  prometheus::Family<prometheus::Gauge>& active_workers;      // {controller}
  prometheus::Family<prometheus::Gauge>& workqueue_depth;     // {name}
  prometheus::Family<prometheus::Counter>& workqueue_adds;
  prometheus::Family<prometheus::Histogram>& workqueue_queue_duration;
  prometheus::Family<prometheus::Histogram>& workqueue_work_duration;
  prometheus::Family<prometheus::Counter>& workqueue_retries;
  prometheus::Family<prometheus::Gauge>& leader_status;  // {name}
};

RuntimeMetrics& runtime_metrics();

}  // namespace agentry::runtime
