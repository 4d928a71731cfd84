#include "sidecar/api/a2a_routes.h"

#include <atomic>
#include <chrono>
#include <memory>

#include "agentry/version.h"
#include "common/json_io.h"
#include "common/random_id.h"
#include "sidecar/a2a/a2a_protocol.h"
#include "sidecar/api/execution_events.h"
#include "sidecar/exec/engine.h"
#include "sidecar/mcp/json_rpc.h"

namespace agentry::sidecar {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
namespace mcp = sidecar::mcp;  // its JSON-RPC 2.0 messages are protocol-neutral

constexpr const char* kCardPath = "/.well-known/agent-card.json";
constexpr const char* kLegacyCardPath = "/.well-known/agent.json";
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInternalError = -32603;
constexpr milliseconds kCancelWait{2000};

// JSON-RPC answers are HTTP 200 whatever they say (the A2A JSON-RPC binding).
void send_rpc(httplib::Response& res, const json& body) {
  res.status = 200;
  res.set_content(json_io::dump(body), "application/json");
}

a2a::TaskView view(const Execution& ex) {
  return a2a::view_of(ex.to_json(), ex.request().input);
}

std::string sse_data(const json& id, const json& result) {
  return "data: " + json_io::dump(mcp::make_result(id, result)) + "\n\n";
}

// The task's events as SSE, from its first state to its last: the task, then the answer as
// artifact chunks while the model streams it (a tool call is a "working" status with a message),
// then the final status. Written from a worker (frames_from blocks); a caller that leaves stops
// the stream, not the execution.
void stream_events(httplib::Response& res, std::shared_ptr<Execution> ex, a2a::Version v, json id) {
  struct Cursor {
    bool started = false;
    bool sent_text = false;
    size_t next = 0;
  };
  auto cur = std::make_shared<Cursor>();
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [ex, v, id, cur](size_t, httplib::DataSink& sink) {
        auto write = [&](const json& result) {
          std::string s = sse_data(id, result);
          return sink.write(s.data(), s.size());
        };
        if (!cur->started) {
          cur->started = true;
          if (!write(a2a::stream_task(view(*ex), v))) return false;
        }
        bool done = false;
        const bool open = follow_execution(
            *ex, &cur->next, milliseconds(1000),
            [&](const std::string& event, const json& data) {
              if (event == "tool_call")
                return write(a2a::stream_status(view(*ex), v, false,
                                                "calling tool " + data.value("name", "")));
              const bool ok = write(a2a::stream_artifact(view(*ex), v, data.value("content", ""),
                                                         cur->sent_text, false));
              cur->sent_text = true;
              return ok;
            },
            &done);
        if (!open) return false;
        if (!done) return true;
        const a2a::TaskView t = view(*ex);
        if (t.state == "succeeded" &&
            !write(cur->sent_text ? a2a::stream_artifact(t, v, "", true, true)
                                  : a2a::stream_artifact(t, v, t.output, false, true)))
          return false;
        if (!write(a2a::stream_status(t, v, true))) return false;
        sink.done();
        return true;
      });
}

// Answers with render(res) once ex is terminal or after wait, whichever is first; no thread held.
template <typename Render>
void when_terminal(const std::shared_ptr<Execution>& ex, milliseconds wait, const Reply& reply,
                   Render render) {
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto done = [reply, once, render] {
    if (once->exchange(true)) return;
    render();
    reply.send();
  };
  reply.after(wait, done);
  ex->on_terminal(done);
}

struct Call {
  Engine& engine;
  int max_wait_s;
  const mcp::Incoming& in;
  a2a::MethodRef m;
  const httplib::Request& req;
  httplib::Response& res;
  const Reply& reply;

  void fail(int code, const std::string& message) const {
    send_rpc(res, mcp::make_error(in.id, code, message));
    reply.send();
  }

