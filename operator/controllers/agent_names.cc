#include "operator/controllers/agent_names.h"

#include "common/base64.h"
#include "operator/kube/object.h"

namespace agentry::controllers {

using nlohmann::json;

std::string owned_name(const std::string& agent) {
  return agent + "-agent";
}
std::string token_secret_name(const std::string& agent) {
  return agent + "-agent-token";
}

json selector_labels(const std::string& agent) {
  return {{"agentry.dev/agent", agent}};
}
std::string selector_string(const std::string& agent) {
  return "agentry.dev/agent=" + agent;
}

std::string service_endpoint(const json& agent) {
  return "http://" + owned_name(agent["metadata"]["name"].get<std::string>()) + "." +
         agent["metadata"].value("namespace", "default") + ".svc:" + std::to_string(kSidecarPort);
}

std::string token_of_secret(const json& secret) {
  auto p = json::json_pointer("/data/token");
  if (!secret.is_object() || !secret.contains(p) || !secret.at(p).is_string()) return "";
  auto decoded = base64_decode(secret.at(p).get<std::string>());
  return decoded.ok() ? *decoded : std::string();
}

}  // namespace agentry::controllers
