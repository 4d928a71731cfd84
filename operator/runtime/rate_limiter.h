// Work-queue rate limiters (client-go's workqueue.RateLimiter): how long a key waits before it is
// retried. The controller default is the max of a per-item exponential backoff (5 ms doubling to
// 1000 s) and an overall token bucket (10 qps, burst 100), as controller-runtime's.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "operator/kube/token_bucket.h"

namespace agentry::runtime {

using Duration = std::chrono::nanoseconds;

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // The delay before key's next retry (counts a failure).
  virtual Duration when(const std::string& key) = 0;
  // Clears key's failure history.
  virtual void forget(const std::string& key) = 0;
  virtual int num_requeues(const std::string& key) = 0;
};

class ItemExponentialRateLimiter : public RateLimiter {
 public:
  ItemExponentialRateLimiter(Duration base, Duration max) : base_(base), max_(max) {}
  Duration when(const std::string& key) override;
  void forget(const std::string& key) override;
  int num_requeues(const std::string& key) override;

 private:
  Duration base_, max_;
  std::mutex mu_;
  std::unordered_map<std::string, int> failures_;
};

class BucketRateLimiter : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst) : bucket_(qps, burst) {}
  Duration when(const std::string&) override { return bucket_.reserve(); }
  void forget(const std::string&) override {}
  int num_requeues(const std::string&) override { return 0; }

 private:
  kube::TokenBucket bucket_;
};

class MaxOfRateLimiter : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters)
      : limiters_(std::move(limiters)) {}
  Duration when(const std::string& key) override;
  void forget(const std::string& key) override;
  int num_requeues(const std::string& key) override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

std::unique_ptr<RateLimiter> default_controller_rate_limiter();

}  // namespace agentry::runtime
