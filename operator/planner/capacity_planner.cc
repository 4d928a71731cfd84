#include "operator/planner/capacity_planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace agentry::planner {
namespace {

constexpr int kRedisPoolBase = 20;
constexpr int kRedisPoolOverflow = 30;
constexpr int64_t kMi = 1024 * 1024;

int64_t ceil_to(double v, int64_t unit) {
  return static_cast<int64_t>(std::ceil(v / static_cast<double>(unit) - 1e-9)) * unit;
}

// Parses a quantity into a multiple of `base` units (1 for bytes, 1/1000 for cores -> millis).
bool parse_quantity(const std::string& q, double* value) {
  if (q.empty()) return false;
  char* end = nullptr;
  double number = std::strtod(q.c_str(), &end);
  if (end == q.c_str() || !std::isfinite(number)) return false;
  std::string suffix(end);
  // strtod accepts "1e3" itself; reject leftovers like "1e" handled by the table below.
  static const std::pair<const char*, double> kSuffixes[] = {{"", 1},
                                                             {"n", 1e-9},
                                                             {"u", 1e-6},
                                                             {"m", 1e-3},
                                                             {"k", 1e3},
                                                             {"M", 1e6},
                                                             {"G", 1e9},
                                                             {"T", 1e12},
                                                             {"P", 1e15},
                                                             {"E", 1e18},
                                                             {"Ki", 1024.0},
                                                             {"Mi", 1048576.0},
                                                             {"Gi", 1073741824.0},
                                                             {"Ti", 1099511627776.0},
                                                             {"Pi", 1125899906842624.0},
                                                             {"Ei", 1152921504606846976.0}};
  for (auto& [s, mult] : kSuffixes) {
    if (suffix == s) {
      *value = number * mult;
      return number >= 0;
    }
  }
  return false;
}

int64_t json_int(const nlohmann::json& j, const char* ptr, int64_t def) {
  auto p = nlohmann::json::json_pointer(ptr);
  if (!j.contains(p) || !j.at(p).is_number()) return def;
  // A float out of int64's range is undefined behaviour to convert: clamp it first.
  if (j.at(p).is_number_float()) {
    const double v = j.at(p).get<double>();
    if (!std::isfinite(v)) return def;
    return static_cast<int64_t>(std::clamp(v, -9.0e18, 9.0e18));
  }
  return j.at(p).get<int64_t>();
}

std::string json_str(const nlohmann::json& j, const char* ptr) {
  auto p = nlohmann::json::json_pointer(ptr);
  if (!j.contains(p)) return "";
  const auto& v = j.at(p);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return "";
}

}  // namespace

bool parse_cpu(const std::string& q, int64_t* millicores) {
  double v = 0;
  if (!parse_quantity(q, &v)) return false;
  *millicores = static_cast<int64_t>(std::ceil(v * 1000 - 1e-9));
  return true;
}

bool parse_memory(const std::string& q, int64_t* bytes) {
  double v = 0;
  if (!parse_quantity(q, &v)) return false;
  *bytes = static_cast<int64_t>(std::ceil(v - 1e-9));
  return true;
}

std::string format_cpu(int64_t m) {
  if (m % 1000 == 0) return std::to_string(m / 1000);
  return std::to_string(m) + "m";
}

std::string format_memory(int64_t b) {
  if (b % (1024 * kMi) == 0) return std::to_string(b / (1024 * kMi)) + "Gi";
  if (b % kMi == 0) return std::to_string(b / kMi) + "Mi";
  if (b % 1024 == 0) return std::to_string(b / 1024) + "Ki";
  return std::to_string(b);
}

