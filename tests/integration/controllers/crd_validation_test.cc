// The CRDs in crds/ on the real API server: the examples are accepted, and manifests that the
// schema or its CEL rules forbid are rejected with a message that names the field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/control_plane.h"

namespace agentry::testing {
namespace {

class CrdValidation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string err;
    cp_ = ControlPlane::shared(&err);
    ASSERT_NE(cp_, nullptr) << err;
    std::string out;
    ASSERT_TRUE(cp_->install_crds(&out)) << out;
  }
  // Server-side dry run of a manifest; returns kubectl's exit code and output.
  int dry_run(const std::string& manifest, std::string* out) {
    return cp_->kubectl_stdin({"apply", "--dry-run=server", "-n", "default", "-f", "-"}, manifest,
                              out);
  }
  static ControlPlane* cp_;
};
ControlPlane* CrdValidation::cp_ = nullptr;

std::string agent_with(const std::string& spec_yaml) {
  return "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: bad}\nspec:\n" +
         spec_yaml;
}
const char* kModel = "  model: {provider: ollama, name: llama3.2}\n";

TEST_F(CrdValidation, ExamplesAreAccepted) {
  std::string out;
  ASSERT_EQ(
      cp_->kubectl({"apply", "--dry-run=server", "-n", "default", "-f", repo_dir() + "/examples/"},
                   &out),
      0)
      << out;
  EXPECT_NE(out.find("agent.agentry.dev/researcher created"), std::string::npos) << out;
  EXPECT_NE(out.find("workflow.agentry.dev/brief created"), std::string::npos) << out;
}

struct BadCase {
  const char* what;
  std::string manifest;
  const char* must_mention;
};

TEST_F(CrdValidation, BadManifestsAreRejectedNamingTheField) {
  const std::string big(1 << 20, 'x');
  std::vector<BadCase> cases = {
      {"wrong type", agent_with("  model: {provider: ollama, name: m}\n  replicas: \"three\"\n"),
       "spec.replicas"},
      {"min > max",
       agent_with(std::string(kModel) + "  autoscaling: {minReplicas: 5, maxReplicas: 2}\n"),
       "minReplicas must be less than or equal to"},
      {"cpu target > 100",
       agent_with(std::string(kModel) + "  autoscaling: {targetCPUUtilizationPercentage: 150}\n"),
       "spec.autoscaling.targetCPUUtilizationPercentage"},
      {"memory target 0",
       agent_with(std::string(kModel) + "  autoscaling: {targetMemoryUtilizationPercentage: 0}\n"),
       "spec.autoscaling.targetMemoryUtilizationPercentage"},
      {"unknown provider", agent_with("  model: {provider: bard, name: m}\n"),
       "spec.model.provider"},
      {"empty model", agent_with("  model: {provider: ollama, name: \"\"}\n"), "spec.model.name"},
      {"missing model", agent_with("  systemPrompt: hi\n"), "spec.model"},
      {"bad quantity", agent_with(std::string(kModel) + "  resources: {requests: {cpu: lots}}\n"),
       "spec.resources.requests.cpu"},
      {"1 MiB system prompt", agent_with(std::string(kModel) + "  systemPrompt: " + big + "\n"),
       "spec.systemPrompt"},
      {"negative replicas", agent_with(std::string(kModel) + "  replicas: -1\n"), "spec.replicas"},
      {"bad endpoint",
       agent_with("  model: {provider: ollama, name: m, endpoint: \"not a url\"}\n"),
       "spec.model.endpoint"},
      {"openai without key", agent_with("  model: {provider: openai, name: gpt}\n"),
       "apiKeySecretRef"},
      {"bad memory backend", agent_with(std::string(kModel) + "  memory: {backend: postgres}\n"),
       "spec.memory.backend"},
      {"bad memory onFull", agent_with(std::string(kModel) + "  memory: {onFull: forget}\n"),
       "spec.memory.onFull"},
      {"no exchanges at all",
       agent_with(std::string(kModel) + "  memory: {exchanges: {maxEntries: 0}}\n"),
       "spec.memory.exchanges.maxEntries"},
      {"exchange ttl over a year",
       agent_with(std::string(kModel) + "  memory: {exchanges: {ttlSeconds: 40000000}}\n"),
       "spec.memory.exchanges.ttlSeconds"},
      {"duplicate tool names",
       agent_with(std::string(kModel) +
                  "  tools:\n  - {name: a, url: \"http://x\"}\n  - {name: a, url: \"http://y\"}\n"),
       "spec.tools"},
      {"workflow duplicate steps",
       "apiVersion: agentry.dev/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n"
       "  - {name: a, agentRef: {name: x}, input: i}\n  - {name: a, agentRef: {name: x}, input: "
       "i}\n",
       "step names must be unique"},
      {"workflow unknown dependency",
       "apiVersion: agentry.dev/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n"
       "  - {name: a, agentRef: {name: x}, input: i, dependsOn: [nope]}\n",
       "every dependsOn entry must name another step"},
      {"workflow self dependency",
       "apiVersion: agentry.dev/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps:\n"
       "  - {name: a, agentRef: {name: x}, input: i, dependsOn: [a]}\n",
       "every dependsOn entry must name another step"},
      {"workflow no steps",
       "apiVersion: agentry.dev/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps: "
       "[]\n",
       "spec.steps"},
      {"policy min > max",
       "apiVersion: agentry.dev/v1alpha1\nkind: AgentPolicy\nmetadata: {name: p}\nspec:\n"
       "  autoscaling: {minReplicas: 9, maxReplicas: 3}\n",
       "minReplicas must be less than or equal to maxReplicas"},
  };
  ASSERT_GE(cases.size(), 12u);
  for (const auto& c : cases) {
    std::string out;
    EXPECT_NE(dry_run(c.manifest, &out), 0) << c.what << " was accepted:\n" << out;
    EXPECT_NE(out.find(c.must_mention), std::string::npos)
        << c.what << ": the error does not mention '" << c.must_mention << "':\n"
        << out.substr(0, 2000);
  }
}

TEST_F(CrdValidation, DefaultsAreFilledAndCategoryListsAllKinds) {
  std::string out;
  ASSERT_EQ(dry_run(agent_with(kModel), &out), 0) << out;
  ASSERT_EQ(
      cp_->kubectl_stdin({"apply", "--dry-run=server", "-n", "default", "-o", "json", "-f", "-"},
                         agent_with(kModel), &out),
      0)
      << out;
  auto obj = nlohmann::json::parse(out);
  EXPECT_EQ(obj["spec"]["execution"]["maxConcurrency"], 200);
  EXPECT_EQ(obj["spec"]["model"]["temperature"], 0);
  // Memory retention: facts refused at the bound unless asked otherwise, exchanges live a week.
  EXPECT_EQ(obj["spec"]["memory"]["onFull"], "refuse");
  EXPECT_EQ(obj["spec"]["memory"]["exchanges"]["ttlSeconds"], 604800);
  EXPECT_FALSE(obj["spec"]["memory"]["exchanges"].contains("maxEntries"))
      << "sized by the operator";
  ASSERT_EQ(cp_->kubectl({"get", "agentry", "-A"}, &out), 0) << out;
  ASSERT_EQ(cp_->kubectl({"api-resources", "--categories=agentry", "-o", "name"}, &out), 0) << out;
  EXPECT_NE(out.find("agents.agentry.dev"), std::string::npos);
  EXPECT_NE(out.find("workflows.agentry.dev"), std::string::npos);
  EXPECT_NE(out.find("agentpolicies.agentry.dev"), std::string::npos);
}

}  // namespace
}  // namespace agentry::testing
