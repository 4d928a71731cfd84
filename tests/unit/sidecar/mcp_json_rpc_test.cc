// JSON-RPC classification and SSE framing of the MCP client (sidecar/mcp/json_rpc.h): what a
// server can send, including what it must not.
#include <gtest/gtest.h>

#include "sidecar/mcp/json_rpc.h"

namespace agentry::sidecar::mcp {
namespace {

using nlohmann::json;
using Kind = Incoming::Kind;

TEST(McpJsonRpc, MessagesWeSendAreJsonRpc20) {
  EXPECT_EQ(make_request(7, "tools/list", json::object()),
            json::parse(R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}})"));
  EXPECT_FALSE(make_request(1, "ping", nullptr).contains("params"));
  EXPECT_FALSE(make_notification("notifications/initialized", nullptr).contains("id"));
  EXPECT_EQ(make_error("s-1", -32601, "no")["error"]["code"], -32601);
  EXPECT_EQ(make_result(3, json::object())["id"], 3);
}

TEST(McpJsonRpc, ClassifiesResponsesErrorsNotificationsAndRequests) {
  auto r = classify(json::parse(R"({"jsonrpc":"2.0","id":1,"result":{"tools":[]}})"));
  EXPECT_EQ(r.kind, Kind::kResponse);
  EXPECT_EQ(r.id, 1);
  EXPECT_TRUE(r.result.contains("tools"));
  auto e = classify(json::parse(
      R"({"jsonrpc":"2.0","id":"a","error":{"code":-32602,"message":"Unknown tool: x"}})"));
  EXPECT_EQ(e.kind, Kind::kError);
  EXPECT_EQ(e.error_code, -32602);
  EXPECT_EQ(e.error_message, "Unknown tool: x");
  auto n =
      classify(json::parse(R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})"));
  EXPECT_EQ(n.kind, Kind::kNotification);
  EXPECT_EQ(n.method, "notifications/tools/list_changed");
  auto q = classify(json::parse(R"({"jsonrpc":"2.0","id":9,"method":"ping"})"));
  EXPECT_EQ(q.kind, Kind::kRequest);
  EXPECT_EQ(q.id, 9);
}

TEST(McpJsonRpc, InvalidMessagesSayWhy) {
  for (const char* bad :
       {R"([1])", R"({"id":1,"result":{}})", R"({"jsonrpc":"1.0","id":1,"result":{}})",
        R"({"jsonrpc":"2.0","result":{}})", R"({"jsonrpc":"2.0","id":1.5,"result":{}})",
        R"({"jsonrpc":"2.0","id":{},"result":{}})", R"({"jsonrpc":"2.0","id":1})",
        R"({"jsonrpc":"2.0","method":""})", R"({"jsonrpc":"2.0","method":3})",
        R"({"jsonrpc":"2.0","method":"m","params":"x"})",
        R"({"jsonrpc":"2.0","id":1,"error":"boom"})"}) {
    auto msgs = parse_body(bad);
    ASSERT_FALSE(msgs.empty()) << bad;
    bool invalid = false;
    for (const auto& m : msgs) invalid |= m.kind == Kind::kInvalid && !m.why.empty();
    EXPECT_TRUE(invalid) << bad;
  }
  auto not_json = parse_body("<html>502 Bad Gateway</html>");
  ASSERT_EQ(not_json.size(), 1u);
  EXPECT_EQ(not_json[0].kind, Kind::kInvalid);
  EXPECT_NE(not_json[0].why.find("not JSON"), std::string::npos);
  // Nesting past the limit is refused before parsing.
  EXPECT_EQ(parse_body(std::string(100000, '['))[0].kind, Kind::kInvalid);
  EXPECT_EQ(parse_body("[]")[0].kind, Kind::kInvalid);
}

TEST(McpJsonRpc, BatchesAreSplit) {
  auto msgs = parse_body(
      R"([{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info"}},
          {"jsonrpc":"2.0","id":2,"result":{}}])");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].kind, Kind::kNotification);
  EXPECT_EQ(msgs[1].kind, Kind::kResponse);
}

// The framing the reference server uses: a priming event with empty data, then the response.
TEST(McpJsonRpc, SseEventsAsServersSendThem) {
  auto evs = parse_sse(
      "id: prime\ndata: \n\nevent: message\nid: 2\ndata: {\"jsonrpc\":\"2.0\",\n"
      "data: \"id\":1,\"result\":{}}\n\n");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].data, "");
  EXPECT_EQ(evs[1].event, "message");
  EXPECT_EQ(evs[1].id, "2");
  EXPECT_EQ(parse_body(evs[1].data)[0].kind, Kind::kResponse) << evs[1].data;

  // CRLF and CR line ends, comments, fields without a value, an unterminated last event.
  evs = parse_sse(": keep-alive\r\n\r\nevent: endpoint\r\ndata: /messages?s=1\r\n\r\ndata\rdata:x");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].event, "endpoint");
  EXPECT_EQ(evs[0].data, "/messages?s=1");
  EXPECT_EQ(evs[1].data, "\nx");
  EXPECT_EQ(evs[1].event, "message");

  EXPECT_TRUE(parse_sse("").empty());
  EXPECT_TRUE(parse_sse("\n\n\n: only comments\n\n").empty());
  std::string flood;
  for (int i = 0; i < 50; ++i) flood += "data: " + std::to_string(i) + "\n\n";
  EXPECT_EQ(parse_sse(flood, 10).size(), 10u);
}

// A stream read as it arrives: whole events come out, a half-read one waits for the rest.
TEST(McpJsonRpc, SseEventsTakenAsTheyArrive) {
  std::string buf = "event: endpoint\r\ndata: /message?sessionId=1\r\n\r\ndata: {\"a\"";
  auto evs = take_sse_events(&buf);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].event, "endpoint");
  EXPECT_EQ(evs[0].data, "/message?sessionId=1");
  EXPECT_EQ(buf, "data: {\"a\"");
  EXPECT_TRUE(take_sse_events(&buf).empty());
  buf += ":1}\n\nevent: message\ndata: 2\n\n: ping\n";
  evs = take_sse_events(&buf);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].data, "{\"a\":1}");
  EXPECT_EQ(evs[1].data, "2");
  EXPECT_EQ(buf, ": ping\n");
}

}  // namespace
}  // namespace agentry::sidecar::mcp
