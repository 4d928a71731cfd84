#include "console/api/sidecar_target.h"

#include "operator/controllers/agent_names.h"
#include "operator/controllers/workflow_controller.h"
#include "operator/kube/object.h"

namespace agentry::console {

Result<SidecarTarget> sidecar_target(ConsoleApi& api, const Identity& who, const std::string& ns,
                                     const std::string& name, const std::string& what) {
  namespace res = kube::resources;
  const std::string id = "Agent " + ns + "/" + name;
  auto may = api.access.allowed(who, "get", res::kAgents, ns);
  if (!may.ok()) return may.status();
  if (!*may)
    return Status(Code::kPermissionDenied, "you may not get agents in namespace " + ns, 403);
  auto agent = api.catalog.agents().get(ns + "/" + name);
  if (!agent) return Status(Code::kNotFound, id + " not found", 404);
  std::string endpoint =
      kube::string_at(kube::annotations(*agent), controllers::kEndpointOverrideAnnotation);
  if (endpoint.empty()) {
    if (agent->value("/status/phase"_json_pointer, std::string()) != "Ready")
      return Status(Code::kUnavailable, id + " is not Ready yet", 503);
    endpoint = agent->value("/status/endpoint"_json_pointer, std::string());
  }
  auto ep = sidecar::parse_endpoint(endpoint);
  if (!ep.ok()) return Status(Code::kUnavailable, id + " has no usable endpoint", 503);
  auto c = api.access.client_for(who);
  if (!c.ok()) return c.status();
  auto secret = (*c)->get(res::kSecrets, ns, controllers::token_secret_name(name));
  if (!secret.ok()) {
    if (secret.status().code() == Code::kPermissionDenied)
      return Status(Code::kPermissionDenied,
                    "you may not " + what + " " + id + " (reading its token Secret is not allowed)",
                    403);
    return secret.status();
  }
  std::string token = controllers::token_of_secret(*secret);
  if (token.empty()) return Status(Code::kUnavailable, id + " has no API token yet", 503);
  return SidecarTarget{*ep, std::move(token)};
}

}  // namespace agentry::console
