// The console's HTTP API under /api/v1: JSON, the sidecar's error format ({"error": {"code",
// "message"}}, sidecar/api/errors.h), bearer tokens (a console session or a Kubernetes token).
// docs/console.md lists every route; in short:
//
//   POST /auth/login, POST /auth/logout, GET /auth/whoami
//   GET  /agents, POST /agents, GET|PUT|DELETE /agents/{ns}/{name}, POST /agents/{ns}/{name}/chat
//   GET  /templates
//   GET  /workflows, POST /workflows, GET /workflows/{ns}/{name}, POST .../cancel, .../resume
//   GET  /policies, GET /policies/{name}
//   GET  /watch (SSE of Agent, Workflow and AgentPolicy changes)
//
// Reads come from the informer cache (app/catalog.h), filtered by what the caller may list or get
// (access/kube_access.h); writes and the reads the cache does not hold go to the API server as
// the caller. The browser never receives a token of an agent or any Secret's value.
#pragma once

#include <chrono>
#include <string>

#include "console/access/kube_access.h"
#include "console/api/stream_budget.h"
#include "console/app/catalog.h"
#include "console/auth/authenticator.h"
#include "sidecar/api/router.h"

namespace agentry::console {

struct ConsoleApiOptions {
  std::string default_namespace = "default";
  size_t default_page = 100;
  size_t max_page = 500;
  std::chrono::seconds chat_timeout{300};  // an answer streamed longer than this is cut
  std::chrono::seconds watch_keepalive{15};
  // Event streams (watch, chat) open at once: in all, and per identity (a user's tabs). Each holds
  // a server worker; the server has this many more for requests (api/stream_budget.h).
  size_t max_streams = 200;
  size_t max_streams_per_identity = 16;
};

struct ConsoleApi {
  Authenticator& auth;
  KubeAccess& access;
  Catalog& catalog;
  ConsoleApiOptions opts;
  std::shared_ptr<StreamBudget> streams =
      std::make_shared<StreamBudget>(opts.max_streams, opts.max_streams_per_identity);
};

// A stream slot for who, or the 429 to answer (`what`: "watch", "chat").
Result<std::shared_ptr<void>> stream_slot(ConsoleApi& api, const Identity& who, const char* what);

void mount_console_api(sidecar::Router& router, ConsoleApi& api);

// Parts of mount_console_api, in their own files.
void mount_chat_route(sidecar::Router& router, ConsoleApi& api);
void mount_watch_route(sidecar::Router& router, ConsoleApi& api);

// The caller of req (its bearer token), or the 401 to answer.
Result<Identity> caller(ConsoleApi& api, const httplib::Request& req);

}  // namespace agentry::console
