#include "operator/kube/resource.h"

#include <vector>

#include <array>
#include <cctype>

namespace agentry::kube {

namespace resources {
const Resource kNamespaces{"", "v1", "Namespace", "namespaces", false};
const Resource kConfigMaps{"", "v1", "ConfigMap", "configmaps", true};
const Resource kSecrets{"", "v1", "Secret", "secrets", true};
const Resource kServices{"", "v1", "Service", "services", true};
const Resource kPods{"", "v1", "Pod", "pods", true};
const Resource kServiceAccounts{"", "v1", "ServiceAccount", "serviceaccounts", true};
const Resource kEvents{"", "v1", "Event", "events", true};
const Resource kDeployments{"apps", "v1", "Deployment", "deployments", true};
const Resource kHorizontalPodAutoscalers{"autoscaling", "v2", "HorizontalPodAutoscaler",
                                         "horizontalpodautoscalers", true};
const Resource kPodDisruptionBudgets{"policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets",
                                     true};
const Resource kNetworkPolicies{"networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies",
                                true};
const Resource kLeases{"coordination.k8s.io", "v1", "Lease", "leases", true};
const Resource kEventsV1{"events.k8s.io", "v1", "Event", "events", true};
const Resource kAgents{"agentry.dev", "v1alpha1", "Agent", "agents", true};
const Resource kWorkflows{"agentry.dev", "v1alpha1", "Workflow", "workflows", true};
const Resource kAgentPolicies{"agentry.dev", "v1alpha1", "AgentPolicy", "agentpolicies", false};
const Resource kToolServers{"agentry.dev", "v1alpha1", "ToolServer", "toolservers", true};
const Resource kScaledObjects{"keda.sh", "v1alpha1", "ScaledObject", "scaledobjects", true};
const Resource kCustomResourceDefinitions{"apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                                          "customresourcedefinitions", false};
}  // namespace resources

std::string Resource::path(std::string_view ns, std::string_view name,
                           std::string_view subresource) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    p += "/namespaces/";
    p += ns;
  }
  p += "/";
  p += plural;
  if (!name.empty()) {
    p += "/";
    p += name;
    if (!subresource.empty()) {
      p += "/";
      p += subresource;
    }
  }
  return p;
}

const Resource* find_resource(std::string_view api_version, std::string_view kind) {
  using namespace resources;
  static const std::array<const Resource*, 19> table = {&kNamespaces,
                                                        &kConfigMaps,
                                                        &kSecrets,
                                                        &kServices,
                                                        &kPods,
                                                        &kServiceAccounts,
                                                        &kEvents,
                                                        &kDeployments,
                                                        &kHorizontalPodAutoscalers,
                                                        &kPodDisruptionBudgets,
                                                        &kNetworkPolicies,
                                                        &kLeases,
                                                        &kEventsV1,
                                                        &kAgents,
                                                        &kWorkflows,
                                                        &kAgentPolicies,
                                                        &kToolServers,
                                                        &kScaledObjects,
                                                        &kCustomResourceDefinitions};
  for (const Resource* r : table) {
    if (r->kind == kind && r->api_version() == api_version) return r;
  }
  return nullptr;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string resource_of_path(std::string_view path) {
  path = path.substr(0, path.find('?'));
  std::vector<std::string_view> parts;
  for (size_t start = 0; start < path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  // Skip the prefix: api/VERSION or apis/GROUP/VERSION, then namespaces/NS when it is followed by
  // a kind (a path that ends at namespaces/NS is the Namespace itself).
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    i = 3;
  } else {
    return "";
  }
  if (parts.size() >= i + 3 && parts[i] == "namespaces") i += 2;
  if (i >= parts.size()) return "";
  std::string out(parts[i]);
  if (parts.size() >= i + 3) out += "/" + std::string(parts[i + 2]);
  return out;
}

}  // namespace agentry::kube