Plan plan(const PlannerInputs& in) {
  Plan p;
  const int min_r = std::max(1, in.min_replicas);
  const int max_r = std::max(min_r, in.max_replicas);
  const double per_replica = static_cast<double>(std::max<int64_t>(1, in.per_replica_rps));
  int64_t needed =
      static_cast<int64_t>(std::ceil(static_cast<double>(in.target_rps) / per_replica));
  p.replicas = static_cast<int>(std::clamp<int64_t>(needed, min_r, max_r));
  if (needed > max_r) {
    p.capped = true;
    p.note = "maxReplicas " + std::to_string(max_r) + " < " + std::to_string(needed) +
             " replicas needed at " + std::to_string(in.per_replica_rps) + " rps each";
  }
  p.rps_per_replica = static_cast<double>(in.target_rps) / p.replicas;

  const double cpu_target = std::clamp(in.cpu_target_percent, 1, 100) / 100.0;
  const double mem_target = std::clamp(in.memory_target_percent, 1, 100) / 100.0;
  double cpu_demand_m = p.rps_per_replica * static_cast<double>(in.cpu_millicores_per_rps);
  p.cpu_request_millicores = std::max<int64_t>(10, ceil_to(cpu_demand_m / cpu_target, 10));

  p.in_flight_per_replica =
      p.rps_per_replica * static_cast<double>(in.baseline_latency_ms) / 1000.0;
  double mem = static_cast<double>(in.base_memory_bytes) +
               p.in_flight_per_replica * static_cast<double>(in.memory_per_request_bytes);
  p.memory_request_bytes = ceil_to(mem / mem_target, kMi);

  p.cpu_limit_millicores = p.cpu_request_millicores * 2;
  p.memory_limit_bytes = ceil_to(static_cast<double>(p.memory_request_bytes) * 1.25, kMi);
  auto cap = [&](int64_t* request, int64_t* limit, int64_t ceiling, const char* what) {
    if (ceiling <= 0) return;
    if (*request > ceiling) {
      p.capped = true;
      p.note +=
          std::string(p.note.empty() ? "" : "; ") + what + " request capped at the policy maximum";
      *request = ceiling;
    }
    *limit = std::min(*limit, ceiling);
  };
  cap(&p.cpu_request_millicores, &p.cpu_limit_millicores, in.max_cpu_millicores, "cpu");
  cap(&p.memory_request_bytes, &p.memory_limit_bytes, in.max_memory_bytes, "memory");
  p.cpu_limit_millicores = std::max(p.cpu_limit_millicores, p.cpu_request_millicores);
  p.memory_limit_bytes = std::max(p.memory_limit_bytes, p.memory_request_bytes);

  p.estimated_latency_ms = static_cast<double>(in.baseline_latency_ms);
  p.redis_connections_max = (kRedisPoolBase + kRedisPoolOverflow) * p.replicas;
  p.redis_connections_alert =
      p.redis_connections_max * std::clamp(in.redis_alert_percent, 1, 100) / 100;
  return p;
}

PlannerInputs inputs_from_policy(const nlohmann::json& spec, int64_t target_rps) {
  PlannerInputs in;
  in.target_rps = target_rps;
  in.baseline_rps = json_int(spec, "/capacity/baselineRPS", in.baseline_rps);
  in.baseline_latency_ms =
      json_int(spec, "/capacity/baselineLatencyMillis", in.baseline_latency_ms);
  in.memory_per_request_bytes =
      json_int(spec, "/capacity/memoryPerRequestBytes", in.memory_per_request_bytes);
  in.cpu_millicores_per_rps =
      json_int(spec, "/capacity/cpuMillicoresPerRPS", in.cpu_millicores_per_rps);
  in.per_replica_rps = json_int(spec, "/capacity/perReplicaRPS", in.per_replica_rps);
  in.cpu_target_percent =
      static_cast<int>(json_int(spec, "/autoscaling/targetCPUUtilizationPercentage", 70));
  in.memory_target_percent =
      static_cast<int>(json_int(spec, "/autoscaling/targetMemoryUtilizationPercentage", 80));
  in.min_replicas = static_cast<int>(json_int(spec, "/autoscaling/minReplicas", 1));
  in.max_replicas = static_cast<int>(json_int(spec, "/autoscaling/maxReplicas", 10000));
  in.redis_alert_percent = static_cast<int>(json_int(spec, "/redisPoolAlertPercent", 80));
  int64_t v = 0;
  if (parse_cpu(json_str(spec, "/resources/max/cpu"), &v)) in.max_cpu_millicores = v;
  if (parse_memory(json_str(spec, "/resources/max/memory"), &v)) in.max_memory_bytes = v;
  return in;
}

