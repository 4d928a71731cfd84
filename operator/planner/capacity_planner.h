// Capacity planner: from a target load to replicas and per-pod resources.
//
// The guidelines' CapacityPlanner scales one baseline (1,000 rps at 150 ms, 50 KB and 1% of a core
// per request) linearly and rounds to whole machines: max(4, int(f * 8)) cores and max(8, int(f *
// 16)) GB, so 10 rps asks for 4 cores and 8 GB, and int() truncates 1.9 cores to 1. It also grows
// the response time with total load even though replicas are added. We keep the baseline, size
// per pod instead, round up (never down) to the API's units, and respect the utilization targets:
//
//   replicas        = clamp(ceil(target_rps / per_replica_rps), min_replicas, max_replicas)
//   rps_per_pod     = target_rps / replicas
//   cpu_request     = ceil10m(rps_per_pod * cpu_per_rps / cpu_target)     (70% busy at target)
//   in_flight       = rps_per_pod * latency                                (Little's law)
//   memory_request  = ceilMi((base_memory + in_flight * memory_per_request) / memory_target)
//   limits          = cpu 2 x request, memory 1.25 x request, clamped to the policy's ceilings and
//                     never below the request
//   latency         = baseline latency (pods run at the utilization target, so per-pod load
//                     stays at the baseline's)
//   redis           = pool base 20 + overflow 30 connections per pod; alert at the policy's %
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agentry::planner {

struct PlannerInputs {
  int64_t target_rps = 0;
  // From the policy's spec.capacity (defaults are the guidelines' baseline).
  int64_t baseline_rps = 1000;
  int64_t baseline_latency_ms = 150;
  int64_t memory_per_request_bytes = 50 * 1024;
  int64_t cpu_millicores_per_rps = 10;  // 1% of a core per request per second
  int64_t per_replica_rps = 500;
  int64_t base_memory_bytes = 64LL * 1024 * 1024;  // the sidecar's own footprint
  // From the policy's spec.autoscaling and spec.resources.max.
  int cpu_target_percent = 70;
  int memory_target_percent = 80;
  int min_replicas = 1;
  int max_replicas = 10000;
  int64_t max_cpu_millicores = 0;  // 0: no ceiling
  int64_t max_memory_bytes = 0;
  int redis_alert_percent = 80;
};

struct Plan {
  int replicas = 1;
  double rps_per_replica = 0;
  int64_t cpu_request_millicores = 0;
  int64_t cpu_limit_millicores = 0;
  int64_t memory_request_bytes = 0;
  int64_t memory_limit_bytes = 0;
  double in_flight_per_replica = 0;
  double estimated_latency_ms = 0;
  int redis_connections_max = 0;    // (base + overflow) * replicas
  int redis_connections_alert = 0;  // the alert threshold of that
  bool capped = false;  // max_replicas or a ceiling kept the plan from meeting the target
  std::string note;     // why, when capped
};

Plan plan(const PlannerInputs& in);

// Reads PlannerInputs' policy fields from an AgentPolicy's spec (missing fields keep defaults).
PlannerInputs inputs_from_policy(const nlohmann::json& policy_spec, int64_t target_rps);

// Quantities as the API writes them: "250m", "1", "512Mi".
std::string format_cpu(int64_t millicores);
std::string format_memory(int64_t bytes);
// Parses a Kubernetes quantity into millicores (cpu) or bytes (memory); false if malformed.
bool parse_cpu(const std::string& q, int64_t* millicores);
bool parse_memory(const std::string& q, int64_t* bytes);

// What the HPA settles on for a steady total CPU load, by the HPA controller's own rule
// (kube-controller-manager, replica_calculator.go): every sync it takes
//   ratio = (average pod usage / pod request) / target
// and, unless |ratio - 1| <= tolerance (0.1), asks for ceil(ratio x current replicas), clamped to
// [minReplicas, maxReplicas]; the behavior policies limit only how fast it gets there. With the
// load spread over the pods, ratio x n = load / (request x target), so the count it settles on is
// ceil(load / (request x target)) wherever it starts, unless it starts within the tolerance band.
// (Memory is left out: the sidecar's memory does not follow its CPU load.)
struct HpaWhatIf {
  int64_t load_millicores = 0;         // CPU all the Agent's pods use together
  int64_t cpu_request_millicores = 0;  // per pod
  int cpu_target_percent = 70;
  int min_replicas = 1;
  int max_replicas = 10000;
  int current_replicas = 1;  // where the HPA starts
  double tolerance = 0.1;    // the controller's --horizontal-pod-autoscaler-tolerance
};
struct HpaOutcome {
  int replicas = 1;                // settled
  double utilization_percent = 0;  // per pod at that count
  std::vector<int> steps;          // the counts it passes through, first = current
  bool limited = false;            // min or max replicas held it
};
HpaOutcome hpa_settle(const HpaWhatIf& w);

nlohmann::json to_json(const Plan& p);
// The table `agentry-operator plan` prints.
std::string to_text(const PlannerInputs& in, const Plan& p, const std::string& policy_name);

}  // namespace agentry::planner
