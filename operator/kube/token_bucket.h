// A token bucket (golang.org/x/time/rate semantics): `burst` tokens, refilled at `qps` per second.
// reserve() always succeeds and returns how long the caller must wait for its token, so a caller
// can either sleep (the REST client) or schedule (the work queue's overall limiter).
#pragma once

#include <chrono>
#include <mutex>

namespace agentry::kube {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  // qps <= 0: unlimited.
  TokenBucket(double qps, int burst);

  std::chrono::nanoseconds reserve();
  // reserve() and sleep for the returned delay.
  void wait();
  // Takes a token only if one is available now.
  bool try_take();
  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  std::mutex mu_;
  double qps_;
  int burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace agentry::kube
