// The sidecar's MCP client (sidecar/mcp/mcp_client.h) against an implementation no one here wrote:
// the MCP reference test server @modelcontextprotocol/server-everything (npm, installed and cached
// by hack/test-tools.sh), over its Streamable HTTP transport on loopback. Discovery, calls (text,
// structured, isError), protocol errors, a server restart mid-session, an unreachable server,
// and a server that never answers.
#include "sidecar/mcp/mcp_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "sidecar/mcp/json_rpc.h"
#include "tests/integration/sidecar/harness.h"
#include "tests/integration/sidecar/mcp_servers.h"
#include "tests/support/control_plane.h"
#include "tests/support/eventually.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
using sidecar::CancelToken;
namespace mcp = sidecar::mcp;

class McpClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()); }
  mcp::ServerOptions options() {
    mcp::ServerOptions o;
    o.name = "everything";
    o.url = server_.url();
    o.timeout_ms = 5000;
    return o;
  }
  EverythingServer server_;
  CancelToken cancel_;
};

TEST_F(McpClientTest, InitializesListsAndCallsTools) {
  mcp::Client c(options());
  auto tools = c.list_tools(&cancel_);
  ASSERT_TRUE(tools.ok()) << tools.status().to_string();
  EXPECT_EQ(c.protocol_version(), mcp::supported_protocol_versions().front());
  EXPECT_FALSE(c.session_id().empty()) << "the reference server issues Mcp-Session-Id";
  bool echo = false, sum = false;
  for (const auto& t : *tools) {
    if (t.name == "echo") {
      echo = true;
      EXPECT_FALSE(t.description.empty());
      EXPECT_TRUE(t.input_schema["properties"].contains("message")) << t.input_schema;
    }
    sum |= t.name == "get-sum";
  }
  EXPECT_TRUE(echo && sum) << tools->size() << " tools";

  auto r = c.call_tool("get-sum", {{"a", 2}, {"b", 40}}, &cancel_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(r->is_error);
  EXPECT_NE(r->text.find("42"), std::string::npos) << r->text;
  r = c.call_tool("echo", {{"message", "héllo 世界"}}, &cancel_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "Echo: héllo 世界");
  EXPECT_TRUE(c.ping(&cancel_).is_ok());
}

TEST_F(McpClientTest, StructuredContentAndToolErrorsReachTheCaller) {
  mcp::Client c(options());
  auto r = c.call_tool("get-structured-content", {{"location", "New York"}}, &cancel_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->structured.is_object()) << r->text;
  EXPECT_FALSE(r->text.empty());
  // An unknown tool: the reference server answers a result with isError (not a JSON-RPC error).
  r = c.call_tool("no-such-tool", json::object(), &cancel_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->is_error);
  EXPECT_NE(r->text.find("no-such-tool"), std::string::npos) << r->text;
  // Arguments that fail the tool's schema: an error the model can read either way.
  r = c.call_tool("get-sum", {{"a", "two"}}, &cancel_);
  EXPECT_TRUE(!r.ok() || r->is_error);
}

// The server restarts: the old session id is unknown to it (404), so the client opens a new
// session and the call goes through once.
TEST_F(McpClientTest, ANewSessionAfterTheServerRestarts) {
  mcp::Client c(options());
  ASSERT_TRUE(c.list_tools(&cancel_).ok());
  const std::string before = c.session_id();
  server_.stop();
  auto down = c.call_tool("echo", {{"message", "x"}}, &cancel_);
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.status().message().find("everything"), std::string::npos)
      << down.status().message();
  ASSERT_TRUE(server_.start());
  auto r = c.call_tool("echo", {{"message", "again"}}, &cancel_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->text, "Echo: again");
  EXPECT_NE(c.session_id(), before);
}

