#include "sidecar/exec/providers/breaker.h"

namespace agentry::sidecar {

CircuitBreaker::State CircuitBreaker::state_locked(Clock::time_point now) const {
  if (!open_) return State::kClosed;
  if (now - opened_at_ >= open_for_) return State::kHalfOpen;
  return State::kOpen;
}

bool CircuitBreaker::allow(std::chrono::milliseconds* retry_in) {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = Clock::now();
  switch (state_locked(now)) {
    case State::kClosed:
      return true;
    case State::kHalfOpen:
      if (!probing_) {
        probing_ = true;
        return true;
      }
      if (retry_in) *retry_in = std::chrono::milliseconds(100);
      return false;
    case State::kOpen:
      if (retry_in)
        *retry_in =
            std::chrono::duration_cast<std::chrono::milliseconds>(open_for_ - (now - opened_at_));
      return false;
  }
  return false;
}

void CircuitBreaker::on_success() {
  std::lock_guard<std::mutex> lock(mu_);
  failures_ = 0;
  open_ = false;
  probing_ = false;
}

void CircuitBreaker::on_failure() {
  std::lock_guard<std::mutex> lock(mu_);
  ++failures_;
  if (probing_ || failures_ >= threshold_) {
    open_ = true;
    opened_at_ = Clock::now();
  }
  probing_ = false;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_locked(Clock::now());
}

const char* CircuitBreaker::state_name(State s) {
  switch (s) {
    case State::kClosed:
      return "closed";
    case State::kOpen:
      return "open";
    case State::kHalfOpen:
      return "half-open";
  }
  return "?";
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

}  // namespace agentry::sidecar
