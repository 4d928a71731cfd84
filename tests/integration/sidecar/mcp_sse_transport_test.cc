// The MCP client over the older HTTP+SSE transport (sidecar/mcp/sse_channel.h) against the MCP
// reference server in its "sse" mode (@modelcontextprotocol/server-everything, npm): discovery,
// calls, errors, a server restart mid-session, an unreachable server, and an agent using it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sidecar/mcp/mcp_client.h"
#include "tests/integration/sidecar/harness.h"
#include "tests/integration/sidecar/mcp_servers.h"
#include "tests/support/ports.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
using sidecar::CancelToken;
namespace mcp = sidecar::mcp;

class McpSseTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()); }
  mcp::ServerOptions options() {
    mcp::ServerOptions o;
    o.name = "legacy";
    o.url = server_.url();
    o.transport = "sse";
    o.timeout_ms = 5000;
    return o;
  }
  EverythingServer server_{"sse"};
  CancelToken cancel_;
};

TEST_F(McpSseTransportTest, InitializesListsAndCallsTools) {
  mcp::Client c(options());
  auto tools = c.list_tools(&cancel_);
  ASSERT_TRUE(tools.ok()) << tools.status().to_string();
  EXPECT_EQ(c.session_id(), "1") << "the session is the first event stream";
  EXPECT_FALSE(c.protocol_version().empty());
  bool sum = false;
  for (const auto& t : *tools) sum |= t.name == "get-sum";
  EXPECT_TRUE(sum) << tools->size() << " tools";
  auto r = c.call_tool("get-sum", {{"a", 2}, {"b", 40}}, &cancel_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_NE(r->text.find("42"), std::string::npos) << r->text;
  r = c.call_tool("echo", {{"message", "héllo"}}, &cancel_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "Echo: héllo");
  EXPECT_TRUE(c.ping(&cancel_).is_ok());
  // A protocol error comes back on the stream as an error, with the server's words.
  r = c.call_tool("no-such-tool", json::object(), &cancel_);
  if (r.ok()) {
    EXPECT_TRUE(r->is_error) << r->text;  // servers may answer an unknown tool either way
  } else {
    EXPECT_NE(r.status().message().find("MCP server 'legacy'"), std::string::npos);
  }
}

TEST_F(McpSseTransportTest, AServerRestartMidSessionOpensANewOne) {
  mcp::Client c(options());
  ASSERT_TRUE(c.list_tools(&cancel_).ok());
  server_.stop();
  ASSERT_TRUE(server_.start());
  // The stream ended with the server; the next call finds the new stream, initializes on it and
  // is answered.
  auto r = c.call_tool("get-sum", {{"a", 1}, {"b", 2}}, &cancel_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_NE(r->text.find("3"), std::string::npos) << r->text;
  EXPECT_NE(c.session_id(), "1");
}

TEST(McpSseTransport, AnUnreachableServerIsAClearErrorInTime) {
  mcp::ServerOptions o;
  o.name = "gone";
  o.url = "http://127.0.0.1:" + std::to_string(free_port()) + "/sse";
  o.transport = "sse";
  o.timeout_ms = 1000;
  mcp::Client c(o);
  CancelToken cancel;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.list_tools(&cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("MCP server 'gone' unreachable: no event stream"),
            std::string::npos)
      << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(McpSseTransportTest, AnAgentCallsAToolOverSse) {
  FakeLlm llm;
  SidecarOptions so;
  so.provider_endpoint = llm.url();
  so.agent_yaml = "  mcpServers:\n  - name: legacy\n    transport: sse\n    url: " + server_.url() +
                  "\n    timeoutMs: 3000\n    allowTools: [echo]\n";
  Sidecar sc(so);
  auto r = sc.post_execution({{"input", R"(please call legacy__echo {"message":"old transport"})"}},
                             "?wait=20s");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["output"], "tool said: Echo: old transport") << r->body;
}

}  // namespace
}  // namespace agentry::testing
