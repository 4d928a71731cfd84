// Model-response cache on the multi-layer cache, with single-flight: of concurrent identical misses
// only one caller (the leader) computes; the others wait for its put() and read the cached value.
//
// Its get/put pair matches the engine's ResponseCacheHook. A get() that misses makes its caller
// the leader for that key until it calls put() or abandon() (or flight_wait passes), so a caller
// that decides not to cache must abandon(). get_or_compute() does all of that itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "sidecar/cache/cache_service.h"

namespace agentry::cache {

class ResponseCache {
 public:
  ResponseCache(CacheService& cache, std::string key_prefix = "resp:",
                Ms flight_wait = Ms(10000));

  std::optional<std::string> get(const std::string& key);
  void put(const std::string& key, const std::string& value, std::chrono::seconds ttl);
  void abandon(const std::string& key);
  Result<std::string> get_or_compute(const std::string& key, std::chrono::seconds ttl,
                                     const std::function<Result<std::string>()>& compute);

  // A stable key: hex SHA-256 of model, messages and parameters (each already serialized).
  static std::string key_for(const std::string& model, const std::string& messages,
                             const std::string& params);

  uint64_t leader_misses() const;  // calls that went to the provider
  uint64_t shared_waits() const;   // calls that waited for a leader instead

 private:
  struct Flight {
    bool done = false;
    std::condition_variable cv;
    std::chrono::steady_clock::time_point started;
  };
  void finish(const std::string& key);

  CacheService& cache_;
  std::string prefix_;
  Ms flight_wait_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
  uint64_t leader_misses_ = 0, shared_waits_ = 0;
};

}  // namespace agentry::cache
