#include "operator/controllers/agent_render.h"

#include <gtest/gtest.h>

#include "operator/controllers/agent_controller.h"
#include "operator/controllers/builtin_policies.h"
#include "operator/runtime/subset_diff.h"

namespace agentry::controllers {
namespace {

using nlohmann::json;
using runtime::applied_difference;
using runtime::subset_difference;

json agent(json spec) {
  return {{"apiVersion", "agentry.dev/v1alpha1"},
          {"kind", "Agent"},
          {"metadata",
           {{"name", "researcher"}, {"namespace", "team-a"}, {"uid", "u-1"}, {"generation", 1}}},
          {"spec", spec}};
}

json base_spec() {
  return {{"model", {{"provider", "ollama"}, {"name", "llama3.2"}}}};
}

RenderedObjects render_for(const json& a, const json& policy, EffectiveSpec* eff = nullptr) {
  RenderInput in;
  in.agent = a;
  in.policy_spec = policy;
  auto err = resolve(a, policy, &in.effective);
  EXPECT_FALSE(err) << *err;
  in.config = render_sidecar_config(a, policy);
  in.config_hash = sha256_hex(in.config);
  in.token = "tok";
  if (eff) *eff = in.effective;
  return render(in);
}

TEST(AgentRender, AutoscaledAgentLeavesReplicasToTheHpa) {
  auto prod = production_policy()["spec"];
  auto r = render_for(agent(base_spec()), prod);
  EXPECT_FALSE(r.deployment["spec"].contains("replicas")) << "the HPA owns spec.replicas";
  ASSERT_TRUE(r.hpa);
  EXPECT_EQ((*r.hpa)["spec"]["minReplicas"], 2);
  EXPECT_EQ((*r.hpa)["spec"]["maxReplicas"], 20);
  EXPECT_EQ((*r.hpa)["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 70);
  EXPECT_EQ((*r.hpa)["spec"]["metrics"][1]["resource"]["target"]["averageUtilization"], 80);
  EXPECT_EQ((*r.hpa)["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"], 300);
  ASSERT_TRUE(r.pdb);
  EXPECT_EQ((*r.pdb)["spec"]["maxUnavailable"], 1);
}

TEST(AgentRender, FixedReplicasWithoutAutoscaling) {
  auto spec = base_spec();
  spec["autoscaling"] = {{"enabled", false}};
  spec["replicas"] = 1;
  auto r = render_for(agent(spec), development_policy()["spec"]);
  EXPECT_EQ(r.deployment["spec"]["replicas"], 1);
  EXPECT_FALSE(r.hpa);
  EXPECT_FALSE(r.pdb) << "one replica: no disruption budget";
}

TEST(AgentRender, PodIsLockedDownAndOwned) {
  auto r = render_for(agent(base_spec()), production_policy()["spec"]);
  const json& pod = r.deployment["spec"]["template"]["spec"];
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  const json& c = pod["containers"][0];
  EXPECT_EQ(c["name"], "agentry-sidecar");
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(c["securityContext"]["capabilities"]["drop"][0], "ALL");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_EQ(c["ports"][0]["containerPort"], 8080);
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "250m");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "512Mi");
  for (const json* o : {&r.deployment, &r.service, &r.config_map, &r.secret, &r.network_policy}) {
    const json& ref = (*o)["metadata"]["ownerReferences"][0];
    EXPECT_EQ(ref["kind"], "Agent");
    EXPECT_EQ(ref["uid"], "u-1");
    EXPECT_EQ(ref["controller"], true);
  }
  EXPECT_FALSE(
      r.deployment["spec"]["template"]["metadata"]["annotations"]["agentry.dev/config-hash"]
          .get<std::string>()
          .empty());
}

TEST(AgentRender, ApiKeyIsReferencedNeverCopied) {
  auto spec = base_spec();
  spec["model"] = {{"provider", "openai"},
                   {"name", "gpt"},
                   {"apiKeySecretRef", {{"name", "llm"}, {"key", "k"}}}};
  auto r = render_for(agent(spec), production_policy()["spec"]);
  const json& env = r.deployment["spec"]["template"]["spec"]["containers"][0]["env"];
  ASSERT_EQ(env.size(), 1u);
  EXPECT_EQ(env[0]["valueFrom"]["secretKeyRef"]["name"], "llm");
  EXPECT_EQ(env[0]["valueFrom"]["secretKeyRef"]["key"], "k");
  EXPECT_EQ(r.config_map["data"]["config.yaml"].get<std::string>().find("\"k\""),
            std::string::npos);
}

TEST(AgentRender, ByoContainerReachesSidecarOnLocalhost) {
  auto spec = base_spec();
  spec["container"] = {{"image", "me/bot:1"}, {"args", {"--x"}}};
  auto r = render_for(agent(spec), production_policy()["spec"]);
  const json& cs = r.deployment["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[1]["image"], "me/bot:1");
  bool url = false;
  for (auto& e : cs[1]["env"])
    url |= e["name"] == "AGENTRY_SIDECAR_URL" && e["value"] == "http://127.0.0.1:8080";
  EXPECT_TRUE(url);
  EXPECT_EQ(cs[1]["securityContext"]["runAsNonRoot"], true);
}

TEST(AgentRender, NetworkPolicyAdmitsOwnPodsOperatorAndNamedPeers) {
  auto spec = base_spec();
  spec["networkPolicy"] = {
      {"allowFrom", {{{"podSelector", {{"matchLabels", {{"role", "frontend"}}}}}}}}};
  auto r = render_for(agent(spec), production_policy()["spec"]);
  const json& from = r.network_policy["spec"]["ingress"][0]["from"];
  ASSERT_EQ(from.size(), 4u);
  EXPECT_EQ(from[0]["podSelector"]["matchLabels"]["agentry.dev/agent"], "researcher");
  EXPECT_EQ(from[1]["podSelector"]["matchLabels"]["calls.agentry.dev/researcher"], "true")
      << "Agents that list it in spec.agentTools";
  EXPECT_EQ(from[2]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "agentry-system");
  EXPECT_EQ(from[3]["podSelector"]["matchLabels"]["role"], "frontend");
}

TEST(AgentRender, LimitsNeverBelowRequestsAndCeilingsHold) {
  auto spec = base_spec();
  spec["resources"] = {{"requests", {{"cpu", "2"}, {"memory", "64Gi"}}},
                       {"limits", {{"cpu", "1"}}}};
  EffectiveSpec eff;
  auto r = render_for(agent(spec), production_policy()["spec"], &eff);
  const json& res = r.deployment["spec"]["template"]["spec"]["containers"][0]["resources"];
  EXPECT_EQ(res["requests"]["cpu"], "2");
  EXPECT_EQ(res["limits"]["cpu"], "2");          // raised to the request
  EXPECT_EQ(res["requests"]["memory"], "16Gi");  // capped at production's max
  EXPECT_EQ(res["limits"]["memory"], "16Gi");    // policy limit 512Mi raised to the request
  EXPECT_EQ(eff.warnings.size(), 3u);
}

TEST(AgentRender, CapacityTargetDrivesReplicasAndResources) {
  auto spec = base_spec();
  spec["capacity"] = {{"targetRPS", 3000}};
  EffectiveSpec eff;
  auto r = render_for(agent(spec), production_policy()["spec"], &eff);
  EXPECT_EQ(eff.min_replicas, 6);  // ceil(3000 / 500)
  EXPECT_EQ((*r.hpa)["spec"]["minReplicas"], 6);
  EXPECT_EQ(
      r.deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
      "7150m");
}

TEST(AgentRender, MinAboveMaxAfterDefaultsIsAConfigError) {
  auto spec = base_spec();
  spec["autoscaling"] = {{"minReplicas", 50}};  // production's max is 20
  EffectiveSpec eff;
  auto err = resolve(agent(spec), production_policy()["spec"], &eff);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("minReplicas 50"), std::string::npos);
}

// A policy with no requests: the HPA could never read a utilization, so the Agent is refused with
// the field to set, unless the Agent brings its own requests or turns autoscaling off.
TEST(AgentRender, AutoscalingWithoutARequestIsAConfigError) {
  json bare = {{"autoscaling", {{"minReplicas", 1}, {"maxReplicas", 3}}}};
  EffectiveSpec eff;
  auto err = resolve(agent(base_spec()), bare, &eff);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("spec.resources.requests.cpu"), std::string::npos) << *err;

