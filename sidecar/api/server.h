// The sidecar's API server: the HTTP server (api/http_server.h) with bearer auth on everything but
// /healthz, /livez, /readyz and /metrics, request IDs, JSON errors for every 4xx/5xx, structured
// access logs and request metrics. Route groups are mounted on routes() before bind().
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/health.h"
#include "common/result.h"
#include "sidecar/api/auth.h"
#include "sidecar/api/http_server.h"
#include "sidecar/api/router.h"
#include "sidecar/config.h"

namespace agentry::sidecar {

class Engine;

class ApiServer {
 public:
  ApiServer(const Config& cfg, Engine& engine, const TokenAuth& auth);

  Router& routes() { return router_; }
  HealthChecks& liveness() { return live_; }
  HealthChecks& readiness() { return ready_; }
  // Runs before each /metrics scrape (gauges copied from other parts). Call before serve().
  void add_scrape_hook(std::function<void()> hook) { scrape_hooks_.push_back(std::move(hook)); }
  Engine& engine() { return engine_; }

  Status bind();  // server.listen
  int port() const { return http_.port(); }
  void serve();  // blocks until stop()
  void stop();

 private:
  Config cfg_;
  Engine& engine_;
  const TokenAuth& auth_;
  Router router_;
  HealthChecks live_, ready_;
  std::vector<std::function<void()>> scrape_hooks_;
  HttpHooks hooks();
  HttpServer http_;
};

// The metrics label for a path: static segments kept, identifiers replaced ("/v1/executions/{id}").
std::string endpoint_label(const std::string& path);

// Routes for /v1/executions.
void mount_execution_routes(Router& router, Engine& engine, const ServerConfig& cfg);

// The HTTP server's options from the sidecar's server config.
HttpServerOptions http_options(const ServerConfig& cfg);

}  // namespace agentry::sidecar
