#include "console/access/kube_access.h"

#include "common/log.h"

namespace agentry::console {

KubeAccess::KubeAccess(std::shared_ptr<kube::Client> sa_client, KubeAccessOptions opts)
    : sa_(std::move(sa_client)), opts_(opts) {}

Result<std::shared_ptr<kube::Client>> KubeAccess::client_for(const Identity& who) {
  const std::string key = who.key();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = clients_.find(key); it != clients_.end()) {
      lru_.splice(lru_.end(), lru_, it->second);
      return it->second->second;
    }
  }
  kube::Config cfg = sa_->config();
  cfg.impersonate_user = who.user;
  cfg.impersonate_groups = who.groups;
  cfg.user_agent = "agentry-console";
  // Not the operator's client-side limit (50/s for the whole process): that would make one busy
  // user (or a load test sharing an account) wait on a bucket while the API server idles. The API
  // server's own priority and fairness (per user, since every request carries one) is the limit.
  cfg.qps = 1000;
  cfg.burst = 2000;
  // Enough idle connections for a user's parallel requests not to pay a TLS handshake each.
  cfg.max_idle_connections = 16;
  auto c = kube::Client::create(cfg);
  if (!c.ok()) return c.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = clients_.find(key); it != clients_.end()) return it->second->second;
  lru_.emplace_back(key, *c);
  clients_[key] = std::prev(lru_.end());
  while (lru_.size() > opts_.max_clients) {
    clients_.erase(lru_.front().first);
    lru_.pop_front();
  }
  return *c;
}

Result<bool> KubeAccess::allowed(const Identity& who, const std::string& verb,
                                 const kube::Resource& r, const std::string& ns) {
  const std::string key = who.key() + '\0' + verb + '\0' + r.group + '\0' + r.plural + '\0' + ns;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = reviews_.find(key);
    if (it != reviews_.end() && it->second.until > now) return it->second.allowed;
  }
  nlohmann::json attrs = {{"verb", verb}, {"group", r.group}, {"resource", r.plural}};
  if (!ns.empty() && r.namespaced) attrs["namespace"] = ns;
  nlohmann::json spec = {{"user", who.user}, {"resourceAttributes", attrs}};
  if (!who.groups.empty()) spec["groups"] = who.groups;
  kube::Client::Request req;
  req.method = "POST";
  req.path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
  req.body = nlohmann::json{
      {"apiVersion", "authorization.k8s.io/v1"},
      {"kind", "SubjectAccessReview"},
      {"spec",
       spec}}.dump();
  auto res = sa_->send(req);
  if (!res.ok()) {
    log::error("subject access review failed", {{"error", res.status().to_string()}});
    return unavailable("the console cannot check permissions right now");
  }
  const bool ok = res->value("status", nlohmann::json::object()).value("allowed", false);
  std::lock_guard<std::mutex> lock(mu_);
  if (reviews_.size() >= opts_.max_reviews) {
    for (auto it = reviews_.begin(); it != reviews_.end();)
      it = it->second.until <= now ? reviews_.erase(it) : std::next(it);
    if (reviews_.size() >= opts_.max_reviews) reviews_.clear();
  }
  reviews_[key] = Review{ok, now + opts_.review_ttl};
  return ok;
}

}  // namespace agentry::console
