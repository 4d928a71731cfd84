// agentry-console's API against real parts: the shared control plane (kube-apiserver, etcd,
// controller-manager, scheduler, kwok), the operator's Agent and Workflow controllers in this
// process, the fake LLM and real agentry-sidecar processes (tests/integration/workflow), and the
// Console itself in this process on a loopback port. Users are console accounts in a Secret and
// a ServiceAccount token; what they may do is plain Kubernetes RBAC.
#include <atomic>

#include "tests/integration/console/console_harness.h"

namespace agentry::testing {
namespace {

class ConsoleApiTest : public ConsoleTestBase {};

TEST_F(ConsoleApiTest, LoginAnswersAlikeForAWrongNameOrPasswordAndSessionsEnd) {
  auto wrong_pw = call("POST", "/api/v1/auth/login", {{"username", "alice"}, {"password", "x"}});
  auto wrong_user =
      call("POST", "/api/v1/auth/login", {{"username", "mallory"}, {"password", "x"}});
  EXPECT_EQ(wrong_pw.status, 401);
  EXPECT_EQ(wrong_user.status, 401);
  EXPECT_EQ(wrong_pw.raw, wrong_user.raw) << "the same answer: nothing tells which names exist";
  EXPECT_EQ(call("POST", "/api/v1/auth/login", json::parse("[1]")).status, 400);
  EXPECT_EQ(call("POST", "/api/v1/auth/login", {{"username", "alice"}}).status, 400);

  auto ok = call("POST", "/api/v1/auth/login", {{"username", "alice"}, {"password", "alice-pw"}});
  ASSERT_EQ(ok.status, 200) << ok.raw;
  const std::string t = ok.body["access_token"];
  EXPECT_EQ(ok.body["token_type"], "Bearer");
  EXPECT_GT(ok.body["expires_in"].get<int>(), 3600);
  auto me = call("GET", "/api/v1/auth/whoami", nullptr, t);
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(me.body["user"], alice_) << "the account's Kubernetes user";
  EXPECT_EQ(me.body["account"], "alice");
  EXPECT_EQ(call("GET", "/api/v1/auth/whoami").status, 401) << "no token";
  EXPECT_EQ(call("GET", "/api/v1/auth/whoami", nullptr, t + "x").status, 401);
  EXPECT_EQ(call("POST", "/api/v1/auth/logout", nullptr, t).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/agents", nullptr, t).status, 401) << "revoked by logout";

  // The password changed in the Secret: the old one stops working at once.
  apply_in(ns_,
           "apiVersion: v1\nkind: Secret\nmetadata:\n  name: agentry-console-accounts\n"
           "stringData:\n  alice: '" +
               *console::hash_password("new-pw") + "'\n");
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", {{"username", "alice"}, {"password", "alice-pw"}}).status,
      401);
  EXPECT_FALSE(login("alice", "new-pw").empty());

  // Guessing: per account, whichever client; 429 with Retry-After, and not a 401 that would
  // let the guessing go on.
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 12; ++i) {
    auto r = call("POST", "/api/v1/auth/login", {{"username", "bob"}, {"password", "guess"}});
    if (r.status == 429) {
      ++limited;
      retry_after = httplib::detail::get_header_value(r.headers, "Retry-After", 0, "");
    }
  }
  EXPECT_GE(limited, 6) << "5 tries, then a wait";
  EXPECT_GE(std::atoi(retry_after.c_str()), 1);
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", {{"username", "bob"}, {"password", "bob-pw"}}).status, 429)
      << "even the right password waits: the limit is on attempts";
}

TEST_F(ConsoleApiTest, AUserSeesAndChangesExactlyWhatRbacLetsThem) {
  agent("mine", false);
  apply_in(other_,
           "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata: {name: theirs}\n"
           "spec: {model: {provider: ollama, name: m}}\n");
  const std::string alice = login("alice", "alice-pw"), bob = login("bob", "bob-pw");
  auto ids = [&](const std::string& tok, const std::string& q) {
    std::set<std::string> out;
    auto r = call("GET", "/api/v1/agents" + q, nullptr, tok);
    if (r.status == 200)
      for (auto& a : r.body["items"]) out.insert(a["id"].get<std::string>());
    return out;
  };
  ASSERT_TRUE(eventually([&] { return ids(alice, "").count(ns_ + "/mine") == 1; }, 20s));
  EXPECT_EQ(ids(alice, "").count(other_ + "/theirs"), 0u) << "not alice's namespace";
  ASSERT_TRUE(eventually([&] { return ids(bob, "").count(other_ + "/theirs") == 1; }, 20s));
  EXPECT_EQ(ids(bob, "").count(ns_ + "/mine"), 0u);
  // Only the namespaces each may list, however they ask.
  for (const auto& r : ids(alice, "")) EXPECT_EQ(r.rfind(ns_ + "/", 0), 0u) << r;
  EXPECT_EQ(call("GET", "/api/v1/agents?namespace=" + other_, nullptr, alice).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/agents/" + other_ + "/theirs", nullptr, alice).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/agents/" + ns_ + "/mine", nullptr, bob).status, 403);
  auto detail = call("GET", "/api/v1/agents/" + other_ + "/theirs", nullptr, bob);
  EXPECT_EQ(detail.status, 200) << detail.raw;
  // Writes are made as the user: the API server says no.
  json create = {{"name", "intruder"}, {"namespace", other_}, {"template", "chatbot"}};
  auto denied = call("POST", "/api/v1/agents", create, alice);
  EXPECT_EQ(denied.status, 403) << denied.raw;
  EXPECT_NE(denied.raw.find("alice"), std::string::npos) << "the API server's own reason";
  EXPECT_EQ(call("DELETE", "/api/v1/agents/" + other_ + "/theirs", nullptr, alice).status, 403);
  EXPECT_EQ(call("PUT", "/api/v1/agents/" + other_ + "/theirs", {{"spec", {{"replicas", 3}}}}, bob)
                .status,
            403)
      << "bob may read, not write";
  std::string out;
  EXPECT_EQ(cp_->kubectl({"-n", other_, "get", "agent", "theirs"}, &out), 0) << "still there";
  // And what they may do, they can.
  auto upd = call("PUT", "/api/v1/agents/" + ns_ + "/mine", {{"spec", {{"replicas", 2}}}}, alice);
  EXPECT_EQ(upd.status, 200) << upd.raw;
  EXPECT_EQ(get(kube::resources::kAgents, "mine")["spec"]["replicas"], 2);
  EXPECT_EQ(call("DELETE", "/api/v1/agents/" + ns_ + "/mine", nullptr, alice).status, 202);
  EXPECT_TRUE(eventually([&] { return get(kube::resources::kAgents, "mine").is_null(); }, 20s));
  // The guidelines' GET /agents/{id} (the name, in the default namespace).
  agent("byname", false);
  EXPECT_TRUE(eventually(
      [&] { return call("GET", "/api/v1/agents/byname", nullptr, alice).status == 200; }, 20s));
}

