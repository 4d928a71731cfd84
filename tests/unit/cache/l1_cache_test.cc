// L1: LRU order, TTL, entry and byte bounds, sharded concurrency, and the response cache's
// single-flight (on an L1-only CacheService).
#include "sidecar/cache/l1_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "sidecar/cache/cache_service.h"
#include "sidecar/cache/response_cache.h"

namespace agentry::cache {
namespace {

using namespace std::chrono_literals;

TEST(L1Cache, GetPutEraseAndTtlLeft) {
  L1Cache c({.max_entries = 10, .max_bytes = 1 << 20, .shards = 1, .name = "t1"});
  EXPECT_FALSE(c.get("a"));
  ASSERT_TRUE(c.put("a", "1", 10s));
  auto h = c.get("a");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->value, "1");
  EXPECT_GT(h->ttl_left, 9s);
  EXPECT_LE(h->ttl_left, 10s);
  EXPECT_TRUE(c.erase("a"));
  EXPECT_FALSE(c.erase("a"));
  EXPECT_FALSE(c.get("a"));
  auto st = c.stats();
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.misses, 2u);
}

TEST(L1Cache, ExpiresAtTtl) {
  L1Cache c({.max_entries = 10, .max_bytes = 1 << 20, .shards = 1, .name = "t2"});
  ASSERT_TRUE(c.put("a", "1", 30ms));
  ASSERT_TRUE(c.put("b", "2", 60s));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (c.get("a") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(c.get("a"));
  EXPECT_TRUE(c.get("b"));
  EXPECT_GE(c.stats().expirations, 1u);
}

TEST(L1Cache, EvictsLeastRecentlyUsed) {
  L1Cache c({.max_entries = 3, .max_bytes = 1 << 20, .shards = 1, .name = "t3"});
  c.put("a", "1", 60s);
  c.put("b", "2", 60s);
  c.put("c", "3", 60s);
  ASSERT_TRUE(c.get("a"));  // a is now the most recent; b the least
  c.put("d", "4", 60s);
  EXPECT_TRUE(c.get("a"));
  EXPECT_FALSE(c.get("b"));
  EXPECT_TRUE(c.get("c"));
  EXPECT_TRUE(c.get("d"));
  EXPECT_EQ(c.stats().evictions, 1u);
}

TEST(L1Cache, BoundsHoldUnderAFloodOfDistinctKeys) {
  const size_t max_entries = 1000, max_bytes = 256 * 1024;
  L1Cache c({.max_entries = max_entries, .max_bytes = max_bytes, .shards = 8, .name = "t4"});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&c, t] {
      std::string value(200, 'x');
      for (int i = 0; i < 50000; ++i)
        c.put("k" + std::to_string(t) + "-" + std::to_string(i), value, 60s);
    });
  }
  for (auto& t : ts) t.join();
  auto st = c.stats();
  EXPECT_LE(st.entries, max_entries);
  EXPECT_LE(st.bytes, max_bytes);
  EXPECT_GT(st.entries, 0u);
  EXPECT_GE(st.evictions, 200000u - st.entries);
  // The oldest keys are gone; a new one still goes in.
  EXPECT_FALSE(c.get("k0-0"));
  EXPECT_TRUE(c.put("fresh", "v", 60s));
  EXPECT_TRUE(c.get("fresh"));
  EXPECT_LE(c.stats().entries, max_entries);
}

TEST(L1Cache, RejectsAnEntryLargerThanAShard) {
  L1Cache c({.max_entries = 10, .max_bytes = 4096, .shards = 4, .name = "t5"});
  EXPECT_FALSE(c.put("big", std::string(2000, 'x'), 60s));
  EXPECT_FALSE(c.get("big"));
  EXPECT_TRUE(c.put("small", std::string(100, 'x'), 60s));
}

TEST(CacheServiceL1Only, ValidatesKeysTtlsAndSizes) {
  CacheOptions o;
  o.l1.name = "svc1";
  o.max_value_bytes = 1000;
  CacheService c(o);
  EXPECT_EQ(c.put("", "v", 0ms).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.put("a b", "v", 0ms).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.put(std::string(600, 'k'), "v", 0ms).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.put("k", "v", -5ms).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.put("k", "v", 8LL * 24 * 3600 * 1000ms).status().code(), Code::kInvalidArgument);
  auto big = c.put("k", std::string(1001, 'x'), 0ms);
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(big.status().http_status(), 413);
  ASSERT_TRUE(c.put("k", "v", 5000ms).ok());
  auto g = c.get("k");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->value, "v");
  EXPECT_EQ(c.get("nope").status().code(), Code::kNotFound);
  EXPECT_TRUE(c.erase("k").ok());
  EXPECT_EQ(c.erase("k").status().code(), Code::kNotFound);
}

TEST(ResponseCache, ConcurrentIdenticalMissesComputeOnce) {
  CacheOptions o;
  o.l1.name = "svc2";
  CacheService c(o);
  ResponseCache rc(c);
  std::string key = ResponseCache::key_for("m", R"([{"role":"user","content":"hi"}])", "{}");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_NE(key, ResponseCache::key_for("m", R"([{"role":"user","content":"ho"}])", "{}"));
  std::atomic<int> calls{0};
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&] {
      auto r = rc.get_or_compute(key, 60s, [&]() -> Result<std::string> {
        ++calls;
        std::this_thread::sleep_for(100ms);  // a slow provider, so the others arrive meanwhile
        return std::string("answer");
      });
      if (r.ok() && r.value() == "answer") ++ok;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(rc.get(key).value_or(""), "answer");
}

TEST(ResponseCache, AFailedLeaderReleasesTheWaiters) {
  CacheOptions o;
  o.l1.name = "svc3";
  CacheService c(o);
  ResponseCache rc(c, "resp:", 5000ms);
  std::atomic<int> calls{0};
  auto fail = [&]() -> Result<std::string> {
    ++calls;
    std::this_thread::sleep_for(50ms);
    return unavailable("provider down");
  };
  auto t0 = std::chrono::steady_clock::now();
  std::thread a([&] { (void)rc.get_or_compute("k", 60s, fail); });
  std::this_thread::sleep_for(10ms);
  auto r = rc.get_or_compute("k", 60s, fail);
  a.join();
  EXPECT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);  // nobody sat out the 5 s flight wait
  EXPECT_GE(calls.load(), 1);
}

}  // namespace
}  // namespace agentry::cache
