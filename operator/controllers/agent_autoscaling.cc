#include "operator/controllers/agent_autoscaling.h"

#include <map>
#include <string>

#include "operator/kube/object.h"

namespace agentry::controllers {
namespace {

using nlohmann::json;

const json* obj(const json& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_object() ? &*it : nullptr;
}
const json* arr(const json& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_array() ? &*it : nullptr;
}
int64_t integer(const json& o, const char* k, int64_t def) {
  auto it = o.find(k);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : def;
}

// "75%" or "3" (a quantity) of a MetricValueStatus / MetricTarget.
std::string value_of(const json* v) {
  if (!v) return "?";
  if (auto it = v->find("averageUtilization"); it != v->end() && it->is_number_integer())
    return std::to_string(it->get<int64_t>()) + "%";
  for (const char* k : {"averageValue", "value"}) {
    if (auto it = v->find(k); it != v->end()) {
      if (it->is_string()) return it->get<std::string>();
      if (it->is_number()) return it->dump();
    }
  }
  return "?";
}

// The metric's name: a resource's (cpu, memory) or a pods/object/external metric's.
std::string metric_name(const json& m) {
  const std::string type = kube::string_at(m, "type");
  if (type == "Resource") {
    if (const json* r = obj(m, "resource")) return kube::string_at(*r, "name");
  }
  for (const char* k : {"pods", "object", "external"}) {
    if (const json* s = obj(m, k)) {
      if (const json* mt = obj(*s, "metric")) return kube::string_at(*mt, "name");
    }
  }
  return type;
}
const json* section(const json& m) {
  for (const char* k : {"resource", "pods", "object", "external", "containerResource"})
    if (const json* s = obj(m, k)) return s;
  return nullptr;
}

// "cpu 75%/70%, memory 40%/80%": each current value (the HPA's last reading) over its target.
std::string metrics_line(const json& spec, const json& status,
                         const std::map<std::string, std::string>& display) {
  std::string out;
  const json* targets = arr(spec, "metrics");
  if (!targets) return out;
  const json* currents = arr(status, "currentMetrics");
  for (const auto& t : *targets) {
    if (!t.is_object()) continue;
    const std::string name = metric_name(t);
    std::string current = "<unknown>";
    if (currents) {
      for (const auto& c : *currents) {
        if (!c.is_object() || metric_name(c) != name) continue;
        const json* s = section(c);
        current = value_of(s ? obj(*s, "current") : nullptr);
      }
    }
    const json* s = section(t);
    auto shown = display.find(name);
    out += (out.empty() ? "" : ", ") + (shown == display.end() ? name : shown->second) + " " +
           current + "/" + value_of(s ? obj(*s, "target") : nullptr);
  }
  return out;
}

const json* hpa_condition(const json& status, const char* type) {
  const json* conds = arr(status, "conditions");
  if (!conds) return nullptr;
  for (const auto& c : *conds)
    if (c.is_object() && kube::string_at(c, "type") == type) return &c;
  return nullptr;
}

}  // namespace

AutoscalingReport autoscaling_report(bool enabled, int fixed_replicas, const json* hpa,
                                     const std::map<std::string, std::string>& display) {
  AutoscalingReport r;
  if (!enabled) {
    r.status = nullptr;
    r.condition = {"Autoscaling", false, "Disabled",
                   "autoscaling is off: " + std::to_string(fixed_replicas) + " fixed replica(s)"};
    return r;
  }
  if (!hpa || !hpa->is_object()) {
    r.status = nullptr;
    r.condition = {"Autoscaling", false, "HPAPending",
                   "waiting for the HorizontalPodAutoscaler to appear"};
    return r;
  }
  const json empty = json::object();
  const json* spec = obj(*hpa, "spec");
  const json* st = obj(*hpa, "status");
  if (!spec) spec = &empty;
  if (!st) st = &empty;
  r.status = {{"minReplicas", integer(*spec, "minReplicas", 1)},
              {"maxReplicas", integer(*spec, "maxReplicas", 1)},
              {"currentReplicas", integer(*st, "currentReplicas", 0)},
              {"desiredReplicas", integer(*st, "desiredReplicas", 0)},
              {"metrics", metrics_line(*spec, *st, display)}};
  if (const std::string t = kube::string_at(*st, "lastScaleTime"); !t.empty())
    r.status["lastScaleTime"] = t;

  const json* able = hpa_condition(*st, "AbleToScale");
  const json* active = hpa_condition(*st, "ScalingActive");
  const json* limited = hpa_condition(*st, "ScalingLimited");
  auto from = [](const json* c, bool ok) {
    return Condition{"Autoscaling", ok, kube::string_at(*c, "reason"),
                     kube::string_at(*c, "message")};
  };
  if (able && kube::string_at(*able, "status") == "False") {
    r.condition = from(able, false);
  } else if (active && kube::string_at(*active, "status") == "False") {
    r.condition = from(active, false);  // e.g. FailedGetResourceMetric: no metrics
  } else if (!active) {
    r.condition = {"Autoscaling", false, "HPAInitializing",
                   "the HorizontalPodAutoscaler has not computed a replica count yet"};
  } else if (limited && kube::string_at(*limited, "status") == "True") {
    r.condition = from(limited, true);  // TooManyReplicas / TooFewReplicas
  } else {
    r.condition = from(active, true);
  }
  if (r.condition.reason.empty()) r.condition.reason = "Unknown";
  return r;
}

}  // namespace agentry::controllers
