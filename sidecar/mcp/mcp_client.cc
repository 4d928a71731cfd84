#include "sidecar/mcp/mcp_client.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "agentry/version.h"
#include "common/backoff.h"
#include "common/json_io.h"
#include "common/log.h"
#include "sidecar/mcp/json_rpc.h"

namespace agentry::sidecar::mcp {

using nlohmann::json;

const std::vector<std::string>& supported_protocol_versions() {
  static const std::vector<std::string> kVersions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                     "2024-11-05"};
  return kVersions;
}

namespace {

constexpr int kMaxPages = 100;
constexpr int kMethodNotFound = -32601;

bool transient(const HttpResult& r) {
  if (r.cancelled) return false;
  if (r.status == 0) return true;  // no connection, reset, timeout
  return r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504;
}

// httplib::Headers compares names without case.
std::string header(const HttpResult& r, const char* name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

// The text a failed exchange gives the caller (and, through the tool runner, the model).
Status http_error(const ServerOptions& o, const HttpResult& r) {
  if (r.cancelled) return Status(Code::kCancelled, "cancelled");
  if (r.status == 0)
    return unavailable("MCP server '" + o.name + "' unreachable: " +
                       (r.error_text.empty() ? httplib::to_string(r.error) : r.error_text));
  std::string body = r.body.substr(0, 300);
  return unavailable("MCP server '" + o.name + "' answered HTTP " + std::to_string(r.status) +
                     (body.empty() ? "" : ": " + body));
}

// A JSON-RPC error answering our request, for the caller.
Status rpc_error(const ServerOptions& o, const Incoming& m) {
  return invalid_argument("MCP server '" + o.name + "': " + m.error_message + " (JSON-RPC error " +
                          std::to_string(m.error_code) + ")");
}

}  // namespace

Client::Client(ServerOptions options) : Client(options, parse_endpoint(options.url)) {}

Client::Client(ServerOptions options, Result<Endpoint> endpoint)
    : opts_(std::move(options)),
      endpoint_error_(endpoint.status()),
      pool_(endpoint.ok() ? *endpoint : Endpoint{},
            PoolOptions{"", true, opts_.timeout_ms, opts_.timeout_ms, 8}) {
  if (opts_.transport == "sse" && endpoint_error_.is_ok())
    sse_ = std::make_unique<SseChannel>(opts_, [this](const Incoming& m) {
      if (m.kind == Incoming::Kind::kNotification) on_notification(m.method);
      if (m.kind == Incoming::Kind::kRequest) answer_server_request(m.id, m.method, nullptr);
    });
}

// Events one answer may carry (notifications before the response); more is a hostile server.
constexpr size_t kMaxEvents = 10000;

Client::~Client() {
  sse_.reset();
  listen_cancel_.cancel("shutdown");
  if (listener_.joinable()) listener_.join();
}

void Client::start_listener() {
  if (!opts_.listen) return;
  std::call_once(listener_once_, [this] { listener_ = std::thread([this] { listen_loop(); }); });
}

void Client::listen_loop() {
  Backoff backoff(BackoffPolicy{.initial = std::chrono::milliseconds(500),
                                .max = std::chrono::milliseconds(30000)});
  while (!listen_cancel_.cancelled()) {
    try {
      std::string session, version;
      {
        std::lock_guard<std::mutex> lock(mu_);
        session = session_id_;
        version = version_;
      }
      httplib::Headers headers = opts_.headers;
      headers.emplace("Accept", "text/event-stream");
      if (!session.empty()) headers.emplace("Mcp-Session-Id", session);
      if (!version.empty()) headers.emplace("MCP-Protocol-Version", version);
      std::string buf;
      bool got_event = false;
      HttpResult r =
          pool_.request("GET", "", "", headers, &listen_cancel_, [&](const char* d, size_t n) {
            buf.append(d, n);
            for (const auto& ev : take_sse_events(&buf)) {
              if (ev.event != "message" || ev.data.empty()) continue;
              for (const auto& m : parse_body(ev.data))
                if (m.kind == Incoming::Kind::kNotification) on_notification(m.method);
              got_event = true;
            }
            return buf.size() <= opts_.max_response_bytes;
          });
      if (r.status == 405) return;  // the server offers no stream: nothing to listen to
      // An idle stream ends at the read timeout: connect again after the shortest backoff
      // (0.5 s). Anything else (refused, 4xx/5xx, a lost session) waits out a growing one.
      if (got_event || r.error == httplib::Error::Read) backoff.reset();
    } catch (...) {
      // Nothing may leave a thread: the loop goes on after the backoff.
    }
    if (!listen_cancel_.sleep_for(backoff.next())) return;
  }
}

std::string Client::protocol_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

std::string Client::session_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return session_id_;
}

