// One config contract between operator and sidecar: the operator runs the sidecar's own validator
// on what it renders and names the Agent's field; the CRD's bounds equal the sidecar's or are
// stricter; names and ports the API server would refuse are caught on the Agent's fields.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>

#include "operator/controllers/agent_render.h"
#include "operator/controllers/builtin_policies.h"
#include "sidecar/config.h"

namespace agentry::controllers {
namespace {

using nlohmann::json;

json agent(json spec, const std::string& name = "researcher") {
  return {{"apiVersion", "agentry.dev/v1alpha1"},
          {"kind", "Agent"},
          {"metadata", {{"name", name}, {"namespace", "team-a"}, {"uid", "u-1"}}},
          {"spec", std::move(spec)}};
}

json spec_with(const json& patch) {
  json s = {{"model", {{"provider", "ollama"}, {"name", "llama3.2"}}}};
  s.merge_patch(patch);
  return s;
}

// The error the operator reports for spec, or "" when the sidecar would accept its config.
std::string rendered_error(const json& spec) {
  auto a = agent(spec);
  EffectiveSpec e;
  auto policy = production_policy()["spec"];
  if (auto err = resolve(a, policy, &e)) return "resolve: " + *err;
  auto err = check_rendered_config(render_sidecar_config(a, policy));
  return err ? *err : "";
}

TEST(ConfigContract, TheDefaultsAndTheExamplesAreAccepted) {
  EXPECT_EQ(rendered_error(spec_with(json::object())), "");
  EXPECT_EQ(
      rendered_error(spec_with(
          {{"execution", {{"maxToolTurns", 1}, {"chunkInputBytes", 100}}},
           {"memory",
            {{"backend", "redis"}, {"redis", {{"url", "redis://r:6379"}}}, {"ttlSeconds", 3600}}},
           {"tools", {{{"name", "t"}, {"url", "http://t:80/x"}, {"timeoutSeconds", 300}}}}})),
      "");
}

TEST(ConfigContract, WhatTheSidecarRefusesIsNamedByTheAgentsField) {
  struct Case {
    json patch;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{"execution", {{"maxToolTurns", 0}}}}, "spec.execution.maxToolTurns: "},
      {{{"execution", {{"chunkInputBytes", 50}}}}, "spec.execution.chunkInputBytes: "},
      {{{"execution", {{"maxConcurrency", 0}}}}, "spec.execution.maxConcurrency: "},
      {{{"execution", {{"timeoutSeconds", 0}}}}, "spec.execution.timeoutSeconds: "},
      {{{"execution", {{"retries", 21}}}}, "spec.execution.retries: "},
      {{{"memory", {{"backend", "redis"}}}}, "spec.memory.backend: "},
      {{{"memory", {{"backend", "etcd"}}}}, "spec.memory.backend: "},
      {{{"memory", {{"maxEntries", 0}}}}, "spec.memory.maxEntries: "},
      {{{"memory", {{"ttlSeconds", 99999999}}}}, "spec.memory.ttlSeconds: "},
      {{{"memory", {{"embeddingDimension", 100000}}}}, "spec.memory.embeddingDimension: "},
      {{{"memory", {{"recallTopK", 101}}}}, "spec.memory.recallTopK: "},
      // MiniLM (the default embedder) makes 384 numbers: another dimension is the user's mistake.
      {{{"memory", {{"embeddingDimension", 128}}}}, "spec.memory.embeddingDimension: "},
      {{{"memory", {{"embedder", "bert"}}}}, "spec.memory.embedder: "},
      {{{"model", {{"provider", "openai"}, {"completion", {{"user", "no placeholder"}}}}}},
       "spec.model.completion.user: "},
      {{{"model", {{"completion", {{"generation", "A:"}}}}}}, "spec.model.completion: "},
      {{{"cache", {{"ttlSeconds", 2592000}}}}, "spec.cache.ttlSeconds: "},
      {{{"cache", {{"redis", {{"url", "rediss://r:6380"}}}}}}, "spec.cache.redis.url: "},
      {{{"cache", {{"redis", {{"url", "redis://no-port"}}}}}}, "spec.cache.redis.url: "},
      {{{"memory", {{"redis", {{"url", "redis://r:6379"}}}}}}, "spec.memory.redis.url: "},
      {{{"model", {{"endpoint", "ftp://x"}}}}, "spec.model.endpoint: "},
      {{{"model", {{"name", ""}}}}, "spec.model.name: "},
      {{{"tools", {{{"name", "t"}, {"url", "nope"}}}}}, "spec.tools[0].url: "},
      {{{"tools", {{{"name", "t"}, {"url", "http://t"}}, {{"name", "t"}, {"url", "http://u"}}}}},
       "spec.tools[1].name: "},
      {{{"tools", {{{"name", "t"}, {"url", "http://t"}, {"timeoutSeconds", 601}}}}},
       "spec.tools[0].timeoutSeconds: "},
  };
  for (const auto& c : cases) {
    std::string err = rendered_error(spec_with(c.patch));
    EXPECT_EQ(err.rfind(c.field, 0), 0u) << c.patch << " -> " << err;
    EXPECT_EQ(err.find("ConfigMap"), std::string::npos) << err;
  }
}

