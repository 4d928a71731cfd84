// L1: the in-process cache layer. Bounded by entry count and bytes, LRU with a TTL per entry,
// sharded (one mutex per shard) so concurrent readers rarely meet.
//
// Hit/miss/eviction counts are kept per shard under the shard's lock (no shared atomics on the hot
// path) and pushed to Prometheus by publish_metrics(), which the owner calls periodically.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace agentry::cache {

struct L1Options {
  size_t max_entries = 100000;
  size_t max_bytes = 64u << 20;  // key + value + per-entry overhead
  size_t shards = 16;            // rounded up to a power of two
  std::string name = "default";  // the `cache` label of the metrics
};

class L1Cache {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hit {
    std::string value;
    std::chrono::milliseconds ttl_left;
  };
  struct Stats {
    uint64_t hits = 0, misses = 0, evictions = 0, expirations = 0;
    size_t entries = 0, bytes = 0;
  };
  // Bytes charged per entry beyond key and value (list node, map node, bookkeeping).
  static constexpr size_t kEntryOverhead = 96;

  explicit L1Cache(L1Options opts);
  ~L1Cache();
  L1Cache(const L1Cache&) = delete;
  L1Cache& operator=(const L1Cache&) = delete;

  std::optional<Hit> get(std::string_view key);
  // False when the entry alone exceeds a shard's byte budget (it is not stored).
  bool put(std::string_view key, std::string value, std::chrono::milliseconds ttl);
  bool erase(std::string_view key);
  void clear();
  size_t purge_expired();  // drops expired entries; returns how many
  Stats stats() const;
  void publish_metrics();
  const L1Options& options() const { return opts_; }

 private:
  struct Node {
    std::string key;
    std::string value;
    Clock::time_point expires;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Node> lru;  // front: most recently used
    std::unordered_map<std::string_view, std::list<Node>::iterator> index;
    size_t bytes = 0;
    uint64_t hits = 0, misses = 0, evictions = 0, expirations = 0;
  };
  Shard& shard_for(std::string_view key);
  static size_t charge(const Node& n) { return n.key.size() + n.value.size() + kEntryOverhead; }
  void remove_locked(Shard& s, std::list<Node>::iterator it);

  L1Options opts_;
  size_t shard_mask_;
  size_t shard_max_entries_;
  size_t shard_max_bytes_;
  std::vector<std::unique_ptr<Shard>> shards_;

  std::mutex publish_mu_;
  Stats published_;
  prometheus::Counter* m_hits_;
  prometheus::Counter* m_misses_;
  prometheus::Counter* m_evictions_;
  prometheus::Counter* m_expirations_;
  prometheus::Gauge* m_entries_;
  prometheus::Gauge* m_bytes_;
};

}  // namespace agentry::cache