TEST(McpClientFaults, AnUnreachableServerIsAClearErrorNotAHang) {
  mcp::ServerOptions o;
  o.name = "gone";
  o.url = "http://127.0.0.1:" + std::to_string(free_port()) + "/mcp";
  o.timeout_ms = 500;
  o.retries = 1;
  mcp::Client c(o);
  CancelToken cancel;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.list_tools(&cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("MCP server 'gone' unreachable"), std::string::npos)
      << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// The whole path: the sidecar lists the reference server's tools for the model as
// "everything__<tool>", the (fake) model calls one, the MCP answer goes back to the model, and the
// execution's output carries it. With the server gone, the model gets a clear error and the
// execution still ends; tools outside the allow-list are neither offered nor run.
TEST_F(McpClientTest, AnAgentCallsAnMcpToolThroughTheSidecar) {
  FakeLlm llm;
  SidecarOptions so;
  so.provider_endpoint = llm.url();
  so.agent_yaml = "  mcpServers:\n  - name: everything\n    url: " + server_.url() +
                  "\n    timeoutMs: 3000\n    retries: 0\n    allowTools: [echo, get-sum]\n";
  Sidecar sc(so);
  auto r = sc.post_execution(
      {{"input", R"(please call everything__echo {"message":"from the model"})"}}, "?wait=20s");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["output"], "tool said: Echo: from the model") << j;
  // What the model was offered: the allowed tools, qualified, with the server's schemas.
  json offered = llm.last()["body"]["tools"];
  std::vector<std::string> names;
  for (const auto& t : offered) names.push_back(t["function"]["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"everything__echo", "everything__get-sum"}));
  EXPECT_TRUE(offered[0]["function"]["parameters"]["properties"].contains("message"));

  auto metrics = sc.get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(
                R"(agentry_mcp_tool_calls_total{result="ok",server="everything",tool="echo"} 1)"),
            std::string::npos)
      << metrics->body.substr(0, 2000);

  // The server goes away: the execution ends, and the model read why.
  server_.stop();
  r = sc.post_execution({{"input", R"(call everything__get-sum {"a":1,"b":2})"}}, "?wait=20s");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  const std::string out = j["output"];
  EXPECT_NE(out.find("error: MCP server 'everything' unreachable"), std::string::npos) << out;
}

// The other direction: the sidecar serves its agent at /mcp, and the official TypeScript SDK's
// client (not ours) connects, lists the one tool and calls it; the answer is the agent's.
TEST(SidecarMcpServer, TheOfficialSdkClientCallsTheAgent) {
  FakeLlm llm({"--stream-delay-ms", "20"});
  SidecarOptions so;
  so.provider_endpoint = llm.url();
  Sidecar sc(so);
  const std::string sdk = test_tools_dir() + "/node_modules/@modelcontextprotocol/sdk";
  int rc = -1;
  const std::string out =
      run_capture("node '" + repo_dir() + "/tests/integration/sidecar/mcp_sdk_client.mjs' '" + sdk +
                      "' http://127.0.0.1:" + std::to_string(sc.port()) + "/mcp " + kToken +
                      " 'hello over mcp'",
                  &rc);
  ASSERT_EQ(rc, 0) << out << "\n" << sc.log_tail();
  json j = json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  ASSERT_EQ(j["tools"].size(), 1u) << j;
  EXPECT_EQ(j["tools"][0]["name"], "test");  // agent.name
  EXPECT_EQ(j["tools"][0]["inputSchema"]["required"][0], "input");
  EXPECT_EQ(j["result"]["content"][0]["text"], "echo: hello over mcp") << j;
  EXPECT_EQ(j["result"].value("isError", true), false);
  EXPECT_EQ(j["result"]["structuredContent"]["state"], "succeeded");
  // Progress: one notification per streamed piece, counting up, the pieces adding up to the
  // answer the final response carries.
  EXPECT_EQ(j["streamed"]["content"][0]["text"], "echo: hello over mcp with progress") << j;
  ASSERT_GT(j["progress"].size(), 2u) << j["progress"];
  std::string pieces;
  int64_t last = 0;
  for (const auto& p : j["progress"]) {
    EXPECT_GT(p["progress"].get<int64_t>(), last) << j["progress"];
    last = p["progress"].get<int64_t>();
    pieces += p.value("message", "");
  }
  EXPECT_EQ(pieces, "echo: hello over mcp with progress");
  const auto& ours = mcp::supported_protocol_versions();
  EXPECT_NE(std::find(ours.begin(), ours.end(), j.value("protocolVersion", "")), ours.end()) << j;
  EXPECT_TRUE(j["sessionId"].is_null()) << "stateless: any replica answers";
  EXPECT_EQ(j["badCall"]["code"], -32602) << j;

  // What a hostile or confused client gets.
  auto c = sc.client();
  auto post = [&](const std::string& body, httplib::Headers h) {
    h.emplace("Accept", "application/json, text/event-stream");
    return c.Post("/mcp", h, body, "application/json");
  };
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401) << "behind the bearer auth";
  r = post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", sc.auth());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["result"], json::object());
  auto h = sc.auth();
  h.emplace("Origin", "http://evil.example");
  EXPECT_EQ(post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", h)->status, 403);
  r = post("{not json", sc.auth());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], -32700);
  EXPECT_EQ(post(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", sc.auth())->status, 400);
  r = post(R"({"jsonrpc":"2.0","id":7,"method":"resources/list"})", sc.auth());
  EXPECT_EQ(json::parse(r->body)["error"]["code"], -32601);
  EXPECT_EQ(post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", sc.auth())->status,
            202);
  r = post(
      R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"test","arguments":{}}})",
      sc.auth());
  EXPECT_EQ(json::parse(r->body)["error"]["code"], -32602);
  EXPECT_EQ(c.Get("/mcp", sc.auth())->status, 405) << "no server-to-client stream";
  EXPECT_EQ(sc.get("/healthz")->status, 200) << "and the sidecar goes on serving";
}

