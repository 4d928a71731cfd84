// The console's view of the cluster: informers on Agents, Workflows and AgentPolicies (every
// namespace; what a user may see of them is filtered per request, access/kube_access.h), on the
// template ConfigMaps of the console's own namespace, and the change feed they publish to.
//
// Lifecycle: construct, start() (informers begin listing), synced() once every informer has
// listed, stop() (joins the informers; the feed wakes its waiters). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "console/agents/templates.h"
#include "console/app/change_feed.h"
#include "operator/kube/client.h"
#include "operator/runtime/informer.h"

namespace agentry::console {

inline constexpr const char* kTemplateLabel = "agentry.dev/agent-template";

class Catalog {
 public:
  Catalog(std::shared_ptr<kube::Client> sa_client, std::string console_namespace);
  ~Catalog();

  void start();
  void stop();
  bool synced() const;

  runtime::Store& agents() { return agents_->store(); }
  runtime::Store& workflows() { return workflows_->store(); }
  runtime::Store& policies() { return policies_->store(); }
  ChangeFeed& feed() { return feed_; }

  // The list rows (api/views.h) of a kind ("agent", "workflow", "policy"), made once per change by
  // the informer handlers, so a list reads prepared rows instead of unpacking every object. A
  // row is never changed once made (a change replaces it).
  using Row = std::shared_ptr<const nlohmann::json>;
  // The rows in namespaces (every namespace when nullptr; cluster-scoped kinds ignore it), in id
  // order ("namespace/name", or the name).
  std::vector<Row> rows(const std::string& kind, const std::set<std::string>* namespaces) const;
  // The namespaces that hold rows of the kind now.
  std::set<std::string> namespaces(const std::string& kind) const;

  // The built-in templates, then the ConfigMap ones (replacing a built-in of the same name),
  // sorted by name. errors: one line per ConfigMap that is not a template (naming it).
  std::vector<AgentTemplate> templates(std::vector<std::string>* errors = nullptr) const;

 private:
  void publish(const char* kind, const char* type, const runtime::ObjectPtr& obj);

  const std::vector<AgentTemplate> builtins_;
  ChangeFeed feed_;
  struct Rows {
    std::map<std::string, Row> by_id;             // "ns/name" or "name"
    std::map<std::string, size_t> per_namespace;  // how many rows each namespace holds
  };
  mutable std::shared_mutex rows_mu_;
  std::map<std::string, Rows> rows_;  // guarded by rows_mu_; by kind
  std::shared_ptr<runtime::Informer> agents_, workflows_, policies_, templates_;
};

}  // namespace agentry::console
