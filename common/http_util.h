// Helpers shared by the operator's and the sidecar's cpp-httplib servers.
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

#include "common/health.h"

namespace agentry::http {

// {"error": {"code": code, "message": message}} with the given HTTP status.
void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message);

// Serves /metrics from the process registry and /healthz, /readyz from the given checks.
void mount_operational_routes(httplib::Server& server, const HealthChecks& liveness,
                              const HealthChecks& readiness);

// Splits "host:port" (or ":port") into its parts; false when the port is not a number in range.
bool parse_host_port(std::string_view addr, std::string* host, int* port);

}  // namespace agentry::http
