// The A2A mapping (sidecar/a2a/a2a_protocol.h): both wire versions, what is refused and why, and
// an execution's JSON rendered as a task.
#include "sidecar/a2a/a2a_protocol.h"

#include <gtest/gtest.h>

namespace agentry::sidecar::a2a {
namespace {

using nlohmann::json;

json v03_message(json parts) {
  return {
      {"message", {{"kind", "message"}, {"messageId", "m1"}, {"role", "user"}, {"parts", parts}}}};
}

TEST(A2aProtocolTest, MethodNamesOfBothVersions) {
  EXPECT_EQ(method_of("SendMessage")->version, Version::kV1);
  EXPECT_EQ(method_of("SendStreamingMessage")->method, Method::kStream);
  EXPECT_EQ(method_of("message/send")->version, Version::kV03);
  EXPECT_EQ(method_of("tasks/resubscribe")->method, Method::kSubscribe);
  EXPECT_EQ(method_of("CancelTask")->method, Method::kCancel);
  EXPECT_FALSE(method_of("tasks/pushNotificationConfig/set"));
  EXPECT_FALSE(method_of("sendmessage"));
}

TEST(A2aProtocolTest, SendParamsJoinTextAndDataParts) {
  SendParams p;
  json params = v03_message(json::array(
      {{{"kind", "text"}, {"text", "hello"}}, {{"kind", "data"}, {"data", {{"k", 1}}}}}));
  params["configuration"] = {{"blocking", false}, {"historyLength", 1}};
  ASSERT_FALSE(parse_send(params, Version::kV03, &p));
  EXPECT_EQ(p.text, "hello\n{\"k\":1}");
  EXPECT_EQ(p.message_id, "m1");
  EXPECT_TRUE(p.return_immediately);
  EXPECT_EQ(p.history_length, 1);

  json v1 = {{"message",
              {{"messageId", "m2"},
               {"contextId", "c"},
               {"role", "ROLE_USER"},
               {"parts", json::array({{{"text", "hi"}}})}}},
             {"configuration", {{"returnImmediately", false}}}};
  ASSERT_FALSE(parse_send(v1, Version::kV1, &p));
  EXPECT_EQ(p.text, "hi");
  EXPECT_EQ(p.context_id, "c");
  EXPECT_FALSE(p.return_immediately);
}

TEST(A2aProtocolTest, RefusalsNameTheField) {
  SendParams p;
  auto e = parse_send(json::array(), Version::kV1, &p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "params: want an object");
  e = parse_send({{"message", {{"role", "user"}, {"parts", json::array({{{"text", "x"}}})}}}},
                 Version::kV03, &p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "params.message.messageId: required");
  e = parse_send(v03_message(json::array({{{"kind", "file"}, {"file", {{"uri", "x"}}}}})),
                 Version::kV03, &p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, kContentTypeNotSupported);
  EXPECT_NE(e->message.find("params.message.parts[0]"), std::string::npos);
  e = parse_send(v03_message(json::array({{{"kind", "text"}, {"text", 7}}})), Version::kV03, &p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "params.message.parts[0].text: want a string");
  e = parse_send(v03_message(json::array()), Version::kV03, &p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "params.message.parts: want a non-empty array");
  json agent_role = v03_message(json::array({{{"kind", "text"}, {"text", "x"}}}));
  agent_role["message"]["role"] = "agent";
  e = parse_send(agent_role, Version::kV03, &p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "params.message.role: want user");
  json push = v03_message(json::array({{{"kind", "text"}, {"text", "x"}}}));
  push["configuration"] = {{"pushNotificationConfig", {{"url", "http://x"}}}};
  e = parse_send(push, Version::kV03, &p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, kUnsupportedOperation);
  json hist = v03_message(json::array({{{"kind", "text"}, {"text", "x"}}}));
  hist["configuration"] = {{"historyLength", -1}};
  EXPECT_TRUE(parse_send(hist, Version::kV03, &p));

  TaskQuery q;
  EXPECT_TRUE(parse_task_query({{"id", 5}}, &q));
  EXPECT_TRUE(parse_task_query(json::object(), &q));
  ASSERT_FALSE(parse_task_query({{"id", "ex-1"}, {"historyLength", 0}}, &q));
  EXPECT_EQ(q.id, "ex-1");
  EXPECT_EQ(q.history_length, 0);
}

TEST(A2aProtocolTest, AnExecutionAsATaskInBothVersions) {
  json ex = {{"id", "ex-1"},
             {"state", "succeeded"},
             {"sessionId", "ctx-9"},
             {"idempotencyKey", idempotency_key("m1")},
             {"createdAt", "2026-12-04T00:00:00Z"},
             {"finishedAt", "2026-12-04T00:00:01Z"},
             {"output", "the answer"}};
  TaskView t = view_of(ex, "the question");
  EXPECT_EQ(t.message_id, "m1");
  EXPECT_EQ(t.timestamp, "2026-12-04T00:00:01Z");

  json v03 = task(t, Version::kV03);
  EXPECT_EQ(v03["kind"], "task");
  EXPECT_EQ(v03["id"], "ex-1");
  EXPECT_EQ(v03["contextId"], "ctx-9");
  EXPECT_EQ(v03["status"]["state"], "completed");
  EXPECT_EQ(v03["artifacts"][0]["parts"][0], json({{"kind", "text"}, {"text", "the answer"}}));
  EXPECT_EQ(v03["history"][0]["messageId"], "m1");
  EXPECT_EQ(v03["history"][0]["role"], "user");
  EXPECT_EQ(v03["history"][0]["parts"][0]["text"], "the question");

  json v1 = send_result(t, Version::kV1, 0);
  EXPECT_EQ(v1["task"]["status"]["state"], "TASK_STATE_COMPLETED");
  EXPECT_EQ(v1["task"]["artifacts"][0]["parts"][0], json({{"text", "the answer"}}));
  EXPECT_FALSE(v1["task"].contains("history"));  // historyLength 0
  EXPECT_FALSE(v1["task"].contains("kind"));

  json failed = {{"id", "ex-2"},
                 {"state", "timed_out"},
                 {"sessionId", "c"},
                 {"error", {{"code", "timeout"}, {"message", "execution exceeded 30s"}}}};
  TaskView f = view_of(failed, "q");
  EXPECT_EQ(task_state(f.state, Version::kV03), "failed");
  json ft = task(f, Version::kV1);
  EXPECT_EQ(ft["status"]["state"], "TASK_STATE_FAILED");
  EXPECT_EQ(ft["status"]["message"]["role"], "ROLE_AGENT");
  EXPECT_EQ(ft["status"]["message"]["parts"][0]["text"], "timed out: execution exceeded 30s");
  EXPECT_FALSE(ft.contains("artifacts"));
  EXPECT_EQ(ft["history"].size(), 2u);
  EXPECT_EQ(task(f, Version::kV1, 1)["history"][0]["role"], "ROLE_AGENT");  // the last one kept
  EXPECT_EQ(task_state("cancelled", Version::kV1), "TASK_STATE_CANCELED");
  EXPECT_EQ(task_state("queued", Version::kV03), "submitted");
  EXPECT_EQ(task_state("running", Version::kV1), "TASK_STATE_WORKING");
}

TEST(A2aProtocolTest, StreamEventsCarryTheirKind) {
  TaskView t;
  t.id = "ex-1";
  t.context_id = "c";
  t.state = "running";
  json s = stream_status(t, Version::kV03, false, "calling tool add");
  EXPECT_EQ(s["kind"], "status-update");
  EXPECT_EQ(s["final"], false);
  EXPECT_EQ(s["status"]["state"], "working");
  EXPECT_EQ(s["status"]["message"]["parts"][0]["text"], "calling tool add");
  json a = stream_artifact(t, Version::kV1, "chunk", true, false);
  EXPECT_EQ(a["artifactUpdate"]["append"], true);
  EXPECT_EQ(a["artifactUpdate"]["artifact"]["parts"][0]["text"], "chunk");
  EXPECT_TRUE(stream_status(t, Version::kV1, true).contains("statusUpdate"));
  EXPECT_FALSE(stream_status(t, Version::kV1, true)["statusUpdate"].contains("final"));
  EXPECT_TRUE(stream_task(t, Version::kV1).contains("task"));
}

TEST(A2aProtocolTest, TheCardServesBothVersions) {
  json c = agent_card("planner", "http://planner:8080/a2a", "1.2.3");
  EXPECT_EQ(c["name"], "planner");
  EXPECT_EQ(c["url"], "http://planner:8080/a2a");
  EXPECT_EQ(c["protocolVersion"], "0.3.0");
  ASSERT_EQ(c["supportedInterfaces"].size(), 2u);
  EXPECT_EQ(c["supportedInterfaces"][0]["protocolVersion"], "1.0");
  EXPECT_EQ(c["capabilities"]["streaming"], true);
  EXPECT_EQ(c["securitySchemes"]["bearer"]["scheme"], "bearer");
  EXPECT_EQ(c["skills"][0]["id"], "planner");
}

}  // namespace
}  // namespace agentry::sidecar::a2a
