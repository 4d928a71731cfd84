#include "sidecar/api/server.h"

#include <sys/socket.h>

#include <chrono>
#include <random>

#include "common/http_util.h"
#include "common/log.h"
#include "sidecar/api/task_queue.h"
#include "sidecar/exec/engine.h"
#include "sidecar/sidecar_metrics.h"

namespace agentry::sidecar {
namespace {

using Clock = std::chrono::steady_clock;

// cpp-httplib runs a request start to finish on one thread, so per-request context is thread-local.
thread_local Clock::time_point t_start;
thread_local bool t_started = false;
thread_local std::string t_request_id;

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  uint64_t a = rng(), b = rng();
  std::string s(32, '0');
  for (int i = 0; i < 16; ++i) {
    s[i] = hex[(a >> (i * 4)) & 15];
    s[16 + i] = hex[(b >> (i * 4)) & 15];
  }
  return s;
}

bool valid_request_id(const std::string& v) {
  if (v.empty() || v.size() > 128) return false;
  for (char c : v)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

bool exempt(const std::string& path) {
  return path == "/healthz" || path == "/readyz" || path == "/livez" || path == "/metrics";
}

const char* code_for_status(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "too_many_requests";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "error";
  }
}

}  // namespace

std::string endpoint_label(const std::string& path) {
  static const char* kStatic[] = {"v1",    "executions", "cache",  "memory", "search",
                                  "stats", "healthz",    "readyz", "livez",  "metrics"};
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

ApiServer::ApiServer(const Config& cfg, Engine& engine, const TokenAuth& auth,
                     MemoryMonitor& monitor)
    : cfg_(cfg), engine_(engine), auth_(auth), monitor_(monitor) {
  const auto& s = cfg_.server;
  http_.new_task_queue = [threads = s.threads, queue = s.queue] {
    return new BoundedTaskQueue(static_cast<size_t>(threads), static_cast<size_t>(queue));
  };
  http_.set_keep_alive_max_count(static_cast<size_t>(s.keep_alive_max_requests));
  http_.set_keep_alive_timeout(s.keep_alive_timeout_seconds);
  http_.set_read_timeout(s.read_timeout_seconds, 0);
  http_.set_write_timeout(s.write_timeout_seconds, 0);
  http_.set_payload_max_length(s.max_body_bytes);
  http_.set_tcp_nodelay(true);
  // SO_REUSEADDR only (httplib's default adds SO_REUSEPORT, which would let two sidecars share a
  // port silently); and remember the socket so bind() can widen the backlog.
  http_.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = sock;
  });
  install_handlers();
  http::mount_operational_routes(http_, live_, ready_);
  live_.add("ping", [] { return std::string(); });
  ready_.add("provider", [&engine] { return engine.provider().readiness(); });
  ready_.add("draining", [&engine] {
    return engine.draining() ? std::string("shutting down") : std::string();
  });
  for (const char* p : {"/healthz", "/livez", "/readyz", "/metrics"}) declare_route(p, {"GET"});
  mount_execution_routes(*this, engine_, cfg_.server);
}

void ApiServer::declare_route(const std::string& path_regex, std::vector<std::string> methods) {
  routes_.emplace_back(std::regex(path_regex), std::move(methods));
}

void ApiServer::install_handlers() {
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_start = Clock::now();
    t_started = true;
    std::string rid = req.get_header_value("X-Request-Id");
    t_request_id = valid_request_id(rid) ? rid : new_request_id();
    res.set_header("X-Request-Id", t_request_id);
    if (exempt(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    if (!auth_.check(req.get_header_value("Authorization"))) {
      res.set_header("WWW-Authenticate", "Bearer");
      // The body was not read; the connection cannot carry another request after it.
      if (req.get_header_value<uint64_t>("Content-Length") > 0 ||
          req.has_header("Transfer-Encoding"))
        res.set_header("Connection", "close");
      http::send_error(res, 401, "unauthenticated",
                       req.has_header("Authorization") ? "invalid bearer token"
                                                       : "missing Authorization: Bearer <token>");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                      httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404) {
      for (const auto& [re, methods] : routes_) {
        if (!std::regex_match(req.path, re)) continue;
        std::string allow;
        for (const auto& m : methods) allow += (allow.empty() ? "" : ", ") + m;
        res.set_header("Allow", allow);
        http::send_error(res, 405, "method_not_allowed",
                         req.method + " not allowed on " + req.path + " (allowed: " + allow + ")");
        return httplib::Server::HandlerResponse::Handled;
      }
      http::send_error(res, 404, "not_found", "no route for " + req.method + " " + req.path);
      return httplib::Server::HandlerResponse::Handled;
    }
    std::string msg = res.status == 413 ? "request body larger than server.maxBodyBytes (" +
                                              std::to_string(cfg_.server.max_body_bytes) + " bytes)"
                                        : std::string("HTTP ") + std::to_string(res.status);
    http::send_error(res, res.status, code_for_status(res.status), msg);
    return httplib::Server::HandlerResponse::Handled;
  }));

  http_.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log::error("handler threw", {{"path", req.path}, {"error", what}});
        http::send_error(res, 500, "internal", "internal error (see the sidecar log)");
      });

  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    double secs = t_started ? std::chrono::duration<double>(Clock::now() - t_start).count() : 0.0;
    t_started = false;
    std::string ep = endpoint_label(req.path);
    metrics().count_http(req.method, ep, res.status, secs);
    if (cfg_.server.access_log && log::enabled(log::Level::kInfo)) {
      log::info("http", {{"method", req.method},
                         {"path", req.path},
                         {"status", res.status},
                         {"ms", secs * 1000},
                         {"request_id", t_request_id},
                         {"remote", req.remote_addr},
                         {"bytes", res.body.size()}});
    }
  });
}

Status ApiServer::bind() {
  std::string host;
  if (!http::parse_host_port(cfg_.server.listen, &host, &port_))
    return invalid_argument("server.listen: want HOST:PORT");
  if (port_ == 0) {
    port_ = http_.bind_to_any_port(host);
    if (port_ <= 0) return unavailable("cannot listen on " + cfg_.server.listen);
  } else if (!http_.bind_to_port(host, port_)) {
    return unavailable("cannot listen on " + cfg_.server.listen + " (in use, or not permitted)");
  }
  // libcpp-httplib.so was compiled with CPPHTTPLIB_LISTEN_BACKLOG 5; listen() again on the bound
  // socket raises it (Linux updates the backlog of a listening socket).
  int fd = listen_fd_.load();
  if (fd >= 0 && ::listen(fd, cfg_.server.listen_backlog) != 0)
    log::warn("could not widen the listen backlog", {{"backlog", cfg_.server.listen_backlog}});
  return ok_status();
}

void ApiServer::serve() {
  http_.listen_after_bind();
}

void ApiServer::stop() {
  http_.stop();
}

}  // namespace agentry::sidecar
