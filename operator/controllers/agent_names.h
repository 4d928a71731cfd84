// The names, labels and address of what an Agent owns, and its API token as its Secret holds it:
// what the Agent controller renders and the other controllers (workflow, memory status) find.
// Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace agentry::controllers {

inline constexpr int kSidecarPort = 8080;
inline constexpr const char* kFieldManager = "agentry-operator";

std::string owned_name(const std::string& agent);           // "<agent>-agent"
std::string token_secret_name(const std::string& agent);    // "<agent>-agent-token"
std::string service_endpoint(const nlohmann::json& agent);  // http://<svc>.<ns>.svc:8080
nlohmann::json selector_labels(const std::string& agent);
std::string selector_string(const std::string& agent);  // "agentry.dev/agent=<name>"

// The token in a token Secret's data.token, decoded; "" when it has none or it is not base64.
std::string token_of_secret(const nlohmann::json& secret);

}  // namespace agentry::controllers
