// The cores a cgroup CPU quota allows (a pod's CPU limit), read from cgroup v2 and v1 texts.
#include "common/cpu_quota.h"

#include <gtest/gtest.h>

#include <thread>

namespace agentry {
namespace {

TEST(CpuQuota, ReadsCgroupTextsAndRoundsUpToWholeCores) {
  EXPECT_EQ(cores_from_cpu_max("max 100000\n"), 0);
  EXPECT_EQ(cores_from_cpu_max("100000 100000\n"), 1);
  EXPECT_EQ(cores_from_cpu_max("150000 100000"), 2);  // 1.5 CPUs
  EXPECT_EQ(cores_from_cpu_max("50000 100000"), 1);   // 500m
  EXPECT_EQ(cores_from_cpu_max(""), 0);
  EXPECT_EQ(cores_from_cpu_max("garbage here"), 0);
  EXPECT_EQ(cores_from_cpu_max("-5 100000"), 0);
  EXPECT_EQ(cores_from_cfs("-1\n", "100000\n"), 0);
  EXPECT_EQ(cores_from_cfs("400000\n", "100000\n"), 4);
  EXPECT_EQ(cores_from_cfs("x", "100000"), 0);
  const int cores = usable_cores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace agentry
