// The Agent2Agent (A2A) protocol's JSON-RPC binding, mapped onto executions: one A2A task is one
// execution (task id = execution id, contextId = sessionId, the message's messageId = the
// idempotency key). Both wire versions are spoken, told apart by their method names:
//   1.0  SendMessage, SendStreamingMessage, GetTask, CancelTask, SubscribeToTask
//        (proto3 JSON: "TASK_STATE_COMPLETED", "ROLE_USER", parts {"text"}, results wrapped as
//        {"task"}, {"statusUpdate"}, {"artifactUpdate"})
//   0.3  message/send, message/stream, tasks/get, tasks/cancel, tasks/resubscribe
//        (kind-tagged objects: "completed", "user", parts {"kind":"text","text"})
// Pure functions, no I/O: unit-tested in tests/unit/sidecar/a2a_protocol_test.cc and fuzzed with
// the routes' input (a2a_fuzz). The routes that serve them are sidecar/api/a2a_routes.h.
//
// Why written here: no C++ A2A library exists (in Debian or elsewhere that is kept); the wire
// format is small JSON on the sidecar's own JSON library.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace agentry::sidecar::a2a {

enum class Version { kV1, kV03 };
enum class Method { kSend, kStream, kGet, kCancel, kSubscribe };
struct MethodRef {
  Method method;
  Version version;
};
// The method and wire version for a JSON-RPC method name; nullopt when it is not one we serve.
std::optional<MethodRef> method_of(const std::string& name);

// The spec's error codes (the same in both versions), beside JSON-RPC's own.
constexpr int kInvalidParams = -32602;
constexpr int kTaskNotFound = -32001;
constexpr int kTaskNotCancelable = -32002;
constexpr int kUnsupportedOperation = -32004;
constexpr int kContentTypeNotSupported = -32005;

struct RpcError {
  int code = kInvalidParams;
  std::string message;  // names the field at fault, e.g. "params.message.parts[1]: ..."
};

// params of SendMessage / message/send (and the streaming variants).
struct SendParams {
  std::string text;                 // the text parts joined with "\n"; a data part as its JSON
  std::string message_id;           // required by both versions
  std::string context_id;           // "" : a new conversation (the caller picks an id)
  std::string task_id;              // set: the client continues a task (ours take one message each)
  bool return_immediately = false;  // 1.0 configuration.returnImmediately; 0.3 blocking:false
  std::optional<int> history_length;
};
// Fills *out, or says what is wrong. File parts are kContentTypeNotSupported (we take text).
std::optional<RpcError> parse_send(const nlohmann::json& params, Version v, SendParams* out);

// params of GetTask / tasks/get, CancelTask / tasks/cancel, SubscribeToTask / tasks/resubscribe.
struct TaskQuery {
  std::string id;
  std::optional<int> history_length;
};
std::optional<RpcError> parse_task_query(const nlohmann::json& params, TaskQuery* out);

// What a task is rendered from: an execution's JSON (Execution::to_json) and its input.
struct TaskView {
  std::string id;
  std::string context_id;
  std::string state;       // the execution's state name: queued, running, succeeded, ...
  std::string input;       // the user's message text
  std::string message_id;  // the user's messageId ("" when the execution was not made by A2A)
  std::string output;      // succeeded
  std::string error;       // failed, cancelled, timed_out: what went wrong
  std::string timestamp;   // RFC 3339 of the last transition
};
// idempotency_key "a2a:<messageId>" yields the messageId back.
TaskView view_of(const nlohmann::json& execution, const std::string& input);
// The idempotency key a message's messageId becomes (so a resent message is not run twice).
std::string idempotency_key(const std::string& message_id);

bool terminal_state(const std::string& execution_state);
// The A2A state name for an execution state, in the version's spelling.
std::string task_state(const std::string& execution_state, Version v);

// A Task object; history holds the user's message (and the agent's status message), trimmed to
// the last history_length messages when given.
nlohmann::json task(const TaskView& t, Version v, std::optional<int> history_length = {});
// The result of SendMessage / message/send for that task: {"task": Task} in 1.0, Task in 0.3.
nlohmann::json send_result(const TaskView& t, Version v, std::optional<int> history_length);
// Stream events, each already the JSON-RPC result of one SSE event.
nlohmann::json stream_task(const TaskView& t, Version v);
// final: the last event (0.3 says so in "final"; 1.0 ends the stream instead).
nlohmann::json stream_status(const TaskView& t, Version v, bool final,
                             const std::string& message = "");
nlohmann::json stream_artifact(const TaskView& t, Version v, const std::string& text, bool append,
                               bool last_chunk);

// The agent card served at /.well-known/agent-card.json: one card both versions' clients read
// (the 0.3 fields url/preferredTransport/protocolVersion/security beside 1.0's
// supportedInterfaces, which 1.0 clients prefer). endpoint is the absolute URL of the JSON-RPC
// endpoint.
nlohmann::json agent_card(const std::string& agent_name, const std::string& endpoint,
                          const std::string& version);

}  // namespace agentry::sidecar::a2a
