// Agents calling agents through each other's /mcp (mcpServers of kind "agent"): real sidecar
// processes on loopback, each with its own fake model. The call chain travels in the
// Agentry-Call-Chain header, a loop or a chain past agent.maxCallDepth is refused with a text the
// calling model reads, and a parent retried on another replica with the same Idempotency-Key does
// not run the child twice (the child key is derived, sidecar/mcp/call_chain.h).
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/sidecar/harness.h"
#include "tests/integration/sidecar/mcp_servers.h"
#include "tests/support/eventually.h"
#include "tests/support/ports.h"

namespace agentry::testing {
namespace {

using nlohmann::json;

// agent.yaml of an agent that may call `callee` (listening on port) as a tool.
std::string calls(const std::string& callee, int port) {
  return "  mcpServers:\n  - name: " + callee +
         "\n    kind: agent\n    url: http://127.0.0.1:" + std::to_string(port) +
         "/mcp\n    bearerTokenEnv: AGENTRY_TEST_CALLEE_TOKEN\n" +
         "    timeoutMs: 20000\n    retries: 0\n";
}

SidecarOptions agent(const std::string& name, const FakeLlm& llm, int port,
                     const std::string& agent_yaml) {
  SidecarOptions o;
  o.name = name;
  o.port = port;
  o.provider_endpoint = llm.url();
  o.agent_yaml = agent_yaml;
  o.env = {{"AGENTRY_TEST_CALLEE_TOKEN", kToken}};
  return o;
}

std::string output_of(const httplib::Result& r) {
  if (!r || r->status != 200)
    return "<" + (r ? std::to_string(r->status) + " " + r->body : "no answer") + ">";
  return json::parse(r->body).value("output", "");
}

json offered_tools(FakeLlm& llm) {
  return llm.last()["body"].value("tools", json::array());
}

TEST(AgentCalls, AParentCallsAChildWithItsChainAndAuth) {
  FakeLlm parent_llm, child_llm;
  const int child_port = free_port();
  Sidecar child(agent("writer", child_llm, child_port, ""));
  Sidecar parent(agent("planner", parent_llm, free_port(), calls("writer", child_port)));
  auto r = parent.post_execution({{"input", R"(call writer__writer {"input":"draft a haiku"})"}},
                                 "?wait=25s");
  EXPECT_EQ(output_of(r), "tool said: echo: draft a haiku") << parent.log_tail();
  // The child ran it as an execution of its own, keyed for the parent's retries.
  auto list = child.get("/v1/executions?limit=10");
  ASSERT_TRUE(list);
  json items = json::parse(list->body).value("items", json::array());
  ASSERT_EQ(items.size(), 1u) << list->body;
  // The child's model was asked what the parent's model passed.
  EXPECT_EQ(child_llm.stats()["chat"], 1);

  // Without the right token the child cannot even be listed: its tool is not offered, and the
  // failure is counted and logged with the child's answer.
  SidecarOptions bad = agent("planner", parent_llm, free_port(), calls("writer", child_port));
  bad.env = {{"AGENTRY_TEST_CALLEE_TOKEN", "wrong-token"}};
  Sidecar intruder(bad);
  r = intruder.post_execution({{"input", R"(call writer__writer {"input":"x"})"}}, "?wait=25s");
  EXPECT_EQ(output_of(r), R"(echo: call writer__writer {"input":"x"})");
  EXPECT_EQ(json(offered_tools(parent_llm)), json::array()) << "no tools offered";
  auto m = intruder.get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find(R"(agentry_mcp_list_failures_total{server="writer"} 1)"),
            std::string::npos);
  EXPECT_NE(intruder.log_tail().find("401"), std::string::npos) << intruder.log_tail();
  EXPECT_EQ(child_llm.stats()["chat"], 1) << "nothing ran on the child";
}

// The whole chain: Agent A's model calls Agent B, whose model calls a tool of the MCP reference
// server; the server's answer comes back through both models.
TEST(AgentCalls, AnAgentCallsAnAgentThatCallsAnMcpTool) {
  EverythingServer everything;
  ASSERT_TRUE(everything.start());
  FakeLlm a_llm, b_llm;
  const int b_port = free_port();
  Sidecar b(agent("librarian", b_llm, b_port,
                  "  mcpServers:\n  - name: everything\n    url: " + everything.url() +
                      "\n    timeoutMs: 5000\n"));
  Sidecar a(agent("front", a_llm, free_port(), calls("librarian", b_port)));
  auto r = a.post_execution(
      {{"input",
        R"(call librarian__librarian {"input":"call everything__echo {\"message\":\"via two agents\"}"})"}},
      "?wait=25s");
  EXPECT_EQ(output_of(r), "tool said: tool said: Echo: via two agents")
      << a.log_tail() << b.log_tail();
}

TEST(AgentCalls, ALoopIsRefusedWhereItWouldClose) {
  FakeLlm a_llm, b_llm;
  const int a_port = free_port(), b_port = free_port();
  Sidecar a(agent("alpha", a_llm, a_port, calls("beta", b_port)));
  Sidecar b(agent("beta", b_llm, b_port, calls("alpha", a_port)));
  // alpha -> beta -> alpha: beta's call back to alpha is refused by alpha, and the refusal is the
  // tool result beta's model answers from, which alpha's model then reads.
  auto r = a.post_execution(
      {{"input", R"(call beta__beta {"input":"call alpha__alpha {\"input\":\"again\"}"})"}},
      "?wait=25s");
  const std::string out = output_of(r);
  EXPECT_NE(out.find("call loop: alpha -> beta -> alpha"), std::string::npos) << out;
  EXPECT_EQ(a_llm.stats()["chat"], 2) << "alpha's model: the call, then the answer; never a rerun";
}

TEST(AgentCalls, TheDepthLimitEndsALongChain) {
  FakeLlm l1, l2, l3;
  const int p2 = free_port(), p3 = free_port();
  Sidecar third(agent("c3", l3, p3, "  maxCallDepth: 2\n"));
  Sidecar second(agent("c2", l2, p2, calls("c3", p3)));
  Sidecar first(agent("c1", l1, free_port(), calls("c2", p2)));
  auto r = first.post_execution(
      {{"input", R"(call c2__c2 {"input":"call c3__c3 {\"input\":\"deep\"}"})"}}, "?wait=25s");
  const std::string out = output_of(r);
  EXPECT_NE(out.find("call depth limit: c1,c2 -> c3 is 3 agents deep; agent.maxCallDepth is 2"),
            std::string::npos)
      << out;
  EXPECT_EQ(l3.stats()["chat"], 0);
}

// A parent retried with the same Idempotency-Key on another replica (a pod that died, a client
// that retried after a timeout) asks its model again, gets the same tool call, and the child
// answers from the execution it already ran.
TEST(AgentCalls, ARetriedParentDoesNotRunTheChildTwice) {
  FakeLlm parent_llm, child_llm;
  const int child_port = free_port();
  Sidecar child(agent("worker", child_llm, child_port, ""));
  Sidecar replica1(agent("boss", parent_llm, free_port(), calls("worker", child_port)));
  Sidecar replica2(agent("boss", parent_llm, free_port(), calls("worker", child_port)));
  const json body = {{"input", R"(call worker__worker {"input":"charge the card once"})"}};
  auto post = [&](Sidecar& s, const std::string& key) {
    auto c = s.client(30);
    auto h = s.auth();
    h.emplace("Idempotency-Key", key);
    return c.Post("/v1/executions?wait=25s", h, body.dump(), "application/json");
  };
  EXPECT_EQ(output_of(post(replica1, "order-17")), "tool said: echo: charge the card once");
  EXPECT_EQ(output_of(post(replica2, "order-17")), "tool said: echo: charge the card once");
  EXPECT_EQ(child_llm.stats()["chat"], 1) << "the child ran once for both replicas";
  // Another key is another order: the child runs again.
  EXPECT_EQ(output_of(post(replica2, "order-18")), "tool said: echo: charge the card once");
  EXPECT_EQ(child_llm.stats()["chat"], 2);
}

// The promise under kill -9: a parent sidecar killed in the middle of a call to its child, then
// retried (on a new process, which remembers nothing) with the same Idempotency-Key, asks its
// model again, gets the same tool call and derives the same child key; the child, still running
// the first call, answers the retry from that execution. The child's model runs once.
// (The child's own idempotency table is in its memory: a child killed mid-call is retried as a
// new execution; docs/sidecar.md says so.)
TEST(AgentCalls, AParentKilledMidCallAndRetriedDoesNotRunTheChildTwice) {
  FakeLlm parent_llm, child_llm;
  child_llm.faults({{"latencyMs", 1500}});
  const int child_port = free_port();
  Sidecar child(agent("worker", child_llm, child_port, ""));
  const json body = {{"input", R"(call worker__worker {"input":"ship the parcel once"})"}};
  auto post = [&](Sidecar& s) {
    auto c = s.client(30);
    auto h = s.auth();
    h.emplace("Idempotency-Key", "parcel-9");
    return c.Post("/v1/executions?wait=25s", h, body.dump(), "application/json");
  };
  {
    Sidecar doomed(agent("boss", parent_llm, free_port(), calls("worker", child_port)));
    std::thread first([&] { (void)post(doomed); });
    ASSERT_TRUE(eventually(
        [&] {
          auto r = child.get("/v1/executions");
          return r && r->status == 200 && json::parse(r->body)["items"].size() == 1;
        },
        std::chrono::seconds(10)))
        << "the child never got the first call";
    doomed.process().stop(SIGKILL);
    first.join();
  }
  Sidecar restarted(agent("boss", parent_llm, free_port(), calls("worker", child_port)));
  EXPECT_EQ(output_of(post(restarted)), "tool said: echo: ship the parcel once");
  EXPECT_EQ(child_llm.stats()["chat"], 1) << "the child ran once across the kill";
  auto r = child.get("/v1/executions");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["items"].size(), 1u) << r->body;
}

}  // namespace
}  // namespace agentry::testing
