// The config the operator renders for an Agent is accepted by the sidecar it configures: the same
// file, checked by the real `agentry-sidecar --check-config`.
#include <gtest/gtest.h>

#include "operator/controllers/agent_render.h"
#include "operator/controllers/builtin_policies.h"
#include "tests/support/process.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {
namespace {

using nlohmann::json;

std::string check(const json& spec, const json& policy, int* rc) {
  json agent = {{"metadata", {{"name", "a"}, {"namespace", "n"}}}, {"spec", spec}};
  TempDir dir("rendered");
  write_file(dir.file("config.yaml"), controllers::render_sidecar_config(agent, policy));
  std::string out;
  // In the pod the key comes from the referenced Secret through this variable.
  *rc = run_command({"env", "AGENTRY_PROVIDER_API_KEY=sk-test", AGENTRY_SIDECAR_BIN,
                     "--check-config", dir.file("config.yaml")},
                    &out);
  return out;
}

TEST(RenderedConfig, MinimalAndFullAgentsPassTheSidecarsValidation) {
  int rc = 0;
  json minimal = {{"model", {{"provider", "ollama"}, {"name", "llama3.2"}}}};
  std::string out = check(minimal, controllers::production_policy()["spec"], &rc);
  EXPECT_EQ(rc, 0) << out;

  json full = {
      {"model",
       {{"provider", "openai"},
        {"name", "gpt"},
        {"endpoint", "https://llm.example"},
        {"apiKeySecretRef", {{"name", "k"}}},  // (a caBundle is read at start: pod-only)
        {"temperature", 0.7},
        {"maxTokens", 256}}},
      {"systemPrompt", "be brief"},
      {"tools",
       {{{"name", "search"},
         {"description", "web"},
         {"url", "http://tools/search"},
         {"method", "POST"},
         {"parameters", {{"type", "object"}}}}}},
      {"execution",
       {{"maxConcurrency", 50},
        {"queueSize", 10},
        {"timeoutSeconds", 30},
        {"retries", 2},
        {"maxToolTurns", 3},
        {"chunkInputBytes", 4096}}},
      {"cache", {{"ttlSeconds", 60}, {"redis", {{"url", "redis://redis:6379"}}}}},
      {"memory",
       {{"backend", "redis"},
        {"redis", {{"url", "redis://redis:6379"}}},
        {"maxEntries", 1000},
        {"embedder", "provider"},
        {"embeddingDimension", 128},
        {"recallTopK", 2}}},
  };
  out = check(full, controllers::development_policy()["spec"], &rc);
  EXPECT_EQ(rc, 0) << out;
}

TEST(RenderedConfig, TheSidecarRejectsWhatIsWrongNamingTheField) {
  TempDir dir("rendered");
  write_file(dir.file("token"), "t");
  write_file(dir.file("bad.yaml"),
             "server: {tokenFile: " + dir.file("token") + "}\nprovider: {type: bard}\n");
  std::string out;
  EXPECT_NE(run_command({AGENTRY_SIDECAR_BIN, "--check-config", dir.file("bad.yaml")}, &out), 0);
  EXPECT_NE(out.find("provider.type"), std::string::npos) << out;
}

}  // namespace
}  // namespace agentry::testing