HpaOutcome hpa_settle(const HpaWhatIf& w) {
  HpaOutcome out;
  const int lo = std::clamp(w.min_replicas, 1, 1000000),
            hi = std::clamp(w.max_replicas, lo, 1000000);
  // Bounded so 100 x load and replicas x request stay far inside int64 for any flag value.
  constexpr int64_t kMaxMillicores = 1'000'000'000'000;
  const int64_t request = std::clamp<int64_t>(w.cpu_request_millicores, 1, kMaxMillicores);
  const int64_t load_m = std::clamp<int64_t>(w.load_millicores, 0, kMaxMillicores);
  const int target = std::max(1, w.cpu_target_percent);
  int n = std::clamp(w.current_replicas, lo, hi);
  out.steps.push_back(n);
  for (int i = 0; i < 64; ++i) {
    // Whole percent, as the controller computes it (GetResourceUtilizationRatio).
    const int64_t utilization = 100 * load_m / (n * request);
    const double ratio = static_cast<double>(utilization) / target;
    if (std::abs(ratio - 1.0) <= w.tolerance) break;
    const double want = std::ceil(ratio * n);
    out.limited = want > hi || want < lo;
    const int next = static_cast<int>(std::clamp<double>(want, lo, hi));
    if (next == n) break;
    n = next;
    out.steps.push_back(n);
  }
  out.replicas = n;
  out.utilization_percent = 100.0 * static_cast<double>(load_m) / (n * request);
  return out;
}

nlohmann::json to_json(const Plan& p) {
  return {{"replicas", p.replicas},
          {"rpsPerReplica", p.rps_per_replica},
          {"resources",
           {{"requests",
             {{"cpu", format_cpu(p.cpu_request_millicores)},
              {"memory", format_memory(p.memory_request_bytes)}}},
            {"limits",
             {{"cpu", format_cpu(p.cpu_limit_millicores)},
              {"memory", format_memory(p.memory_limit_bytes)}}}}},
          {"inFlightPerReplica", p.in_flight_per_replica},
          {"estimatedLatencyMillis", p.estimated_latency_ms},
          {"redisConnectionsMax", p.redis_connections_max},
          {"redisConnectionsAlert", p.redis_connections_alert},
          {"capped", p.capped},
          {"note", p.note}};
}

std::string to_text(const PlannerInputs& in, const Plan& p, const std::string& policy) {
  std::ostringstream o;
  char buf[256];
  o << "capacity plan for " << in.target_rps << " rps (policy " << policy << ")\n";
  std::snprintf(buf, sizeof buf, "  %-28s %d (%.1f rps each, %lld rps per replica at target)\n",
                "replicas", p.replicas, p.rps_per_replica,
                static_cast<long long>(in.per_replica_rps));
  o << buf;
  o << "  cpu request / limit          " << format_cpu(p.cpu_request_millicores) << " / "
    << format_cpu(p.cpu_limit_millicores) << "  (busy " << in.cpu_target_percent
    << "% at target)\n";
  o << "  memory request / limit       " << format_memory(p.memory_request_bytes) << " / "
    << format_memory(p.memory_limit_bytes) << "  (used " << in.memory_target_percent
    << "% at target)\n";
  std::snprintf(buf, sizeof buf, "  %-28s %.1f per replica (Little's law: rps x %lld ms)\n",
                "in-flight requests", p.in_flight_per_replica,
                static_cast<long long>(in.baseline_latency_ms));
  o << buf;
  std::snprintf(buf, sizeof buf, "  %-28s %.0f ms\n", "estimated latency", p.estimated_latency_ms);
  o << buf;
  o << "  redis connections            up to " << p.redis_connections_max << " (alert at "
    << p.redis_connections_alert << ")\n";
  o << "  total                        " << format_cpu(p.cpu_request_millicores * p.replicas)
    << " cpu, " << format_memory(p.memory_request_bytes * p.replicas) << " memory requested\n";
  if (p.capped) o << "  WARNING: " << p.note << "\n";
  return o.str();
}

}  // namespace agentry::planner
