// Polling for a condition in tests that watch real processes (a control plane, a sidecar).
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace agentry::testing {

// Calls pred every 20 ms until it returns true or `timeout` passes; one last call at the deadline.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace agentry::testing
