#include "common/http_util.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/json_io.h"
#include "common/log.h"
#include "common/metrics.h"

namespace agentry::http {

void send_error(httplib::Response& res, int status, std::string_view code,
                std::string_view message) {
  res.status = status;
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  res.set_content(json_io::dump(j), "application/json");
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(json_io::dump(body), "application/json");
}

std::function<void(const httplib::Request&, httplib::Response&)> metrics_handler() {
  return [](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics::serialize(*metrics::registry()), metrics::kContentType);
  };
}

std::function<void(const httplib::Request&, httplib::Response&)> health_handler(
    const HealthChecks& checks) {
  return [&checks](const httplib::Request& req, httplib::Response& res) {
    auto report = checks.run(req.has_param("verbose"));
    res.status = report.ok ? 200 : 503;
    res.set_content(report.body, "text/plain; charset=utf-8");
  };
}

void guard_server(httplib::Server& server) {
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log::error("HTTP handler threw", {{"path", req.path}, {"error", what}});
        send_error(res, 500, "internal", "internal error (see the log)");
      });
}

void mount_operational_routes(httplib::Server& server, const HealthChecks& liveness,
                              const HealthChecks& readiness) {
  server.Get("/metrics", metrics_handler());
  server.Get("/healthz", health_handler(liveness));
  server.Get("/livez", health_handler(liveness));
  server.Get("/readyz", health_handler(readiness));
}

bool parse_host_port(std::string_view addr, std::string* host, int* port) {
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view p = addr.substr(colon + 1);
  int value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || ptr != p.data() + p.size() || value < 0 || value > 65535) return false;
  *host = colon == 0 ? "0.0.0.0" : std::string(addr.substr(0, colon));
  *port = value;
  return true;
}

}  // namespace agentry::http
