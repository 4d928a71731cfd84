// What the operator's flags set for every controller (operator/main.cpp fills it).
#pragma once

#include <chrono>
#include <string>

namespace agentry::controllers {

struct OperatorSettings {
  std::string sidecar_image = "ghcr.io/agentry-dev/agentry-sidecar:0.1.0";
  std::string operator_namespace = "agentry-system";
  std::string default_policy = "production";
  std::string watch_namespace;  // "": every namespace
  // How often a Ready Agent's memory fill is read from its sidecar into status.memory; 0: never.
  std::chrono::seconds memory_status_interval{60};
  // The Prometheus KEDA's prometheus scaler queries for the sidecars' executions_in_flight and
  // execution_queue_depth; "": scaling on executions is unavailable (Agents asking for it are
  // refused) and the operator does not watch ScaledObjects.
  std::string keda_prometheus_url;
};

}  // namespace agentry::controllers
