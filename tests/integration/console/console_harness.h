// The parts a console test runs against: everything WorkflowTestBase brings (the shared control
// plane, the operator's Agent and Workflow controllers in this process, the fake LLM, sidecar
// processes), two namespaces (ns_ and other_), console accounts alice (edits agents and workflows
// in ns_) and bob (group readers: reads agents in other_) in a Secret, and the Console itself in
// this process on a loopback port. The accounts act as Kubernetes users and groups named after the
// test's namespace (alice_, readers_): tests run side by side on one control plane, and a plain
// "alice" bound in each test's namespace would see every other test's namespace too.
// this process on a loopback port; helpers for its JSON API and its SSE streams.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <functional>
#include <sstream>
#include <thread>

#include "console/app/console.h"
#include "console/auth/passwords.h"
#include "tests/integration/workflow/workflow_harness.h"

namespace agentry::testing {

using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  json body;
  httplib::Headers headers;
  std::string raw;
};

class ConsoleTestBase : public WorkflowTestBase {
 protected:
  void SetUp() override {
    WorkflowTestBase::SetUp();
    if (HasFatalFailure()) return;
    other_ = ns_.substr(0, 58) + "-b";
    std::string out;
    ASSERT_EQ(cp_->kubectl({"create", "namespace", other_}, &out), 0) << out;
    // alice edits agents and workflows in ns_ and may read their token Secrets (to chat); bob
    // only reads agents in other_.
    alice_ = "alice." + ns_;
    readers_ = "readers." + ns_;
    const std::string hash = *console::hash_password("alice-pw");
    const std::string bob_hash = *console::hash_password("bob-pw");
    apply_in(ns_,
             "apiVersion: v1\nkind: Secret\nmetadata:\n  name: agentry-console-accounts\n"
             "stringData:\n  alice: '{\"passwordHash\": \"" +
                 hash + "\", \"user\": \"" + alice_ + "\"}'\n  bob: '{\"passwordHash\": \"" +
                 bob_hash + "\", \"user\": \"bob." + ns_ + "\", \"groups\": [\"" + readers_ +
                 "\"]}'\n");
    apply_in(ns_, R"(apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: agent-editor}
rules:
- apiGroups: [agentry.dev]
  resources: [agents, workflows]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [secrets, events]
  verbs: [get, list]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: agent-editor}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ALICE}]
)");
    apply_in(other_, R"(apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: agent-reader}
rules:
- apiGroups: [agentry.dev]
  resources: [agents]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: agent-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: READERS}]
)");
    console::ConsoleOptions o;
    o.kubeconfig = cp_->kubeconfig();
    o.listen = "127.0.0.1:0";
    o.console_namespace = ns_;
    o.api.default_namespace = ns_;
    o.api.watch_keepalive = 1s;
    o.api.max_streams_per_identity = 3;
    o.access.review_ttl = 1s;
    console_ = std::make_unique<console::Console>(o);
    auto s = console_->start();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    server_ = std::thread([this] { console_->serve(); });
    ASSERT_TRUE(eventually([&] { return call("GET", "/readyz").status == 200; }, 30s));
  }
  void TearDown() override {
    if (console_) console_->stop();
    if (server_.joinable()) server_.join();
    console_.reset();
    std::string out;
    if (cp_ && !other_.empty()) cp_->kubectl({"delete", "namespace", other_, "--wait=false"}, &out);
    WorkflowTestBase::TearDown();
  }

  // kubectl apply of yaml in ns, with ALICE and READERS replaced by alice_ and readers_.
  void apply_in(const std::string& ns, std::string yaml) {
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"ALICE", alice_},
                                   std::pair<std::string, std::string>{"READERS", readers_}}) {
      for (size_t at; (at = yaml.find(from)) != std::string::npos;)
        yaml.replace(at, from.size(), to);
    }
    std::string out;
    ASSERT_EQ(cp_->kubectl_stdin({"apply", "-n", ns, "-f", "-"}, yaml, &out), 0) << out << yaml;
  }

  Reply call(const std::string& method, const std::string& path, const json& body = nullptr,
             const std::string& token = "") {
    httplib::Client c("127.0.0.1", console_->port());
    c.set_read_timeout(30, 0);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    httplib::Result r =
        method == "GET"      ? c.Get(path, h)
        : method == "DELETE" ? c.Delete(path, h)
        : method == "PUT"    ? c.Put(path, h, body.is_null() ? "" : body.dump(), "application/json")
                          : c.Post(path, h, body.is_null() ? "" : body.dump(), "application/json");
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.raw = r->body;
    out.headers = r->headers;
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }

  std::string login(const std::string& user, const std::string& pw) {
    auto r = call("POST", "/api/v1/auth/login", {{"username", user}, {"password", pw}});
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.is_object() ? r.body.value("access_token", "") : "";
  }

  // Reads an SSE stream until stop(event, data) says so or the time is up; the events seen.
  std::vector<std::pair<std::string, json>> sse(
      const std::string& method, const std::string& path, const json& body,
      const std::string& token, const std::function<bool(const std::string&, const json&)>& stop,
      std::chrono::seconds limit, int* status = nullptr) {
    std::vector<std::pair<std::string, json>> events;
    httplib::Client c("127.0.0.1", console_->port());
    c.set_read_timeout(limit.count(), 0);
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = {{"Authorization", "Bearer " + token}, {"Accept", "text/event-stream"}};
    if (!body.is_null()) {
      req.body = body.dump();
      req.set_header("Content-Type", "application/json");
    }
    std::string buf;
    bool done = false;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    httplib::Response res;
    req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
      buf.append(d, n);
      size_t cut;
      while ((cut = buf.find("\n\n")) != std::string::npos) {
        std::string frame = buf.substr(0, cut);
        buf.erase(0, cut + 2);
        std::string name = "message", data;
        std::istringstream lines(frame);
        for (std::string line; std::getline(lines, line);) {
          if (line.rfind("event: ", 0) == 0) name = line.substr(7);
          if (line.rfind("data: ", 0) == 0) data += line.substr(6);
        }
        if (data.empty()) continue;
        events.emplace_back(name, json::parse(data, nullptr, false));
        if (stop(name, events.back().second)) done = true;
      }
      return !done && std::chrono::steady_clock::now() < deadline;
    };
    httplib::Error err;
    c.send(req, res, err);
    if (status) *status = res.status;
    return events;
  }

  std::string other_;
  std::string alice_, readers_;  // the Kubernetes user and group the accounts act as
  std::unique_ptr<console::Console> console_;
  std::thread server_;
};

}  // namespace agentry::testing
