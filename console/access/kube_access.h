// Kubernetes as the logged-in user. Every write, and every read the informer cache cannot serve,
// goes to the API server through a client that impersonates the user (Impersonate-User/-Group:
// the console's ServiceAccount may impersonate, and has almost no rights of its own); reads from
// the cache are filtered by SubjectAccessReviews, asked once per (user, verb, kind, namespace) and
// remembered for review_ttl. So a user sees and changes exactly what `kubectl` would let them.
//
//   KubeAccess access(sa_client, {});
//   auto c = access.client_for(who);                        // impersonating kube::Client
//   bool ok = *access.allowed(who, "list", kAgents, "team-a");
//
// Thread-safe (mu_). Clients are kept per identity (at most max_clients, least recently used go).
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "console/auth/identity.h"
#include "operator/kube/client.h"
#include "operator/kube/resource.h"

namespace agentry::console {

struct KubeAccessOptions {
  std::chrono::seconds review_ttl{10};
  size_t max_clients = 256;
  size_t max_reviews = 65536;
};

class KubeAccess {
 public:
  KubeAccess(std::shared_ptr<kube::Client> sa_client, KubeAccessOptions opts);

  // A client whose every request is made as who.
  Result<std::shared_ptr<kube::Client>> client_for(const Identity& who);
  // Whether who may `verb` the resource in ns ("" for every namespace / a cluster-scoped kind).
  // kUnavailable when the review could not be made (callers show nothing rather than guess).
  Result<bool> allowed(const Identity& who, const std::string& verb, const kube::Resource& r,
                       const std::string& ns);

 private:
  std::shared_ptr<kube::Client> sa_;
  KubeAccessOptions opts_;
  std::mutex mu_;
  // Least recently used first.
  std::list<std::pair<std::string, std::shared_ptr<kube::Client>>> lru_;  // guarded by mu_
  std::unordered_map<std::string, decltype(lru_)::iterator> clients_;     // guarded by mu_
  struct Review {
    bool allowed;
    std::chrono::steady_clock::time_point until;
  };
  std::unordered_map<std::string, Review> reviews_;  // guarded by mu_
};

}  // namespace agentry::console
