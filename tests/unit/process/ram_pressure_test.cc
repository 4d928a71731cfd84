// Memory pressure against a fake cgroup v2 directory (memory.current / memory.max files).
#include "sidecar/process/ram_pressure.h"

#include <gtest/gtest.h>

#include "common/metrics.h"
#include "tests/support/tempdir.h"

namespace agentry::sidecar {
namespace {

using testing::TempDir;
using testing::write_file;

MemoryPressureConfig cfg_for(const TempDir& dir, double threshold, int cooldown = 30) {
  MemoryPressureConfig c;
  c.cgroup_dir = dir.path();
  c.threshold = threshold;
  c.cooldown_seconds = cooldown;
  return c;
}

TEST(SidecarMemoryPressure, AboveThresholdRunsEveryHookAndCounts) {
  TempDir dir;
  write_file(dir.file("memory.current"), "850\n");
  write_file(dir.file("memory.max"), "1000\n");
  RamPressureMonitor m(cfg_for(dir, 0.80));
  int a = 0, b = 0;
  double seen = 0;
  m.add_cleanup_hook("a", [&](double f) {
    ++a;
    seen = f;
  });
  m.add_cleanup_hook("b", [&](double) { ++b; });
  auto s = m.sample();
  EXPECT_EQ(s.source, "cgroup");
  EXPECT_EQ(s.used, 850);
  EXPECT_EQ(s.limit, 1000);
  EXPECT_TRUE(m.check());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_DOUBLE_EQ(seen, 0.85);
  EXPECT_EQ(m.cleanups(), 1u);
  // Within the cooldown it does not run again.
  EXPECT_FALSE(m.check());
  EXPECT_EQ(a, 1);
  auto text = metrics::serialize(*metrics::registry());
  EXPECT_NE(text.find("memory_cleanups_total"), std::string::npos);
  EXPECT_NE(text.find("memory_usage_bytes 850"), std::string::npos) << text;
}

TEST(SidecarMemoryPressure, BelowThresholdDoesNothing) {
  TempDir dir;
  write_file(dir.file("memory.current"), "850\n");
  write_file(dir.file("memory.max"), "1000\n");
  RamPressureMonitor m(cfg_for(dir, 0.90));  // the development profile
  int ran = 0;
  m.add_cleanup_hook("a", [&](double) { ++ran; });
  EXPECT_FALSE(m.check());
  EXPECT_EQ(ran, 0);
  write_file(dir.file("memory.current"), "950\n");
  EXPECT_TRUE(m.check());
  EXPECT_EQ(ran, 1);
}

TEST(SidecarMemoryPressure, NoCgroupLimitUsesTheConfiguredLimit) {
  TempDir dir;
  write_file(dir.file("memory.current"), "700\n");
  write_file(dir.file("memory.max"), "max\n");
  auto c = cfg_for(dir, 0.80, 0);
  RamPressureMonitor none(c);
  EXPECT_EQ(none.sample().limit, 0);
  EXPECT_FALSE(none.check());  // no limit known: no pressure
  c.limit_bytes = 800;
  RamPressureMonitor m(c);
  int ran = 0;
  m.add_cleanup_hook("a", [&](double) { ++ran; });
  EXPECT_TRUE(m.check());
  EXPECT_EQ(ran, 1);
}

TEST(SidecarMemoryPressure, WithoutCgroupFallsBackToRss) {
  TempDir dir;  // empty: no cgroup files
  auto c = cfg_for(dir, 0.5, 0);
  c.limit_bytes = 1;  // any real RSS is above this
  RamPressureMonitor m(c);
  auto s = m.sample();
  EXPECT_EQ(s.source, "rss");
  EXPECT_GT(s.used, 0);
  int ran = 0;
  m.add_cleanup_hook("a", [&](double) { ++ran; });
  EXPECT_TRUE(m.check());
  EXPECT_EQ(ran, 1);
}

TEST(SidecarMemoryPressure, AFailingHookDoesNotStopTheOthers) {
  TempDir dir;
  write_file(dir.file("memory.current"), "99\n");
  write_file(dir.file("memory.max"), "100\n");
  RamPressureMonitor m(cfg_for(dir, 0.8));
  int ran = 0;
  m.add_cleanup_hook("throws", [](double) { throw std::runtime_error("boom"); });
  m.add_cleanup_hook("after", [&](double) { ++ran; });
  EXPECT_TRUE(m.check());
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace agentry::sidecar
