#include "sidecar/process/ram_pressure.h"

#include <unistd.h>

#include <fstream>

#include "common/log.h"
#include "sidecar/sidecar_metrics.h"

namespace agentry::sidecar {
namespace {

// A cgroup file holding a number, or "max"; -1 when missing/unreadable, 0 for "max".
int64_t read_cgroup_value(const std::string& path) {
  std::ifstream in(path);
  if (!in) return -1;
  std::string v;
  in >> v;
  if (v == "max") return 0;
  try {
    return std::stoll(v);
  } catch (...) {
    return -1;
  }
}

}  // namespace

int64_t process_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

RamPressureMonitor::RamPressureMonitor(MemoryPressureConfig cfg) : cfg_(std::move(cfg)) {}

RamPressureMonitor::~RamPressureMonitor() {
  stop();
}

void RamPressureMonitor::add_cleanup_hook(std::string name, std::function<void(double)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  hooks_.emplace_back(std::move(name), std::move(hook));
}

RamPressureMonitor::Sample RamPressureMonitor::sample() const {
  Sample s;
  int64_t current = read_cgroup_value(cfg_.cgroup_dir + "/memory.current");
  if (current > 0) {
    s.used = current;
    s.source = "cgroup";
    int64_t max = read_cgroup_value(cfg_.cgroup_dir + "/memory.max");
    s.limit = max > 0 ? max : cfg_.limit_bytes;
  } else {
    s.used = process_rss_bytes();
    s.source = "rss";
    s.limit = cfg_.limit_bytes;
  }
  return s;
}

bool RamPressureMonitor::check() {
  Sample s = sample();
  metrics().memory_usage_bytes->Set(static_cast<double>(s.used));
  if (s.limit <= 0 || s.fraction() < cfg_.threshold) return false;
  std::vector<std::pair<std::string, std::function<void(double)>>> hooks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (cleanups_ > 0 && now - last_cleanup_ < std::chrono::seconds(cfg_.cooldown_seconds))
      return false;
    last_cleanup_ = now;
    ++cleanups_;
    hooks = hooks_;
  }
  log::warn("memory pressure: running cleanup hooks", {{"used_bytes", s.used},
                                                       {"limit_bytes", s.limit},
                                                       {"fraction", s.fraction()},
                                                       {"threshold", cfg_.threshold},
                                                       {"source", s.source},
                                                       {"hooks", hooks.size()}});
  for (auto& [name, hook] : hooks) {
    try {
      hook(s.fraction());
    } catch (const std::exception& e) {
      log::error("cleanup hook failed", {{"hook", name}, {"error", e.what()}});
    }
  }
  metrics().memory_cleanups->Increment();
  return true;
}

uint64_t RamPressureMonitor::cleanups() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cleanups_;
}

void RamPressureMonitor::start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      try {
        check();  // the thread's last line of defence: a failed check waits for the next one
      } catch (const std::exception& e) {
        log::error("memory pressure check threw", {{"error", e.what()}});
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(cfg_.interval_seconds), [&] { return stop_; });
    }
  });
}

void RamPressureMonitor::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace agentry::sidecar