Result<Client::Sent> Client::post(const json& msg, const std::string& session,
                                  const std::string& version, CancelToken* cancel,
                                  const httplib::Headers& extra) {
  if (!endpoint_error_.is_ok()) return endpoint_error_;
  if (sse_) return post_on_stream(msg, session, cancel, extra);
  httplib::Headers headers = opts_.headers;
  for (const auto& [k, v] : extra) headers.emplace(k, v);
  headers.emplace("Accept", "application/json, text/event-stream");
  if (!session.empty()) headers.emplace("Mcp-Session-Id", session);
  if (!version.empty()) headers.emplace("MCP-Protocol-Version", version);
  const std::string body = json_io::dump(msg);
  Backoff backoff(BackoffPolicy{.initial = std::chrono::milliseconds(100),
                                .max = std::chrono::milliseconds(2000)});
  for (int attempt = 0;; ++attempt) {
    std::string buf;
    bool too_big = false;
    HttpResult r = pool_.request("POST", "", body, headers, cancel, [&](const char* d, size_t n) {
      if (buf.size() + n > opts_.max_response_bytes) {
        too_big = true;
        return false;
      }
      buf.append(d, n);
      return true;
    });
    if (too_big)
      return Status(Code::kResourceExhausted,
                    "MCP server '" + opts_.name + "' answered more than " +
                        std::to_string(opts_.max_response_bytes) + " bytes");
    if (r.status >= 200 && r.status < 300) {
      r.body = std::move(buf);
      if (!msg.contains("id")) return Sent{r.status, nullptr};  // a notification: 202, no body
      return read_answer(r, msg["id"], cancel);
    }
    // The session is gone: the spec says 404; the reference server (server-everything 2026.8.31,
    // on the TypeScript SDK) answers 400 "No valid session ID provided" (seen in
    // mcp_client_test). Either way the caller opens a new session and tries once more.
    if ((r.status == 404 || r.status == 400) && !session.empty()) return Sent{404, nullptr};
    if (!transient(r) || attempt >= opts_.retries) return http_error(opts_, r);
    const auto delay = backoff.next();
    if (cancel ? !cancel->sleep_for(delay) : (std::this_thread::sleep_for(delay), false))
      return Status(Code::kCancelled, "cancelled");
  }
}

Result<Client::Sent> Client::post_on_stream(const json& msg, const std::string& session,
                                            CancelToken* cancel, const httplib::Headers& extra) {
  auto a = sse_->send(msg, std::strtoull(session.c_str(), nullptr, 10), cancel, extra);
  if (!a.ok()) return a.status();
  if (a->session_lost) return Sent{404, nullptr};
  if (!msg.contains("method") || !msg.contains("id")) return Sent{202, nullptr};
  if (a->response.kind == Incoming::Kind::kError) return rpc_error(opts_, a->response);
  return Sent{200, a->response.result};
}

Result<Client::Sent> Client::read_answer(const HttpResult& r, const json& id, CancelToken* cancel) {
  const std::string type = header(r, "Content-Type");
  std::vector<Incoming> messages;
  if (type.rfind("text/event-stream", 0) == 0) {
    const auto events = parse_sse(r.body, kMaxEvents + 1);
    if (events.size() > kMaxEvents)
      return Status(Code::kResourceExhausted, "MCP server '" + opts_.name + "' sent more than " +
                                                  std::to_string(kMaxEvents) +
                                                  " events in one answer (a flood)");
    for (const auto& ev : events) {
      if (ev.event != "message" || ev.data.empty()) continue;
      for (auto& m : parse_body(ev.data)) messages.push_back(std::move(m));
    }
  } else {
    messages = parse_body(r.body);
  }
  if (const std::string s = header(r, "Mcp-Session-Id"); !s.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (session_id_.empty()) session_id_ = s;
  }
  for (const auto& m : messages) {
    switch (m.kind) {
      case Incoming::Kind::kNotification:
        on_notification(m.method);
        break;
      case Incoming::Kind::kRequest:
        answer_server_request(m.id, m.method, cancel);
        break;
      case Incoming::Kind::kResponse:
        if (m.id == id) return Sent{r.status, m.result};
        break;
      case Incoming::Kind::kError:
        if (m.id == id) return rpc_error(opts_, m);
        break;
      case Incoming::Kind::kInvalid:
        return internal_error("MCP server '" + opts_.name + "' sent an invalid message: " + m.why);
    }
  }
  return internal_error("MCP server '" + opts_.name + "' answered without a response to request " +
                        id.dump());
}

void Client::on_notification(const std::string& method) {
  if (method == "notifications/tools/list_changed") tools_changed_ = true;
}

// We declare no client capabilities (no sampling, roots or elicitation), so the only request a
// server may send is ping; anything else gets "method not found".
void Client::answer_server_request(const json& id, const std::string& method, CancelToken* cancel) {
  json reply = method == "ping" ? make_result(id, json::object())
                                : make_error(id, kMethodNotFound, "not supported: " + method);
  std::string session, version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    session = session_id_;
    version = version_;
  }
  (void)post(reply, session, version, cancel);  // a response: 202, nothing to read
}

