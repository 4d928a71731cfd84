// JSON-RPC 2.0 messages as the Model Context Protocol uses them, and the Server-Sent Events framing
// its Streamable HTTP transport may answer in. Pure functions, no I/O: unit-tested in
// tests/unit/sidecar/mcp_json_rpc_test.cc and fuzzed (an MCP server is untrusted input).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace agentry::sidecar::mcp {

// {"jsonrpc":"2.0","id":id,"method":method,"params":params} (params omitted when null).
nlohmann::json make_request(int64_t id, const std::string& method, const nlohmann::json& params);
// A notification: no id, no answer expected.
nlohmann::json make_notification(const std::string& method, const nlohmann::json& params);
// A response to a request the server sent us: a result, or an error {code, message}.
nlohmann::json make_result(const nlohmann::json& id, const nlohmann::json& result);
nlohmann::json make_error(const nlohmann::json& id, int code, const std::string& message);

// One message received from a server, classified.
struct Incoming {
  enum class Kind { kResponse, kError, kNotification, kRequest, kInvalid };
  Kind kind = Kind::kInvalid;
  nlohmann::json id;      // responses, errors and requests
  std::string method;     // notifications and requests
  nlohmann::json result;  // kResponse
  nlohmann::json params;  // notifications and requests
  int error_code = 0;     // kError
  std::string error_message;
  std::string why;  // kInvalid: what is wrong, for the error text
};
Incoming classify(const nlohmann::json& msg);

// Every message in a body: one JSON object, or a JSON array of them (a batch). Invalid JSON or a
// non-object yields one kInvalid.
std::vector<Incoming> parse_body(const std::string& body);

// One event of an SSE stream: its `event:` name ("message" when absent), its `data:` lines joined
// with '\n', its `id:`.
struct SseEvent {
  std::string event = "message";
  std::string data;
  std::string id;
};
// Splits a whole stream into events (blank-line separated; CRLF, LF or CR line ends; comments and
// unknown fields ignored; an unterminated last event counts). At most max_events.
std::vector<SseEvent> parse_sse(const std::string& stream, size_t max_events = 10000);
// For a stream read as it arrives: the whole events at the start of *buf (up to its last blank
// line), removed from it; an event still arriving stays for the next call.
std::vector<SseEvent> take_sse_events(std::string* buf);

}  // namespace agentry::sidecar::mcp