TEST_F(ConsoleApiTest, AnAgentFromATemplateTurnsReadyOnTheWatchStream) {
  const std::string alice = login("alice", "alice-pw");
  auto templates = call("GET", "/api/v1/templates", nullptr, alice);
  ASSERT_EQ(templates.status, 200);
  EXPECT_GE(templates.body["items"].size(), 3u);
  auto list = call("GET", "/api/v1/agents", nullptr, alice);
  ASSERT_EQ(list.status, 200);
  const uint64_t rev = list.body["revision"];
  // The guidelines' body, as is (an LLM endpoint so the agent is usable).
  json body = {{"name", "Load Test Agent"},
               {"template", "chatbot"},
               {"config", {{"llm_provider", "ollama"}, {"model", "llama2"}}}};
  auto created = call("POST", "/api/v1/agents", body, alice);
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = created.body["id"];
  EXPECT_EQ(id.rfind(ns_ + "/load-test-agent-", 0), 0u) << id;
  EXPECT_EQ(created.body["displayName"], "Load Test Agent");
  EXPECT_EQ(created.body["template"], "chatbot");
  std::vector<std::string> phases;
  auto events = sse(
      "GET", "/api/v1/watch?kinds=agent&since=" + std::to_string(rev), nullptr, alice,
      [&](const std::string& name, const json& d) {
        if (name != "change" || d["object"]["id"] != id) return false;
        phases.push_back(d["object"]["phase"]);
        return d["object"]["phase"] == "Ready";
      },
      90s);
  ASSERT_FALSE(phases.empty()) << "no change of " << id << " on the stream";
  EXPECT_EQ(phases.back(), "Ready") << "phases seen: " << json(phases).dump();
  EXPECT_EQ(events.front().first, "hello");
  // The detail shows what the operator made and its scaling.
  auto detail = call("GET", "/api/v1/agents/" + id, nullptr, alice);
  ASSERT_EQ(detail.status, 200);
  EXPECT_EQ(detail.body["phase"], "Ready");
  EXPECT_FALSE(detail.body["owned"].empty());
  EXPECT_FALSE(detail.body["conditions"].empty());
  // The chatbot template autoscales: the HPA's state as the operator mirrors it into the status.
  Reply scaled;
  EXPECT_TRUE(eventually(
      [&] {
        scaled = call("GET", "/api/v1/agents/" + id, nullptr, alice);
        return scaled.body["autoscaling"].is_object() &&
               scaled.body["autoscaling"].value("maxReplicas", 0) == 5;
      },
      60s))
      << scaled.raw;
  // bob (another namespace) sees none of it on his stream.
  const std::string bob = login("bob", "bob-pw");
  auto bobs = sse(
      "GET", "/api/v1/watch?kinds=agent&since=" + std::to_string(rev), nullptr, bob,
      [](const std::string&, const json&) { return false; }, 3s);
  for (auto& [name, d] : bobs) {
    if (name == "change") {
      EXPECT_NE(d["object"]["namespace"], ns_) << d.dump();
    }
  }
  EXPECT_EQ(call("GET", "/api/v1/watch?kinds=pods", nullptr, alice).status, 400);
}

