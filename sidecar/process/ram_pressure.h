// Memory-pressure watch for the process's own RAM (config `memoryPressure`; agent memory is
// sidecar/memory/, a different thing): reads cgroup v2 memory.current / memory.max (falling back to
// the process RSS and memoryPressure.limitBytes), publishes memory_usage_bytes, and above the
// policy threshold (0.80 production, 0.90 development) runs the registered cleanup hooks (caches
// shrink, finished executions are trimmed), at most once per cooldown, counting
// memory_cleanups_total.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sidecar/config.h"

namespace agentry::sidecar {

class RamPressureMonitor {
 public:
  explicit RamPressureMonitor(MemoryPressureConfig cfg);
  ~RamPressureMonitor();

  // A hook frees what it can; it gets the usage fraction that triggered it.
  void add_cleanup_hook(std::string name, std::function<void(double usage)> hook);

  struct Sample {
    int64_t used = 0;
    int64_t limit = 0;  // 0: unknown (no cgroup limit and no configured limit)
    double fraction() const { return limit > 0 ? static_cast<double>(used) / limit : 0.0; }
    std::string source;  // "cgroup" or "rss"
  };
  Sample sample() const;
  // Samples once and runs the hooks if over the threshold (and out of cooldown). True if it did.
  bool check();
  uint64_t cleanups() const;

  void start();  // a thread that calls check() every intervalSeconds
  void stop();

 private:
  MemoryPressureConfig cfg_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::function<void(double)>>> hooks_;
  std::chrono::steady_clock::time_point last_cleanup_{};
  uint64_t cleanups_ = 0;
  std::thread thread_;
  std::condition_variable cv_;
  bool stop_ = false;
};

// The resident set size of this process in bytes (from /proc/self/statm).
int64_t process_rss_bytes();

}  // namespace agentry::sidecar
