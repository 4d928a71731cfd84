// The sidecar's HTTP server: cpp-httplib with a bounded connection pool sized from the config,
// bearer auth on everything but /healthz, /livez, /readyz and /metrics, request IDs, JSON errors
// for every 4xx/5xx, structured access logs and request metrics. Route groups are mounted on
// http().
#pragma once

#include <httplib.h>

#include <atomic>
#include <regex>
#include <string>
#include <vector>

#include "common/health.h"
#include "common/result.h"
#include "sidecar/api/auth.h"
#include "sidecar/config.h"
#include "sidecar/memory_pressure.h"

namespace agentry::sidecar {

class Engine;

class ApiServer {
 public:
  ApiServer(const Config& cfg, Engine& engine, const TokenAuth& auth, MemoryMonitor& monitor);

  httplib::Server& http() { return http_; }
  HealthChecks& liveness() { return live_; }
  HealthChecks& readiness() { return ready_; }
  MemoryMonitor& memory_monitor() { return monitor_; }
  Engine& engine() { return engine_; }
  // Lets a 404 for a known path with another method become a 405 with Allow.
  void declare_route(const std::string& path_regex, std::vector<std::string> methods);

  // Binds server.listen and widens the listen backlog (see ServerConfig::listen_backlog).
  Status bind();
  int port() const { return port_; }
  void serve();  // blocks until stop()
  void stop();

 private:
  void install_handlers();

  Config cfg_;
  Engine& engine_;
  const TokenAuth& auth_;
  MemoryMonitor& monitor_;
  httplib::Server http_;
  HealthChecks live_, ready_;
  std::vector<std::pair<std::regex, std::vector<std::string>>> routes_;
  int port_ = 0;
  std::atomic<int> listen_fd_{-1};
};

// The metrics label for a path: static segments kept, identifiers replaced ("/v1/executions/{id}").
std::string endpoint_label(const std::string& path);

// Routes for /v1/executions.
void mount_execution_routes(ApiServer& server, Engine& engine, const ServerConfig& cfg);

}  // namespace agentry::sidecar