TEST(ConfigContract, TheRenderedConfigCarriesWhatTheAgentAsked) {
  auto a = agent(spec_with(
      {{"memory",
        {{"backend", "redis"}, {"redis", {{"url", "redis://mem:6379"}}}, {"ttlSeconds", 60}}},
       {"cache", {{"redis", {{"url", "redis://cache:6379"}}}}},
       {"tools", {{{"name", "t"}, {"url", "http://t"}, {"timeoutSeconds", 7}}}}}));
  auto cfg = sidecar::parse_config(render_sidecar_config(a, production_policy()["spec"]));
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->memory.redis_url, "redis://mem:6379");
  EXPECT_EQ(sidecar::memory_redis_url(*cfg), "redis://mem:6379") << "memory has its own Redis";
  EXPECT_EQ(cfg->memory.ttl_seconds, 60);
  EXPECT_EQ(cfg->agent.tools.at(0).timeout_ms, 7000);
}

// The CRD's schema for a dotted spec path ("spec.execution.maxToolTurns").
YAML::Node crd_property(const YAML::Node& spec_schema, const std::string& path) {
  YAML::Node n = spec_schema;
  std::stringstream parts(path.substr(5));  // after "spec."
  for (std::string part; std::getline(parts, part, '.');) {
    const YAML::Node& cur = n;  // const lookups: yaml-cpp's non-const [] would insert
    YAML::Node next = cur["properties"][part];
    if (!next) return next;
    n.reset(next);  // rebind (operator= would assign into the CRD document)
  }
  return n;
}

TEST(ConfigContract, EveryCrdBoundIsTheSidecarsOrStricter) {
  YAML::Node crd = YAML::LoadFile(std::string(AGENTRY_REPO_DIR) + "/crds/agentry.dev_agents.yaml");
  YAML::Node spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
  ASSERT_TRUE(spec);
  // Fields where 0 means "off" and is not rendered at all; a CEL rule keeps the rest in bounds.
  const std::map<std::string, std::string> zero_is_off = {
      {"spec.execution.chunkInputBytes", "self == 0 || self >= 100"}};
  int compared = 0;
  for (const auto& b : sidecar::int_bounds()) {
    std::string field = agent_field_for(b.field);
    if (field.rfind("spec.", 0) != 0) continue;
    YAML::Node p = crd_property(spec, field);
    ASSERT_TRUE(p) << field << " (the sidecar's " << b.field << ") is not in the CRD";
    ASSERT_TRUE(p["minimum"] && p["maximum"]) << field << " has no bounds in the CRD";
    const int64_t lo = p["minimum"].as<int64_t>(), hi = p["maximum"].as<int64_t>();
    EXPECT_LE(hi, b.max) << field << ": the CRD allows more than the sidecar's " << b.field;
    if (auto z = zero_is_off.find(field); z != zero_is_off.end()) {
      ASSERT_TRUE(p["x-kubernetes-validations"]) << field;
      EXPECT_EQ(p["x-kubernetes-validations"][0]["rule"].as<std::string>(), z->second);
      EXPECT_EQ(z->second.find(std::to_string(b.min)) != std::string::npos, true) << field;
    } else {
      EXPECT_GE(lo, b.min) << field << ": the CRD allows less than the sidecar's " << b.field;
    }
    ++compared;
  }
  EXPECT_GE(compared, 12) << "the mapping lost fields";
}

