// /v1/executions: create (sync with ?wait=, async 202, or streamed as SSE), get (long-poll with
// ?wait=), cancel, list with limit/continue.
#include <chrono>

#include "common/http_util.h"
#include "common/json_io.h"
#include "sidecar/api/errors.h"
#include "sidecar/api/server.h"
#include "sidecar/exec/engine.h"

namespace agentry::sidecar {
namespace {

using api::send_status;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr size_t kMaxIdempotencyKey = 256;

using http::send_json;

// ?wait=: absent -> 0; capped at server.maxWaitSeconds (documented). False when unparseable or
// past a day, which no client means.
bool wait_param(const httplib::Request& req, int max_wait_seconds, milliseconds* out) {
  *out = milliseconds(0);
  if (!req.has_param("wait")) return true;
  auto w = json_io::parse_duration(req.get_param_value("wait"), "wait", std::chrono::hours(24));
  if (!w.ok()) return false;
  *out = std::min(*w, milliseconds(static_cast<int64_t>(max_wait_seconds) * 1000));
  return true;
}

void respond_execution(httplib::Response& res, const Execution& ex, bool replayed) {
  if (replayed) res.set_header("Idempotent-Replayed", "true");
  res.set_header("Location", "/v1/executions/" + ex.id());
  send_json(res, terminal(ex.state()) ? 200 : 202, ex.to_json());
}

void stream_execution(httplib::Response& res, std::shared_ptr<Execution> ex, bool replayed) {
  if (replayed) res.set_header("Idempotent-Replayed", "true");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Execution-Id", ex->id());
  res.status = 200;
  auto next = std::make_shared<size_t>(0);
  auto sent_header = std::make_shared<bool>(false);
  res.set_chunked_content_provider(
      "text/event-stream", [ex, next, sent_header](size_t, httplib::DataSink& sink) {
        if (!*sent_header) {
          *sent_header = true;
          std::string f =
              sse_frame("execution", {{"id", ex->id()}, {"state", state_name(ex->state())}});
          if (!sink.write(f.data(), f.size())) return false;
        }
        bool done = false;
        auto frames = ex->frames_from(next.get(), milliseconds(1000), &done);
        for (const auto& f : frames)
          if (!sink.write(f.data(), f.size())) return false;  // caller left; the execution goes on
        if (done) {
          // Frames pushed between the last read and termination (the final one included).
          bool ignored;
          for (const auto& f : ex->frames_from(next.get(), milliseconds(0), &ignored))
            if (!sink.write(f.data(), f.size())) return false;
          sink.done();
        }
        return true;
      });
}

// A 400 for submit_execution, whose nullptr says the answer is in res.
std::shared_ptr<Execution> invalid(httplib::Response& res, const char* code, const char* message) {
  http::send_error(res, 400, code, message);
  return nullptr;
}

// Renders the execution into res and sends it once it is terminal or `wait` has passed, whichever
// comes first, without holding a thread.
template <typename Render>
void when_terminal(httplib::Response& res, const Reply& reply, const std::shared_ptr<Execution>& ex,
                   milliseconds wait, Render render) {
  if (wait.count() <= 0 || terminal(ex->state())) {
    render(res);
    return reply.send();
  }
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto done = [&res, reply, once, render] {
    if (once->exchange(true)) return;  // the other of deadline and completion came first
    render(res);
    reply.send();
  };
  reply.after(wait, done);
  ex->on_terminal(done);
}

// Validates and submits a POST /v1/executions. nullptr when res already holds the answer (an error
// or a stream); else the execution, to answer with once terminal or after *wait.
std::shared_ptr<Execution> submit_execution(Engine& engine, int max_wait,
                                            const httplib::Request& req, httplib::Response& res,
                                            milliseconds* wait, bool* replayed) {
  if (!wait_param(req, max_wait, wait))
    return invalid(res, "invalid_argument", "wait: want a duration like 30s or 500ms, at most 24h");
  auto parsed = json_io::parse(req.body);
  if (!parsed.ok()) {
    http::send_error(res, 400, "invalid_json", "request body: " + parsed.status().message());
    return nullptr;
  }
  json& body = *parsed;
  if (!body.is_object())
    return invalid(res, "invalid_argument", "request body must be a JSON object");
  ExecutionRequest er;
  if (!body.contains("input") || !body["input"].is_string() ||
      body["input"].get<std::string>().empty())
    return invalid(res, "invalid_argument", "input: required non-empty string");
  er.input = body["input"].get<std::string>();
  if (body.contains("sessionId")) {
    if (!body["sessionId"].is_string())
      return invalid(res, "invalid_argument", "sessionId: want a string");
    er.session_id = body["sessionId"].get<std::string>();
  }
  if (body.contains("parameters")) {
    if (!body["parameters"].is_object())
      return invalid(res, "invalid_argument", "parameters: want an object");
    er.parameters = body["parameters"];
  }
  if (body.contains("stream")) {
    if (!body["stream"].is_boolean())
      return invalid(res, "invalid_argument", "stream: want true or false");
    er.stream = body["stream"].get<bool>();
  }
  er.idempotency_key = req.get_header_value("Idempotency-Key");
  if (er.idempotency_key.size() > kMaxIdempotencyKey)
    return invalid(res, "invalid_argument", "Idempotency-Key: longer than 256 characters");
  const bool stream = er.stream;
  auto sub = engine.submit(std::move(er));
  if (!sub.ok()) {
    send_status(res, sub.status(), engine.retry_after_seconds());
    return nullptr;
  }
  auto ex = sub->execution;
  if (stream && ex->request().stream) {
    stream_execution(res, ex, !sub->created);
    return nullptr;  // res streams it
  }
  *replayed = !sub->created;
  return ex;
}

}  // namespace

void mount_execution_routes(Router& http, Engine& engine, const ServerConfig& cfg) {
  const int max_wait = cfg.max_wait_seconds;
  // Submitting never blocks (the engine queues) and ?wait= holds no thread: the answer is sent
  // when the execution ends or the wait is over. A stream is written from a worker.
  http.PostAsync("/v1/executions", [&engine, max_wait](const httplib::Request& req,
                                                       httplib::Response& res, const Reply& reply) {
    milliseconds wait{0};
    bool replayed = false;
    auto ex = submit_execution(engine, max_wait, req, res, &wait, &replayed);
    if (!ex) return reply.send();
    when_terminal(res, reply, ex, wait,
                  [ex, replayed](httplib::Response& r) { respond_execution(r, *ex, replayed); });
  });

  http.Get(
      "/v1/executions",
      [&engine](const httplib::Request& req, httplib::Response& res) {
        size_t limit = 100;
        if (req.has_param("limit")) {
          auto v = json_io::parse_int(req.get_param_value("limit"), "limit", 1, 1000);
          if (!v.ok()) return http::send_error(res, 400, "invalid_argument", v.status().message());
          limit = static_cast<size_t>(*v);
        }
        auto page = engine.list(limit, req.get_param_value("continue"));
        if (!page.ok()) return send_status(res, page.status());
        json items = json::array();
        for (const auto& ex : page->items) items.push_back(ex->to_json());
        json out = {{"items", std::move(items)}};
        if (!page->next.empty()) out["continue"] = page->next;
        send_json(res, 200, out);
      },
      non_blocking);

  http.GetAsync(
      R"(/v1/executions/([^/]+))",
      [&engine, max_wait](const httplib::Request& req, httplib::Response& res, const Reply& reply) {
        milliseconds wait;
        auto ex = engine.get(req.matches[1]);
        if (!wait_param(req, max_wait, &wait)) {
          http::send_error(res, 400, "invalid_argument",
                           "wait: want a duration like 30s or 500ms, at most 24h");
        } else if (!ex) {
          http::send_error(res, 404, "not_found",
                           "execution " + std::string(req.matches[1]) + " not found");
        } else {
          return when_terminal(res, reply, ex, wait,
                               [ex](httplib::Response& r) { send_json(r, 200, ex->to_json()); });
        }
        reply.send();
      });

  http.Delete(
      R"(/v1/executions/([^/]+))", [&engine](const httplib::Request& req, httplib::Response& res) {
        std::string id = req.matches[1];
        auto s = engine.cancel(id);
        if (!s.is_ok()) return send_status(res, s);
        auto ex = engine.get(id);
        if (!ex) return send_json(res, 200, {{"id", id}, {"state", "cancelled"}});
        ex->wait(milliseconds(2000));  // cancellation closes the provider call; usually immediate
        send_json(res, terminal(ex->state()) ? 200 : 202, ex->to_json());
      });
}

}  // namespace agentry::sidecar
