#include "common/backoff.h"

#include <algorithm>
#include <cmath>

#include "common/random_id.h"

namespace agentry {

uint64_t jitter_seed() {
  return random64();
}

Backoff::Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), rng_(seed) {}

std::chrono::milliseconds Backoff::base_delay(const BackoffPolicy& p, int attempt) {
  double d = static_cast<double>(p.initial.count()) * std::pow(p.factor, std::max(0, attempt));
  d = std::min(d, static_cast<double>(p.max.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(d));
}

std::chrono::milliseconds Backoff::next() {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = Clock::now();
  if (policy_.reset_after.count() > 0 && last_ != Clock::time_point{} &&
      now - last_ >= policy_.reset_after) {
    attempt_ = 0;
  }
  last_ = now;
  double base = static_cast<double>(base_delay(policy_, attempt_).count());
  if (attempt_ < 64) ++attempt_;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double d = policy_.full_jitter ? base * u(rng_) : base * (1.0 + policy_.jitter * u(rng_));
  d = std::min(d, static_cast<double>(policy_.max.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(d));
}

void Backoff::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  attempt_ = 0;
  last_ = {};
}

int Backoff::attempts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return attempt_;
}

}  // namespace agentry
