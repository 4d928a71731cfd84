#include "common/cpu_quota.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "common/file_io.h"

namespace agentry {
namespace {

int ceil_div(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  return static_cast<int>((quota + period - 1) / period);
}

long long to_ll(const std::string& s, bool* ok) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  *ok = end != s.c_str();
  return v;
}

}  // namespace

int cores_from_cpu_max(const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota, period;
  if (!(in >> quota >> period) || quota == "max") return 0;
  bool a = false, b = false;
  const long long q = to_ll(quota, &a), p = to_ll(period, &b);
  return a && b ? ceil_div(q, p) : 0;
}

int cores_from_cfs(const std::string& quota_us, const std::string& period_us) {
  bool a = false, b = false;
  const long long q = to_ll(quota_us, &a), p = to_ll(period_us, &b);
  return a && b ? ceil_div(q, p) : 0;
}

int usable_cores() {
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string text, period;
  int quota = 0;
  if (read_file("/sys/fs/cgroup/cpu.max", &text))
    quota = cores_from_cpu_max(text);
  else if (read_file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", &text) &&
           read_file("/sys/fs/cgroup/cpu/cpu.cfs_period_us", &period))
    quota = cores_from_cfs(text, period);
  if (quota > 0) cores = std::min(cores, quota);
  return std::max(1, cores);
}

}  // namespace agentry
