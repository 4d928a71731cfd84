// The multi-layer cache against a real redis-server: two CacheService instances (two replicas)
// share it. Coherence through the invalidation channel, promotion with TTL, the pool's bounds,
// per-call timeouts, and Redis going away and coming back.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "sidecar/cache/cache_service.h"
#include "tests/integration/memory/wait.h"
#include "tests/support/redis_server.h"

namespace agentry::cache {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::RedisServer;

CacheOptions options(const RedisServer& redis, const std::string& name) {
  CacheOptions o;
  o.l1.name = name;
  redis::RedisOptions r;
  r.host = redis.host();
  r.port = redis.port();
  r.name = name;
  r.op_timeout = 300ms;
  r.connect_timeout = 200ms;
  o.redis = r;
  return o;
}

class CacheRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(redis_.start(&err)) << err;
    a_ = std::make_unique<CacheService>(options(redis_, "replica-a"));
    b_ = std::make_unique<CacheService>(options(redis_, "replica-b"));
    ASSERT_TRUE(
        eventually([&] { return a_->tracking_connected() && b_->tracking_connected(); }, 5s));
  }
  RedisServer redis_;
  std::unique_ptr<CacheService> a_, b_;
};

TEST_F(CacheRedis, PromotionToL1KeepsTheRemainingTtl) {
  ASSERT_TRUE(a_->put("k", "v1", 10s).ok());
  EXPECT_EQ(redis_.cli("GET agentry:cache:k"), "v1");
  auto first = b_->get("k");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_STREQ(first->source, "l2");
  EXPECT_GT(first->ttl_left, 8s);
  EXPECT_LE(first->ttl_left, 10s);
  auto second = b_->get("k");
  ASSERT_TRUE(second.ok());
  EXPECT_STREQ(second->source, "l1");
  EXPECT_LE(second->ttl_left, first->ttl_left);
  // A short TTL in Redis stays short in L1: the L1 copy disappears with the Redis key.
  ASSERT_TRUE(a_->put("short", "s", 300ms).ok());
  ASSERT_TRUE(b_->get("short").ok());
  EXPECT_TRUE(eventually([&] { return b_->get("short").status().code() == Code::kNotFound; }, 3s));
}

TEST_F(CacheRedis, WritesAndDeletesOnOneReplicaAreSeenByTheOtherWithinTheWindow) {
  ASSERT_TRUE(a_->put("shared", "old", 60s).ok());
  // Both replicas hold "old" in L1.
  ASSERT_EQ(a_->get("shared")->value, "old");
  ASSERT_EQ(b_->get("shared")->value, "old");
  ASSERT_TRUE(eventually([&] { return std::string(b_->get("shared")->source) == "l1"; }, 2s));
  ASSERT_TRUE(eventually([&] { return std::string(a_->get("shared")->source) == "l1"; }, 2s));

  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(a_->put("shared", "new", 60s).ok());
  EXPECT_TRUE(eventually([&] { return b_->get("shared")->value == "new"; }, 500ms, 1ms));
  auto window = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(window, 500ms);
  std::printf("invalidation window (write): %.2f ms\n",
              std::chrono::duration<double, std::milli>(window).count());

  ASSERT_EQ(b_->get("shared")->value, "new");  // back in b's L1
  ASSERT_TRUE(a_->erase("shared").ok());
  EXPECT_TRUE(
      eventually([&] { return b_->get("shared").status().code() == Code::kNotFound; }, 500ms, 1ms));
  EXPECT_GT(b_->stats()["invalidation"]["received"].get<uint64_t>(), 0u);
}

TEST_F(CacheRedis, ManyWritersNeverLeaveAStaleL1Copy) {
  // Readers on b keep promoting while a rewrites the key; the last value must win everywhere.
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) (void)b_->get("race");
  });
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(a_->put("race", "v" + std::to_string(i), 60s).ok());
  stop = true;
  reader.join();
  EXPECT_TRUE(eventually([&] { return b_->get("race")->value == "v299"; }, 500ms, 1ms));
  // And it stays: no late promotion of an older value.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(b_->get("race")->value, "v299");
}

TEST_F(CacheRedis, ThePoolStaysWithinItsBoundsUnderLoad) {
  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 60; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!a_->pool()->command({"SET", "agentry:p:" + std::to_string(t), "x"}, 5s).ok())
          ++failures;
      }
    });
  }
  size_t peak = 0;
  for (int i = 0; i < 50; ++i) {
    peak = std::max(peak, a_->pool()->stats().open);
    std::this_thread::sleep_for(1ms);
  }
  for (auto& t : ts) t.join();
  auto st = a_->pool()->stats();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(peak, 50u);
  EXPECT_EQ(st.in_use, 0u);
  EXPECT_LE(st.idle, 20u);  // overflow connections were closed on return
  EXPECT_EQ(st.capacity, 50u);
}

