#include "console/auth/authenticator.h"

#include "common/log.h"
#include "console/app/console_metrics.h"
#include "console/auth/accounts.h"
#include "console/auth/passwords.h"
#include "operator/controllers/agent_render.h"
#include "operator/kube/errors.h"

namespace agentry::console {
namespace {

constexpr const char* kWrongLogin = "wrong user name or password";
constexpr size_t kMaxReviews = 4096;

std::string make_decoy() {
  auto h = hash_password("agentry-console: the decoy of unknown accounts");
  return h.ok() ? *h : std::string();
}

}  // namespace

Authenticator::Authenticator(std::shared_ptr<kube::Client> client, AuthenticatorOptions opts)
    : client_(std::move(client)),
      opts_(std::move(opts)),
      sessions_(opts_.sessions),
      limiter_(opts_.limiter),
      decoy_hash_(make_decoy()) {}

Result<Session> Authenticator::login(const std::string& client_addr, const std::string& username,
                                     const std::string& password, int* retry_after_seconds) {
  auto& logins = console_metrics().logins;
  if (int wait = limiter_.try_acquire(client_addr, username); wait > 0) {
    logins.Add({{"result", "limited"}}).Increment();
    if (retry_after_seconds) *retry_after_seconds = wait;
    return Status(Code::kResourceExhausted,
                  "too many login attempts; try again in " + std::to_string(wait) + " s", 429);
  }
  auto secret =
      client_->get(kube::resources::kSecrets, opts_.accounts_namespace, opts_.accounts_secret);
  ParsedAccounts parsed;
  if (secret.ok()) {
    parsed = parse_accounts(*secret);
    for (const auto& e : parsed.errors)
      log::warn("console account refused",
                {{"secret", opts_.accounts_namespace + "/" + opts_.accounts_secret}, {"error", e}});
  } else if (!kube::is_not_found(secret.status())) {
    log::error("console accounts unreadable", {{"error", secret.status().to_string()}});
    logins.Add({{"result", "unavailable"}}).Increment();
    return unavailable("the console cannot read its accounts right now");
  }
  auto it = parsed.accounts.find(username);
  const bool known = it != parsed.accounts.end();
  const bool match = password_matches(password, known ? it->second.password_hash : decoy_hash_);
  if (!known || !match) {
    log::info("console login refused", {{"client", client_addr}});
    logins.Add({{"result", "refused"}}).Increment();
    return Status(Code::kUnauthenticated, kWrongLogin, 401);
  }
  limiter_.refund(client_addr, username);  // only wrong guesses use the budget up
  auto issued = sessions_.create(it->second.identity);
  if (!issued.ok()) return issued.status();
  log::info("console login", {{"account", username}, {"client", client_addr}});
  logins.Add({{"result", "ok"}}).Increment();
  console_metrics().sessions.Set(static_cast<double>(sessions_.size()));
  return Session{issued->token, issued->expires_at, it->second.identity};
}

bool Authenticator::logout(const std::string& token) {
  const bool was = sessions_.revoke(token);
  console_metrics().sessions.Set(static_cast<double>(sessions_.size()));
  return was;
}

Result<Identity> Authenticator::authenticate(const std::string& token) {
  if (token.empty()) return Status(Code::kUnauthenticated, "not logged in", 401);
  if (auto who = sessions_.find(token)) return *who;
  if (token.rfind("acs_", 0) == 0 || !opts_.accept_kubernetes_tokens)
    return Status(Code::kUnauthenticated, "not logged in (the session ended)", 401);
  return review_token(token);
}

Result<Identity> Authenticator::review_token(const std::string& token) {
  const std::string key = controllers::sha256_hex(token);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(reviews_mu_);
    auto it = reviews_.find(key);
    if (it != reviews_.end() && it->second.until > now) return it->second.who;
  }
  kube::Client::Request req;
  req.method = "POST";
  req.path = "/apis/authentication.k8s.io/v1/tokenreviews";
  req.body = nlohmann::json{{"apiVersion", "authentication.k8s.io/v1"},
                            {"kind", "TokenReview"},
                            {"spec", {{"token", token}}}}
                 .dump();
  auto r = client_->send(req);
  if (!r.ok()) {
    log::error("token review failed", {{"error", r.status().to_string()}});
    return unavailable("the console cannot check Kubernetes tokens right now");
  }
  const auto status = r->value("status", nlohmann::json::object());
  if (!status.value("authenticated", false))
    return Status(Code::kUnauthenticated, "not logged in", 401);
  const auto user = status.value("user", nlohmann::json::object());
  Identity who;
  who.user = user.value("username", "");
  if (user.contains("groups") && user["groups"].is_array()) {
    for (const auto& g : user["groups"])
      if (g.is_string()) who.groups.push_back(g.get<std::string>());
  }
  if (who.user.empty()) return Status(Code::kUnauthenticated, "not logged in", 401);
  std::lock_guard<std::mutex> lock(reviews_mu_);
  if (reviews_.size() >= kMaxReviews) {
    for (auto it = reviews_.begin(); it != reviews_.end();)
      it = it->second.until <= now ? reviews_.erase(it) : std::next(it);
    if (reviews_.size() >= kMaxReviews) reviews_.clear();
  }
  reviews_[key] = Reviewed{who, now + opts_.token_review_ttl};
  return who;
}

}  // namespace agentry::console