// A server that accepts the connection and never answers: the call ends at the timeout, retried
// (a timeout is transient) and then reported; a cancel ends it at once.
TEST(McpClientFaults, AServerThatNeverAnswersEndsAtTheTimeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int port = free_port();
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);  // the kernel completes the handshake; nobody reads
  mcp::ServerOptions o;
  o.name = "silent";
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
  o.timeout_ms = 300;
  o.retries = 1;
  mcp::Client c(o);
  CancelToken cancel;
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.ping(&cancel);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("MCP server 'silent'"), std::string::npos) << r.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  o.timeout_ms = 60000;
  mcp::Client patient(o);
  CancelToken cut;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cut.cancel("cancelled");
  });
  t0 = std::chrono::steady_clock::now();
  r = patient.ping(&cut);
  canceller.join();
  EXPECT_EQ(r.code(), Code::kCancelled) << r.to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  ::close(fd);
}

}  // namespace
}  // namespace agentry::testing

namespace agentry::testing {
namespace {

// The same client against a server written with the official Python SDK: discovery, a call, a
// tool that raises, a list change notified mid-session, a slow tool ended by the timeout, and the
// server restarted under the session.
TEST(McpPythonServer, DiscoveryCallsErrorsListChangesTimeoutsAndRestart) {
  PythonMcpServer server;
  ASSERT_TRUE(server.start());
  mcp::ServerOptions o;
  o.name = "py";
  o.url = server.url();
  o.timeout_ms = 1500;
  o.retries = 0;
  mcp::Client c(o);
  CancelToken cancel;
  auto names = [&] {
    std::vector<std::string> out;
    auto tools = c.list_tools(&cancel);
    EXPECT_TRUE(tools.ok()) << tools.status().message();
    if (tools.ok())
      for (const auto& t : *tools) out.push_back(t.name);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{"add", "fail", "grow", "slow"}));
  EXPECT_FALSE(c.session_id().empty()) << "the Python SDK keeps sessions";

  auto sum = c.call_tool("add", {{"a", 2}, {"b", 40}}, &cancel);
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  EXPECT_FALSE(sum->is_error);
  EXPECT_EQ(sum->text, "42");

  auto failed = c.call_tool("fail", json::object(), &cancel);
  ASSERT_TRUE(failed.ok()) << failed.status().message();
  EXPECT_TRUE(failed->is_error);
  EXPECT_NE(failed->text.find("Error executing tool fail"), std::string::npos) << failed->text;

  // grow notifies list_changed on the session's GET stream (the Python SDK sends notifications
  // outside a request there, and drops them while no stream is open): the client's listener
  // reads it and marks the list stale. grow is called until then, as the listener may not have
  // connected yet (bounded: 10 s).
  EXPECT_FALSE(c.tools_changed());
  EXPECT_TRUE(eventually(
      [&] {
        auto grown = c.call_tool("grow", json::object(), &cancel);
        return grown.ok() &&
               eventually([&] { return c.tools_changed(); }, std::chrono::milliseconds(500));
      },
      std::chrono::seconds(10)))
      << "notifications/tools/list_changed was never seen";
  EXPECT_EQ(names(), (std::vector<std::string>{"add", "fail", "fresh", "grow", "slow"}));
  EXPECT_FALSE(c.tools_changed());