TEST_F(ConsoleApiTest, ChatStreamsTheAgentsAnswerAndNeverItsToken) {
  SidecarProcess* sc = agent("chatty");
  ASSERT_NE(sc, nullptr);
  const std::string alice = login("alice", "alice-pw");
  ASSERT_TRUE(eventually(
      [&] {
        auto a = call("GET", "/api/v1/agents/" + ns_ + "/chatty", nullptr, alice);
        return a.status == 200;
      },
      20s));
  std::string token;
  {
    json s = get(kube::resources::kSecrets, "chatty-agent-token");
    token = *base64_decode(s.value("/data/token"_json_pointer, std::string()));
    while (!token.empty() && token.back() == '\n') token.pop_back();
  }
  std::string raw;
  int status = 0;
  auto events = sse(
      "POST", "/api/v1/agents/" + ns_ + "/chatty/chat",
      {{"input", "hello there"}, {"sessionId", "s1"}}, alice,
      [&](const std::string& name, const json& d) {
        raw += name + " " + d.dump() + "\n";
        return name == "done" || name == "error";
      },
      60s, &status);
  EXPECT_EQ(status, 200);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().first, "done") << raw;
  std::string text;
  for (auto& [name, d] : events)
    if (name == "delta") text += d.value("content", "");
  EXPECT_FALSE(text.empty()) << "the answer came in pieces: " << raw;
  EXPECT_EQ(events.back().second["state"], "succeeded") << raw;
  EXPECT_EQ(raw.find(token), std::string::npos) << "the agent's token never reaches the caller";
  EXPECT_EQ(sc->executions().size(), 1u) << "one execution on the sidecar";
  // The agent page carries the sidecar's own memory and cache figures, read with its token.
  auto detail = call("GET", "/api/v1/agents/" + ns_ + "/chatty/figures", nullptr, alice);
  ASSERT_EQ(detail.status, 200);
  EXPECT_TRUE(detail.body["cache"]["l1"].is_object()) << detail.raw;
  EXPECT_TRUE(detail.body["memory"].contains("facts")) << detail.raw;
  EXPECT_EQ(detail.raw.find(token), std::string::npos);
  // bob may not read agents in ns_ at all; a user who may get the Agent but not its Secret gets
  // a 403 that says why.
  const std::string bob = login("bob", "bob-pw");
  EXPECT_EQ(call("POST", "/api/v1/agents/" + ns_ + "/chatty/chat", {{"input", "hi"}}, bob).status,
            403);
  apply_in(ns_, R"(apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: agent-viewer}
rules:
- apiGroups: [agentry.dev]
  resources: [agents]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: readers-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: agent-viewer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: READERS}]
)");
  Reply r;
  ASSERT_TRUE(eventually(
      [&] {
        r = call("POST", "/api/v1/agents/" + ns_ + "/chatty/chat", {{"input", "hi"}}, bob);
        return r.status == 403 && r.raw.find("token Secret") != std::string::npos;
      },
      20s))
      << r.status << " " << r.raw;
  EXPECT_EQ(call("GET", "/api/v1/agents/" + ns_ + "/chatty", nullptr, bob).status, 200)
      << "bob may get the Agent";
  auto bobs_view = call("GET", "/api/v1/agents/" + ns_ + "/chatty/figures", nullptr, bob);
  EXPECT_FALSE(bobs_view.body.contains("cache")) << "but not the sidecar's figures";
  EXPECT_NE(bobs_view.body.value("error", "").find("token Secret"), std::string::npos);
  // The console's own figures.
  auto metrics = call("GET", "/metrics");
  EXPECT_NE(metrics.raw.find("console_logins_total{result=\"ok\"}"), std::string::npos);
  EXPECT_NE(metrics.raw.find("console_chats_total{result=\"ok\"}"), std::string::npos);
  EXPECT_EQ(call("POST", "/api/v1/agents/" + ns_ + "/chatty/chat", {{"input", ""}}, alice).status,
            400);
  EXPECT_EQ(call("POST", "/api/v1/agents/" + ns_ + "/nobody/chat", {{"input", "x"}}, alice).status,
            404);
}

