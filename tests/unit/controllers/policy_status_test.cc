// AgentPolicy status shared by operators scoped to different namespaces: each owns its key.
#include <gtest/gtest.h>

#include "operator/controllers/policy_controller.h"

namespace agentry::controllers {
namespace {

using nlohmann::json;

json policy(json status) {
  json p = {{"apiVersion", "agentry.dev/v1alpha1"},
            {"kind", "AgentPolicy"},
            {"metadata", {{"name", "p"}, {"generation", 2}, {"resourceVersion", "41"}}},
            {"spec", json::object()}};
  if (!status.is_null()) p["status"] = status;
  return p;
}

TEST(PolicyStatusPatch, AScopedOperatorWritesItsKeyAndKeepsTheOthers) {
  json patch = policy_status_patch(
      policy({{"agents", 3}, {"agentsByNamespace", {{"team-b", 3}}}, {"observedGeneration", 2}}),
      {{"team-a", 2}}, "team-a");
  ASSERT_TRUE(patch.is_object());
  EXPECT_EQ(patch["metadata"]["resourceVersion"], "41") << "stale writes must conflict";
  EXPECT_EQ(patch["status"]["agents"], 5);
  EXPECT_EQ(patch["status"]["agentsByNamespace"], json({{"team-a", 2}, {"team-b", 3}}));
  EXPECT_EQ(patch["status"]["observedGeneration"], 2);
}

TEST(PolicyStatusPatch, AScopedOperatorRemovesItsKeyAtZeroAndIgnoresOtherNamespaces) {
  json patch = policy_status_patch(
      policy({{"agents", 4}, {"agentsByNamespace", {{"team-a", 1}, {"team-b", 3}}}}),
      {{"team-a", 0}, {"team-c", 7}}, "team-a");
  ASSERT_TRUE(patch.is_object());
  EXPECT_EQ(patch["status"]["agents"], 3);
  EXPECT_TRUE(patch["status"]["agentsByNamespace"]["team-a"].is_null());
  EXPECT_EQ(patch["status"]["agentsByNamespace"]["team-b"], 3);
  EXPECT_FALSE(patch["status"]["agentsByNamespace"].contains("team-c"));
}

TEST(PolicyStatusPatch, AClusterWideOperatorOwnsTheWholeMap) {
  json patch = policy_status_patch(policy({{"agents", 4}, {"agentsByNamespace", {{"gone", 4}}}}),
                                   {{"a", 1}, {"b", 2}}, "");
  ASSERT_TRUE(patch.is_object());
  EXPECT_EQ(patch["status"]["agents"], 3);
  EXPECT_EQ(patch["status"]["agentsByNamespace"], json({{"a", 1}, {"b", 2}, {"gone", nullptr}}));
}

TEST(PolicyStatusPatch, NothingToWriteWhenTheStatusAlreadySaysSo) {
  json current = policy(
      {{"agents", 3}, {"agentsByNamespace", {{"a", 1}, {"b", 2}}}, {"observedGeneration", 2}});
  EXPECT_TRUE(policy_status_patch(current, {{"a", 1}}, "a").is_null());
  EXPECT_TRUE(policy_status_patch(current, {{"a", 1}, {"b", 2}}, "").is_null());
  // A new generation is observed even when the counts hold.
  current["metadata"]["generation"] = 3;
  EXPECT_FALSE(policy_status_patch(current, {{"a", 1}}, "a").is_null());
  // A fresh policy with no Agents still gets agents: 0.
  json fresh = policy_status_patch(policy(nullptr), {}, "a");
  ASSERT_TRUE(fresh.is_object());
  EXPECT_EQ(fresh["status"]["agents"], 0);
  EXPECT_EQ(fresh["status"]["agentsByNamespace"], json::object());
}

}  // namespace
}  // namespace agentry::controllers
