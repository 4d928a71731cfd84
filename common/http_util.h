// Helpers shared by the operator's cpp-httplib server and the sidecar's HTTP server (both use
// cpp-httplib's Request/Response types).
#pragma once

#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/health.h"

namespace agentry::http {

// {"error": {"code": code, "message": message}} with the given HTTP status.
void send_error(httplib::Response& res, int status, std::string_view code,
                std::string_view message);

// body as JSON (json_io::dump: invalid UTF-8 replaced, never thrown) with the given HTTP status.
void send_json(httplib::Response& res, int status, const nlohmann::json& body);

// /metrics from the process registry; /healthz-style reports of the given checks (?verbose).
std::function<void(const httplib::Request&, httplib::Response&)> metrics_handler();
std::function<void(const httplib::Request&, httplib::Response&)> health_handler(
    const HealthChecks& checks);

// Makes an exception escaping any handler of server a logged 500 in the JSON error format, never a
// terminated process (httplib's default answers it with the exception's text in a header).
void guard_server(httplib::Server& server);

// Serves /metrics from the process registry and /healthz, /readyz from the given checks.
void mount_operational_routes(httplib::Server& server, const HealthChecks& liveness,
                              const HealthChecks& readiness);

// Splits "host:port" (or ":port") into its parts; false when the port is not a number in range.
bool parse_host_port(std::string_view addr, std::string* host, int* port);

}  // namespace agentry::http
