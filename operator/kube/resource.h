// Which REST path serves a kind: a static table of the kinds Agentry uses (no code generation, no
// discovery round trip); Client::discover() resolves others from the API server.
#pragma once

#include <string>
#include <string_view>

namespace agentry::kube {

struct Resource {
  std::string group;    // "" for the core group
  std::string version;  // "v1", "v1alpha1"
  std::string kind;     // "ConfigMap"
  std::string plural;   // "configmaps"
  bool namespaced = true;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // /api/v1/namespaces/NS/configmaps/NAME/SUB; ns is ignored for cluster-scoped kinds and an
  // empty ns lists across all namespaces.
  std::string path(std::string_view ns = {}, std::string_view name = {},
                   std::string_view subresource = {}) const;
  bool operator==(const Resource& o) const {
    return group == o.group && version == o.version && plural == o.plural;
  }
};

namespace resources {
extern const Resource kNamespaces;
extern const Resource kConfigMaps;
extern const Resource kSecrets;
extern const Resource kServices;
extern const Resource kPods;
extern const Resource kServiceAccounts;
extern const Resource kEvents;  // core/v1
extern const Resource kDeployments;
extern const Resource kHorizontalPodAutoscalers;
extern const Resource kPodDisruptionBudgets;
extern const Resource kNetworkPolicies;
extern const Resource kLeases;
extern const Resource kEventsV1;  // events.k8s.io/v1
extern const Resource kAgents;
extern const Resource kWorkflows;
extern const Resource kAgentPolicies;
extern const Resource kToolServers;
// KEDA's (keda.sh): an Agent that scales on executions gets one instead of an HPA.
extern const Resource kScaledObjects;
extern const Resource kCustomResourceDefinitions;
}  // namespace resources

// The table entry for apiVersion + kind, or nullptr.
const Resource* find_resource(std::string_view api_version, std::string_view kind);

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view s);

// The resource a REST path names, for metrics: "deployments", "agents/status", "leases"
// (/api/v1/namespaces/NS/PLURAL[/NAME[/SUB]], /apis/GROUP/VERSION/..., cluster-scoped alike);
// "" for anything else (discovery, /version). The query is ignored.
std::string resource_of_path(std::string_view path);

}  // namespace agentry::kube