  void send() const {
    a2a::SendParams p;
    if (auto e = a2a::parse_send(in.params, m.version, &p)) return fail(e->code, e->message);
    if (!p.task_id.empty()) {
      if (!engine.get(p.task_id))
        return fail(a2a::kTaskNotFound, "params.message.taskId: task " + p.task_id + " not found");
      return fail(a2a::kUnsupportedOperation,
                  "params.message.taskId: a task here takes one message; send a new message "
                  "with the task's contextId to continue the conversation");
    }
    ExecutionRequest er;
    er.input = std::move(p.text);
    er.session_id = p.context_id.empty() ? "ctx-" + random_hex(16) : p.context_id;
    er.idempotency_key = req.has_header("Idempotency-Key") ? req.get_header_value("Idempotency-Key")
                                                           : a2a::idempotency_key(p.message_id);
    if (er.idempotency_key.size() > 256)
      return fail(kInvalidRequest, "Idempotency-Key: longer than 256 characters");
    er.stream = m.method == a2a::Method::kStream;
    auto sub = engine.submit(std::move(er));
    if (!sub.ok())  // busy or draining: nothing was created, the caller may retry
      return fail(kInternalError, "agent busy: " + sub.status().message() + "; retry after " +
                                      std::to_string(engine.retry_after_seconds()) + "s");
    auto ex = sub->execution;
    if (m.method == a2a::Method::kStream) {
      stream_events(res, ex, m.version, in.id);
      return reply.send();
    }
    auto render = [ex, hl = p.history_length, v = m.version, id = in.id, &res = res] {
      send_rpc(res, mcp::make_result(id, a2a::send_result(view(*ex), v, hl)));
    };
    if (p.return_immediately || terminal(ex->state())) {
      render();
      return reply.send();
    }
    when_terminal(ex, milliseconds(static_cast<int64_t>(max_wait_s) * 1000), reply, render);
  }

  void query() const {
    a2a::TaskQuery q;
    if (auto e = a2a::parse_task_query(in.params, &q)) return fail(e->code, e->message);
    auto ex = engine.get(q.id);
    if (!ex) return fail(a2a::kTaskNotFound, "task " + q.id + " not found");
    auto render = [ex, hl = q.history_length, v = m.version, id = in.id, &res = res] {
      send_rpc(res, mcp::make_result(id, a2a::task(view(*ex), v, hl)));
    };
    switch (m.method) {
      case a2a::Method::kGet:
        render();
        return reply.send();
      case a2a::Method::kCancel:
        if (terminal(ex->state()))
          return fail(a2a::kTaskNotCancelable,
                      "task " + q.id + " has ended (" +
                          a2a::task_state(state_name(ex->state()), m.version) + ")");
        if (auto s = engine.cancel(q.id); !s.is_ok()) return fail(kInternalError, s.message());
        // Cancellation closes the provider call, usually at once; answer when it has ended.
        return when_terminal(ex, kCancelWait, reply, render);
      case a2a::Method::kSubscribe:
        stream_events(res, ex, m.version, in.id);
        return reply.send();
      default:
        return fail(kInternalError, "unreachable");
    }
  }
};

}  // namespace

bool a2a_public_path(const std::string& path) {
  return path == kCardPath || path == kLegacyCardPath;
}

void mount_a2a_routes(Router& router, Engine& engine, const Config& cfg) {
  const std::string agent = cfg.agent.name;
  const std::string listen = cfg.server.listen;
  auto card = [agent, listen](const httplib::Request& req, httplib::Response& res) {
    // The endpoint as the client reached us (in a cluster: the agent's Service name).
    const std::string host = req.has_header("Host") ? req.get_header_value("Host") : listen;
    res.status = 200;
    res.set_header("Cache-Control", "max-age=60");
    res.set_content(json_io::dump(a2a::agent_card(agent, "http://" + host + "/a2a", kVersion)),
                    "application/json");
  };
  router.Get(kCardPath, card, non_blocking);
  router.Get(kLegacyCardPath, card, non_blocking);

  const int max_wait = cfg.server.max_wait_seconds;
  router.PostAsync("/a2a", [&engine, max_wait](const httplib::Request& req, httplib::Response& res,
                                               const Reply& reply) {
    auto parsed = json_io::parse(req.body);
    if (!parsed.ok()) {
      send_rpc(res, mcp::make_error(nullptr, kParseError, parsed.status().message()));
      return reply.send();
    }
    if (parsed->is_array()) {
      send_rpc(res, mcp::make_error(nullptr, kInvalidRequest, "batches are not supported"));
      return reply.send();
    }
    const mcp::Incoming in = mcp::classify(*parsed);
    if (in.kind != mcp::Incoming::Kind::kRequest) {
      send_rpc(res, mcp::make_error(in.kind == mcp::Incoming::Kind::kInvalid ? nullptr : in.id,
                                    kInvalidRequest,
                                    in.kind == mcp::Incoming::Kind::kInvalid
                                        ? in.why
                                        : "want a request (method and id)"));
      return reply.send();
    }
    auto m = a2a::method_of(in.method);
    if (!m) {
      send_rpc(res, mcp::make_error(in.id, kMethodNotFound,
                                    "method not found: " + in.method +
                                        " (this agent serves A2A 1.0 SendMessage, "
                                        "SendStreamingMessage, GetTask, CancelTask, "
                                        "SubscribeToTask and their 0.3 names)"));
      return reply.send();
    }
    Call call{engine, max_wait, in, *m, req, res, reply};
    if (m->method == a2a::Method::kSend || m->method == a2a::Method::kStream) return call.send();
    call.query();
  });
}

}  // namespace agentry::sidecar
