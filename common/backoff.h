// Exponential backoff with jitter, shared by the operator (watch restarts, work-queue retries) and
// the sidecar (provider and Redis retries).
//
// next() returns the delay to wait before the next attempt: initial * factor^n, capped at max, with
// "full" jitter (uniform in [0, d]) or proportional jitter (d * (1 + U[0, jitter)) as client-go's
// wait.Backoff). reset_after: if that long passed since the previous next(), start over
// (client-go's and kube-rs's watcher reset their backoff after 2 quiet minutes).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

namespace agentry {

struct BackoffPolicy {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{30000};
  double factor = 2.0;
  double jitter = 1.0;                       // proportional jitter (ignored when full_jitter)
  bool full_jitter = false;                  // AWS "full jitter": uniform in [0, d]
  std::chrono::milliseconds reset_after{0};  // 0: never reset by itself
};

// A seed for jitter: a per-thread generator seeded once from std::random_device (constructing one
// per Backoff opened /dev/urandom on every provider call).
uint64_t jitter_seed();

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}, uint64_t seed = jitter_seed());

  std::chrono::milliseconds next();
  void reset();
  int attempts() const;

  // Pure delay for attempt n (0-based) before jitter: initial * factor^n capped at max.
  static std::chrono::milliseconds base_delay(const BackoffPolicy& p, int attempt);

 private:
  using Clock = std::chrono::steady_clock;
  BackoffPolicy policy_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
  Clock::time_point last_{};
};

}  // namespace agentry
