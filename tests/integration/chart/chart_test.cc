// The Helm chart (charts/agentry) against the real control plane (hack/cluster.sh: kube-apiserver
// with RBAC, kube-controller-manager, kube-scheduler, kwok): helm lint/template, server-side
// dry-run, helm install with pods Running, the operator reconciling with nothing but the chart's
// ServiceAccount token, what that token is forbidden to do, helm upgrade re-reconciling Agents,
// helm uninstall leaving nothing behind, and bad values failing with a message.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/yaml_json.h"
#include "console/app/console.h"
#include "console/auth/passwords.h"
#include "operator/controllers/agent_controller.h"
#include "operator/controllers/builtin_policies.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/runtime/manager.h"
#include "tests/support/control_plane.h"
#include "tests/support/process.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string chart_dir() {
  return repo_dir() + "/charts/agentry";
}

bool eventually(const std::function<bool()>& fn, std::chrono::milliseconds timeout = 60s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(250ms);
  }
  return fn();
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// The documents of a multi-document YAML stream (helm template output), empty ones dropped.
std::vector<json> yaml_documents(const std::string& text) {
  std::vector<json> out;
  std::string cur;
  auto flush = [&] {
    auto j = yaml_to_json(cur);
    if (j.ok() && j->is_object() && !j->empty()) out.push_back(*j);
    cur.clear();
  };
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("---", 0) == 0) {
      flush();
      continue;
    }
    cur += line + "\n";
  }
  flush();
  return out;
}

const json* find_doc(const std::vector<json>& docs, const std::string& kind,
                     const std::string& name = "") {
  for (const auto& d : docs) {
    if (d.value("kind", "") == kind && (name.empty() || d["metadata"].value("name", "") == name))
      return &d;
  }
  return nullptr;
}

class ChartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    cp_ = ControlPlane::shared(&err);
    ASSERT_NE(cp_, nullptr) << err;
    std::string out;
    // The CRDs have one source (crds/); the shared cluster may have them from other tests already,
    // so the chart is installed with --skip-crds after this (the documented upgrade path too).
    ASSERT_TRUE(cp_->install_crds(&out)) << out;
    helm_home_ = std::make_unique<TempDir>("chart-helm");
    id_ = std::to_string(::getpid());
  }

  // Runs the cluster's helm against the test cluster; the "found symbolic link" notices of the
  // crds/ symlink are dropped from the output.
  int helm(const std::vector<std::string>& args, std::string* out,
           std::chrono::seconds timeout = 300s) {
    std::vector<std::string> argv = {"env",
                                     "HELM_CACHE_HOME=" + helm_home_->file("cache"),
                                     "HELM_CONFIG_HOME=" + helm_home_->file("config"),
                                     "HELM_DATA_HOME=" + helm_home_->file("data"),
                                     cp_->bin_dir() + "/helm",
                                     "--kubeconfig",
                                     cp_->kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string raw;
    int rc = run_command(argv, &raw, timeout);
    out->clear();
    std::istringstream in(raw);
    std::string line;
    while (std::getline(in, line)) {
      if (contains(line, "found symbolic link in path")) continue;
      *out += line + "\n";
    }
    return rc;
  }

  // helm template with --set values; fails the test on a non-zero exit.
  std::vector<json> render(const std::vector<std::string>& sets,
                           const std::string& ns = "agentry-system", std::string* yaml = nullptr) {
    std::vector<std::string> args = {"template", "agentry", chart_dir(), "-n", ns};
    for (const auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    std::string out;
    int rc = helm(args, &out);
    EXPECT_EQ(rc, 0) << out;
    if (yaml) *yaml = out;
    return yaml_documents(out);
  }

  int kubectl(const std::vector<std::string>& args, std::string* out) {
    return cp_->kubectl(args, out);
  }

  json get_json(const std::vector<std::string>& args) {
    std::string out;
    std::vector<std::string> a = args;
    a.push_back("-o");
    a.push_back("json");
    if (kubectl(a, &out) != 0) return json();
    auto j = json::parse(out, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  ControlPlane* cp_ = nullptr;
  std::unique_ptr<TempDir> helm_home_;
  std::string id_;
};

// ---------------------------------------------------------------------------------------------
// Rendering

TEST_F(ChartTest, LintIsCleanAndEveryVariantRenders) {
  std::string out;
  ASSERT_EQ(helm({"lint", "--strict", chart_dir()}, &out), 0) << out;
  EXPECT_TRUE(contains(out, "1 chart(s) linted, 0 chart(s) failed")) << out;
  EXPECT_FALSE(contains(out, "[WARNING]")) << out;
  EXPECT_FALSE(contains(out, "[ERROR]")) << out;
  ASSERT_EQ(helm({"lint", "--strict", chart_dir(), "--set", "profile=development", "--set",
                  "watchNamespaces={team-a}", "--set", "monitoring.prometheusRule.enabled=true",
                  "--set", "monitoring.serviceMonitor.enabled=true", "--set", "replicaCount=1"},
                 &out),
            0)
      << out;

  auto docs = render({});
  std::multiset<std::string> kinds;
  for (const auto& d : docs) kinds.insert(d["kind"].get<std::string>());
  for (const char* k : {"Deployment", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                        "RoleBinding", "Service", "Lease", "PodDisruptionBudget"}) {
    EXPECT_EQ(kinds.count(k), 1u) << k;
  }
  EXPECT_EQ(kinds.count("AgentPolicy"), 2u);
  EXPECT_EQ(kinds.count("ServiceMonitor"), 0u) << "monitoring is off by default";
  EXPECT_EQ(kinds.count("PrometheusRule"), 0u);
  EXPECT_EQ(kinds.count("CustomResourceDefinition"), 0u) << "CRDs come from crds/, not templates";

  auto full =
      render({"monitoring.prometheusRule.enabled=true", "monitoring.serviceMonitor.enabled=true"});
  EXPECT_NE(find_doc(full, "PrometheusRule"), nullptr);
  EXPECT_NE(find_doc(full, "ServiceMonitor", "agentry-operator"), nullptr);
  EXPECT_NE(find_doc(full, "ServiceMonitor", "agentry-agents"), nullptr);
}

// Issue 21: the local model server is off by default (the Deployment count above is the
// operator's alone); on, a hardened Deployment of llama-server with the model and a Service.
TEST_F(ChartTest, TheModelServerIsOffByDefaultAndOnIsADeploymentAndAService) {
  EXPECT_EQ(find_doc(render({}), "Deployment", "agentry-llm"), nullptr);
  auto docs = render({"llm.enabled=true", "llm.port=8181", "llm.threads=1"});
  const json* d = find_doc(docs, "Deployment", "agentry-llm");
  ASSERT_NE(d, nullptr);
  const json& c = (*d)["spec"]["template"]["spec"]["containers"][0];
  const auto args = c["args"].get<std::vector<std::string>>();
  auto arg = [&](const std::string& flag) {
    auto it = std::find(args.begin(), args.end(), flag);
    return it == args.end() || it + 1 == args.end() ? std::string() : *(it + 1);
  };
  EXPECT_EQ(arg("--model"), "/usr/share/agentry/models/gemma-3-270m-q4_k_m.gguf");
  EXPECT_EQ(arg("--port"), "8181");
  EXPECT_EQ(arg("--threads"), "1");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/health");
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ((*d)["spec"]["template"]["spec"]["automountServiceAccountToken"], false);
  const json* svc = find_doc(docs, "Service", "agentry-llm");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ((*svc)["spec"]["ports"][0]["port"], 8181);
  EXPECT_EQ((*svc)["spec"]["selector"], (*d)["spec"]["selector"]["matchLabels"]);
  std::string out;
  EXPECT_NE(helm({"template", "agentry", chart_dir(), "--set", "llm.threads=0"}, &out), 0) << out;
}

TEST_F(ChartTest, RenderedManifestsPassServerSideDryRun) {
  const std::string ns = "chart-dry-" + id_, apps = "chart-dry-" + id_ + "-apps";
  std::string out;
  ASSERT_EQ(kubectl({"create", "namespace", ns}, &out), 0) << out;
  ASSERT_EQ(kubectl({"create", "namespace", apps}, &out), 0) << out;
  TempDir tmp("chart-dry");
  struct Variant {
    std::string name;
    std::vector<std::string> sets;
  };
  for (const Variant& v : {Variant{"default", {}},
                           Variant{"namespaced-development",
                                   {"profile=development", "watchNamespaces={" + apps + "}",
                                    "replicaCount=1", "operator.leaderElect=false",
                                    "podDisruptionBudget.enabled=false", "llm.enabled=true"}}}) {
    std::string yaml;
    render(v.sets, ns, &yaml);
    ASSERT_FALSE(yaml.empty());
    ASSERT_TRUE(write_file(tmp.file(v.name + ".yaml"), yaml));
    ASSERT_EQ(kubectl({"apply", "--dry-run=server", "-f", tmp.file(v.name + ".yaml")}, &out), 0)
        << v.name << ":\n"
        << out;
    // "created" or, for the cluster-scoped ones another installation may own, "configured".
    EXPECT_TRUE(contains(out, "deployment.apps/agentry-operator created (server dry run)")) << out;
    EXPECT_TRUE(contains(out, "clusterrole.rbac.authorization.k8s.io/agentry-operator ")) << out;
    EXPECT_EQ(contains(out, "lease.coordination.k8s.io/agentry-operator created (server dry run)"),
              v.name == "default")
        << "the chart's Lease exists only with leader election:\n"
        << out;
  }
  kubectl({"delete", "namespace", ns, apps, "--wait=false"}, &out);
}

TEST_F(ChartTest, OperatorDeploymentIsHardenedAndProbed) {
  auto docs = render({});
  const json* dep = find_doc(docs, "Deployment");
  ASSERT_NE(dep, nullptr);
  EXPECT_EQ((*dep)["spec"]["replicas"], 2);
  const json& pod = (*dep)["spec"]["template"]["spec"];
  // The NetworkPolicy the operator renders for each Agent admits exactly this label.
  EXPECT_EQ((*dep)["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"],
            "agentry-operator");
  EXPECT_EQ(pod["serviceAccountName"], "agentry-operator");
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["securityContext"]["runAsUser"], 65532);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  ASSERT_EQ(pod["containers"].size(), 1u);
  const json& c = pod["containers"][0];
  EXPECT_EQ(c["image"], "ghcr.io/agentry-dev/agentry-operator:0.1.0");
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(c["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(c["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(c["securityContext"]["capabilities"]["drop"], json::array({"ALL"}));
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"], "metrics");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["port"], "metrics");
  EXPECT_EQ(c["ports"][0]["containerPort"], 8081);
  EXPECT_FALSE(c["resources"]["requests"]["cpu"].is_null());
  EXPECT_FALSE(c["resources"]["limits"]["memory"].is_null());
  std::set<std::string> args;
  for (const auto& a : c["args"]) args.insert(a.get<std::string>());
  for (const char* want :
       {"--metrics-addr=:8081", "--leader-elect=true", "--leader-election-namespace=agentry-system",
        "--leader-election-id=agentry-operator", "--operator-namespace=agentry-system",
        "--sidecar-image=ghcr.io/agentry-dev/agentry-sidecar:0.1.0",
        "--default-policy=production"}) {
    EXPECT_EQ(args.count(want), 1u) << want;
  }
  // development profile: the default policy follows; a digest pins the images.
  const std::string digest = "sha256:" + std::string(64, 'a');
  docs = render({"profile=development", "watchNamespaces={team-a}",
                 "sidecar.image.digest=" + digest, "image.tag=1.2.3"});
  dep = find_doc(docs, "Deployment");
  ASSERT_NE(dep, nullptr);
  args.clear();
  for (const auto& a : (*dep)["spec"]["template"]["spec"]["containers"][0]["args"])
    args.insert(a.get<std::string>());
  EXPECT_EQ(args.count("--default-policy=development"), 1u);
  EXPECT_EQ(args.count("--watch-namespace=team-a"), 1u);
  EXPECT_EQ(args.count("--sidecar-image=ghcr.io/agentry-dev/agentry-sidecar@" + digest), 1u);
  EXPECT_EQ((*dep)["spec"]["template"]["spec"]["containers"][0]["image"],
            "ghcr.io/agentry-dev/agentry-operator:1.2.3");
}

// Every flag the chart passes must be one the operator binary accepts (an unknown flag exits 2:
// the pods would crash-loop on a real cluster).
TEST_F(ChartTest, EveryFlagTheChartPassesIsAnOperatorFlag) {
  std::string help;
  ASSERT_EQ(run_command({AGENTRY_OPERATOR_BIN, "--help"}, &help), 0) << help;
  auto docs = render({"watchNamespaces={team-a}", "autoscaling.keda.prometheusURL=http://p:9090"});
  const json* dep = find_doc(docs, "Deployment");
  ASSERT_NE(dep, nullptr);
  std::vector<std::string> missing;
  for (const auto& a : (*dep)["spec"]["template"]["spec"]["containers"][0]["args"]) {
    std::string flag = a.get<std::string>().substr(0, a.get<std::string>().find('='));
    if (!contains(help, flag + " ") && !contains(help, flag + "\n")) missing.push_back(flag);
  }
  std::string list;
  for (const auto& m : missing) list += " " + m;
  EXPECT_TRUE(missing.empty()) << "agentry-operator --help does not list:" << list
                               << "\n(operator/main.cpp must accept every flag the chart renders)\n"
                               << help;
}

// One source for the CRDs: charts/agentry/crds is a symlink to crds/, and what Helm loads and
// packages is byte for byte the repository's files.
TEST_F(ChartTest, CrdsAreTheRepositoryCrds) {
  namespace fs = std::filesystem;
  fs::path link = fs::path(chart_dir()) / "crds";
  ASSERT_TRUE(fs::is_symlink(link))
      << link << " must be a symlink to ../../crds (one source of truth)";
  EXPECT_EQ(fs::canonical(link), fs::canonical(fs::path(repo_dir()) / "crds"));
  std::string shown;
  ASSERT_EQ(helm({"show", "crds", chart_dir()}, &shown), 0) << shown;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(repo_dir()) / "crds")) {
    if (e.path().extension() != ".yaml") continue;
    ++n;
    std::string content = read_file(e.path().string());
    ASSERT_FALSE(content.empty());
    EXPECT_TRUE(contains(shown, content)) << e.path() << " differs from what helm loads";
  }
  EXPECT_EQ(n, 4);  // Agent, AgentPolicy, ToolServer, Workflow
  TempDir pkg("chart-pkg");
  std::string out;
  ASSERT_EQ(helm({"package", chart_dir(), "-d", pkg.path()}, &out), 0) << out;
  ASSERT_EQ(run_command({"tar", "tzf", pkg.file("agentry-0.1.0.tgz")}, &out), 0) << out;
  for (const char* f :
       {"agentry/crds/agentry.dev_agents.yaml", "agentry/crds/agentry.dev_workflows.yaml",
        "agentry/crds/agentry.dev_agentpolicies.yaml", "agentry/values.schema.json"}) {
    EXPECT_TRUE(contains(out, f)) << f << " missing from the package:\n" << out;
  }
}

// The chart ships the operator's built-in policies with the same numbers
// (operator/controllers/builtin_policies.cc), so tuning them through values starts from there.
TEST_F(ChartTest, PoliciesEqualTheOperatorBuiltins) {
  auto docs = render({});
  for (const auto& want : controllers::builtin_policies()) {
    const std::string name = want["metadata"]["name"];
    const json* got = find_doc(docs, "AgentPolicy", name);
    ASSERT_NE(got, nullptr) << name;
    EXPECT_EQ((*got)["apiVersion"], "agentry.dev/v1alpha1");
    EXPECT_EQ((*got)["spec"], want["spec"])
        << name << "\nchart:    " << (*got)["spec"].dump() << "\noperator: " << want["spec"].dump();
    EXPECT_FALSE((*got)["metadata"].contains("namespace")) << "AgentPolicy is cluster-scoped";
  }
  docs = render({"policies.production.name=prod-b", "policies.extra.batch.profile=production",
                 "policies.extra.batch.autoscaling.maxReplicas=50"});
  EXPECT_NE(find_doc(docs, "AgentPolicy", "prod-b"), nullptr);
  const json* extra = find_doc(docs, "AgentPolicy", "batch");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ((*extra)["spec"]["autoscaling"]["maxReplicas"], 50);
  EXPECT_EQ(render({"policies.create=false"}).size() + 2, render({}).size());
}

// The PrometheusRule's thresholds are the guidelines' numbers of the selected profile.
TEST_F(ChartTest, AlertsCarryTheProfileThresholds) {
  auto thresholds = [&](const std::vector<std::string>& sets) {
    std::vector<std::string> all = {"monitoring.prometheusRule.enabled=true"};
    all.insert(all.end(), sets.begin(), sets.end());
    auto docs = render(all);
    std::map<std::string, std::string> out;
    const json* rule = find_doc(docs, "PrometheusRule");
    if (!rule) return out;
    for (const auto& g : (*rule)["spec"]["groups"]) {
      for (const auto& r : g["rules"]) {
        std::string expr = r["expr"];
        while (!expr.empty() && isspace(static_cast<unsigned char>(expr.back()))) expr.pop_back();
        auto gt = expr.rfind("> ");
        out[r["alert"]] = gt == std::string::npos ? expr : expr.substr(gt + 2);
      }
    }
    return out;
  };
  auto prod = thresholds({});
  EXPECT_EQ(prod["AgentryAPILatencyP95High"], "0.2");
  EXPECT_EQ(prod["AgentryMemoryHigh"], "80");
  EXPECT_EQ(prod["AgentryCPUHigh"], "70");
  EXPECT_EQ(prod["AgentryRedisPoolSaturated"], "80");
  EXPECT_EQ(prod["AgentryWorkflowStartSlow"], "0.5");
  EXPECT_EQ(prod.count("AgentryOperatorNoLeader"), 1u);
  EXPECT_EQ(prod["AgentryMemoryFactsNearBound"], "0.9");  // 90% of memory.maxEntries
  auto dev = thresholds({"profile=development"});
  EXPECT_EQ(dev["AgentryAPILatencyP95High"], "2");
  EXPECT_EQ(dev["AgentryMemoryHigh"], "90");
  EXPECT_EQ(dev["AgentryCPUHigh"], "90");
  EXPECT_EQ(dev["AgentryRedisPoolSaturated"], "90");
  EXPECT_EQ(dev["AgentryWorkflowStartSlow"], "5");
  auto tuned = thresholds({"monitoring.prometheusRule.thresholds.apiP95Seconds=0.3",
                           "monitoring.prometheusRule.thresholds.memoryPercent=85"});
  EXPECT_EQ(tuned["AgentryAPILatencyP95High"], "0.3");
  EXPECT_EQ(tuned["AgentryMemoryHigh"], "85");
  EXPECT_EQ(tuned["AgentryCPUHigh"], "70");
}

// The rules of the ClusterRole and Roles are exactly these (a new verb must come with a reason in
// docs/sre-guide.md and here); Secrets leave the ClusterRole when a namespace is watched.
TEST_F(ChartTest, RbacRulesAreExactlyTheOperatorsCalls) {
  using Rules = std::map<std::string, std::set<std::string>>;  // "group/resource[:name]" -> verbs
  auto rules_of = [](const json* role) {
    Rules out;
    if (!role) return out;
    for (const auto& r : (*role)["rules"]) {
      for (const auto& g : r["apiGroups"]) {
        for (const auto& res : r["resources"]) {
          std::string key = g.get<std::string>() + "/" + res.get<std::string>();
          if (r.contains("resourceNames")) key += ":" + r["resourceNames"][0].get<std::string>();
          for (const auto& v : r["verbs"]) out[key].insert(v.get<std::string>());
        }
      }
    }
    return out;
  };
  const std::set<std::string> read = {"get", "list", "watch"};
  auto with = [&](std::set<std::string> extra) {
    extra.insert(read.begin(), read.end());
    return extra;
  };
  const Rules cluster = {
      {"agentry.dev/agentpolicies", with({"create"})},
      {"agentry.dev/agentpolicies/status", {"patch"}},
  };
  const Rules namespaced = {
      {"agentry.dev/agents", read},
      {"agentry.dev/agents/status", {"patch"}},
      {"agentry.dev/agents/finalizers", {"update"}},
      {"agentry.dev/toolservers", read},
      {"agentry.dev/toolservers/status", {"patch"}},
      {"agentry.dev/workflows", with({"patch", "delete"})},
      {"agentry.dev/workflows/status", {"patch", "update"}},
      {"agentry.dev/workflows/finalizers", {"update"}},
      {"/secrets", with({"create", "patch", "update"})},
      {"/configmaps", with({"create", "patch", "update"})},
      {"/services", with({"create", "patch", "update"})},
      {"networking.k8s.io/networkpolicies", with({"create", "patch", "update"})},
      {"apps/deployments", with({"create", "patch", "update"})},
      {"autoscaling/horizontalpodautoscalers", with({"create", "patch", "update", "delete"})},
      {"policy/poddisruptionbudgets", with({"create", "patch", "update", "delete"})},
      {"events.k8s.io/events", {"create", "patch"}},
  };
  const Rules lease = {
      {"coordination.k8s.io/leases", {"create"}},
      {"coordination.k8s.io/leases:agentry-operator", {"get", "update"}},
  };
  Rules all = cluster;
  all.insert(namespaced.begin(), namespaced.end());

  auto docs = render({});
  EXPECT_EQ(rules_of(find_doc(docs, "ClusterRole")), all);
  EXPECT_EQ(rules_of(find_doc(docs, "Role", "agentry-operator-leader-election")), lease);
  EXPECT_EQ(find_doc(docs, "Role", "agentry-operator"), nullptr);

  // Scaling on executions: ScaledObjects too, and the flag that enables them.
  Rules keda = all;
  keda["keda.sh/scaledobjects"] = with({"create", "patch", "update", "delete"});
  docs = render({"autoscaling.keda.prometheusURL=http://prometheus.monitoring:9090"});
  EXPECT_EQ(rules_of(find_doc(docs, "ClusterRole")), keda);
  const json* dep = find_doc(docs, "Deployment");
  ASSERT_NE(dep, nullptr);
  EXPECT_TRUE(contains((*dep)["spec"]["template"]["spec"]["containers"][0]["args"].dump(),
                       "\"--keda-prometheus-url=http://prometheus.monitoring:9090\""));

  docs = render({"watchNamespaces={team-a}"});
  EXPECT_EQ(rules_of(find_doc(docs, "ClusterRole")), cluster)
      << "namespaced mode: no Secrets cluster-wide";
  const json* role = find_doc(docs, "Role", "agentry-operator");
  ASSERT_NE(role, nullptr);
  EXPECT_EQ((*role)["metadata"]["namespace"], "team-a");
  EXPECT_EQ(rules_of(role), namespaced);
  const json* rb = find_doc(docs, "RoleBinding", "agentry-operator");
  ASSERT_NE(rb, nullptr);
  EXPECT_EQ((*rb)["subjects"][0]["namespace"], "agentry-system");
  for (const auto& d : docs) {
    for (const auto& r : d.value("rules", json::array())) {
      for (const auto& v : r["verbs"]) EXPECT_NE(v, "*") << d["metadata"]["name"];
      for (const auto& res : r["resources"]) EXPECT_NE(res, "*") << d["metadata"]["name"];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bad values

TEST_F(ChartTest, BadValuesFailWithAClearMessage) {
  struct Case {
    std::string set, message;
  };
  const std::vector<Case> cases = {
      {"replicaCount=-1", "at '/replicaCount': minimum: got -1, want 0"},
      {"profile=staging", "at '/profile': value must be one of 'production', 'development'"},
      {"image.repository=Not A Repo", "at '/image/repository'"},
      {"image.repository=ghcr.io/agentry/op:1.0", "at '/image/repository'"},
      {"image.tag=v1:latest", "at '/image/tag'"},
      {"image.digest=sha256:nothex", "at '/image/digest'"},
      {"sidecar.image.repository=GHCR.io/x", "at '/sidecar/image/repository'"},
      {"watchNamespaces={a,b}", "at '/watchNamespaces': maxItems"},
      {"operator.logLevel=verbose", "at '/operator/logLevel'"},
      {"policies.production.spec.autoscaling.targetCPUUtilizationPercentage=150",
       "targetCPUUtilizationPercentage': maximum: got 150, want 100"},
      {"replicaCount=3,operator.leaderElect=false",
       "more than one operator replica needs leader election"},
      {"replicaCunt=3", "additional properties 'replicaCunt' not allowed"},
      {"autoscaling.keda.prometheusURL=prometheus:9090", "at '/autoscaling/keda/prometheusURL'"},
  };
  for (const auto& c : cases) {
    std::string out;
    EXPECT_NE(helm({"template", "agentry", chart_dir(), "--set", c.set}, &out), 0)
        << c.set << " rendered:\n"
        << out;
    EXPECT_TRUE(contains(out, c.message)) << c.set << ": want \"" << c.message << "\" in:\n" << out;
  }
  // helm install refuses them too, before creating anything.
  const std::string ns = "chart-bad-" + id_;
  std::string out;
  ASSERT_EQ(kubectl({"create", "namespace", ns}, &out), 0) << out;
  for (const auto& c : std::vector<Case>{cases[0], cases[1], cases[2]}) {
    EXPECT_NE(helm({"install", "bad", chart_dir(), "-n", ns, "--skip-crds", "--set", c.set}, &out),
              0)
        << c.set;
    EXPECT_TRUE(contains(out, c.message)) << out;
    EXPECT_NE(helm({"status", "bad", "-n", ns}, &out), 0)
        << "a release exists after a refused install";
  }
  json left = get_json({"-n", ns, "get", "deployments,serviceaccounts,roles", "-l",
                        "app.kubernetes.io/instance=bad"});
  ASSERT_FALSE(left.is_null());
  EXPECT_TRUE(left["items"].empty()) << left.dump();
  kubectl({"delete", "namespace", ns, "--wait=false"}, &out);
}

// ---------------------------------------------------------------------------------------------
// Install, RBAC with the ServiceAccount's token, upgrade, uninstall

// The operator's controllers in this process, authenticated as the chart's ServiceAccount (the
// same code the binary runs; used whether or not the binary has the flags yet).
class SaOperator {
 public:
  ::testing::AssertionResult start(const std::string& kubeconfig,
                                   const controllers::OperatorSettings& s,
                                   const std::string& lease_ns) {
    auto cfg = kube::load_kubeconfig(kubeconfig);
    if (!cfg.ok()) return ::testing::AssertionFailure() << cfg.status().to_string();
    auto client = kube::Client::create(*cfg);
    if (!client.ok()) return ::testing::AssertionFailure() << client.status().to_string();
    client_ = *client;
    // The operator creates the built-in policies when absent: allowed (create agentpolicies).
    if (auto st = controllers::ensure_builtin_policies(*client_); !st.is_ok()) {
      return ::testing::AssertionFailure()
             << "ensure_builtin_policies as the ServiceAccount: " << st.to_string();
    }
    runtime::Manager::Options mo;
    mo.metrics_addr = "127.0.0.1:0";
    mo.leader_elect = true;
    mo.leader_election.lease_name = "agentry-operator";
    mo.leader_election.lease_namespace = lease_ns;
    mgr_ = std::make_unique<runtime::Manager>(client_, mo);
    controllers::register_agent_controllers(*mgr_, s);
    thread_ = std::thread([this] { (void)mgr_->run(); });
    if (!eventually([&] { return mgr_->controllers_running(); }, 90s)) {
      return ::testing::AssertionFailure()
             << "controllers did not start (leader election with the chart's Lease?)";
    }
    return ::testing::AssertionSuccess();
  }
  std::string identity() const { return mgr_ ? mgr_->identity() : ""; }
  void stop() {
    if (!mgr_) return;
    mgr_->stop();
    if (thread_.joinable()) thread_.join();
    mgr_.reset();
  }
  ~SaOperator() { stop(); }

 private:
  std::shared_ptr<kube::Client> client_;
  std::unique_ptr<runtime::Manager> mgr_;
  std::thread thread_;
};

class ChartInstallTest : public ChartTest {
 protected:
  void SetUp() override {
    ChartTest::SetUp();
    if (HasFatalFailure()) return;
    rel_ = "agentry-" + id_;
    ns_ = "chart-" + id_;
    apps_ = "chart-" + id_ + "-apps";
    prod_ = rel_ + "-production";
    dev_ = rel_ + "-development";
    sa_ = rel_ + "-operator";
    std::string out;
    ASSERT_EQ(kubectl({"create", "namespace", ns_}, &out), 0) << out;
    ASSERT_EQ(kubectl({"create", "namespace", apps_}, &out), 0) << out;
  }
  void TearDown() override {
    std::string out;
    if (!cp_) return;
    kubectl({"-n", apps_, "delete", "agents", "--all", "--wait=false"}, &out);
    helm({"uninstall", rel_, "-n", ns_}, &out);
    kubectl({"delete", "namespace", ns_, apps_, "--wait=false"}, &out);
  }

  std::vector<std::string> install_values() const {
    return {"--set", "watchNamespaces={" + apps_ + "}",
            "--set", "policies.production.name=" + prod_,
            "--set", "policies.development.name=" + dev_};
  }

  // kubectl auth can-i as the chart's ServiceAccount: true for "yes".
  bool can(const std::vector<std::string>& what) {
    std::vector<std::string> args = {"auth", "can-i"};
    args.insert(args.end(), what.begin(), what.end());
    args.push_back("--as=system:serviceaccount:" + ns_ + ":" + sa_);
    std::string out;
    int rc = kubectl(args, &out);  // 0 for yes, 1 for no; cluster-scoped kinds add a warning line
    std::istringstream in(out);
    std::string line;
    bool yes = false;
    while (std::getline(in, line)) yes = yes || line == "yes";
    return rc == 0 && yes;
  }

  // A kubeconfig with a token of the chart's ServiceAccount (server and CA of the control plane).
  std::string sa_kubeconfig(const TempDir& dir) {
    std::string token;
    EXPECT_EQ(kubectl({"-n", ns_, "create", "token", sa_, "--duration=2h"}, &token), 0) << token;
    while (!token.empty() && isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    std::string kc =
        "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: " +
        cp_->server_url() + "\n    certificate-authority: " + cp_->ca_file() +
        "\nusers:\n- name: sa\n  user:\n    token: " + token +
        "\ncontexts:\n- name: sa\n  context:\n    cluster: local\n    user: sa\n    namespace: " +
        ns_ + "\ncurrent-context: sa\n";
    std::string path = dir.file("sa.kubeconfig");
    EXPECT_TRUE(write_file(path, kc));
    return path;
  }

  void apply_agent(const std::string& name) {
    std::string yaml = "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: " + name +
                       "\nspec:\n  model:\n    provider: openai\n    name: gpt-4o-mini\n"
                       "    apiKeySecretRef: {name: llm-key, key: api-key}\n"
                       "  autoscaling: {enabled: true, minReplicas: 1, maxReplicas: 3}\n";
    std::string out;
    ASSERT_EQ(cp_->kubectl_stdin({"apply", "-n", apps_, "-f", "-"}, yaml, &out), 0) << out;
  }
  std::string agent_phase(const std::string& name) {
    json a = get_json({"-n", apps_, "get", "agent", name});
    return a.is_null() ? "" : a.value("/status/phase"_json_pointer, std::string());
  }
  ::testing::AssertionResult wait_ready(const std::string& name) {
    if (eventually([&] { return agent_phase(name) == "Ready"; }, 240s))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "Agent " << name << " is '" << agent_phase(name)
           << "': " << get_json({"-n", apps_, "get", "agent", name}).value("status", json()).dump();
  }
  int hpa_cpu_target(const std::string& agent) {
    json h = get_json({"-n", apps_, "get", "hpa", agent + "-agent"});
    if (h.is_null()) return -1;
    for (const auto& m : h["spec"]["metrics"]) {
      if (m["resource"]["name"] == "cpu")
        return m["resource"]["target"]["averageUtilization"].get<int>();
    }
    return -1;
  }

  std::string rel_, ns_, apps_, prod_, dev_, sa_;
};

TEST_F(ChartInstallTest, InstallRbacUpgradeUninstall) {
  std::string out;
  // ---- install (CRDs exist: --skip-crds; they come from crds/ either way)
  std::vector<std::string> args = {"install", rel_, chart_dir(), "-n", ns_, "--skip-crds"};
  auto vals = install_values();
  args.insert(args.end(), vals.begin(), vals.end());
  ASSERT_EQ(helm(args, &out), 0) << out;
  EXPECT_TRUE(contains(out, "kubectl apply -n " + apps_ + " -f examples/agent.yaml")) << "NOTES:\n"
                                                                                      << out;

  const std::string op = rel_ + "-operator";
  json dep = get_json({"-n", ns_, "get", "deployment", op});
  ASSERT_FALSE(dep.is_null());
  EXPECT_EQ(dep["spec"]["replicas"], 2);
  EXPECT_FALSE(get_json({"-n", ns_, "get", "serviceaccount", sa_}).is_null());
  EXPECT_FALSE(get_json({"-n", ns_, "get", "service", op + "-metrics"}).is_null());
  EXPECT_FALSE(get_json({"-n", ns_, "get", "poddisruptionbudget", op}).is_null());
  EXPECT_FALSE(get_json({"-n", ns_, "get", "lease", "agentry-operator"}).is_null());
  EXPECT_FALSE(get_json({"-n", ns_, "get", "role", op + "-leader-election"}).is_null());
  EXPECT_FALSE(get_json({"-n", apps_, "get", "role", op}).is_null());
  EXPECT_FALSE(get_json({"get", "clusterrole", op}).is_null());
  EXPECT_FALSE(get_json({"get", "clusterrolebinding", op}).is_null());
  json pol = get_json({"get", "agentpolicy", prod_});
  ASSERT_FALSE(pol.is_null());
  EXPECT_EQ(pol["spec"]["autoscaling"]["targetCPUUtilizationPercentage"], 70);
  EXPECT_EQ(pol["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm");
  EXPECT_FALSE(get_json({"get", "agentpolicy", dev_}).is_null());

  // The operator's pods are scheduled on the kwok node and Running.
  json pods;
  bool running = eventually(
      [&] {
        pods = get_json({"-n", ns_, "get", "pods", "-l", "app.kubernetes.io/instance=" + rel_});
        if (pods.is_null() || pods["items"].size() != 2) return false;
        for (const auto& p : pods["items"]) {
          if (p["status"].value("phase", "") != "Running") return false;
        }
        return true;
      },
      180s);
  EXPECT_TRUE(running) << pods.dump();

  // ---- RBAC: what the ServiceAccount may do (kubectl auth can-i, evaluated by the API server)
  EXPECT_TRUE(can({"list", "secrets", "-n", apps_}));
  EXPECT_TRUE(can({"watch", "agents.agentry.dev", "-n", apps_}));
  EXPECT_TRUE(can({"patch", "agents.agentry.dev", "--subresource=status", "-n", apps_}));
  EXPECT_TRUE(can({"create", "deployments.apps", "-n", apps_}));
  EXPECT_TRUE(can({"delete", "horizontalpodautoscalers.autoscaling", "-n", apps_}));
  EXPECT_TRUE(can({"create", "events.events.k8s.io", "-n", apps_}));
  EXPECT_TRUE(can({"list", "agentpolicies.agentry.dev"}));
  EXPECT_TRUE(can({"update", "leases.coordination.k8s.io/agentry-operator", "-n", ns_}));
  // ... and what it may not: Secrets outside the watched namespace, anything it does not call.
  EXPECT_FALSE(can({"get", "secrets", "-n", "kube-system"}));
  EXPECT_FALSE(can({"list", "secrets", "-n", "default"}));
  EXPECT_FALSE(can({"list", "secrets", "-n", ns_}));
  EXPECT_FALSE(can({"list", "secrets", "--all-namespaces"}));
  EXPECT_FALSE(can({"delete", "secrets", "-n", apps_}));
  EXPECT_FALSE(can({"create", "deployments.apps", "-n", "default"}));
  EXPECT_FALSE(can({"delete", "namespaces"}));
  EXPECT_FALSE(can({"create", "pods", "-n", apps_}));
  EXPECT_FALSE(can({"create", "pods", "--subresource=exec", "-n", apps_}));
  EXPECT_FALSE(can({"delete", "deployments.apps", "-n", apps_}));
  EXPECT_FALSE(can({"update", "agents.agentry.dev", "-n", apps_}));
  EXPECT_FALSE(can({"delete", "agents.agentry.dev", "-n", apps_}));
  EXPECT_FALSE(can({"delete", "agentpolicies.agentry.dev"}));
  EXPECT_FALSE(can({"update", "agentpolicies.agentry.dev"}));
  EXPECT_FALSE(can({"create", "clusterrolebindings.rbac.authorization.k8s.io"}));
  EXPECT_FALSE(can({"create", "rolebindings.rbac.authorization.k8s.io", "-n", apps_}));
  EXPECT_FALSE(can({"update", "leases.coordination.k8s.io/kube-scheduler", "-n", ns_}));
  EXPECT_FALSE(can({"get", "leases.coordination.k8s.io", "-n", "kube-system"}));
  EXPECT_FALSE(can({"list", "nodes"}));
  EXPECT_FALSE(can({"update", "customresourcedefinitions.apiextensions.k8s.io"}));

  // ---- RBAC is sufficient: the controllers, authenticated with a token of the ServiceAccount,
  // take the chart's Lease and reconcile an Agent (which references an API-key Secret) to Ready.
  TempDir tmp("chart-sa");
  const std::string kc = sa_kubeconfig(tmp);
  ASSERT_EQ(kubectl({"-n", apps_, "create", "secret", "generic", "llm-key",
                     "--from-literal=api-key=sk-test"},
                    &out),
            0)
      << out;
  controllers::OperatorSettings settings;
  settings.watch_namespace = apps_;
  settings.default_policy = prod_;
  settings.operator_namespace = ns_;
  SaOperator inproc;
  ASSERT_TRUE(inproc.start(kc, settings, ns_));
  apply_agent("rbac-agent");
  ASSERT_TRUE(wait_ready("rbac-agent"));
  for (const char* kind : {"deployment", "service", "configmap", "networkpolicy",
                           "horizontalpodautoscaler", "poddisruptionbudget"}) {
    EXPECT_FALSE(get_json({"-n", apps_, "get", kind, "rbac-agent-agent"}).is_null()) << kind;
  }
  EXPECT_FALSE(get_json({"-n", apps_, "get", "secret", "rbac-agent-agent-token"}).is_null());
  EXPECT_EQ(hpa_cpu_target("rbac-agent"), 70);
  json lease = get_json({"-n", ns_, "get", "lease", "agentry-operator"});
  EXPECT_EQ(lease.value("/spec/holderIdentity"_json_pointer, std::string()), inproc.identity());
  // Events about the Agent were written (events.k8s.io create).
  EXPECT_TRUE(eventually(
      [&] {
        json ev = get_json({"-n", apps_, "get", "events.events.k8s.io"});
        for (const auto& e : ev.value("items", json::array())) {
          if (e.value("/regarding/name"_json_pointer, std::string()) == "rbac-agent") return true;
        }
        return false;
      },
      30s));

  // ---- helm upgrade with a changed policy re-reconciles the Agents that use it.
  args = {"upgrade",
          rel_,
          chart_dir(),
          "-n",
          ns_,
          "--skip-crds",
          "--reuse-values",
          "--set",
          "policies.production.spec.autoscaling.targetCPUUtilizationPercentage=60"};
  ASSERT_EQ(helm(args, &out), 0) << out;
  pol = get_json({"get", "agentpolicy", prod_});
  EXPECT_EQ(pol["spec"]["autoscaling"]["targetCPUUtilizationPercentage"], 60);
  EXPECT_EQ(pol["spec"]["autoscaling"]["targetMemoryUtilizationPercentage"], 80)
      << "--reuse-values keeps the rest";
  EXPECT_TRUE(eventually([&] { return hpa_cpu_target("rbac-agent") == 60; }, 90s))
      << "HPA cpu target is " << hpa_cpu_target("rbac-agent") << " after the policy changed to 60";
  lease = get_json({"-n", ns_, "get", "lease", "agentry-operator"});
  EXPECT_EQ(lease.value("/spec/holderIdentity"_json_pointer, std::string()), inproc.identity())
      << "helm upgrade must not reset the Lease it created";
  inproc.stop();

  // ---- the agentry-operator binary with the ServiceAccount's token and the chart's flags; the
  // in-process elector released the Lease on stop, the binary takes it over.
  {
    Process::Options po;
    po.argv = {AGENTRY_OPERATOR_BIN,
               "--kubeconfig",
               kc,
               "--metrics-addr",
               "127.0.0.1:0",
               "--leader-elect",
               "--leader-election-namespace",
               ns_,
               "--leader-election-id",
               "agentry-operator",
               "--watch-namespace",
               apps_,
               "--default-policy",
               prod_,
               "--operator-namespace",
               ns_};
    po.log_path = tmp.file("operator.log");
    Process bin(po);
    ASSERT_TRUE(bin.start());
    apply_agent("bin-agent");
    EXPECT_TRUE(wait_ready("bin-agent")) << bin.log_tail(40);
    EXPECT_EQ(hpa_cpu_target("bin-agent"), 60) << bin.log_tail(20);
    EXPECT_FALSE(get_json({"-n", apps_, "get", "secret", "bin-agent-agent-token"}).is_null());
    std::string log = read_file(tmp.file("operator.log"));
    EXPECT_TRUE(contains(log, "became leader")) << bin.log_tail(40);
    EXPECT_FALSE(contains(log, "forbidden")) << bin.log_tail(40);
    bin.stop(SIGTERM);
  }

  // ---- helm uninstall: nothing of the release stays; the CRDs do.
  ASSERT_EQ(
      kubectl({"-n", apps_, "delete", "agents", "--all", "--wait=true", "--timeout=60s"}, &out), 0)
      << out;
  ASSERT_EQ(helm({"uninstall", rel_, "-n", ns_, "--wait", "--timeout", "120s"}, &out), 0) << out;
  json left;
  EXPECT_TRUE(eventually(
      [&] {
        left = get_json(
            {"-n", ns_, "get",
             "deployments,replicasets,pods,serviceaccounts,services,roles,rolebindings,leases,"
             "poddisruptionbudgets,configmaps,secrets",
             "-l", "app.kubernetes.io/instance=" + rel_});
        return !left.is_null() && left["items"].empty();
      },
      120s))
      << left.dump();
  EXPECT_TRUE(get_json({"-n", ns_, "get", "lease", "agentry-operator"}).is_null());
  EXPECT_TRUE(get_json({"-n", ns_, "get", "serviceaccount", sa_}).is_null());
  EXPECT_TRUE(get_json({"get", "clusterrole", op}).is_null());
  EXPECT_TRUE(get_json({"get", "clusterrolebinding", op}).is_null());
  EXPECT_TRUE(get_json({"-n", apps_, "get", "role", op}).is_null());
  EXPECT_TRUE(get_json({"-n", apps_, "get", "rolebinding", op}).is_null());
  EXPECT_TRUE(get_json({"get", "agentpolicy", prod_}).is_null());
  EXPECT_TRUE(get_json({"get", "agentpolicy", dev_}).is_null());
  EXPECT_FALSE(get_json({"get", "crd", "agents.agentry.dev"}).is_null()) << "CRDs are kept";
  EXPECT_FALSE(get_json({"get", "crd", "agentpolicies.agentry.dev"}).is_null());
  EXPECT_FALSE(get_json({"get", "crd", "workflows.agentry.dev"}).is_null());
  EXPECT_NE(helm({"status", rel_, "-n", ns_}, &out), 0);
}

// ---------------------------------------------------------------------------------------------
// The console (issue 18)

// Off by default; on, its ServiceAccount may impersonate, review tokens and access, and list/watch
// the three kinds it caches: nothing else cluster-wide, and in its own namespace only its accounts
// Secret (by name) and the template ConfigMaps.
TEST_F(ChartTest, TheConsoleIsOffByDefaultAndOnIsLeastPrivilege) {
  for (const auto& d : render({}))
    EXPECT_NE(d["metadata"].value("name", ""), "agentry-console") << d["kind"];
  auto docs = render({"console.enabled=true", "console.accountsSecret=team-logins"});
  const json* cr = find_doc(docs, "ClusterRole", "agentry-console");
  ASSERT_NE(cr, nullptr);
  std::set<std::string> rules;
  for (const auto& r : (*cr)["rules"])
    for (const auto& g : r["apiGroups"])
      for (const auto& res : r["resources"])
        for (const auto& v : r["verbs"])
          rules.insert(g.get<std::string>() + "/" + res.get<std::string>() + ":" +
                       v.get<std::string>());
  EXPECT_EQ(rules, (std::set<std::string>{
                       "/users:impersonate", "/groups:impersonate", "/serviceaccounts:impersonate",
                       "authentication.k8s.io/tokenreviews:create",
                       "authorization.k8s.io/subjectaccessreviews:create",
                       "agentry.dev/agents:list", "agentry.dev/agents:watch",
                       "agentry.dev/workflows:list", "agentry.dev/workflows:watch",
                       "agentry.dev/agentpolicies:list", "agentry.dev/agentpolicies:watch"}));
  const json* role = find_doc(docs, "Role", "agentry-console");
  ASSERT_NE(role, nullptr);
  ASSERT_EQ((*role)["rules"].size(), 2u);
  EXPECT_EQ((*role)["rules"][0]["resources"], json::array({"secrets"}));
  EXPECT_EQ((*role)["rules"][0]["resourceNames"], json::array({"team-logins"}));
  EXPECT_EQ((*role)["rules"][0]["verbs"], json::array({"get"}));
  const json* dep = find_doc(docs, "Deployment", "agentry-console");
  ASSERT_NE(dep, nullptr);
  EXPECT_EQ((*dep)["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"],
            "agentry-console");
  EXPECT_EQ((*dep)["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"], "agentry-console");
  const json& pod = (*dep)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"], "agentry-console");
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  const json& c = pod["containers"][0];
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_EQ(c["image"], "ghcr.io/agentry-dev/agentry-console:0.1.0");
  // Every flag it passes is one the binary accepts.
  std::string help;
  ASSERT_EQ(run_command({AGENTRY_CONSOLE_BIN, "--help"}, &help), 0) << help;
  for (const auto& a : c["args"]) {
    const std::string arg = a.get<std::string>();
    if (arg.rfind("--", 0) == 0) {
      EXPECT_TRUE(contains(help, arg + " ")) << arg << "\n" << help;
    }
  }
  const json* svc = find_doc(docs, "Service", "agentry-console");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ((*svc)["spec"]["ports"][0]["port"], 80);
  std::string out;
  EXPECT_NE(helm({"template", "x", chart_dir(), "--set", "console.sessionTTLSeconds=5"}, &out), 0);
  EXPECT_TRUE(contains(out, "sessionTTLSeconds")) << out;
}

// The console running as the chart's ServiceAccount (its token, in this process): a console
// account logs in, sees and creates what its RBAC allows; the ServiceAccount itself can do almost
// nothing but impersonate.
TEST_F(ChartInstallTest, TheConsoleWorksAsItsServiceAccountAndNoMore) {
  std::string out;
  std::vector<std::string> args = {"install", rel_, chart_dir(), "-n", ns_, "--skip-crds",
                                   "--set", "console.enabled=true"};
  auto vals = install_values();
  args.insert(args.end(), vals.begin(), vals.end());
  ASSERT_EQ(helm(args, &out), 0) << out;
  sa_ = rel_ + "-console";
  EXPECT_TRUE(can({"impersonate", "users"}));
  EXPECT_TRUE(can({"create", "subjectaccessreviews.authorization.k8s.io"}));
  EXPECT_TRUE(can({"get", "secrets/agentry-console-accounts", "-n", ns_}));
  EXPECT_FALSE(can({"get", "secrets/other", "-n", ns_}));
  EXPECT_FALSE(can({"list", "secrets", "-n", apps_}));
  EXPECT_FALSE(can({"create", "agents.agentry.dev", "-n", apps_}));
  EXPECT_FALSE(can({"delete", "agents.agentry.dev", "-n", apps_}));
  EXPECT_FALSE(can({"get", "agents.agentry.dev", "-n", apps_})) << "gets come from the cache";
  // An account and its rights (a plain Role in the apps namespace).
  const std::string hash = *console::hash_password("carol-pw");
  ASSERT_EQ(cp_->kubectl_stdin({"apply", "-n", ns_, "-f", "-"},
                               "apiVersion: v1\nkind: Secret\nmetadata: {name: "
                               "agentry-console-accounts}\nstringData:\n  carol: '" + hash + "'\n",
                               &out),
            0)
      << out;
  ASSERT_EQ(kubectl({"-n", apps_, "create", "role", "carol", "--verb=get,list,watch,create",
                     "--resource=agents.agentry.dev"},
                    &out),
            0)
      << out;
  ASSERT_EQ(kubectl({"-n", apps_, "create", "rolebinding", "carol", "--role=carol", "--user=carol"},
                    &out),
            0)
      << out;
  TempDir dir("chart-console");
  console::ConsoleOptions o;
  o.kubeconfig = sa_kubeconfig(dir);
  o.listen = "127.0.0.1:0";
  o.console_namespace = ns_;
  o.api.default_namespace = apps_;
  console::Console c(o);
  ASSERT_TRUE(c.start().is_ok());
  std::thread server([&] { c.serve(); });
  httplib::Client http("127.0.0.1", c.port());
  ASSERT_TRUE(eventually([&] {
    auto r = http.Get("/readyz");
    return r && r->status == 200;
  }, 60s))
      << "the informers list as the ServiceAccount";
  auto login = http.Post("/api/v1/auth/login", R"({"username":"carol","password":"carol-pw"})",
                         "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body << " (get secrets/agentry-console-accounts)";
  const std::string token = json::parse(login->body)["access_token"];
  httplib::Headers h = {{"Authorization", "Bearer " + token}};
  auto created = http.Post("/api/v1/agents", h,
                           R"({"name": "from-console", "template": "summarizer",
                               "config": {"llm_provider": "openai", "model": "gpt-4o-mini",
                                          "api_key_secret": "llm-key"}})",
                           "application/json");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201) << created->body << " (impersonation)";
  EXPECT_TRUE(eventually([&] {
    auto r = http.Get("/api/v1/agents?namespace=" + apps_, h);
    return r && r->status == 200 && contains(r->body, "from-console");
  }, 30s))
      << "listed from the cache, filtered by a SubjectAccessReview";
  auto other = http.Get("/api/v1/agents?namespace=" + ns_, h);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 403);
  auto templates = http.Get("/api/v1/templates", h);
  ASSERT_TRUE(templates);
  EXPECT_EQ(templates->status, 200) << templates->body;
  c.stop();
  server.join();
}

}  // namespace
}  // namespace agentry::testing
