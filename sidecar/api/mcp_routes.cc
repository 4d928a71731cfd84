#include "sidecar/api/mcp_routes.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>

#include "agentry/version.h"
#include "common/http_util.h"
#include "common/json_io.h"
#include "sidecar/api/execution_events.h"
#include "sidecar/exec/engine.h"
#include "sidecar/mcp/call_chain.h"
#include "sidecar/mcp/json_rpc.h"
#include "sidecar/mcp/mcp_client.h"

namespace agentry::sidecar {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
namespace mcp = sidecar::mcp;

// JSON-RPC error codes (the spec's, and MCP's use of them).
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;

using http::send_json;

json tool_declaration(const AgentConfig& agent) {
  return {{"name", agent.name},
          {"title", "Agent " + agent.name},
          {"description", "Runs the agent '" + agent.name +
                              "' on the input and returns its answer (one execution of the "
                              "agentry sidecar; sessionId groups turns of one conversation)."},
          {"inputSchema",
           {{"type", "object"},
            {"properties",
             {{"input", {{"type", "string"}, {"description", "What to ask the agent"}}},
              {"sessionId", {{"type", "string"}, {"description", "Conversation id (optional)"}}}}},
            {"required", json::array({"input"})}}}};
}

// The protocol revision to answer initialize with: the client's when we speak it, else our newest
// (the client then decides whether it can go on).
std::string negotiate(const json& params) {
  const auto& ours = mcp::supported_protocol_versions();
  std::string asked = params.is_object() ? params.value("protocolVersion", "") : "";
  return std::find(ours.begin(), ours.end(), asked) != ours.end() ? asked : ours.front();
}

// The JSON-RPC response to a tools/call: the answer, or why there is none (yet).
json tool_response(const Execution& ex, const json& id) {
  const json e = ex.to_json();
  const std::string state = e.value("state", "");
  std::string text = state == "succeeded" ? e.value("output", "") : "";
  if (state != "succeeded") {
    const json err = e.value("error", json::object());
    text = state == "queued" || state == "running"
               ? "still running after the server's wait; poll GET /v1/executions/" + ex.id()
               : "execution " + state + ": " +
                     (err.is_object() ? err.value("message", "") : std::string());
  }
  return mcp::make_result(id, {{"content", json::array({{{"type", "text"}, {"text", text}}})},
                               {"structuredContent", {{"executionId", ex.id()}, {"state", state}}},
                               {"isError", state != "succeeded"}});
}

std::string sse_message(const json& msg) {
  return "event: message\ndata: " + json_io::dump(msg) + "\n\n";
}

// tools/call with a progress token: one notifications/progress per streamed piece of the answer
// (its text in `message`) and per tool the agent calls, then the response; written from a worker.
void stream_tool_call(httplib::Response& res, std::shared_ptr<Execution> ex, json id, json token) {
  auto next = std::make_shared<size_t>(0);
  auto count = std::make_shared<int64_t>(0);
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [ex, id, token, next, count](
                                                            size_t, httplib::DataSink& sink) {
    auto write = [&](const json& msg) {
      const std::string s = sse_message(msg);
      return sink.write(s.data(), s.size());
    };
    bool done = false;
    const bool open = follow_execution(
        *ex, next.get(), milliseconds(1000),
        [&](const std::string& event, const json& data) {
          const std::string message = event == "delta" ? data.value("content", "")
                                                       : "calling tool " + data.value("name", "");
          return write(mcp::make_notification(
              "notifications/progress",
              {{"progressToken", token}, {"progress", ++*count}, {"message", message}}));
        },
        &done);
    if (!open) return false;
    if (!done) return true;
    if (!write(tool_response(*ex, id))) return false;
    sink.done();
    return true;
  });
}

