// What an Agent's status says about autoscaling, from its HorizontalPodAutoscaler: the replica
// counts and metric values the HPA last used (status.autoscaling) and an `Autoscaling` condition
// that carries the HPA's own reason when it cannot scale (no metrics, limited by max, ...), so
// `kubectl describe agent` says why it is not scaling. Pure: unit-tested in agent_autoscaling_test.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/controllers/conditions.h"

namespace agentry::controllers {

struct AutoscalingReport {
  nlohmann::json status;  // status.autoscaling; null when autoscaling is off
  Condition condition;    // type Autoscaling
};

// enabled: the Agent autoscales (else fixed_replicas run). hpa: the HPA the informer holds (ours,
// or the one KEDA made for the Agent's ScaledObject), or nullptr when it is not there (yet).
// display: names to show for metrics ("s2-prometheus" -> "in-flight"); others keep their own.
AutoscalingReport autoscaling_report(bool enabled, int fixed_replicas, const nlohmann::json* hpa,
                                     const std::map<std::string, std::string>& display = {});

}  // namespace agentry::controllers