  auto cpu_only = base_spec();
  cpu_only["resources"] = {{"requests", {{"cpu", "100m"}}}};
  err = resolve(agent(cpu_only), bare, &eff);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("spec.resources.requests.memory"), std::string::npos) << *err;

  auto both = cpu_only;
  both["resources"]["requests"]["memory"] = "128Mi";
  EXPECT_FALSE(resolve(agent(both), bare, &eff));
  auto fixed = base_spec();
  fixed["autoscaling"] = {{"enabled", false}};
  EXPECT_FALSE(resolve(agent(fixed), bare, &eff));
}

// Scaling on executions: a KEDA ScaledObject with the HPA's bounds, targets and behavior plus a
// prometheus trigger per gauge, and no HPA of ours; without --keda-prometheus-url it is refused
// naming the field where the user set it.
TEST(AgentRender, ExecutionTargetsRenderAScaledObjectInsteadOfTheHpa) {
  auto policy = production_policy()["spec"];
  policy["autoscaling"]["targetInFlightExecutionsPerPod"] = 4;
  auto spec = base_spec();
  spec["autoscaling"] = {{"targetQueuedExecutionsPerPod", 10}};
  RenderInput in;
  in.agent = agent(spec);
  in.policy_spec = policy;
  ASSERT_FALSE(resolve(in.agent, policy, &in.effective));
  EXPECT_EQ(in.effective.in_flight_target, 4);
  EXPECT_EQ(in.effective.queued_target, 10);

  auto err = check_autoscaling_backend(in.agent, in.effective, in.settings);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->rfind("the policy's autoscaling.targetInFlightExecutionsPerPod:", 0), 0) << *err;
  EXPECT_NE(err->find("--keda-prometheus-url"), std::string::npos) << *err;
  in.settings.keda_prometheus_url = "http://prometheus.monitoring:9090";
  EXPECT_FALSE(check_autoscaling_backend(in.agent, in.effective, in.settings));

  in.config = render_sidecar_config(in.agent, policy);
  auto r = render(in);
  EXPECT_FALSE(r.hpa) << "KEDA owns the HPA";
  ASSERT_TRUE(r.scaled_object);
  const json& so = (*r.scaled_object)["spec"];
  EXPECT_EQ(so["scaleTargetRef"]["name"], "researcher-agent");
  EXPECT_EQ(so["minReplicaCount"], 2);
  EXPECT_EQ(so["maxReplicaCount"], 20);
  EXPECT_EQ(so["advanced"]["horizontalPodAutoscalerConfig"]["behavior"],
            policy["autoscaling"]["behavior"]);
  ASSERT_EQ(so["triggers"].size(), 4u);
  EXPECT_EQ(so["triggers"][0]["metadata"]["value"], "70");
  EXPECT_EQ(so["triggers"][1]["type"], "memory");
  const json& in_flight = so["triggers"][2];
  EXPECT_EQ(in_flight["type"], "prometheus");
  EXPECT_EQ(in_flight["metricType"], "AverageValue");
  EXPECT_EQ(in_flight["metadata"]["serverAddress"], "http://prometheus.monitoring:9090");
  EXPECT_EQ(in_flight["metadata"]["query"],
            "sum(executions_in_flight{namespace=\"team-a\",agentry_dev_agent=\"researcher\"})");
  EXPECT_EQ(in_flight["metadata"]["threshold"], "4");
  EXPECT_EQ(so["triggers"][3]["metadata"]["threshold"], "10");
  EXPECT_EQ(hpa_name("researcher", in.effective), "keda-hpa-researcher-agent");
  EXPECT_EQ(execution_metric_names(in.effective),
            (std::map<std::string, std::string>{{"s2-prometheus", "in-flight"},
                                                {"s3-prometheus", "queued"}}));

  // The Agent's own field is named as its own; autoscaling off renders neither.
  auto own = base_spec();
  own["autoscaling"] = {{"targetInFlightExecutionsPerPod", 3}};
  EffectiveSpec e;
  ASSERT_FALSE(resolve(agent(own), production_policy()["spec"], &e));
  err = check_autoscaling_backend(agent(own), e, OperatorSettings{});
  ASSERT_TRUE(err);
  EXPECT_EQ(err->rfind("spec.autoscaling.targetInFlightExecutionsPerPod:", 0), 0) << *err;
  own["autoscaling"]["enabled"] = false;
  ASSERT_FALSE(resolve(agent(own), production_policy()["spec"], &e));
  EXPECT_FALSE(e.scales_on_executions());
  EXPECT_FALSE(check_autoscaling_backend(agent(own), e, OperatorSettings{}));
  EXPECT_EQ(hpa_name("researcher", e), "researcher-agent");
}

