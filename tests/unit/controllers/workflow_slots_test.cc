// The operator's Workflow limits (workflow_slots.h): checks and reservations are one step.
#include "operator/controllers/workflow_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace agentry::controllers::workflow {
namespace {

TEST(SlotLimiter, NoLimitGrantsEverything) {
  SlotLimiter s(0, 0);
  EXPECT_TRUE(s.reserve_workflow("ns/a", "ns"));
  EXPECT_EQ(s.reserve_steps("ns/a", "ns", 10, 7), 7);
}

TEST(SlotLimiter, StepsPerNamespaceAreShared) {
  SlotLimiter s(0, 3);
  EXPECT_EQ(s.reserve_steps("ns/a", "ns", 0, 2), 2);
  EXPECT_EQ(s.reserve_steps("ns/b", "ns", 0, 2), 1);  // a holds two of three
  EXPECT_EQ(s.reserve_steps("other/c", "other", 0, 3), 3);
  s.settle("ns/a", "ns", 0, true);  // a's steps ended
  EXPECT_EQ(s.reserve_steps("ns/b", "ns", 1, 5), 2);
  EXPECT_EQ(s.step_refusal("ns"),
            "waiting: namespace ns runs 3 steps (the operator's per-namespace limit)");
}

TEST(SlotLimiter, WorkflowsStartUpToTheLimitAndForgetFreesOne) {
  SlotLimiter s(2, 0);
  EXPECT_TRUE(s.reserve_workflow("ns/a", "ns"));
  EXPECT_TRUE(s.reserve_workflow("ns/b", "ns"));
  EXPECT_FALSE(s.reserve_workflow("ns/c", "ns"));
  EXPECT_TRUE(s.reserve_workflow("ns/a", "ns"));  // a holds its own slot
  EXPECT_EQ(s.active(), 2);
  s.forget("ns/a");
  EXPECT_TRUE(s.reserve_workflow("ns/c", "ns"));
  s.settle("ns/b", "ns", 0, false);  // b finished
  EXPECT_EQ(s.active(), 1);
}

TEST(SlotLimiter, ConcurrentReservationsNeverExceedTheLimit) {
  SlotLimiter s(0, 5);
  std::atomic<int> granted{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&, t] { granted += s.reserve_steps("ns/w" + std::to_string(t), "ns", 0, 2); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(granted.load(), 5);
}

}  // namespace
}  // namespace agentry::controllers::workflow