Status Client::initialize(CancelToken* cancel) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    session_id_.clear();
    version_.clear();
    initialized_ = false;
  }
  const json params = {{"protocolVersion", supported_protocol_versions().front()},
                       {"capabilities", json::object()},
                       {"clientInfo", {{"name", "agentry-sidecar"}, {"version", kVersion}}}};
  // HTTP+SSE: the session is the stream open now.
  std::string first;
  if (sse_) {
    auto g = sse_->generation(cancel);
    if (!g.ok()) return g.status();
    first = std::to_string(*g);
    std::lock_guard<std::mutex> lock(mu_);
    session_id_ = first;
  }
  auto sent = post(make_request(next_id_++, "initialize", params), first, "", cancel);
  if (!sent.ok()) return sent.status();
  const json& res = sent->result;
  const std::string version =
      res.is_object() && res.contains("protocolVersion") && res["protocolVersion"].is_string()
          ? res["protocolVersion"].get<std::string>()
          : "";
  const auto& ours = supported_protocol_versions();
  if (std::find(ours.begin(), ours.end(), version) == ours.end())
    return invalid_argument("MCP server '" + opts_.name + "' speaks protocol revision \"" +
                            version + "\"; this sidecar speaks " + ours.front() + " back to " +
                            ours.back());
  std::string session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    version_ = version;
    session = session_id_;
  }
  auto done =
      post(make_notification("notifications/initialized", nullptr), session, version, cancel);
  if (!done.ok()) return done.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    initialized_ = true;
  }
  if (!sse_) start_listener();
  return ok_status();
}

Result<json> Client::request(const std::string& method, const json& params, CancelToken* cancel,
                             const httplib::Headers& extra) {
  for (int round = 0; round < 2; ++round) {
    bool ready;
    std::string session, version;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready = initialized_;
      session = session_id_;
      version = version_;
    }
    if (!ready) {
      if (Status s = initialize(cancel); !s.is_ok()) return s;
      std::lock_guard<std::mutex> lock(mu_);
      session = session_id_;
      version = version_;
    }
    auto sent = post(make_request(next_id_++, method, params), session, version, cancel, extra);
    if (!sent.ok()) return sent.status();
    if (sent->status != 404) return sent->result;
    // The server forgot the session (restarted): a new one, then the request once more.
    log::info("MCP session expired; reconnecting", {{"server", opts_.name}});
    std::lock_guard<std::mutex> lock(mu_);
    if (session_id_ == session) initialized_ = false;
  }
  return unavailable("MCP server '" + opts_.name + "' lost the session twice in a row");
}

Result<std::vector<Tool>> Client::list_tools(CancelToken* cancel) {
  tools_changed_ = false;
  std::vector<Tool> out;
  json cursor;
  for (int page = 0; page < kMaxPages; ++page) {
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    auto res = request("tools/list", params, cancel);
    if (!res.ok()) return res.status();
    if (!res->is_object() || !res->contains("tools") || !(*res)["tools"].is_array())
      return internal_error("MCP server '" + opts_.name + "': tools/list without a tools array");
    for (const auto& t : (*res)["tools"]) {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) continue;
      Tool tool;
      tool.name = t["name"].get<std::string>();
      if (t.contains("description") && t["description"].is_string())
        tool.description = t["description"].get<std::string>();
      if (t.contains("inputSchema") && t["inputSchema"].is_object())
        tool.input_schema = t["inputSchema"];
      out.push_back(std::move(tool));
    }
    auto next = res->find("nextCursor");
    if (next == res->end() || !next->is_string() || next->get_ref<const std::string&>().empty())
      return out;
    cursor = *next;
  }
  return internal_error("MCP server '" + opts_.name + "': tools/list went past " +
                        std::to_string(kMaxPages) + " pages");
}

Result<CallResult> Client::call_tool(const std::string& name, const json& arguments,
                                     CancelToken* cancel, const httplib::Headers& extra) {
  json params = {{"name", name}, {"arguments", arguments.is_object() ? arguments : json::object()}};
  auto res = request("tools/call", params, cancel, extra);
  if (!res.ok()) return res.status();
  if (!res->is_object())
    return internal_error("MCP server '" + opts_.name + "': tools/call result is not an object");
  CallResult out;
  out.is_error = res->value("isError", false);
  if (auto sc = res->find("structuredContent"); sc != res->end() && sc->is_object())
    out.structured = *sc;
  if (auto content = res->find("content"); content != res->end() && content->is_array()) {
    for (const auto& part : *content) {
      if (!part.is_object()) continue;
      const std::string type = part.value("type", "");
      std::string piece;
      if (type == "text" && part.contains("text") && part["text"].is_string()) {
        piece = part["text"].get<std::string>();
      } else if (type == "resource" && part.contains("resource") && part["resource"].is_object() &&
                 part["resource"].contains("text") && part["resource"]["text"].is_string()) {
        piece = part["resource"]["text"].get<std::string>();
      } else if (!type.empty()) {
        piece = "[" + type + " content omitted]";  // images, audio, blobs: not for a text model
      }
      if (piece.empty()) continue;
      out.text += (out.text.empty() ? "" : "\n\n") + piece;
    }
  }
  if (out.text.empty() && !out.structured.is_null()) out.text = json_io::dump(out.structured);
  return out;
}

Status Client::ping(CancelToken* cancel) {
  auto res = request("ping", nullptr, cancel);
  return res.ok() ? ok_status() : res.status();
}

}  // namespace agentry::sidecar::mcp