TEST_F(ConsoleApiTest, WorkflowsAreCreatedFollowedAndCancelledAndPoliciesListed) {
  agent("wfagent");
  const std::string alice = login("alice", "alice-pw");
  json spec = json::parse(R"({"input": "go", "steps": [
      {"name": "one", "agentRef": {"name": "wfagent"}, "input": "first {{ input }}"},
      {"name": "two", "agentRef": {"name": "wfagent"}, "dependsOn": ["one"],
       "input": "then {{ steps.one.output }}"}]})");
  auto c = call("POST", "/api/v1/workflows", {{"name", "flow"}, {"spec", spec}}, alice);
  ASSERT_EQ(c.status, 201) << c.raw;
  Reply w;
  ASSERT_TRUE(eventually(
      [&] {
        w = call("GET", "/api/v1/workflows/" + ns_ + "/flow", nullptr, alice);
        return w.status == 200 && w.body["phase"] == "Succeeded";
      },
      60s))
      << w.raw;
  ASSERT_EQ(w.body["steps"].size(), 2u);
  EXPECT_EQ(w.body["steps"][1]["dependsOn"], json::array({"one"}));
  EXPECT_EQ(w.body["steps"][0]["phase"], "Succeeded");
  EXPECT_EQ(w.body["steps"][1]["phase"], "Succeeded");
  auto list = call("GET", "/api/v1/workflows?namespace=" + ns_, nullptr, alice);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["items"].size(), 1u);
  // Cancel: the workflow is suspended (resumable), as the user.
  auto c2 = call("POST", "/api/v1/workflows", {{"name", "slow"}, {"spec", spec}}, alice);
  ASSERT_EQ(c2.status, 201);
  auto cancel = call("POST", "/api/v1/workflows/" + ns_ + "/slow/cancel", nullptr, alice);
  EXPECT_EQ(cancel.status, 200) << cancel.raw;
  EXPECT_EQ(get(kube::resources::kWorkflows, "slow")["spec"]["suspend"], true);
  const std::string bob = login("bob", "bob-pw");
  EXPECT_EQ(call("POST", "/api/v1/workflows/" + ns_ + "/slow/resume", nullptr, bob).status, 403);
  EXPECT_EQ(call("POST", "/api/v1/workflows", {{"name", "Bad Name"}, {"spec", spec}}, alice).status,
            400);
  // Policies are cluster-scoped: listing them takes a cluster-wide grant, which alice lacks.
  EXPECT_EQ(call("GET", "/api/v1/policies", nullptr, alice).status, 403);
  std::string out;
  cp_->kubectl({"create", "clusterrole", ns_ + "-policies", "--verb=get,list,watch",
                "--resource=agentpolicies.agentry.dev"},
               &out);
  cp_->kubectl({"create", "clusterrolebinding", ns_ + "-policies",
                "--clusterrole=" + ns_ + "-policies", "--user=" + alice_},
               &out);
  Reply p;
  EXPECT_TRUE(eventually(
      [&] {
        p = call("GET", "/api/v1/policies", nullptr, alice);
        return p.status == 200 && p.raw.find("\"production\"") != std::string::npos;
      },
      20s))
      << p.raw;
  EXPECT_EQ(call("GET", "/api/v1/policies/development", nullptr, alice).status, 200);
  cp_->kubectl({"delete", "clusterrolebinding", ns_ + "-policies"}, &out);
  cp_->kubectl({"delete", "clusterrole", ns_ + "-policies"}, &out);
}