TEST(AgentRender, ConfigCarriesTheAgentSettings) {
  auto spec = base_spec();
  spec["systemPrompt"] = "be brief";
  spec["execution"] = {{"maxConcurrency", 7}};
  spec["tools"] = {{{"name", "search"}, {"url", "http://tools/search"}}};
  auto cfg = json::parse(render_sidecar_config(agent(spec), development_policy()["spec"]));
  EXPECT_EQ(cfg["agent"]["systemPrompt"], "be brief");
  EXPECT_EQ(cfg["limits"]["maxConcurrency"], 7);
  EXPECT_EQ(cfg["agent"]["tools"][0]["name"], "search");
  EXPECT_EQ(cfg["provider"]["model"], "llama3.2");
  EXPECT_EQ(cfg["memoryPressure"]["profile"], "development");
  EXPECT_DOUBLE_EQ(cfg["memoryPressure"]["threshold"].get<double>(), 0.9);
}

// Issue 21: memory embeds with MiniLM unless the Agent says otherwise; the dimension is left to
// the embedder unless the Agent sets one.
TEST(AgentRender, MemoryEmbedsWithMiniLmByDefault) {
  auto dflt = json::parse(render_sidecar_config(agent(base_spec()), production_policy()["spec"]));
  EXPECT_EQ(dflt["memory"]["embedder"], "minilm");
  EXPECT_EQ(dflt["memory"]["embeddingDim"], 0);
  auto spec = base_spec();
  spec["memory"] = {{"embedder", "provider"}, {"embeddingDimension", 768}};
  auto own = json::parse(render_sidecar_config(agent(spec), production_policy()["spec"]));
  EXPECT_EQ(own["memory"]["embedder"], "provider");
  EXPECT_EQ(own["memory"]["embeddingDim"], 768);
}