// tools/call -> an execution; the answer once it ends, or at server.maxWaitSeconds.
// A caller that is another agent sends its call chain (refused here when it would loop or go too
// deep: a tool result the calling model reads) and a derived Idempotency-Key (call_chain.h).
void call_tool(Engine& engine, const AgentConfig& agent, int max_wait_s, const json& id,
               const json& params, const httplib::Request& req, httplib::Response& res,
               const Reply& reply) {
  auto fail = [&](int code, const std::string& msg) {
    send_json(res, 200, mcp::make_error(id, code, msg));
    reply.send();
  };
  auto tool_error = [&](const std::string& text) {
    send_json(res, 200,
              mcp::make_result(id, {{"content", json::array({{{"type", "text"}, {"text", text}}})},
                                    {"isError", true}}));
    reply.send();
  };
  if (!params.is_object() || params.value("name", "") != agent.name)
    return fail(kInvalidParams, "unknown tool; this server has one tool: '" + agent.name + "'");
  const json args = params.value("arguments", json::object());
  if (!args.is_object() || !args.contains("input") || !args["input"].is_string() ||
      args["input"].get<std::string>().empty())
    return fail(kInvalidParams, "arguments.input: required non-empty string");
  ExecutionRequest er;
  auto chain = mcp::parse_call_chain(req.get_header_value(mcp::kCallChainHeader));
  if (!chain.ok()) return fail(kInvalidRequest, chain.status().message());
  if (auto why = mcp::refuse_call(*chain, agent.name, agent.max_call_depth))
    return tool_error(*why);
  er.call_chain = std::move(*chain);
  er.idempotency_key = req.get_header_value("Idempotency-Key");
  if (er.idempotency_key.size() > 256)
    return fail(kInvalidRequest, "Idempotency-Key: longer than 256 characters");
  er.input = args["input"].get<std::string>();
  // A progress token asks for notifications/progress while the agent works: the answer then
  // comes as an SSE stream (when the client takes one) carrying them and, last, the response.
  const json meta = params.value("_meta", json::object());
  const json token = meta.is_object() ? meta.value("progressToken", json()) : json();
  const bool progress =
      (token.is_string() || token.is_number_integer()) &&
      req.get_header_value("Accept").find("text/event-stream") != std::string::npos;
  er.stream = progress;
  if (args.contains("sessionId")) {
    if (!args["sessionId"].is_string())
      return fail(kInvalidParams, "arguments.sessionId: want a string");
    er.session_id = args["sessionId"].get<std::string>();
  }
  auto sub = engine.submit(std::move(er));
  // Busy or shutting down: a tool result the calling model can read, not a protocol error.
  if (!sub.ok()) return tool_error("agent busy: " + sub.status().message());
  auto ex = sub->execution;
  if (progress) {
    stream_tool_call(res, ex, id, token);
    return reply.send();
  }
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto answer = [&res, reply, once, ex, id] {
    if (once->exchange(true)) return;
    send_json(res, 200, tool_response(*ex, id));
    reply.send();
  };
  reply.after(milliseconds(static_cast<int64_t>(max_wait_s) * 1000), answer);
  ex->on_terminal(answer);
}

}  // namespace

void mount_mcp_routes(Router& router, Engine& engine, const Config& cfg) {
  const AgentConfig agent = cfg.agent;
  const int max_wait = cfg.server.max_wait_seconds;
  router.PostAsync("/mcp", [&engine, agent, max_wait](const httplib::Request& req,
                                                      httplib::Response& res, const Reply& reply) {
    // A browser page must not drive the agent (DNS rebinding): MCP servers refuse foreign Origins,
    // and this one is for programs, so any Origin is refused.
    if (req.has_header("Origin")) {
      send_json(res, 403, mcp::make_error(nullptr, kInvalidRequest, "Origin not allowed"));
      return reply.send();
    }
    const std::string version = req.get_header_value("MCP-Protocol-Version");
    const auto& ours = mcp::supported_protocol_versions();
    if (!version.empty() && std::find(ours.begin(), ours.end(), version) == ours.end()) {
      send_json(res, 400,
                mcp::make_error(nullptr, kInvalidRequest,
                                "MCP-Protocol-Version " + version + " is not supported"));
      return reply.send();
    }
    auto parsed = json_io::parse(req.body);
    if (!parsed.ok()) {
      send_json(res, 400, mcp::make_error(nullptr, kParseError, parsed.status().message()));
      return reply.send();
    }
    if (parsed->is_array()) {  // batches left the protocol in 2025-06-18
      send_json(res, 400, mcp::make_error(nullptr, kInvalidRequest, "batches are not supported"));
      return reply.send();
    }
    const mcp::Incoming in = mcp::classify(*parsed);
    switch (in.kind) {
      case mcp::Incoming::Kind::kInvalid:
        send_json(res, 400, mcp::make_error(nullptr, kInvalidRequest, in.why));
        return reply.send();
      case mcp::Incoming::Kind::kNotification:
      case mcp::Incoming::Kind::kResponse:
      case mcp::Incoming::Kind::kError:
        res.status = 202;  // accepted, nothing to answer
        return reply.send();
      case mcp::Incoming::Kind::kRequest:
        break;
    }
    if (in.method == "initialize") {
      send_json(res, 200,
                mcp::make_result(
                    in.id, {{"protocolVersion", negotiate(in.params)},
                            {"capabilities", {{"tools", {{"listChanged", false}}}}},
                            {"serverInfo",
                             {{"name", "agentry-sidecar/" + agent.name}, {"version", kVersion}}}}));
    } else if (in.method == "ping") {
      send_json(res, 200, mcp::make_result(in.id, json::object()));
    } else if (in.method == "tools/list") {
      send_json(res, 200,
                mcp::make_result(in.id, {{"tools", json::array({tool_declaration(agent)})}}));
    } else if (in.method == "tools/call") {
      return call_tool(engine, agent, max_wait, in.id, in.params, req, res, reply);
    } else {
      send_json(res, 200,
                mcp::make_error(in.id, kMethodNotFound, "method not found: " + in.method));
    }
    reply.send();
  });
}

}  // namespace agentry::sidecar
