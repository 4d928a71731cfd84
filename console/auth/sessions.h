// Console sessions: the access tokens POST /auth/login hands out, each bound to an Identity until
// it expires or is revoked (logout). A token is 256 random bits (base64url, prefix "acs_"); the
// table keys sessions by the token's SHA-256, so the tokens themselves are never stored.
//
// Sessions live in this process: a restart or another replica does not know them, and their
// users log in again (the chart runs one console replica; docs/console.md). At most max_sessions
// are kept; beyond that the one closest to expiry goes first.
//
// Thread-safe (mu_).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "console/auth/identity.h"

namespace agentry::console {

class SessionStore {
 public:
  using Clock = std::chrono::system_clock;
  struct Options {
    std::chrono::seconds ttl{std::chrono::hours(8)};
    size_t max_sessions = 10000;
    std::function<Clock::time_point()> now = [] { return Clock::now(); };  // tests move time
  };
  struct Issued {
    std::string token;
    Clock::time_point expires_at;
  };

  explicit SessionStore(Options opts);

  // A new session for who; kInternal only if the OS's random generator fails.
  Result<Issued> create(Identity who);
  // The session's identity while it is live; nullopt for an unknown, expired or revoked token.
  std::optional<Identity> find(const std::string& token);
  // Ends the session; false if it was not live.
  bool revoke(const std::string& token);
  size_t size() const;

 private:
  void drop_expired_locked(Clock::time_point now);

  Options opts_;
  struct Session {
    Identity who;
    Clock::time_point expires_at;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Session> by_hash_;         // guarded by mu_
  std::multimap<Clock::time_point, std::string> by_expiry_;  // guarded by mu_
};

}  // namespace agentry::console
