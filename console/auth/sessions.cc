#include "console/auth/sessions.h"

#include <openssl/rand.h>

#include "operator/controllers/agent_render.h"

namespace agentry::console {
namespace {

std::string base64url(const unsigned char* p, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

}  // namespace

SessionStore::SessionStore(Options opts) : opts_(std::move(opts)) {}

Result<SessionStore::Issued> SessionStore::create(Identity who) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return internal_error("no random bytes for a session token");
  Issued out{"acs_" + base64url(raw, sizeof raw), opts_.now() + opts_.ttl};
  std::string h = controllers::sha256_hex(out.token);
  std::lock_guard<std::mutex> lock(mu_);
  drop_expired_locked(opts_.now());
  while (by_hash_.size() >= opts_.max_sessions && !by_expiry_.empty()) {
    by_hash_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  by_expiry_.emplace(out.expires_at, h);
  by_hash_[h] = Session{std::move(who), out.expires_at};
  return out;
}

std::optional<Identity> SessionStore::find(const std::string& token) {
  if (token.rfind("acs_", 0) != 0) return std::nullopt;
  std::string h = controllers::sha256_hex(token);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(h);
  if (it == by_hash_.end()) return std::nullopt;
  if (it->second.expires_at <= opts_.now()) return std::nullopt;
  return it->second.who;
}

bool SessionStore::revoke(const std::string& token) {
  std::string h = controllers::sha256_hex(token);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(h);
  if (it == by_hash_.end()) return false;
  const bool live = it->second.expires_at > opts_.now();
  auto [lo, hi] = by_expiry_.equal_range(it->second.expires_at);
  for (auto e = lo; e != hi; ++e) {
    if (e->second == h) {
      by_expiry_.erase(e);
      break;
    }
  }
  by_hash_.erase(it);
  return live;
}

size_t SessionStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.size();
}

void SessionStore::drop_expired_locked(Clock::time_point now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    by_hash_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

}  // namespace agentry::console
