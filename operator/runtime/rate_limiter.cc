#include "operator/runtime/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace agentry::runtime {

Duration ItemExponentialRateLimiter::when(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = failures_[key]++;
  // base * 2^n, computed in double so a long failure history cannot overflow.
  double d = static_cast<double>(base_.count()) * std::pow(2.0, std::min(n, 62));
  if (d > static_cast<double>(max_.count())) return max_;
  return Duration(static_cast<int64_t>(d));
}

void ItemExponentialRateLimiter::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int ItemExponentialRateLimiter::num_requeues(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

Duration MaxOfRateLimiter::when(const std::string& key) {
  Duration d{0};
  for (auto& l : limiters_) d = std::max(d, l->when(key));
  return d;
}

void MaxOfRateLimiter::forget(const std::string& key) {
  for (auto& l : limiters_) l->forget(key);
}

int MaxOfRateLimiter::num_requeues(const std::string& key) {
  int n = 0;
  for (auto& l : limiters_) n = std::max(n, l->num_requeues(key));
  return n;
}

std::unique_ptr<RateLimiter> default_controller_rate_limiter() {
  std::vector<std::unique_ptr<RateLimiter>> v;
  v.push_back(std::make_unique<ItemExponentialRateLimiter>(std::chrono::milliseconds(5),
                                                           std::chrono::seconds(1000)));
  v.push_back(std::make_unique<BucketRateLimiter>(10, 100));
  return std::make_unique<MaxOfRateLimiter>(std::move(v));
}

}  // namespace agentry::runtime