TEST_F(CacheRedis, ACallNeverBlocksLongerThanItsTimeout) {
  ASSERT_TRUE(a_->put("slow", "v", 60s).ok());
  redis_.cli("CLIENT PAUSE 1500 ALL");
  auto t0 = std::chrono::steady_clock::now();
  auto r = b_->get("slow");  // not in b's L1: must go to the paused Redis
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(r.ok());
  EXPECT_LT(took, 700ms) << "op_timeout is 300 ms";
  // It comes back by itself once Redis answers again.
  EXPECT_TRUE(eventually([&] { return b_->get("slow").ok(); }, 10s, 20ms));
}

TEST_F(CacheRedis, RedisDownServesL1DegradedAndRecovers) {
  // L1 only keeps values while the invalidation channel is up (else it could serve stale ones).
  ASSERT_TRUE(eventually([&] { return a_->tracking_connected(); }, 5s));
  ASSERT_TRUE(a_->put("warm", "w", 120s).ok());
  // The invalidation of a's own SET may land after the first read and veto that promotion.
  ASSERT_TRUE(eventually(
      [&] {
        auto v = a_->get("warm");
        return v.ok() && std::string(v->source) == "l1";
      },
      2s));
  redis_.kill();
  EXPECT_TRUE(eventually([&] { return !a_->tracking_connected(); }, 5s));
  auto t0 = std::chrono::steady_clock::now();
  auto warm = a_->get("warm");
  ASSERT_TRUE(warm.ok()) << warm.status().to_string();
  EXPECT_EQ(warm->value, "w");
  EXPECT_TRUE(warm->degraded);
  EXPECT_TRUE(a_->degraded());
  EXPECT_NE(a_->degraded_reason(), "");
  EXPECT_TRUE(a_->stats()["degraded"].get<bool>());
  auto cold = a_->get("cold");
  EXPECT_EQ(cold.status().code(), Code::kUnavailable);
  auto w = a_->put("during", "d", 60s);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->degraded);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "degraded calls must fail fast";

  std::string err;
  ASSERT_TRUE(redis_.start(&err)) << err;
  EXPECT_TRUE(eventually([&] { return !a_->degraded() && a_->tracking_connected(); }, 10s, 10ms));
  EXPECT_TRUE(eventually([&] { return !b_->degraded() && b_->tracking_connected(); }, 10s, 10ms));
  // Without AOF the restarted Redis is empty; L1 was flushed on reconnect, so no replica serves
  // a value Redis no longer has.
  EXPECT_EQ(a_->get("warm").status().code(), Code::kNotFound);
  ASSERT_TRUE(a_->put("after", "ok", 60s).ok());
  EXPECT_EQ(b_->get("after")->value, "ok");
}

TEST_F(CacheRedis, ALostInvalidationChannelBypassesL1UntilItIsBack) {
  ASSERT_TRUE(a_->put("t", "1", 60s).ok());
  ASSERT_EQ(b_->get("t")->value, "1");
  // The invalidation of a's own SET may land after b's first read and veto that promotion.
  ASSERT_TRUE(eventually([&] { return std::string(b_->get("t")->source) == "l1"; }, 2s));
  // Cut the channel and keep it down (SUBSCRIBE denied), so "down" is a state the test can see
  // rather than the few milliseconds a reconnect takes.
  redis_.cli("ACL SETUSER default -subscribe");
  redis_.cli("CLIENT KILL TYPE pubsub");
  ASSERT_TRUE(eventually([&] { return !b_->tracking_connected(); }, 5s, 1ms));
  std::this_thread::sleep_for(300ms);
  ASSERT_FALSE(b_->tracking_connected()) << "a denied SUBSCRIBE must not count as subscribed";
  // While b's channel is down, b reads Redis, not its L1.
  redis_.cli("SET agentry:cache:t 2");
  EXPECT_EQ(b_->get("t")->value, "2");
  EXPECT_STREQ(b_->get("t")->source, "l2");
  redis_.cli("ACL SETUSER default +subscribe");
  EXPECT_TRUE(eventually([&] { return b_->tracking_connected(); }, 10s));
  EXPECT_EQ(b_->get("t")->value, "2");
}

}  // namespace
}  // namespace agentry::cache
