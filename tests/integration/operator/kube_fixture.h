// Shared helpers for the operator integration tests: a client for a ControlPlane, unique names,
// namespaces, polling with deadlines, etcd compaction through etcd's HTTP gateway.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/kube/errors.h"
#include "operator/kube/resource.h"
#include "tests/support/control_plane.h"
#include "tests/support/process.h"

namespace agentry::optest {

using namespace std::chrono_literals;
using json = nlohmann::json;

inline std::shared_ptr<kube::Client> client_for(const testing::ControlPlane& cp,
                                                const std::string& server_override = "") {
  auto cfg = kube::load_kubeconfig(cp.kubeconfig());
  EXPECT_TRUE(cfg.ok()) << cfg.status().to_string();
  if (!cfg.ok()) return nullptr;
  cfg->qps = 500;
  cfg->burst = 1000;
  if (!server_override.empty()) cfg->server = server_override;
  auto c = kube::Client::create(*cfg);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? *c : nullptr;
}

inline std::string unique(const std::string& prefix) {
  static std::mt19937_64 rng(std::random_device{}());
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return prefix + "-" + buf;
}

// Polls cond every 20 ms until it holds or the deadline passes.
template <typename F>
bool eventually(F cond, std::chrono::milliseconds deadline = 30s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

inline void create_namespace(kube::Client& c, const std::string& ns) {
  auto r = c.create(kube::resources::kNamespaces, "",
                    {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
}

inline void delete_namespace(kube::Client& c, const std::string& ns) {
  c.remove(kube::resources::kNamespaces, "", ns, {.propagation_policy = "Background"});
}

inline json config_map(const std::string& ns, const std::string& name, json data = json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", std::move(data)}};
}

// Connects the shared cluster or skips the test with the reason.
#define AGENTRY_SHARED_CLUSTER(cp)                                      \
  std::string cp##_err;                                                 \
  testing::ControlPlane* cp = testing::ControlPlane::shared(&cp##_err); \
  ASSERT_NE(cp, nullptr) << cp##_err

// etcd's current revision (from a range request's header) and a compaction to it.
inline int64_t etcd_revision(const std::string& etcd_url) {
  std::string out;
  testing::run_command({"curl", "-sS", "--max-time", "5", "-X", "POST", etcd_url + "/v3/kv/range",
                        "-d", R"({"key":"Lw==","limit":1})"},
                       &out);
  json j = json::parse(out, nullptr, false);
  if (!j.is_object() || !j.contains("header")) return -1;
  return std::stoll(j["header"].value("revision", "-1"));
}

inline bool etcd_compact(const std::string& etcd_url, int64_t revision) {
  std::string out;
  int rc = testing::run_command(
      {"curl", "-sS", "--max-time", "30", "-X", "POST", etcd_url + "/v3/kv/compaction", "-d",
       R"({"revision":")" + std::to_string(revision) + R"(","physical":true})"},
      &out);
  return rc == 0 && out.find("error") == std::string::npos;
}

// A tiny Widget CRD (cluster-wide definition, namespaced objects) with status and scale
// subresources, for generation, status and owner tests. Idempotent; waits for Established.
inline kube::Resource ensure_widget_crd(kube::Client& c) {
  json crd = json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.test.agentry.dev"},
    "spec": {"group": "test.agentry.dev", "scope": "Namespaced",
      "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
      "versions": [{"name": "v1", "served": true, "storage": true,
        "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
          "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
          "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})");
  auto r = c.apply(kube::resources::kCustomResourceDefinitions, crd,
                   {.field_manager = "optest", .force = true});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  kube::Resource out;
  EXPECT_TRUE(eventually(
      [&] {
        auto got =
            c.get(kube::resources::kCustomResourceDefinitions, "", "widgets.test.agentry.dev");
        if (!got.ok()) return false;
        bool established = false;
        for (auto& cond : (*got)["status"].value("conditions", json::array())) {
          if (cond.value("type", "") == "Established" && cond.value("status", "") == "True") {
            established = true;
          }
        }
        if (!established) return false;
        auto d = c.discover("test.agentry.dev/v1", "Widget");
        if (!d.ok()) return false;
        out = *d;
        return true;
      },
      60s));
  return out;
}

inline json widget(const std::string& ns, const std::string& name, json spec) {
  return {{"apiVersion", "test.agentry.dev/v1"},
          {"kind", "Widget"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", std::move(spec)}};
}

// A test on the shared control plane with its own client and, when given a prefix, its own
// namespace (deleted afterwards).
class SharedClusterTest : public ::testing::Test {
 protected:
  explicit SharedClusterTest(std::string ns_prefix = "") : ns_prefix_(std::move(ns_prefix)) {}
  void SetUp() override {
    std::string err;
    cp_ = testing::ControlPlane::shared(&err);
    ASSERT_NE(cp_, nullptr) << err;
    c_ = client_for(*cp_);
    ASSERT_NE(c_, nullptr);
    if (ns_prefix_.empty()) return;
    ns_ = unique(ns_prefix_);
    create_namespace(*c_, ns_);
  }
  void TearDown() override {
    if (c_ && !ns_.empty()) delete_namespace(*c_, ns_);
  }
  testing::ControlPlane* cp_ = nullptr;
  std::shared_ptr<kube::Client> c_;
  std::string ns_;

 private:
  std::string ns_prefix_;
};

}  // namespace agentry::optest
