#include "sidecar/api/server.h"

#include <chrono>

#include "common/http_util.h"
#include "common/log.h"
#include "common/random_id.h"
#include "sidecar/api/a2a_routes.h"
#include "sidecar/exec/engine.h"
#include "sidecar/sidecar_metrics.h"

namespace agentry::sidecar {
namespace {

std::string new_request_id() {
  return random_hex(32);
}

bool valid_request_id(const std::string& v) {
  if (v.empty() || v.size() > 128) return false;
  for (char c : v)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

bool exempt(const std::string& path) {
  return path == "/healthz" || path == "/readyz" || path == "/livez" || path == "/metrics" ||
         a2a_public_path(path);
}

}  // namespace

std::string endpoint_label(const std::string& path) {
  static const char* kStatic[] = {"v1",    "executions", "cache",  "memory", "search",
                                  "stats", "healthz",    "readyz", "livez",  "metrics"};
  if (path == "/mcp" || path == "/a2a") return path;
  if (a2a_public_path(path)) return "/.well-known/agent-card";
  std::string out;
  size_t pos = 1, segments = 0;
  if (path.empty() || path[0] != '/') return "other";
  while (pos <= path.size() && segments < 6) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string seg = path.substr(pos, end - pos);
    if (seg.empty() && end == path.size()) break;
    bool known = false;
    for (const char* s : kStatic) known = known || seg == s;
    out += "/" + (known ? seg : std::string("{id}"));
    ++segments;
    pos = end + 1;
  }
  if (out.empty()) out = "/";
  // Unknown top-level paths all share one label so scanners cannot blow up the series count.
  if (out.rfind("/v1", 0) != 0 && !exempt(out)) return "other";
  return out;
}

HttpServerOptions http_options(const ServerConfig& s) {
  HttpServerOptions o;
  http::parse_host_port(s.listen, &o.host, &o.port);  // validated with the config
  o.io_threads = s.io_threads;
  o.worker_threads = s.threads;
  o.worker_queue = s.queue;
  o.listen_backlog = s.listen_backlog;
  o.keep_alive_max_requests = s.keep_alive_max_requests;
  o.keep_alive_timeout_seconds = s.keep_alive_timeout_seconds;
  o.read_timeout_seconds = s.read_timeout_seconds;
  o.write_timeout_seconds = s.write_timeout_seconds;
  o.max_body_bytes = s.max_body_bytes;
  return o;
}

ApiServer::ApiServer(const Config& cfg, Engine& engine, const TokenAuth& auth)
    : cfg_(cfg), engine_(engine), auth_(auth), http_(router_, http_options(cfg_.server), hooks()) {
  mount_operational_routes(router_, live_, ready_, [this] {
    auto st = http_.stats();
    auto& m = metrics();
    m.http_connections->Set(static_cast<double>(st.connections));
    m.http_workers->Set(static_cast<double>(st.workers));
    m.http_worker_queue->Set(static_cast<double>(st.queued));
    m.http_busy_refused->Set(static_cast<double>(st.busy_refused));
    for (const auto& hook : scrape_hooks_) hook();
  });
  live_.add("ping", [] { return std::string(); });
  ready_.add("provider", [&engine] { return engine.provider().readiness(); });
  ready_.add("draining", [&engine] {
    return engine.draining() ? std::string("shutting down") : std::string();
  });
  mount_execution_routes(router_, engine_, cfg_.server);
}

HttpHooks ApiServer::hooks() {
  HttpHooks h;
  h.before = [this](const httplib::Request& req, httplib::Response& res) {
    std::string rid = req.get_header_value("X-Request-Id");
    res.set_header("X-Request-Id", valid_request_id(rid) ? rid : new_request_id());
    if (exempt(req.path) || auth_.check(req.get_header_value("Authorization"))) return false;
    res.set_header("WWW-Authenticate", "Bearer");
    http::send_error(res, 401, "unauthenticated",
                     req.has_header("Authorization") ? "invalid bearer token"
                                                     : "missing Authorization: Bearer <token>");
    return true;
  };
  h.after = [this](const httplib::Request& req, const httplib::Response& res, size_t bytes,
                   double secs) {
    metrics().count_http(req.method, endpoint_label(req.path), res.status, secs);
    if (cfg_.server.access_log && log::enabled(log::Level::kInfo)) {
      log::info("http", {{"method", req.method},
                         {"path", req.path},
                         {"status", res.status},
                         {"ms", secs * 1000},
                         {"request_id", res.get_header_value("X-Request-Id")},
                         {"remote", req.remote_addr},
                         {"bytes", bytes}});
    }
  };
  return h;
}

Status ApiServer::bind() {
  std::string host;
  int port = 0;
  if (!http::parse_host_port(cfg_.server.listen, &host, &port))
    return invalid_argument("server.listen: want HOST:PORT");
  return http_.bind();
}

void ApiServer::serve() {
  http_.serve();
}

void ApiServer::stop() {
  http_.stop();
}

}  // namespace agentry::sidecar
