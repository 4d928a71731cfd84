// Where an Agent's sidecar answers and the token it wants, found as the caller: the endpoint from
// the Agent (the endpoint-override annotation, else status.endpoint once Ready) and the token from
// its Secret <agent>-agent-token, read through the caller's impersonating client. So the console
// reaches a sidecar only for users who could call it with their own rights (get the Agent, get
// its token Secret); the token is used by the console and never leaves it.
#pragma once

#include <string>

#include "common/result.h"
#include "console/api/console_api.h"
#include "sidecar/exec/providers/client_pool.h"

namespace agentry::console {

struct SidecarTarget {
  sidecar::Endpoint endpoint;
  std::string token;
};

// Errors: 403 naming what the caller may not read, 404 for an unknown Agent, 503 when the Agent
// has no endpoint or token yet. `what` words the 403 ("chat with", "read the figures of").
Result<SidecarTarget> sidecar_target(ConsoleApi& api, const Identity& who, const std::string& ns,
                                     const std::string& name, const std::string& what);

}  // namespace agentry::console
