#include "common/backoff.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace agentry {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, BaseDelayDoublesAndCaps) {
  BackoffPolicy p{milliseconds(800), milliseconds(30000), 2.0, 0.0};
  EXPECT_EQ(Backoff::base_delay(p, 0), milliseconds(800));
  EXPECT_EQ(Backoff::base_delay(p, 1), milliseconds(1600));
  EXPECT_EQ(Backoff::base_delay(p, 5), milliseconds(25600));
  EXPECT_EQ(Backoff::base_delay(p, 6), milliseconds(30000));
  EXPECT_EQ(Backoff::base_delay(p, 1000), milliseconds(30000));
}

TEST(Backoff, ProportionalJitterStaysWithinBounds) {
  BackoffPolicy p{milliseconds(100), milliseconds(100000), 2.0, 1.0};
  Backoff b(p, 42);
  for (int i = 0; i < 8; ++i) {
    auto base = Backoff::base_delay(p, i);
    auto d = b.next();
    EXPECT_GE(d, base) << "attempt " << i;
    EXPECT_LE(d, base * 2) << "attempt " << i;
  }
  EXPECT_EQ(b.attempts(), 8);
}

TEST(Backoff, FullJitterNeverExceedsBaseAndVaries) {
  BackoffPolicy p{milliseconds(1000), milliseconds(1000), 2.0, 0.0, true};
  Backoff b(p, 7);
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    auto d = b.next();
    EXPECT_LE(d, milliseconds(1000));
    EXPECT_GE(d, milliseconds(0));
    seen.insert(d.count());
  }
  EXPECT_GT(seen.size(), 10u) << "full jitter should spread delays";
}

TEST(Backoff, ResetStartsOver) {
  BackoffPolicy p{milliseconds(10), milliseconds(1000), 2.0, 0.0};
  Backoff b(p, 1);
  b.next();
  b.next();
  b.next();
  EXPECT_EQ(b.next(), milliseconds(80));
  b.reset();
  EXPECT_EQ(b.next(), milliseconds(10));
}

TEST(Backoff, ResetsItselfAfterQuietPeriod) {
  BackoffPolicy p{milliseconds(10), milliseconds(1000), 2.0, 0.0, false, milliseconds(50)};
  Backoff b(p, 1);
  b.next();
  EXPECT_EQ(b.next(), milliseconds(20));
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_EQ(b.next(), milliseconds(10));
}

}  // namespace
}  // namespace agentry
