// Cancellation shared by an execution and everything it calls: DELETE, the execution timeout and
// SIGTERM all cancel through it. Blocking calls register an abort action (e.g. closing the provider
// socket) so a hung provider does not keep an execution alive; sleeps wait on it instead of
// sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

namespace agentry::sidecar {

class CancelToken {
 public:
  // First reason wins ("cancelled", "timeout", "shutdown"). Runs the registered abort action.
  void cancel(const std::string& reason) {
    std::function<void()> abort;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      reason_ = reason;
      abort = abort_;
    }
    cv_.notify_all();
    if (abort) abort();
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }
  std::string reason() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reason_;
  }
  // Sleeps up to d; false if cancelled meanwhile.
  bool sleep_for(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return cancelled_; });
  }
  // Sets the action cancel() runs while a blocking call is in progress; false if already cancelled.
  bool set_abort(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return false;
    abort_ = std::move(fn);
    return true;
  }
  void clear_abort() {
    std::lock_guard<std::mutex> lock(mu_);
    abort_ = nullptr;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::string reason_;
  std::function<void()> abort_;
};

}  // namespace agentry::sidecar