TEST_F(ConsoleApiTest, AKubernetesTokenIsReviewedAndImpersonated) {
  std::string out;
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "create", "serviceaccount", "robot"}, &out), 0) << out;
  apply_in(ns_,
           "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: "
           "robot}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "
           "agent-editor}\nsubjects: [{kind: ServiceAccount, name: robot, namespace: " +
               ns_ + "}]\n");
  ASSERT_EQ(cp_->kubectl({"-n", ns_, "create", "token", "robot"}, &out), 0) << out;
  std::string token = out;
  while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
  auto me = call("GET", "/api/v1/auth/whoami", nullptr, token);
  ASSERT_EQ(me.status, 200) << me.raw;
  EXPECT_EQ(me.body["user"], "system:serviceaccount:" + ns_ + ":robot");
  EXPECT_EQ(call("GET", "/api/v1/agents?namespace=" + ns_, nullptr, token).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/agents?namespace=" + other_, nullptr, token).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/auth/whoami", nullptr, "not-a-token").status, 401);
}

TEST_F(ConsoleApiTest, ListsPageInIdOrderAndFilterByPhaseAndLabels) {
  for (const char* n : {"p-a", "p-b", "p-c", "p-d", "p-e"}) {
    apply_in(ns_,
             std::string("apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: ") + n +
                 "\n  labels: {team: " + (n[2] < 'c' ? "red" : "blue") +
                 "}\nspec: {model: {provider: ollama, name: m}, autoscaling: {enabled: false}}\n");
  }
  const std::string alice = login("alice", "alice-pw");
  const std::string q = "/api/v1/agents?namespace=" + ns_;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = call("GET", q + "&labelSelector=team%3Dblue", nullptr, alice);
        return r.status == 200 && r.body["items"].size() == 3;
      },
      30s));
  std::vector<std::string> seen;
  std::string cont;
  for (int page = 0; page < 10; ++page) {
    auto r =
        call("GET", q + "&limit=2" + (cont.empty() ? "" : "&continue=" + cont), nullptr, alice);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_LE(r.body["items"].size(), 2u);
    for (auto& a : r.body["items"]) seen.push_back(a["name"]);
    if (!r.body.contains("continue")) break;
    cont = r.body["continue"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"p-a", "p-b", "p-c", "p-d", "p-e"}))
      << "every agent once, in id order";
  auto red = call("GET", q + "&labelSelector=team%3Dred", nullptr, alice);
  ASSERT_EQ(red.body["items"].size(), 2u);
  EXPECT_EQ(red.body["items"][0]["labels"]["team"], "red");
  EXPECT_TRUE(eventually(
      [&] {
        auto ready = call("GET", q + "&phase=Ready", nullptr, alice);
        return ready.status == 200 && ready.body["items"].size() == 5;
      },
      90s))
      << "kwok runs their pods: all five turn Ready";
  EXPECT_EQ(call("GET", q + "&phase=Failed", nullptr, alice).body["items"].size(), 0u);
}

