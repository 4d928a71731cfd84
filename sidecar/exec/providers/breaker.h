// A circuit breaker per provider endpoint: after `failures` consecutive failures it opens and calls
// fail fast for `open_for`; then one probe is let through (half-open): success closes it, failure
// opens it again. Rate limiting (429) and client errors (4xx) are not failures of the endpoint.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace agentry::sidecar {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  using Clock = std::chrono::steady_clock;

  CircuitBreaker(int failures, std::chrono::milliseconds open_for)
      : threshold_(failures), open_for_(open_for) {}

  // True if a call may go out; else *retry_in says when the circuit may let a probe through.
  bool allow(std::chrono::milliseconds* retry_in = nullptr);
  void on_success();
  void on_failure();
  State state() const;
  static const char* state_name(State s);
  int consecutive_failures() const;

 private:
  State state_locked(Clock::time_point now) const;

  const int threshold_;
  const std::chrono::milliseconds open_for_;
  mutable std::mutex mu_;
  int failures_ = 0;
  bool open_ = false;
  bool probing_ = false;
  Clock::time_point opened_at_{};
};

}  // namespace agentry::sidecar
