#include "sidecar/exec/providers/breaker.h"

#include <gtest/gtest.h>

#include <thread>

namespace agentry::sidecar {
namespace {

using std::chrono::milliseconds;

TEST(SidecarCircuitBreaker, OpensAfterConsecutiveFailures) {
  CircuitBreaker b(3, milliseconds(10000));
  b.on_failure();
  b.on_failure();
  EXPECT_TRUE(b.allow());
  b.on_success();  // resets the streak
  b.on_failure();
  b.on_failure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  b.on_failure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  milliseconds retry_in{0};
  EXPECT_FALSE(b.allow(&retry_in));
  EXPECT_GT(retry_in.count(), 9000);
}

TEST(SidecarCircuitBreaker, HalfOpenLetsOneProbeThrough) {
  CircuitBreaker b(1, milliseconds(30));
  b.on_failure();
  EXPECT_FALSE(b.allow());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (b.state() != CircuitBreaker::State::kHalfOpen &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(5));
  ASSERT_EQ(b.state(), CircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(b.allow());   // the probe
  EXPECT_FALSE(b.allow());  // everyone else waits for it
  b.on_success();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.allow());
}

TEST(SidecarCircuitBreaker, FailedProbeReopens) {
  CircuitBreaker b(5, milliseconds(30));
  for (int i = 0; i < 5; ++i) b.on_failure();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (b.state() != CircuitBreaker::State::kHalfOpen &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(5));
  ASSERT_TRUE(b.allow());
  b.on_failure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.allow());
}

}  // namespace
}  // namespace agentry::sidecar
