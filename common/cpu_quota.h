// How many cores this process may use: the CPUs it can run on, capped by its cgroup's CPU quota
// (a pod's CPU limit). std::thread::hardware_concurrency() counts the node's CPUs: a 1-CPU pod on
// a 32-CPU node would run 32 CPU-bound passes at once and be throttled by the quota.
//
//   const int cores = usable_cores();   // >= 1
//
// cgroup v2: /sys/fs/cgroup/cpu.max ("max 100000" or "<quota> <period>"); v1:
// /sys/fs/cgroup/cpu/cpu.cfs_quota_us and cpu.cfs_period_us (-1: none). A quota is rounded up to
// whole cores (1.5 CPUs: 2).
#pragma once

#include <string>

namespace agentry {

// The cores a quota allows, from cgroup v2's cpu.max text; 0 when it sets none or is unreadable.
int cores_from_cpu_max(const std::string& cpu_max);
// The same from cgroup v1's two files' texts.
int cores_from_cfs(const std::string& quota_us, const std::string& period_us);
// min(the CPUs, the quota's cores), at least 1.
int usable_cores();

}  // namespace agentry