  // A slow tool ends at the server's timeout, with an error, not a hang.
  const auto t0 = std::chrono::steady_clock::now();
  auto slow = c.call_tool("slow", {{"seconds", 30}}, &cancel);
  EXPECT_FALSE(slow.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(6));
  auto quick = c.call_tool("slow", {{"seconds", 0.05}}, &cancel);
  ASSERT_TRUE(quick.ok()) << quick.status().message();
  EXPECT_EQ(quick->text, "done");

  // Restarted: the old session is unknown to the new process; the client opens a new one.
  const std::string before = c.session_id();
  server.stop();
  ASSERT_TRUE(server.start());
  auto again = c.call_tool("add", {{"a", 1}, {"b", 1}}, &cancel);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->text, "2");
  EXPECT_NE(c.session_id(), before);
}

}  // namespace
}  // namespace agentry::testing

namespace agentry::testing {
namespace {

// A hostile server: its answers come after thousands of notifications on the POST's stream, and
// its GET stream is an endless flood of them. Past 10,000 events in one answer the call is a clear
// error; below, the client gets its answers and sees the list change; its destructor ends the
// flooded listener at once.
TEST(McpClientFaults, ANotificationFloodNeitherHangsNorDrownsTheClient) {
  httplib::Server srv;
  std::atomic<bool> stop{false};
  std::atomic<int> flood{20000};
  const std::string note =
      "event: message\ndata: " +
      mcp::make_notification("notifications/tools/list_changed", nullptr).dump() + "\n\n";
  srv.Post("/mcp", [&](const httplib::Request& req, httplib::Response& res) {
    json msg = json::parse(req.body, nullptr, false);
    if (!msg.contains("id")) {
      res.status = 202;
      return;
    }
    const std::string method = msg.value("method", "");
    json result =
        method == "initialize"
            ? json{{"protocolVersion", mcp::supported_protocol_versions().front()},
                   {"capabilities", {{"tools", {{"listChanged", true}}}}},
                   {"serverInfo", {{"name", "flood"}, {"version", "1"}}}}
        : method == "tools/list"
            ? json{{"tools", json::array({{{"name", "t"}, {"inputSchema", json::object()}}})}}
            : json{{"content", json::array({{{"type", "text"}, {"text", "ok"}}})}};
    std::string body;
    for (int i = 0; i < flood.load(); ++i) body += note;
    body += "event: message\ndata: " + mcp::make_result(msg["id"], result).dump() + "\n\n";
    res.set_content(body, "text/event-stream");
  });
  srv.Get("/mcp", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/event-stream", [&](size_t, httplib::DataSink& sink) {
      std::string burst;
      for (int i = 0; i < 1000; ++i) burst += note;
      return !stop.load() && sink.write(burst.data(), burst.size());
    });
  });
  const int port = free_port();
  std::thread t([&] { srv.listen("127.0.0.1", port); });
  ASSERT_TRUE(wait_for_port(port, std::chrono::seconds(5)));
  {
    mcp::ServerOptions o;
    o.name = "flood";
    o.url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
    o.timeout_ms = 3000;
    auto client = std::make_unique<mcp::Client>(o);
    mcp::Client& c = *client;
    CancelToken cancel;
    auto refused = c.list_tools(&cancel);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("sent more than 10000 events in one answer"),
              std::string::npos)
        << refused.status().message();
    flood = 5000;
    auto tools = c.list_tools(&cancel);
    ASSERT_TRUE(tools.ok()) << tools.status().message();
    EXPECT_EQ(tools->size(), 1u);
    auto r = c.call_tool("t", json::object(), &cancel);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->text, "ok");
    EXPECT_TRUE(eventually([&] { return c.tools_changed(); }, std::chrono::seconds(5)));
    // The destructor, with the listener deep in the flood: it ends at once.
    const auto t0 = std::chrono::steady_clock::now();
    client.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  }
  stop = true;
  srv.stop();
  t.join();
}

}  // namespace
}  // namespace agentry::testing
