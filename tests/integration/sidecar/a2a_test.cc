// The sidecar served as an A2A agent (sidecar/api/a2a_routes.h), driven by a client no one here
// wrote: the official A2A Python SDK (PyPI a2a-sdk, hack/test-tools.sh's venv) over A2A 1.0 and
// its 0.3 compat transport; then what a hostile or confused client gets, over raw HTTP.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/sidecar/harness.h"
#include "tests/integration/sidecar/mcp_servers.h"
#include "tests/support/control_plane.h"

namespace agentry::testing {
namespace {

using nlohmann::json;

TEST(SidecarA2a, TheOfficialSdkClientTalksToTheAgentInBothVersions) {
  FakeLlm llm({"--stream-delay-ms", "20"});
  SidecarOptions so;
  so.provider_endpoint = llm.url();
  so.name = "planner";
  Sidecar sc(so);
  const std::string base = "http://127.0.0.1:" + std::to_string(sc.port());
  int rc = -1;
  const std::string out = run_capture(test_tools_dir() + "/venv/bin/python '" + repo_dir() +
                                          "/tests/integration/sidecar/a2a_sdk_client.py' " + base +
                                          " " + kToken + " " + llm.url(),
                                      &rc);
  ASSERT_EQ(rc, 0) << out << "\n" << sc.log_tail();
  const json j = json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;

  EXPECT_EQ(j["card"]["name"], "planner");
  EXPECT_EQ(j["card"]["streaming"], true);
  ASSERT_EQ(j["card"]["interfaces"].size(), 2u) << j["card"];
  EXPECT_EQ(j["card"]["interfaces"][0], json::array({"JSONRPC", "1.0", base + "/a2a"}));

  // 1.0: a blocking send ends completed with the agent's answer; the task is the execution.
  const json& first = j["v1_send"];
  EXPECT_EQ(first["state"], "TASK_STATE_COMPLETED") << first;
  EXPECT_EQ(first["answer"], "echo: hello over a2a");
  EXPECT_EQ(first["history"][0], "hello over a2a");
  auto ex = sc.get("/v1/executions/" + first["id"].get<std::string>());
  ASSERT_TRUE(ex);
  ASSERT_EQ(ex->status, 200) << ex->body;
  EXPECT_EQ(json::parse(ex->body)["sessionId"], first["contextId"]) << "contextId is the session";
  EXPECT_EQ(j["v1_followup"]["contextId"], first["contextId"]);
  EXPECT_NE(j["v1_followup"]["id"], first["id"]);
  EXPECT_EQ(j["v1_get"], first);
  EXPECT_EQ(j["v1_get_missing"]["type"], "TaskNotFoundError") << j["v1_get_missing"];

  // Streamed: the task first, the answer in chunks that add up to it, a final status.
  const json& st = j["v1_stream"];
  EXPECT_EQ(st["events"][0], "task") << st;
  EXPECT_GT(st["events"].size(), 4u) << "chunks, not one blob: " << st;
  EXPECT_EQ(st["answer"], "echo: stream this please") << st;
  EXPECT_EQ(st["finalState"], "TASK_STATE_COMPLETED");

  // returnImmediately answers before the slow model does; cancel ends it; a second is refused.
  EXPECT_TRUE(j["v1_pending"]["state"] == "TASK_STATE_SUBMITTED" ||
              j["v1_pending"]["state"] == "TASK_STATE_WORKING")
      << j["v1_pending"];
  EXPECT_EQ(j["v1_cancel"]["state"], "TASK_STATE_CANCELED") << j["v1_cancel"];
  EXPECT_EQ(j["v1_cancel_again"]["type"], "TaskNotCancelableError") << j["v1_cancel_again"];

  // 0.3 method names and shapes, same endpoint.
  EXPECT_EQ(j["v03_send"]["state"], "TASK_STATE_COMPLETED") << j["v03_send"];
  EXPECT_EQ(j["v03_send"]["answer"], "echo: hello over a2a 0.3");
  EXPECT_EQ(j["v03_get"], j["v03_send"]);
  EXPECT_EQ(j["v03_cancel_done"]["type"], "TaskNotCancelableError") << j["v03_cancel_done"];
  EXPECT_EQ(j["v03_stream"]["answer"], "echo: stream over 0.3") << j["v03_stream"];
  EXPECT_EQ(j["v03_stream"]["events"][0], "task");

  auto metrics = sc.get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(R"(endpoint="/a2a")"), std::string::npos);
}

TEST(SidecarA2a, HostileAndConfusedClients) {
  FakeLlm llm;
  SidecarOptions so;
  so.provider_endpoint = llm.url();
  Sidecar sc(so);
  auto c = sc.client();
  auto rpc = [&](const std::string& body, bool authed = true) {
    auto r = c.Post("/a2a", authed ? sc.auth() : httplib::Headers{}, body, "application/json");
    EXPECT_TRUE(r);
    return r;
  };
  auto code = [&](const std::string& body) {
    auto r = rpc(body);
    json j = json::parse(r->body, nullptr, false);
    EXPECT_EQ(r->status, 200) << r->body;
    return j.is_object() && j.contains("error") ? j["error"].value("code", 0) : 0;
  };
  const std::string send =
      R"({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message",)"
      R"("messageId":"same-id","role":"user","parts":[{"kind":"text","text":"hi"}]}}})";

  EXPECT_EQ(rpc(send, false)->status, 401) << "behind the bearer auth";
  auto card = c.Get("/.well-known/agent-card.json");
  ASSERT_TRUE(card);
  EXPECT_EQ(card->status, 200) << "the card is public";
  EXPECT_EQ(json::parse(card->body)["securitySchemes"]["bearer"]["scheme"], "bearer");
  EXPECT_EQ(c.Get("/.well-known/agent.json")->status, 200);

  // The same messageId twice is one task (a retried send does not run the agent twice).
  auto a = json::parse(rpc(send)->body);
  auto b = json::parse(rpc(send)->body);
  ASSERT_TRUE(a.contains("result")) << a;
  EXPECT_EQ(a["result"]["kind"], "task");
  EXPECT_EQ(a["result"]["id"], b["result"]["id"]);
  EXPECT_EQ(a["result"]["status"]["state"], "completed");

  EXPECT_EQ(code("{nope"), -32700);
  EXPECT_EQ(code("[]"), -32600);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","method":"message/send"})"), -32600) << "a notification";
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":2,"method":"tasks/pushNotificationConfig/set"})"),
            -32601);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":3,"method":"SendMessage","params":{}})"), -32602);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":4,"method":"SendMessage","params":{"message":{)"
                 R"("messageId":"f","role":"ROLE_USER","parts":[{"url":"http://x/y.png"}]}}})"),
            -32005)
      << "file parts: content type not supported";
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":5,"method":"tasks/get","params":{"id":"ex-none"}})"),
            -32001);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":6,"method":"GetTask","params":{"id":7}})"), -32602);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{"message":{)"
                 R"("messageId":"g","taskId":")" +
                 a["result"]["id"].get<std::string>() +
                 R"(","role":"ROLE_USER","parts":[{"text":"more"}]}}})"),
            -32004)
      << "a task takes one message";
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":8,"method":"SendMessage","params":{"message":{)"
                 R"("messageId":"h","role":"ROLE_USER","parts":[{"text":"x"}]},)"
                 R"("configuration":{"taskPushNotificationConfig":{"url":"http://x"}}}})"),
            -32004)
      << "push notifications are refused, not ignored";
  EXPECT_EQ(sc.get("/healthz")->status, 200) << "and the sidecar goes on serving";
}

}  // namespace
}  // namespace agentry::testing
