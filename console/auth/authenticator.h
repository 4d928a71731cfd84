// Who is calling the console: logins with a console account (accounts.h, read from their Secret
// at each login, so a changed password or a removed account counts at once), the sessions they
// open (sessions.h), and Kubernetes bearer tokens, checked with a TokenReview as the console's
// ServiceAccount (answers cached for a minute, keyed by the token's SHA-256).
//
//   Authenticator auth(sa_client, {.accounts_namespace = "agentry-system"});
//   auto s = auth.login("10.0.0.7", "alice", "s3cret");   // Session with token and identity
//   auto who = auth.authenticate(s->token);                 // Identity
//
// Errors: login and authenticate answer kUnauthenticated with one message for a wrong name, a
// wrong password, an unknown or expired token ("wrong user name or password" / "not logged in"),
// kResourceExhausted (HTTP 429, retry_after_seconds) when the login limiter says wait, and
// kUnavailable when the API server cannot be asked. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "console/auth/identity.h"
#include "console/auth/login_limiter.h"
#include "console/auth/sessions.h"
#include "operator/kube/client.h"

namespace agentry::console {

struct AuthenticatorOptions {
  std::string accounts_namespace = "agentry-system";
  std::string accounts_secret = "agentry-console-accounts";
  bool accept_kubernetes_tokens = true;
  SessionStore::Options sessions{};
  LoginLimiter::Options limiter{};
  std::chrono::seconds token_review_ttl{60};
};

struct Session {
  std::string token;
  SessionStore::Clock::time_point expires_at;
  Identity identity;
};

class Authenticator {
 public:
  Authenticator(std::shared_ptr<kube::Client> client, AuthenticatorOptions opts);

  // Checks the password; a new session on success. *retry_after_seconds is set on 429.
  Result<Session> login(const std::string& client_addr, const std::string& username,
                        const std::string& password, int* retry_after_seconds);
  // The identity behind a session token or a Kubernetes bearer token.
  Result<Identity> authenticate(const std::string& bearer_token);
  // Ends a session; false if the token was not a live session.
  bool logout(const std::string& token);

 private:
  Result<Identity> review_token(const std::string& token);

  std::shared_ptr<kube::Client> client_;
  AuthenticatorOptions opts_;
  SessionStore sessions_;
  LoginLimiter limiter_;
  // Checked in place of an unknown account's hash: an unknown name costs what a wrong password
  // costs, so the time of an answer does not tell which names exist.
  const std::string decoy_hash_;
  struct Reviewed {
    Identity who;
    std::chrono::steady_clock::time_point until;
  };
  std::mutex reviews_mu_;
  std::unordered_map<std::string, Reviewed> reviews_;  // guarded by reviews_mu_
};

}  // namespace agentry::console
