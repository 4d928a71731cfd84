// Tool sources of an Agent (operator/controllers/agent_tools.h): pure binding of spec.toolServers
// and spec.agentTools to the sidecar's mcpServers, token env vars and the status.
#include "operator/controllers/agent_tools.h"

#include <gtest/gtest.h>

#include <map>

namespace agentry::controllers {
namespace {

using nlohmann::json;

FindObject from(std::map<std::string, json> objs) {
  return [objs](const std::string& n) -> std::shared_ptr<const json> {
    auto it = objs.find(n);
    return it == objs.end() ? nullptr : std::make_shared<const json>(it->second);
  };
}

json agent(json spec) {
  return {{"metadata", {{"name", "planner"}, {"namespace", "team"}}}, {"spec", spec}};
}

const json kToolServer = json::parse(R"({
  "metadata": {"name": "files", "namespace": "team", "generation": 2},
  "spec": {"url": "http://files/mcp", "allowTools": ["read", "list"], "timeoutMs": 5000,
           "bearerTokenSecretRef": {"name": "files-token", "key": "t"}},
  "status": {"observedGeneration": 2, "reachable": true,
             "tools": [{"name": "read"}, {"name": "list"}]}})");

TEST(AgentTools, AToolServerNarrowedByTheAgent) {
  auto b = bind_tools(agent({{"toolServers", {{{"name", "files"}, {"allowTools", {"read"}}}}}}),
                      from({{"files", kToolServer}}), from({}));
  ASSERT_TRUE(b.invalid.empty() && b.waiting.empty());
  ASSERT_EQ(b.sources.size(), 1u);
  const auto& s = b.sources[0];
  EXPECT_EQ(s.server["allowTools"], json::array({"read"}));
  EXPECT_EQ(s.server["timeoutMs"], 5000);
  EXPECT_EQ(s.server["transport"], "streamable-http");
  EXPECT_EQ(s.server["bearerTokenEnv"], "AGENTRY_MCP_TOKEN_0");
  EXPECT_EQ(s.env["valueFrom"]["secretKeyRef"], json({{"name", "files-token"}, {"key", "t"}}));
  EXPECT_EQ(s.tools, std::vector<std::string>{"files__read"});
  EXPECT_TRUE(s.reachable);
  EXPECT_TRUE(tools_ready(b).ok);
  EXPECT_EQ(tools_status(agent({{"tools", {{{"name", "w"}}}}}), b)["tools"],
            json::array({"w", "files__read"}));
}

TEST(AgentTools, TheToolServersTransportReachesTheConfig) {
  json ts = kToolServer;
  ts["spec"]["transport"] = "sse";
  auto b =
      bind_tools(agent({{"toolServers", {{{"name", "files"}}}}}), from({{"files", ts}}), from({}));
  ASSERT_EQ(b.sources.size(), 1u);
  EXPECT_EQ(b.sources[0].server["transport"], "sse");
}

TEST(AgentTools, AStaleProbeIsNotReachable) {
  json ts = kToolServer;
  ts["metadata"]["generation"] = 3;  // edited since the last probe
  auto b =
      bind_tools(agent({{"toolServers", {{{"name", "files"}}}}}), from({{"files", ts}}), from({}));
  ASSERT_EQ(b.sources.size(), 1u);
  EXPECT_FALSE(b.sources[0].reachable);
  EXPECT_EQ(b.sources[0].message, "not probed yet");
  EXPECT_FALSE(tools_ready(b).ok);
}

TEST(AgentTools, AllowListsThatShareNothingAreInvalid) {
  auto b = bind_tools(agent({{"toolServers", {{{"name", "files"}, {"allowTools", {"write"}}}}}}),
                      from({{"files", kToolServer}}), from({}));
  EXPECT_NE(b.invalid.find("spec.toolServers[0].allowTools"), std::string::npos) << b.invalid;
}

TEST(AgentTools, AgentsAreCalledAtTheirServiceWithTheirToken) {
  json writer = {{"metadata", {{"name", "writer"}, {"namespace", "team"}}},
                 {"status", {{"phase", "Progressing"}}}};
  auto b = bind_tools(agent({{"agentTools", {{{"name", "writer"}, {"timeoutSeconds", 30}}}}}),
                      from({}), from({{"writer", writer}}));
  ASSERT_EQ(b.sources.size(), 1u);
  const auto& s = b.sources[0];
  EXPECT_EQ(s.server["url"], "http://writer-agent.team.svc:8080/mcp");
  EXPECT_EQ(s.server["kind"], "agent");
  EXPECT_EQ(s.server["timeoutMs"], 30000);
  EXPECT_EQ(s.secret_name, "writer-agent-token");
  EXPECT_EQ(s.tools, std::vector<std::string>{"writer__writer"});
  EXPECT_FALSE(s.reachable);
  EXPECT_NE(tools_ready(b).message.find("Agent writer: Agent writer is Progressing"),
            std::string::npos);
}

TEST(AgentTools, MissingAndSelfReferencesAreNamed) {
  auto missing = bind_tools(agent({{"toolServers", {{{"name", "nope"}}}}}), from({}), from({}));
  EXPECT_EQ(missing.waiting.rfind("spec.toolServers[0].name: ToolServer team/nope", 0), 0u)
      << missing.waiting;
  auto gone = bind_tools(agent({{"agentTools", {{{"name", "x"}}}}}), from({}), from({}));
  EXPECT_EQ(gone.waiting, "spec.agentTools[0].name: Agent team/x does not exist");
  auto self = bind_tools(agent({{"agentTools", {{{"name", "planner"}}}}}), from({}), from({}));
  EXPECT_EQ(self.invalid, "spec.agentTools[0].name: an Agent cannot list itself as a tool");
  EXPECT_EQ(referenced_agents(agent({{"agentTools", {{{"name", "a"}}, {{"name", "b"}}}}})),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(referenced_tool_servers(agent(json::object())).empty());
}

}  // namespace
}  // namespace agentry::controllers
