// Real parts for the Workflow controller's tests: the control plane (ControlPlane::shared()), the
// operator's Agent + Workflow controllers in this process (OperatorHarness), the fake LLM server
// and agentry-sidecar processes on loopback. An Agent is created with kubectl; its token comes from
// the Secret the Agent controller made; a sidecar is started with that token and the Agent is
// annotated with agentry.dev/endpoint-override.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/base64.h"
#include "operator/controllers/workflow_controller.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"
#include "tests/integration/controllers/operator_harness.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_tools.h"

namespace agentry::testing {

using nlohmann::json;

// The binaries: the build's own, or AGENTRY_SIDECAR_BIN / AGENTRY_FAKE_LLM_BIN from the
// environment.
inline std::string bin_path(const char* env, const char* built) {
  const char* v = std::getenv(env);
  return v && *v ? v : built;
}

class FakeLlmProcess {
 public:
  explicit FakeLlmProcess(std::vector<std::string> extra = {}) : port_(free_port()) {
    Process::Options o;
    o.argv = {bin_path("AGENTRY_FAKE_LLM_BIN", AGENTRY_FAKE_LLM_BIN), "--port",
              std::to_string(port_), "--threads", "64"};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    o.log_path = dir_.file("fake-llm.log");
    proc_ = Process(o);
    std::string err;
    if (!proc_.start(&err) || !wait_for_port(port_, std::chrono::seconds(10))) {
      throw std::runtime_error("fake llm did not start: " + err + proc_.log_tail());
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool faults(const json& f) {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Post("/admin/faults", f.dump(), "application/json");
    return r && r->status == 200;
  }
  json stats() {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/admin/stats");
    return r ? json::parse(r->body, nullptr, false) : json();
  }

 private:
  TempDir dir_{"wf-fake-llm"};
  int port_;
  Process proc_;
};

class SidecarProcess {
 public:
  SidecarProcess(const std::string& token, const std::string& llm_url,
                 const std::string& extra_provider = "")
      : port_(free_port()), token_(token) {
    write_file(dir_.file("token"), token + "\n");
    std::string yaml = "server:\n  listen: 127.0.0.1:" + std::to_string(port_) +
                       "\n  tokenFile: " + dir_.file("token") +
                       "\n  threads: 64\n  shutdownGraceSeconds: 1\n  accessLog: false\n"
                       "limits:\n  executionTimeoutSeconds: 60\n"
                       "provider:\n  type: ollama\n  endpoint: " +
                       llm_url +
                       "\n  model: fake\n  connectTimeoutMs: 500\n  readTimeoutMs: 30000\n"
                       "  retries: 0\n  breakerFailures: 1000\n" +
                       extra_provider + "agent:\n  name: wf-test\n  cacheResponses: false\n";
    write_file(dir_.file("config.yaml"), yaml);
    if (!ensure_model_env()) throw std::runtime_error("sidecar: hack/models.sh failed");
    Process::Options po;
    po.argv = {bin_path("AGENTRY_SIDECAR_BIN", AGENTRY_SIDECAR_BIN), "--config",
               dir_.file("config.yaml")};
    po.log_path = dir_.file("sidecar.log");
    proc_ = Process(po);
    std::string err;
    if (!proc_.start(&err) || !wait_for_port(port_, std::chrono::seconds(10))) {
      throw std::runtime_error("sidecar did not start: " + err + proc_.log_tail() + "\n" + yaml);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  json get(const std::string& path) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    auto r = c.Get(path, {{"Authorization", "Bearer " + token_}});
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  }
  // POSTs a JSON body; the HTTP status (0 when no answer), the parsed answer in *out.
  int post(const std::string& path, const json& body, json* out = nullptr) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    auto r = c.Post(path, {{"Authorization", "Bearer " + token_}}, body.dump(), "application/json");
    if (!r) return 0;
    if (out) *out = json::parse(r->body, nullptr, false);
    return r->status;
  }
  // Every execution the sidecar holds (oldest first).
  json executions() {
    json all = json::array();
    std::string cont;
    for (int page = 0; page < 50; ++page) {
      json p = get("/v1/executions?limit=1000" + (cont.empty() ? "" : "&continue=" + cont));
      if (!p.is_object()) break;
      for (auto& e : p["items"]) all.push_back(e);
      cont = p.value("continue", "");
      if (cont.empty()) break;
    }
    return all;
  }
  Process& process() { return proc_; }

 private:
  TempDir dir_{"wf-sidecar"};
  int port_;
  std::string token_;
  Process proc_;
};

class WorkflowTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    cp_ = ControlPlane::shared(&err);
    ASSERT_NE(cp_, nullptr) << err;
    std::string out;
    ASSERT_TRUE(cp_->install_crds(&out)) << out;
    ns_ = "wf-" + std::to_string(::getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(ns_.begin(), ns_.end(), ns_.begin(), ::tolower);
    ns_ = ns_.substr(0, 63);
    ASSERT_EQ(cp_->kubectl({"create", "namespace", ns_}, &out), 0) << out;
    llm_ = std::make_unique<FakeLlmProcess>();
    settings_.poll_min = std::chrono::milliseconds(50);
    settings_.poll_max = std::chrono::milliseconds(500);
    settings_.waiting_retry = std::chrono::milliseconds(1000);
    settings_.on_dispatch = [this](const std::string&, const std::string& step, int attempt) {
      std::lock_guard<std::mutex> l(mu_);
      dispatches_.push_back(step + "/" + std::to_string(attempt));
    };
    start_operator();
  }
  void TearDown() override {
    op_.reset();
    std::string out;
    if (cp_) {
      // Workflows carry a finalizer: drop it so the namespace can go away.
      cp_->kubectl({"-n", ns_, "patch", "workflows", "--all", "--type=merge", "-p",
                    R"({"metadata":{"finalizers":null}})"},
                   &out);
      cp_->kubectl({"delete", "namespace", ns_, "--wait=false"}, &out);
    }
  }

  void start_operator() {
    op_ = std::make_unique<OperatorHarness>(
        cp_, ns_, [this](runtime::Manager& mgr, const controllers::OperatorSettings& s) {
          controllers::register_workflow_controller(mgr, s, settings_);
        });
    ASSERT_TRUE(op_->start());
  }

  void apply(const std::string& yaml) {
    std::string out;
    ASSERT_EQ(cp_->kubectl_stdin({"apply", "-n", ns_, "-f", "-"}, yaml, &out), 0) << out << "\n"
                                                                                  << yaml;
  }

  json get(const kube::Resource& r, const std::string& name) {
    if (!client_) {
      auto cfg = kube::load_kubeconfig(cp_->kubeconfig());
      if (!cfg.ok()) return json();
      auto c = kube::Client::create(*cfg);
      if (c.ok()) client_ = *c;
      if (!client_) return json();
    }
    auto o = client_->get(r, ns_, name);
    return o.ok() ? *o : json();
  }

  // Creates an Agent, waits for its token Secret, starts its sidecar and points the Agent at it.
  SidecarProcess* agent(const std::string& name, bool with_sidecar = true) {
    apply("apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: " + name +
          "\nspec:\n  model: {provider: ollama, name: fake, endpoint: " + llm_->url() +
          "}\n  autoscaling: {enabled: false}\n  policyRef: {name: development}\n");
    if (!with_sidecar) return nullptr;
    return start_sidecar(name);
  }
  // extra_yaml: top-level sections added to the sidecar's config (e.g. "memory:\n  maxEntries:
  // 9\n").
  SidecarProcess* start_sidecar(const std::string& name, const std::string& extra_yaml = "") {
    std::string token;
    bool ok = eventually([&] {
      json s = get(kube::resources::kSecrets, name + "-agent-token");
      if (s.is_null()) return false;
      auto t = base64_decode(s.value("/data/token"_json_pointer, std::string()));
      if (!t.ok()) return false;
      token = *t;
      return !token.empty();
    });
    EXPECT_TRUE(ok) << "no token Secret for agent " << name;
    while (!token.empty() && token.back() == '\n') token.pop_back();
    sidecars_[name] = std::make_unique<SidecarProcess>(token, llm_->url(), extra_yaml);
    std::string out;
    EXPECT_EQ(cp_->kubectl({"-n", ns_, "annotate", "--overwrite", "agent", name,
                            std::string(controllers::kEndpointOverrideAnnotation) + "=" +
                                sidecars_[name]->url()},
                           &out),
              0)
        << out;
    return sidecars_[name].get();
  }

  std::string phase(const std::string& wf) {
    return get(kube::resources::kWorkflows, wf).value("/status/phase"_json_pointer, std::string());
  }
  json step_status(const std::string& wf, const std::string& step) {
    for (auto& s :
         get(kube::resources::kWorkflows, wf).value("/status/steps"_json_pointer, json::array())) {
      if (s["name"] == step) return s;
    }
    return json::object();
  }
  ::testing::AssertionResult wait_phase(const std::string& wf, const std::string& want,
                                        std::chrono::seconds t = std::chrono::seconds(60)) {
    if (eventually([&] { return phase(wf) == want; }, t)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << wf << " phase is '" << phase(wf) << "', want " << want
           << "; status: " << get(kube::resources::kWorkflows, wf).value("status", json()).dump(2);
  }
  ::testing::AssertionResult wait_step(const std::string& wf, const std::string& step,
                                       const std::string& want,
                                       std::chrono::seconds t = std::chrono::seconds(60)) {
    if (eventually([&] { return step_status(wf, step).value("phase", "") == want; }, t)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << wf << "/" << step << " is " << step_status(wf, step).dump() << ", want " << want;
  }
  std::vector<std::string> dispatches() {
    std::lock_guard<std::mutex> l(mu_);
    return dispatches_;
  }
  // "Reason: note" lines of the events about that workflow.
  std::string events_of(const std::string& wf) {
    std::string out, lines;
    if (cp_->kubectl({"-n", ns_, "get", "events.events.k8s.io", "-o", "json"}, &out) != 0)
      return out;
    json l = json::parse(out, nullptr, false);
    if (!l.is_object()) return out;
    for (auto& e : l["items"]) {
      if (e.value("/regarding/name"_json_pointer, std::string()) != wf) continue;
      lines += e.value("reason", "") + ": " + e.value("note", "") + "\n";
    }
    return lines;
  }

  ControlPlane* cp_ = nullptr;
  std::string ns_;
  std::unique_ptr<FakeLlmProcess> llm_;
  controllers::WorkflowSettings settings_;
  std::unique_ptr<OperatorHarness> op_;
  std::shared_ptr<kube::Client> client_;  // the test's own reads (also with no operator running)
  std::map<std::string, std::unique_ptr<SidecarProcess>> sidecars_;
  std::mutex mu_;
  std::vector<std::string> dispatches_;
};

}  // namespace agentry::testing