// Each open stream holds a server worker: a user's tabs are capped (3 here, 16 by default) so
// streams can never take the workers the API's requests need.
TEST_F(ConsoleApiTest, OpenStreamsAreCappedPerUserAndTheApiStillAnswers) {
  const std::string alice = login("alice", "alice-pw");
  std::atomic<bool> stop{false};
  std::atomic<int> hellos{0};
  std::vector<std::thread> tabs;
  for (int i = 0; i < 3; ++i) {
    tabs.emplace_back([&] {
      httplib::Client c("127.0.0.1", console_->port());
      c.set_read_timeout(30, 0);
      httplib::Request req;
      req.method = "GET";
      req.path = "/api/v1/watch";
      req.headers = {{"Authorization", "Bearer " + alice}};
      httplib::Response res;
      req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
        if (std::string(d, n).find("event: hello") != std::string::npos) ++hellos;
        return !stop.load();
      };
      httplib::Error err;
      c.send(req, res, err);
    });
  }
  ASSERT_TRUE(eventually([&] { return hellos.load() == 3; }, 20s));
  // The fourth, read so that a stream (the bug this guards against) ends the test instead of
  // hanging it: the first piece of the body is enough.
  httplib::Client c4("127.0.0.1", console_->port());
  c4.set_read_timeout(5, 0);
  std::string body4;
  auto fourth =
      c4.Get("/api/v1/watch", {{"Authorization", "Bearer " + alice}}, [&](const char* d, size_t n) {
        body4.append(d, n);
        return false;
      });
  ASSERT_TRUE(fourth || fourth.error() == httplib::Error::Canceled);
  if (fourth) {
    EXPECT_EQ(fourth->status, 429) << body4;
    EXPECT_FALSE(fourth->get_header_value("Retry-After").empty());
  }
  EXPECT_NE(body4.find("too many open streams"), std::string::npos) << body4;
  EXPECT_EQ(call("GET", "/api/v1/agents", nullptr, alice).status, 200) << "requests still answer";
  const std::string bob = login("bob", "bob-pw");
  int bob_status = 0;
  sse(
      "GET", "/api/v1/watch", nullptr, bob,
      [](const std::string& name, const json&) { return name == "hello"; }, 10s, &bob_status);
  EXPECT_EQ(bob_status, 200) << "another user has a budget of their own";
  stop = true;  // the tabs close: their slots come back (at the next keep-alive write)
  for (auto& t : tabs) t.join();
  EXPECT_TRUE(eventually(
      [&] {
        int st = 0;
        sse(
            "GET", "/api/v1/watch", nullptr, alice,
            [](const std::string& name, const json&) { return name == "hello"; }, 5s, &st);
        return st == 200;
      },
      20s));
}

TEST_F(ConsoleApiTest, StrictHeadersAndHostileInputNeverBreakIt) {
  auto page = call("GET", "/agents");
  EXPECT_EQ(page.status, 200);
  auto hv = [&](const Reply& r, const char* k) {
    return httplib::detail::get_header_value(r.headers, k, 0, "");
  };
  const std::string csp = hv(page, "Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(std::string(hv(page, "X-Content-Type-Options")), "nosniff");
  EXPECT_EQ(std::string(hv(page, "X-Frame-Options")), "DENY");
  const std::string alice = login("alice", "alice-pw");
  auto api = call("GET", "/api/v1/agents", nullptr, alice);
  EXPECT_EQ(std::string(hv(api, "Cache-Control")), "no-store");
  for (const char* bad : {"{", "[]", "null", "{\"name\":{\"$gt\":1}}", "\"x\""}) {
    httplib::Client c("127.0.0.1", console_->port());
    auto r =
        c.Post("/api/v1/agents", {{"Authorization", "Bearer " + alice}}, bad, "application/json");
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad << " -> " << r->body;
    EXPECT_NE(r->body.find("\"error\""), std::string::npos);
  }
  EXPECT_EQ(call("GET", "/api/v1/agents?limit=0", nullptr, alice).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/agents?limit=abc", nullptr, alice).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/agents?labelSelector=a!=b", nullptr, alice).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/agents/Bad_Name/x", nullptr, alice).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/watch?since=-1", nullptr, alice).status, 400);
  std::string big(2 << 20, 'a');
  httplib::Client c("127.0.0.1", console_->port());
  auto r = c.Post("/api/v1/auth/login", big, "application/json");
  EXPECT_TRUE(!r || r->status == 413);
  EXPECT_EQ(call("GET", "/readyz").status, 200) << "still serving";
}

}  // namespace
}  // namespace agentry::testing