TEST(ConfigContract, NamesAndPortsTheApiServerWouldRefuseAreCaughtOnTheAgentsFields) {
  struct Case {
    std::string name;
    json patch;
    std::string field;  // "" when valid
  };
  const std::string long_name(58, 'a');
  const std::vector<Case> cases = {
      {"researcher", json::object(), ""},
      {std::string(57, 'a'), json::object(), ""},
      {long_name, json::object(), "metadata.name"},
      {"1bot", json::object(), "metadata.name"},
      {"team.bot", json::object(), "metadata.name"},
      {"bot", {{"sidecarImage", " "}}, "spec.sidecarImage"},
      {"bot", {{"container", {{"image", ""}}}}, "spec.container.image"},
      {"bot",
       {{"container", {{"image", "x"}, {"env", {{{"name", "1X"}}}}}}},
       "spec.container.env[0].name"},
      {"bot",
       {{"container", {{"image", "x"}, {"env", {{{"name", "A B"}}}}}}},
       "spec.container.env[0].name"},
      {"bot", {{"container", {{"image", "x"}, {"env", {{{"name", "OK_1.x-y"}}}}}}}, ""},
      {"bot",
       {{"container", {{"image", "x"}, {"ports", {{{"containerPort", 8080}}}}}}},
       "spec.container.ports[0].containerPort"},
      {"bot",
       {{"container",
         {{"image", "x"}, {"ports", {{{"containerPort", 9000}}, {{"containerPort", 9000}}}}}}},
       "spec.container.ports[1].containerPort"},
      {"bot",
       {{"container", {{"image", "x"}, {"ports", {{{"containerPort", 9000}, {"name", "http"}}}}}}},
       "spec.container.ports[0].name"},
      {"bot",
       {{"container", {{"image", "x"}, {"ports", {{{"containerPort", 9000}, {"name", "Web"}}}}}}},
       "spec.container.ports[0].name"},
      {"bot",
       {{"container", {{"image", "x"}, {"ports", {{{"containerPort", 9000}, {"name", "web"}}}}}}},
       ""},
      // Found by kube_watch_fuzz: a float port was converted to int64 (undefined behaviour under
      // UBSan) and a non-string name threw. The CRD refuses both; check_names must not rely on it.
      {"bot",
       {{"container", {{"image", "x"}, {"ports", {{{"containerPort", 1e300}, {"name", 5}}, "x"}}}}},
       "spec.container.ports[0].containerPort"},
      {"bot",
       {{"container", {{"image", "x"}, {"ports", {{{"containerPort", 9000}, {"name", 5}}, "x"}}}}},
       "spec.container.ports[1]"},
  };
  for (const auto& c : cases) {
    auto err = check_names(agent(spec_with(c.patch), c.name));
    if (c.field.empty()) {
      EXPECT_FALSE(err) << c.name << " " << c.patch << ": " << *err;
    } else {
      ASSERT_TRUE(err) << c.name << " " << c.patch;
      EXPECT_EQ(err->rfind(c.field, 0), 0u) << *err;
      EXPECT_EQ(err->find("Service."), std::string::npos) << *err;
    }
  }
}

}  // namespace
}  // namespace agentry::controllers