// Issue 23: exchanges get a quarter of the sidecar's memory limit at 6 KiB an entry unless the
// Agent says otherwise; facts are refused at the bound unless onFull says evictOldest.
TEST(AgentRender, ExchangeBoundsComeFromTheMemoryBudget) {
  auto prod = json::parse(render_sidecar_config(agent(base_spec()), production_policy()["spec"]));
  EXPECT_EQ(prod["memory"]["exchanges"]["maxEntries"], 512 * 1024 * 1024 / 4 / (6 * 1024));
  EXPECT_EQ(prod["memory"]["exchanges"]["ttlSeconds"], 604800);
  EXPECT_EQ(prod["memory"]["onFull"], "refuse");
  auto dev = json::parse(render_sidecar_config(agent(base_spec()), development_policy()["spec"]));
  EXPECT_EQ(dev["memory"]["exchanges"]["maxEntries"], 256 * 1024 * 1024 / 4 / (6 * 1024));
  auto spec = base_spec();
  spec["memory"] = {{"onFull", "evictOldest"},
                    {"exchanges", {{"maxEntries", 777}, {"ttlSeconds", 60}}}};
  auto own = json::parse(render_sidecar_config(agent(spec), production_policy()["spec"]));
  EXPECT_EQ(own["memory"]["exchanges"]["maxEntries"], 777);
  EXPECT_EQ(own["memory"]["exchanges"]["ttlSeconds"], 60);
  EXPECT_EQ(own["memory"]["onFull"], "evictOldest");
  // A huge pod is capped at 100,000, a tiny one floored at 1,000.
  spec = base_spec();
  spec["resources"] = {{"limits", {{"memory", "16Gi"}}}, {"requests", {{"memory", "1Gi"}}}};
  auto big = json::parse(render_sidecar_config(agent(spec), production_policy()["spec"]));
  EXPECT_EQ(big["memory"]["exchanges"]["maxEntries"], 100000);
  spec["resources"] = {{"limits", {{"memory", "8Mi"}}}, {"requests", {{"memory", "8Mi"}}}};
  auto small = json::parse(render_sidecar_config(agent(spec), production_policy()["spec"]));
  EXPECT_EQ(small["memory"]["exchanges"]["maxEntries"], 1000);
}

