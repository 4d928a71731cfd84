#include "operator/planner/capacity_planner.h"

#include <gtest/gtest.h>

#include "operator/controllers/builtin_policies.h"

namespace agentry::planner {
namespace {

TEST(Quantity, ParsesAndFormats) {
  int64_t v = 0;
  ASSERT_TRUE(parse_cpu("250m", &v));
  EXPECT_EQ(v, 250);
  ASSERT_TRUE(parse_cpu("2", &v));
  EXPECT_EQ(v, 2000);
  ASSERT_TRUE(parse_cpu("0.5", &v));
  EXPECT_EQ(v, 500);
  ASSERT_TRUE(parse_memory("512Mi", &v));
  EXPECT_EQ(v, 512LL << 20);
  ASSERT_TRUE(parse_memory("1G", &v));
  EXPECT_EQ(v, 1000000000);
  ASSERT_TRUE(parse_memory("1e3", &v));
  EXPECT_EQ(v, 1000);
  EXPECT_FALSE(parse_memory("12Qi", &v));
  EXPECT_FALSE(parse_memory("abc", &v));
  EXPECT_FALSE(parse_cpu("-1", &v));
  EXPECT_EQ(format_cpu(1500), "1500m");
  EXPECT_EQ(format_cpu(2000), "2");
  EXPECT_EQ(format_memory(512LL << 20), "512Mi");
  EXPECT_EQ(format_memory(2LL << 30), "2Gi");
}

PlannerInputs production(int64_t rps) {
  return inputs_from_policy(controllers::production_policy()["spec"], rps);
}

// The guidelines' planner asks 4 cores and 8 GB for any small load; ours sizes a pod for it.
TEST(CapacityPlanner, SmallLoadIsNotRoundedToWholeMachines) {
  auto p = plan(production(10));
  EXPECT_EQ(p.replicas, 2);  // the production policy's minReplicas
  EXPECT_DOUBLE_EQ(p.rps_per_replica, 5.0);
  // 5 rps x 10 m / 0.7 = 71.4 m -> 80 m (rounded up to 10 m)
  EXPECT_EQ(p.cpu_request_millicores, 80);
  EXPECT_LT(p.memory_request_bytes, 1LL << 30);
}

TEST(CapacityPlanner, BaselineLoadFollowsTheFormulas) {
  auto in = production(1000);
  auto p = plan(in);
  EXPECT_EQ(p.replicas, 2);  // ceil(1000 / 500)
  EXPECT_DOUBLE_EQ(p.rps_per_replica, 500.0);
  // 500 rps x 10 m = 5000 m busy; / 0.70 = 7142.9 m -> 7150 m
  EXPECT_EQ(p.cpu_request_millicores, 7150);
  EXPECT_EQ(p.cpu_limit_millicores, 8000);  // 2x request, capped at the policy max of 8 cores
  // in flight = 500 x 0.150 = 75; (64 Mi + 75 x 50 KiB) / 0.8 = 84.58 Mi -> 85 Mi
  EXPECT_DOUBLE_EQ(p.in_flight_per_replica, 75.0);
  EXPECT_EQ(p.memory_request_bytes, 85LL << 20);
  EXPECT_EQ(p.memory_limit_bytes, 107LL << 20);  // ceil(85 x 1.25) Mi
  EXPECT_EQ(p.redis_connections_max, 100);       // 50 per pod
  EXPECT_EQ(p.redis_connections_alert, 80);
  EXPECT_DOUBLE_EQ(p.estimated_latency_ms, 150.0);
  EXPECT_FALSE(p.capped);
}

TEST(CapacityPlanner, TruncationNeverUndersizes) {
  auto in = production(1900);
  auto p = plan(in);
  EXPECT_EQ(p.replicas, 4);  // ceil(3.8), the guidelines' int() would give 3
  EXPECT_GE(p.cpu_request_millicores * p.replicas, 1900 * 10 * 100 / 70);
}

TEST(CapacityPlanner, ReportsWhenMaxReplicasCannotMeetTarget) {
  auto p = plan(production(100000));  // needs 200 replicas, production allows 20
  EXPECT_EQ(p.replicas, 20);
  EXPECT_TRUE(p.capped);
  EXPECT_NE(p.note.find("maxReplicas 20"), std::string::npos);
  EXPECT_LE(p.cpu_request_millicores, 8000);  // never above the policy's ceiling
}

TEST(CapacityPlanner, DevelopmentProfileUsesItsTargets) {
  auto in = inputs_from_policy(controllers::development_policy()["spec"], 100);
  EXPECT_EQ(in.cpu_target_percent, 90);
  EXPECT_EQ(in.memory_target_percent, 90);
  auto p = plan(in);
  EXPECT_EQ(p.replicas, 1);
  EXPECT_EQ(p.cpu_request_millicores, 1120);  // 100 x 10 / 0.9 = 1111.1 -> 1120
}

}  // namespace
}  // namespace agentry::planner

