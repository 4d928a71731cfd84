// The multi-layer cache: L1 in process, L2 in Redis shared by the agent's replicas.
//
// Reads try L1, then Redis (GET + PTTL in one round trip) and promote to L1 with the remaining TTL
// (capped by l1_max_ttl). Writes go to Redis and drop the L1 copy; the next read promotes it.
//
// Coherence: one dedicated connection enables CLIENT TRACKING ... REDIRECT <itself> BCAST PREFIX
// <key_prefix> and SUBSCRIBEs to __redis__:invalidate (RESP2 redirect mode), so every write by any
// replica evicts the key from every replica's L1 about one network round trip later. While that
// channel is down L1 is bypassed (reads go to Redis); when it comes back L1 is flushed, since
// invalidations may have been missed. A promotion racing an invalidation is dropped (epoch check).
//
// Redis down: reads are served from L1 only, writes land in L1 only, degraded() reports it (gauge
// agentry_cache_degraded), and the pool reconnects by itself.
#pragma once

#include <prometheus/gauge.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "sidecar/cache/l1_cache.h"
#include "sidecar/redis/redis_pool.h"

namespace agentry::cache {

using Ms = std::chrono::milliseconds;

struct CacheOptions {
  L1Options l1;
  std::optional<redis::RedisOptions> redis;   // none: L1 only (single replica)
  std::string key_prefix = "agentry:cache:";  // Redis key = prefix + key; also the BCAST prefix
  Ms default_ttl{300000};                     // the guidelines' 300 s
  Ms max_ttl{7LL * 24 * 3600 * 1000};
  Ms l1_max_ttl{60000};  // an L1 copy never outlives this (backstop for the staleness bound)
  size_t max_key_bytes = 512;
  size_t max_value_bytes = 1u << 20;
  Ms maintenance_interval{1000};  // TTL sweep and metrics publication
};

class CacheService {
 public:
  explicit CacheService(CacheOptions opts);
  ~CacheService();
  CacheService(const CacheService&) = delete;
  CacheService& operator=(const CacheService&) = delete;

  struct Value {
    std::string value;
    Ms ttl_left{0};
    const char* source = "l1";  // "l1" or "l2"
    bool degraded = false;      // served from L1 because Redis is down
  };
  struct WriteResult {
    bool degraded = false;  // stored only in this replica's L1
  };

  // Key spaces. The cache API's keys and the engine's cached model responses share one store but
  // never a key: each space's keys are stored under its own tag ("api:", "resp:"), and no key of
  // one space can produce another's tag. The HTTP routes use kApi only, the engine kResponses
  // only, so no client can read or rewrite a cached model answer. (Memory lives under its own
  // Redis prefix, outside this service's key_prefix altogether.)
  enum class KeySpace { kApi, kResponses };

  // kNotFound on a miss; kUnavailable when Redis is down and L1 does not have the key.
  Result<Value> get(KeySpace space, const std::string& key) {
    if (auto s = validate_key(key); !s) return s;
    return get(tagged(space, key));
  }
  // ttl 0: default_ttl. kInvalidArgument for bad keys or TTLs, kResourceExhausted (413) for size.
  Result<WriteResult> put(KeySpace space, const std::string& key, std::string value, Ms ttl) {
    if (auto s = validate_key(key); !s) return s;
    return put(tagged(space, key), std::move(value), ttl);
  }
  // kNotFound when the key was in neither layer.
  Result<WriteResult> erase(KeySpace space, const std::string& key) {
    if (auto s = validate_key(key); !s) return s;
    return erase(tagged(space, key));
  }

  // The same on a raw key, outside any key space (the service's own tests and benches); such a
  // key may be up to kMaxTagBytes longer than max_key_bytes, the room a tag takes.
  Result<Value> get(const std::string& key);
  Result<WriteResult> put(const std::string& key, std::string value, Ms ttl);
  Result<WriteResult> erase(const std::string& key);

  // A key as a caller gives it (without a tag): non-empty, max_key_bytes, no whitespace or control
  // characters.
  Status validate_key(const std::string& key) const { return check_key(key, opts_.max_key_bytes); }
  Status validate_ttl(Ms ttl) const;

  nlohmann::json stats() const;
  bool degraded() const;
  // "" when healthy, else why the cache is degraded (for /readyz detail).
  std::string degraded_reason() const;
  bool tracking_connected() const { return tracking_ok_.load(); }

  L1Cache& l1() { return l1_; }
  redis::RedisPool* pool() { return pool_.get(); }
  const CacheOptions& options() const { return opts_; }

 private:
  // A tag is at most kMaxTagBytes; raw keys get that much room beyond max_key_bytes.
  static constexpr size_t kMaxTagBytes = 8;
  Status check_key(const std::string& key, size_t max_bytes) const;
  static std::string tagged(KeySpace space, const std::string& key) {
    return (space == KeySpace::kApi ? "api:" : "resp:") + key;
  }
  void listener_loop();
  void maintenance_loop();
  void on_invalidate(const redis::Reply& payload);

  CacheOptions opts_;
  L1Cache l1_;
  std::unique_ptr<redis::RedisPool> pool_;
  std::atomic<bool> tracking_ok_{false};
  std::atomic<uint64_t> epoch_{0};  // bumped by every invalidation and channel change
  std::atomic<uint64_t> invalidations_{0}, l2_hits_{0}, l2_misses_{0}, degraded_reads_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread listener_, maintenance_;
  prometheus::Gauge* g_degraded_;
  prometheus::Gauge* g_tracking_;
};

}  // namespace agentry::cache
