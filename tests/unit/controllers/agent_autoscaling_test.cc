// The Agent's autoscaling status and condition from its HPA (agent_autoscaling.h).
#include "operator/controllers/agent_autoscaling.h"

#include <gtest/gtest.h>

namespace agentry::controllers {
namespace {

using nlohmann::json;

json hpa(json conditions, json current = json::array()) {
  return {
      {"spec",
       {{"minReplicas", 2},
        {"maxReplicas", 10},
        {"metrics",
         {{{"type", "Resource"},
           {"resource",
            {{"name", "cpu"}, {"target", {{"type", "Utilization"}, {"averageUtilization", 70}}}}}},
          {{"type", "Resource"},
           {"resource",
            {{"name", "memory"},
             {"target", {{"type", "Utilization"}, {"averageUtilization", 80}}}}}}}}}},
      {"status",
       {{"currentReplicas", 3},
        {"desiredReplicas", 4},
        {"lastScaleTime", "2026-12-03T17:00:00Z"},
        {"currentMetrics", current},
        {"conditions", conditions}}}};
}

json cond(const std::string& type, const std::string& status, const std::string& reason,
          const std::string& message) {
  return {{"type", type}, {"status", status}, {"reason", reason}, {"message", message}};
}

TEST(AgentAutoscaling, ReportsCountsAndEachMetricOverItsTarget) {
  json current = {{{"type", "Resource"},
                   {"resource", {{"name", "cpu"}, {"current", {{"averageUtilization", 93}}}}}}};
  json h = hpa({cond("AbleToScale", "True", "SucceededRescale", "ok"),
                cond("ScalingActive", "True", "ValidMetricFound", "the HPA was able"),
                cond("ScalingLimited", "False", "DesiredWithinRange", "in range")},
               current);
  auto r = autoscaling_report(true, 1, &h);
  EXPECT_EQ(r.status["currentReplicas"], 3);
  EXPECT_EQ(r.status["desiredReplicas"], 4);
  EXPECT_EQ(r.status["minReplicas"], 2);
  EXPECT_EQ(r.status["maxReplicas"], 10);
  EXPECT_EQ(r.status["metrics"], "cpu 93%/70%, memory <unknown>/80%");
  EXPECT_EQ(r.status["lastScaleTime"], "2026-12-03T17:00:00Z");
  EXPECT_TRUE(r.condition.status);
  EXPECT_EQ(r.condition.type, "Autoscaling");
  EXPECT_EQ(r.condition.reason, "ValidMetricFound");
}

// KEDA's HPA: the external metric of the in-flight trigger shows under its display name.
TEST(AgentAutoscaling, ExternalMetricsShowUnderTheirDisplayNames) {
  json h = hpa(
      {cond("ScalingActive", "True", "ValidMetricFound", "ok")},
      {{{"type", "External"},
        {"external",
         {{"metric", {{"name", "s2-prometheus"}}}, {"current", {{"averageValue", "2500m"}}}}}}});
  h["spec"]["metrics"].push_back(
      {{"type", "External"},
       {"external",
        {{"metric", {{"name", "s2-prometheus"}}},
         {"target", {{"type", "AverageValue"}, {"averageValue", "2"}}}}}});
  auto r = autoscaling_report(true, 1, &h, {{"s2-prometheus", "in-flight"}});
  EXPECT_EQ(r.status["metrics"], "cpu <unknown>/70%, memory <unknown>/80%, in-flight 2500m/2");
  EXPECT_EQ(autoscaling_report(true, 1, &h).status["metrics"],
            "cpu <unknown>/70%, memory <unknown>/80%, s2-prometheus 2500m/2");
}

TEST(AgentAutoscaling, CarriesTheHpasReasonWhenItCannotScale) {
  json h = hpa({cond("AbleToScale", "True", "SucceededGetScale", "ok"),
                cond("ScalingActive", "False", "FailedGetResourceMetric",
                     "unable to get metrics for resource cpu")});
  auto r = autoscaling_report(true, 1, &h);
  EXPECT_FALSE(r.condition.status);
  EXPECT_EQ(r.condition.reason, "FailedGetResourceMetric");
  EXPECT_EQ(r.condition.message, "unable to get metrics for resource cpu");

  json limited = hpa({cond("AbleToScale", "True", "ReadyForNewScale", "ok"),
                      cond("ScalingActive", "True", "ValidMetricFound", "ok"),
                      cond("ScalingLimited", "True", "TooManyReplicas",
                           "the desired replica count is more than the maximum replica count")});
  auto l = autoscaling_report(true, 1, &limited);
  EXPECT_TRUE(l.condition.status);
  EXPECT_EQ(l.condition.reason, "TooManyReplicas");

  json cannot = hpa({cond("AbleToScale", "False", "FailedGetScale", "no scale subresource")});
  EXPECT_EQ(autoscaling_report(true, 1, &cannot).condition.reason, "FailedGetScale");
}

TEST(AgentAutoscaling, OffMissingAndNewHpasSaySo) {
  auto off = autoscaling_report(false, 3, nullptr);
  EXPECT_TRUE(off.status.is_null());
  EXPECT_FALSE(off.condition.status);
  EXPECT_EQ(off.condition.reason, "Disabled");
  EXPECT_NE(off.condition.message.find("3 fixed"), std::string::npos);
  auto missing = autoscaling_report(true, 1, nullptr);
  EXPECT_EQ(missing.condition.reason, "HPAPending");
  json fresh = {{"spec", {{"minReplicas", 1}, {"maxReplicas", 2}}}};
  auto f = autoscaling_report(true, 1, &fresh);
  EXPECT_EQ(f.condition.reason, "HPAInitializing");
  EXPECT_EQ(f.status["metrics"], "");
  json garbage = {{"spec", 5}, {"status", {{"conditions", "x"}}}};
  EXPECT_EQ(autoscaling_report(true, 1, &garbage).condition.reason, "HPAInitializing");
}

}  // namespace
}  // namespace agentry::controllers