#include "operator/controllers/plan_command.h"

namespace agentry::controllers {
namespace {

int run(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return run_plan_command(static_cast<int>(argv.size()), argv.data());
}

TEST(PlanCommand, ValidatesItsFlags) {
  EXPECT_EQ(run({"plan"}), 2);
  EXPECT_EQ(run({"plan", "--target-rps", "0"}), 2);
  EXPECT_EQ(run({"plan", "--target-rps", "12x"}), 2);
  EXPECT_EQ(run({"plan", "--target-rps", "100", "--policy", "nope"}), 2);
  EXPECT_EQ(run({"plan", "--target-rps", "100", "-o", "xml"}), 2);
  EXPECT_EQ(run({"plan", "--target-rps", "100", "--policy-file", "/nonexistent.yaml"}), 1);
  EXPECT_EQ(run({"plan", "--target-rps", "100", "--policy", "development", "-o", "json"}), 0);
  EXPECT_EQ(run({"plan", "--target-rps", "2500", "--policy-file",
                 std::string(AGENTRY_REPO_DIR) + "/examples/policy.yaml"}),
            0);
}

}  // namespace
}  // namespace agentry::controllers

namespace agentry::planner {
namespace {

// The HPA's rule on the loads the autoscaling integration test drives (and observes): the counts
// here are the ones it sees a real HPA settle on.
TEST(HpaWhatIf, SettlesWhereTheHpaDoes) {
  HpaWhatIf w;
  w.cpu_request_millicores = 500;
  w.min_replicas = 1;
  w.max_replicas = 4;
  w.cpu_target_percent = 50;
  w.load_millicores = 625;  // 125% of one pod's request
  auto up = hpa_settle(w);
  EXPECT_EQ(up.replicas, 3);
  EXPECT_EQ(up.steps, (std::vector<int>{1, 3}));
  EXPECT_FALSE(up.limited);
  w.current_replicas = 3;
  w.load_millicores = 2000;  // eight pods' worth at the target
  auto capped = hpa_settle(w);
  EXPECT_EQ(capped.replicas, 4);
  EXPECT_TRUE(capped.limited);
  w.current_replicas = 4;
  w.load_millicores = 50;
  EXPECT_EQ(hpa_settle(w).replicas, 1);

  HpaWhatIf p;
  p.cpu_request_millicores = 500;
  p.max_replicas = 8;
  p.load_millicores = 1250;
  p.cpu_target_percent = 90;  // development
  auto dev = hpa_settle(p);
  EXPECT_EQ(dev.replicas, 3);
  p.current_replicas = 3;
  p.cpu_target_percent = 70;  // production
  EXPECT_EQ(hpa_settle(p).replicas, 4);
  p.current_replicas = 4;
  p.cpu_target_percent = 50;
  EXPECT_EQ(hpa_settle(p).replicas, 5);
}

TEST(HpaWhatIf, AStartWithinTheToleranceStays) {
  HpaWhatIf w;
  w.cpu_request_millicores = 1000;
  w.cpu_target_percent = 70;
  w.load_millicores = 2 * 750;  // 75% on two pods: within 10% of 70%
  w.current_replicas = 2;
  EXPECT_EQ(hpa_settle(w).replicas, 2);
  w.current_replicas = 1;  // from one pod: 150% -> ceil(2.14) = 3, then 50% -> ceil(2.14) = 3
  EXPECT_EQ(hpa_settle(w).replicas, 3);
}

}  // namespace
}  // namespace agentry::planner
