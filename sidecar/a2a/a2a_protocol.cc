#include "sidecar/a2a/a2a_protocol.h"

#include <algorithm>

#include "common/json_io.h"

namespace agentry::sidecar::a2a {
namespace {

using nlohmann::json;

constexpr const char* kKeyPrefix = "a2a:";
constexpr const char* kArtifactId = "answer";

std::optional<RpcError> error(int code, std::string message) {
  return RpcError{code, std::move(message)};
}

// A string field that may be absent; false (with *err) when present and not a string.
bool optional_string(const json& obj, const char* key, const std::string& where, std::string* out,
                     std::optional<RpcError>* err) {
  if (!obj.contains(key)) return true;
  if (!obj[key].is_string()) {
    *err = error(kInvalidParams, where + "." + key + ": want a string");
    return false;
  }
  *out = obj[key].get<std::string>();
  return true;
}

bool optional_history(const json& obj, const std::string& where, std::optional<int>* out,
                      std::optional<RpcError>* err) {
  if (!obj.contains("historyLength") || obj["historyLength"].is_null()) return true;
  const json& h = obj["historyLength"];
  if (!h.is_number_integer() || h.get<int64_t>() < 0 || h.get<int64_t>() > 1000) {
    *err = error(kInvalidParams, where + ".historyLength: want an integer 0..1000");
    return false;
  }
  *out = static_cast<int>(h.get<int64_t>());
  return true;
}

// The text of one part, in either version's shape; a file part is refused.
std::optional<RpcError> part_text(const json& part, Version v, const std::string& where,
                                  std::string* out) {
  if (!part.is_object()) return error(kInvalidParams, where + ": want an object");
  std::string kind = part.value("kind", "");
  if (v == Version::kV1 || kind.empty()) {  // 1.0: the field present says what it is
    if (part.contains("text"))
      kind = "text";
    else if (part.contains("data"))
      kind = "data";
    else if (part.contains("url") || part.contains("raw") || part.contains("file"))
      kind = "file";
  }
  if (kind == "text") {
    if (!part.contains("text") || !part["text"].is_string())
      return error(kInvalidParams, where + ".text: want a string");
    *out = part["text"].get<std::string>();
    return std::nullopt;
  }
  if (kind == "data") {
    if (!part.contains("data")) return error(kInvalidParams, where + ".data: required");
    *out = json_io::dump(part["data"]);
    return std::nullopt;
  }
  if (kind == "file")
    return error(kContentTypeNotSupported,
                 where + ": file parts are not supported; this agent takes text and data parts");
  return error(kInvalidParams, where + ": want a text or data part");
}

json text_part(const std::string& text, Version v) {
  if (v == Version::kV03) return {{"kind", "text"}, {"text", text}};
  return {{"text", text}};
}

json message(const std::string& id, const std::string& role, const std::string& text,
             const TaskView& t, Version v) {
  json m = {{"messageId", id},
            {"contextId", t.context_id},
            {"taskId", t.id},
            {"role", v == Version::kV1 ? (role == "user" ? "ROLE_USER" : "ROLE_AGENT") : role},
            {"parts", json::array({text_part(text, v)})}};
  if (v == Version::kV03) m["kind"] = "message";
  return m;
}

// The agent's word on the task's status: the error of a task that did not succeed.
std::optional<json> status_message(const TaskView& t, Version v) {
  if (t.error.empty()) return std::nullopt;
  return message(t.id + "-status", "agent", t.error, t, v);
}

json status(const TaskView& t, Version v, const std::string& text = "") {
  json s = {{"state", task_state(t.state, v)}};
  if (!t.timestamp.empty()) s["timestamp"] = t.timestamp;
  if (!text.empty())
    s["message"] = message(t.id + "-progress", "agent", text, t, v);
  else if (auto m = status_message(t, v))
    s["message"] = *m;
  return s;
}

json artifact(const std::string& text, Version v) {
  return {{"artifactId", kArtifactId},
          {"name", kArtifactId},
          {"parts", json::array({text_part(text, v)})}};
}

}  // namespace

std::optional<MethodRef> method_of(const std::string& name) {
  static const struct {
    const char* name;
    MethodRef ref;
  } kMethods[] = {
      {"SendMessage", {Method::kSend, Version::kV1}},
      {"SendStreamingMessage", {Method::kStream, Version::kV1}},
      {"GetTask", {Method::kGet, Version::kV1}},
      {"CancelTask", {Method::kCancel, Version::kV1}},
      {"SubscribeToTask", {Method::kSubscribe, Version::kV1}},
      {"message/send", {Method::kSend, Version::kV03}},
      {"message/stream", {Method::kStream, Version::kV03}},
      {"tasks/get", {Method::kGet, Version::kV03}},
      {"tasks/cancel", {Method::kCancel, Version::kV03}},
      {"tasks/resubscribe", {Method::kSubscribe, Version::kV03}},
  };
  for (const auto& m : kMethods)
    if (name == m.name) return m.ref;
  return std::nullopt;
}

std::optional<RpcError> parse_send(const json& params, Version v, SendParams* out) {
  *out = SendParams{};
  if (!params.is_object()) return error(kInvalidParams, "params: want an object");
  if (!params.contains("message") || !params["message"].is_object())
    return error(kInvalidParams, "params.message: required object");
  const json& m = params["message"];
  const std::string where = "params.message";
  std::optional<RpcError> err;
  if (!optional_string(m, "messageId", where, &out->message_id, &err)) return err;
  if (out->message_id.empty()) return error(kInvalidParams, where + ".messageId: required");
  if (out->message_id.size() > 200)
    return error(kInvalidParams, where + ".messageId: longer than 200 characters");
  if (!optional_string(m, "contextId", where, &out->context_id, &err)) return err;
  if (out->context_id.size() > 200)
    return error(kInvalidParams, where + ".contextId: longer than 200 characters");
  if (!optional_string(m, "taskId", where, &out->task_id, &err)) return err;
  std::string role;
  if (!optional_string(m, "role", where, &role, &err)) return err;
  if (role != "user" && role != "ROLE_USER")
    return error(kInvalidParams,
                 where + ".role: want " + (v == Version::kV1 ? "ROLE_USER" : "user"));
  if (!m.contains("parts") || !m["parts"].is_array() || m["parts"].empty())
    return error(kInvalidParams, where + ".parts: want a non-empty array");
  for (size_t i = 0; i < m["parts"].size(); ++i) {
    std::string text;
    if (auto e = part_text(m["parts"][i], v, where + ".parts[" + std::to_string(i) + "]", &text))
      return e;
    if (!out->text.empty() && !text.empty()) out->text += "\n";
    out->text += text;
  }
  if (out->text.empty()) return error(kInvalidParams, where + ".parts: no text in any part");
  if (params.contains("configuration") && !params["configuration"].is_null()) {
    const json& c = params["configuration"];
    const std::string cw = "params.configuration";
    if (!c.is_object()) return error(kInvalidParams, cw + ": want an object");
    const char* flag = v == Version::kV1 ? "returnImmediately" : "blocking";
    if (c.contains(flag) && !c[flag].is_null()) {
      if (!c[flag].is_boolean()) return error(kInvalidParams, cw + "." + flag + ": want a boolean");
      out->return_immediately = v == Version::kV1 ? c[flag].get<bool>() : !c[flag].get<bool>();
    }
    if (!optional_history(c, cw, &out->history_length, &err)) return err;
    for (const char* push : {"pushNotificationConfig", "taskPushNotificationConfig"})
      if (c.contains(push) && !c[push].is_null())
        return error(kUnsupportedOperation,
                     cw + "." + push + ": push notifications are not supported; stream or poll");
  }
  return std::nullopt;
}

std::optional<RpcError> parse_task_query(const json& params, TaskQuery* out) {
  *out = TaskQuery{};
  if (!params.is_object()) return error(kInvalidParams, "params: want an object");
  std::optional<RpcError> err;
  if (!optional_string(params, "id", "params", &out->id, &err)) return err;
  if (out->id.empty()) return error(kInvalidParams, "params.id: required");
  if (!optional_history(params, "params", &out->history_length, &err)) return err;
  return std::nullopt;
}

std::string idempotency_key(const std::string& message_id) {
  return kKeyPrefix + message_id;
}

TaskView view_of(const json& e, const std::string& input) {
  TaskView t;
  t.id = e.value("id", "");
  t.context_id = e.value("sessionId", "");
  t.state = e.value("state", "");
  t.input = input;
  const std::string key = e.value("idempotencyKey", "");
  if (key.rfind(kKeyPrefix, 0) == 0) t.message_id = key.substr(std::string(kKeyPrefix).size());
  for (const char* at : {"createdAt", "startedAt", "finishedAt"})
    if (e.contains(at) && e[at].is_string()) t.timestamp = e[at].get<std::string>();
  if (t.state == "succeeded") {
    t.output = e.value("output", "");
  } else if (e.contains("error") && e["error"].is_object()) {
    const json& err = e["error"];
    t.error = err.value("message", "");
    const std::string code = err.value("code", "");
    if (t.error.empty()) t.error = code;
    if (t.state == "timed_out" && t.error.find("timed out") == std::string::npos)
      t.error = "timed out: " + t.error;
  }
  return t;
}

bool terminal_state(const std::string& s) {
  return s != "queued" && s != "running";
}

std::string task_state(const std::string& s, Version v) {
  const char* name = s == "queued"      ? "submitted"
                     : s == "running"   ? "working"
                     : s == "succeeded" ? "completed"
                     : s == "cancelled" ? "canceled"
                                        : "failed";  // failed, timed_out
  if (v == Version::kV03) return name;
  std::string up = std::string("TASK_STATE_") + name;
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  return up;
}

json task(const TaskView& t, Version v, std::optional<int> history_length) {
  json history = json::array();
  history.push_back(
      message(t.message_id.empty() ? t.id + "-input" : t.message_id, "user", t.input, t, v));
  if (auto m = status_message(t, v)) history.push_back(*m);
  if (history_length && static_cast<size_t>(*history_length) < history.size())
    history.erase(history.begin(), history.end() - *history_length);
  json out = {{"id", t.id}, {"contextId", t.context_id}, {"status", status(t, v)}};
  if (t.state == "succeeded") out["artifacts"] = json::array({artifact(t.output, v)});
  if (!history.empty()) out["history"] = std::move(history);
  if (v == Version::kV03) out["kind"] = "task";
  return out;
}

json send_result(const TaskView& t, Version v, std::optional<int> history_length) {
  json out = task(t, v, history_length);
  if (v == Version::kV1) return {{"task", std::move(out)}};
  return out;
}

json stream_task(const TaskView& t, Version v) {
  return send_result(t, v, std::nullopt);
}

json stream_status(const TaskView& t, Version v, bool final, const std::string& text) {
  json ev = {{"taskId", t.id}, {"contextId", t.context_id}, {"status", status(t, v, text)}};
  if (v == Version::kV1) return {{"statusUpdate", std::move(ev)}};
  ev["kind"] = "status-update";
  ev["final"] = final;
  return ev;
}

json stream_artifact(const TaskView& t, Version v, const std::string& text, bool append,
                     bool last_chunk) {
  json ev = {{"taskId", t.id},
             {"contextId", t.context_id},
             {"artifact", artifact(text, v)},
             {"append", append},
             {"lastChunk", last_chunk}};
  if (v == Version::kV1) return {{"artifactUpdate", std::move(ev)}};
  ev["kind"] = "artifact-update";
  return ev;
}

json agent_card(const std::string& agent_name, const std::string& endpoint,
                const std::string& version) {
  const std::string description =
      "The agentry agent '" + agent_name +
      "': send it a message and it answers (one execution of its sidecar per message; contextId "
      "groups the turns of one conversation).";
  return {
      {"name", agent_name},
      {"description", description},
      {"version", version},
      // 1.0 clients read this, and prefer the 1.0 interface.
      {"supportedInterfaces",
       json::array(
           {{{"url", endpoint}, {"protocolBinding", "JSONRPC"}, {"protocolVersion", "1.0"}},
            {{"url", endpoint}, {"protocolBinding", "JSONRPC"}, {"protocolVersion", "0.3"}}})},
      // 0.3 clients read these (1.0 clients skip them when supportedInterfaces is there).
      {"url", endpoint},
      {"preferredTransport", "JSONRPC"},
      {"protocolVersion", "0.3.0"},
      {"capabilities", {{"streaming", true}, {"pushNotifications", false}}},
      // The 0.3 spelling, which 1.0 clients convert (the same bearer token as /v1 and /mcp).
      {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
      {"security", json::array({{{"bearer", json::array()}}})},
      {"defaultInputModes", json::array({"text/plain", "application/json"})},
      {"defaultOutputModes", json::array({"text/plain"})},
      {"skills", json::array({{{"id", agent_name},
                               {"name", agent_name},
                               {"description", description},
                               {"tags", json::array({"agentry"})}}})},
  };
}

}  // namespace agentry::sidecar::a2a