// Hostile numbers never overflow (undefined) on the way to the sidecar's validator, which then
// refuses them naming the field.
TEST(AgentRender, HugeNumbersAreClampedNotOverflowed) {
  auto spec = base_spec();
  spec["tools"] = {{{"name", "t"}, {"url", "http://t"}, {"timeoutSeconds", INT64_MAX}}};
  auto cfg = json::parse(render_sidecar_config(agent(spec), production_policy()["spec"]));
  EXPECT_EQ(cfg["agent"]["tools"][0]["timeoutMs"], INT64_MAX / 1000 * 1000);
  auto err = check_rendered_config(render_sidecar_config(agent(spec), production_policy()["spec"]));
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("spec.tools"), std::string::npos) << *err;
}

TEST(AgentRender, TokensAreRandomAndHashesStable) {
  auto a = random_token(), b = random_token();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AgentApplied, DifferenceNamesTheFirstFieldThatDiffers) {
  json have = {
      {"metadata", {{"name", "a"}, {"labels", {{"app", "a"}, {"extra", "x"}}}, {"uid", "u"}}},
      {"spec", {{"ports", json::array({{{"port", 8080}, {"protocol", "TCP"}}})}, {"x", 1.0}}},
      {"status", {{"ready", true}}}};
  json want = {{"apiVersion", "v1"},
               {"kind", "Service"},
               {"metadata", {{"name", "a"}, {"labels", {{"app", "a"}}}}},
               {"spec", {{"ports", json::array({{{"port", 8080}}})}, {"x", 1}}}};
  EXPECT_EQ(applied_difference(want, have), "") << "extra fields on the server, 1 == 1.0";
  want["spec"]["ports"][0]["port"] = 9090;
  EXPECT_EQ(applied_difference(want, have), "/spec/ports/0/port");
  want["spec"]["ports"][0]["port"] = 8080;
  want["spec"]["env"] = json::array();  // the API server omits empty lists
  EXPECT_EQ(applied_difference(want, have), "/spec/env");
  want["spec"].erase("env");
  want["metadata"]["annotations"] = {{"agentry.dev/config-hash", "h"}};
  EXPECT_EQ(applied_difference(want, have), "/metadata/annotations");
  have["metadata"]["annotations"] = {{"agentry.dev/config-hash", "old"}};
  EXPECT_EQ(applied_difference(want, have), "/metadata/annotations/agentry.dev~1config-hash");
  EXPECT_EQ(subset_difference(json::array({1, 2}), json::array({1})), "/");
}

// Nothing the Agent renders may be dropped by the API server, or every reconcile re-applies it.
TEST(AgentRender, NoEmptyListsOrObjectsTheServerWouldDrop) {
  std::function<void(const json&, const std::string&)> check = [&](const json& j,
                                                                   const std::string& at) {
    if (j.is_array()) {
      EXPECT_FALSE(j.empty()) << at;
      for (size_t i = 0; i < j.size(); ++i) check(j[i], at + "/" + std::to_string(i));
    } else if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "emptyDir") continue;  // {} is the value: an emptyDir volume with defaults
        check(*it, at + "/" + it.key());
      }
    }
  };
  auto r = render_for(agent(base_spec()), production_policy()["spec"]);
  check(r.deployment, "deployment");
  check(r.service, "service");
  check(r.network_policy, "networkpolicy");
}

}  // namespace
}  // namespace agentry::controllers
