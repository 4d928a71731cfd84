#include "console/auth/login_limiter.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

namespace agentry::console {

LoginLimiter::LoginLimiter(Options opts) : opts_(std::move(opts)) {}

double LoginLimiter::level(const Bucket& b, const Limit& l, Clock::time_point now) {
  const double gained =
      std::chrono::duration<double>(now - b.at) / std::chrono::duration<double>(l.refill);
  return std::min(l.burst, b.tokens + std::max(0.0, gained));
}

void LoginLimiter::prune(Table& t, const Limit& l, Clock::time_point now, size_t max_keys) {
  if (t.size() < max_keys) return;
  for (auto it = t.begin(); it != t.end();) {
    it = level(it->second, l, now) >= l.burst ? t.erase(it) : std::next(it);
  }
  if (t.size() < max_keys) return;
  std::vector<std::pair<Clock::time_point, std::string>> by_age;
  for (const auto& [k, b] : t) by_age.emplace_back(b.at, k);
  std::sort(by_age.begin(), by_age.end());
  for (size_t i = 0; i < by_age.size() / 2; ++i) t.erase(by_age[i].second);
}

int LoginLimiter::try_acquire(const std::string& client, const std::string& account) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = opts_.now();
  prune(clients_, opts_.per_client, now, opts_.max_keys);
  prune(accounts_, opts_.per_account, now, opts_.max_keys);
  auto bucket = [&](Table& t, const std::string& k, const Limit& l) -> Bucket& {
    auto it = t.find(k);
    if (it == t.end()) it = t.emplace(k, Bucket{l.burst, now}).first;
    it->second.tokens = level(it->second, l, now);
    it->second.at = now;
    return it->second;
  };
  Bucket& c = bucket(clients_, client, opts_.per_client);
  Bucket& a = bucket(accounts_, account, opts_.per_account);
  if (c.tokens >= 1 && a.tokens >= 1) {
    c.tokens -= 1;
    a.tokens -= 1;
    return 0;
  }
  auto wait = [](const Bucket& b, const Limit& l) {
    return b.tokens >= 1 ? 0.0 : (1 - b.tokens) * std::chrono::duration<double>(l.refill).count();
  };
  return std::max(
      1,
      static_cast<int>(std::ceil(std::max(wait(c, opts_.per_client), wait(a, opts_.per_account)))));
}

void LoginLimiter::refund(const std::string& client, const std::string& account) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto [t, k, l] : {std::tuple{&clients_, &client, &opts_.per_client},
                         std::tuple{&accounts_, &account, &opts_.per_account}}) {
    auto it = t->find(*k);
    if (it != t->end()) it->second.tokens = std::min(l->burst, it->second.tokens + 1);
  }
}

}  // namespace agentry::console
