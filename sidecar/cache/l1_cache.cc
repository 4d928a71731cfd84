#include "sidecar/cache/l1_cache.h"

#include <bit>
#include <functional>

#include "common/metrics.h"

namespace agentry::cache {
namespace {

prometheus::Counter* counter(const char* name, const char* help, const std::string& cache) {
  auto& fam = prometheus::BuildCounter().Name(name).Help(help).Register(*metrics::registry());
  return &fam.Add({{"cache", cache}});
}

prometheus::Gauge* gauge(const char* name, const char* help, const std::string& cache) {
  auto& fam = prometheus::BuildGauge().Name(name).Help(help).Register(*metrics::registry());
  return &fam.Add({{"cache", cache}});
}

}  // namespace

L1Cache::L1Cache(L1Options opts) : opts_(std::move(opts)) {
  size_t n = std::bit_ceil(std::max<size_t>(1, opts_.shards));
  shard_mask_ = n - 1;
  shard_max_entries_ = std::max<size_t>(1, (opts_.max_entries + n - 1) / n);
  shard_max_bytes_ = std::max<size_t>(1, opts_.max_bytes / n);
  for (size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>());
  m_hits_ = counter("agentry_cache_l1_hits_total", "L1 cache hits", opts_.name);
  m_misses_ = counter("agentry_cache_l1_misses_total", "L1 cache misses", opts_.name);
  m_evictions_ =
      counter("agentry_cache_l1_evictions_total", "L1 entries evicted by the size bounds", opts_.name);
  m_expirations_ = counter("agentry_cache_l1_expirations_total", "L1 entries dropped at TTL", opts_.name);
  m_entries_ = gauge("agentry_cache_l1_entries", "L1 entries", opts_.name);
  m_bytes_ = gauge("agentry_cache_l1_bytes", "L1 bytes charged (keys, values, overhead)", opts_.name);
}

L1Cache::~L1Cache() = default;

L1Cache::Shard& L1Cache::shard_for(std::string_view key) {
  size_t h = std::hash<std::string_view>{}(key);
  // High bits: the unordered_map inside the shard uses the low ones.
  return *shards_[(h >> 40) & shard_mask_];
}

void L1Cache::remove_locked(Shard& s, std::list<Node>::iterator it) {
  s.bytes -= charge(*it);
  s.index.erase(std::string_view(it->key));
  s.lru.erase(it);
}

std::optional<L1Cache::Hit> L1Cache::get(std::string_view key) {
  Shard& s = shard_for(key);
  auto now = Clock::now();
  std::lock_guard<std::mutex> lock(s.mu);
  auto f = s.index.find(key);
  if (f == s.index.end()) {
    ++s.misses;
    return std::nullopt;
  }
  auto it = f->second;
  if (it->expires <= now) {
    remove_locked(s, it);
    ++s.expirations;
    ++s.misses;
    return std::nullopt;
  }
  s.lru.splice(s.lru.begin(), s.lru, it);
  ++s.hits;
  return Hit{it->value,
             std::chrono::duration_cast<std::chrono::milliseconds>(it->expires - now)};
}

bool L1Cache::put(std::string_view key, std::string value, std::chrono::milliseconds ttl) {
  Shard& s = shard_for(key);
  size_t need = key.size() + value.size() + kEntryOverhead;
  auto expires = Clock::now() + ttl;
  std::lock_guard<std::mutex> lock(s.mu);
  auto f = s.index.find(key);
  if (f != s.index.end()) remove_locked(s, f->second);
  if (need > shard_max_bytes_ || ttl.count() <= 0) return false;
  while (!s.lru.empty() &&
         (s.lru.size() + 1 > shard_max_entries_ || s.bytes + need > shard_max_bytes_)) {
    remove_locked(s, std::prev(s.lru.end()));
    ++s.evictions;
  }
  s.lru.push_front(Node{std::string(key), std::move(value), expires});
  s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
  s.bytes += need;
  return true;
}

bool L1Cache::erase(std::string_view key) {
  Shard& s = shard_for(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto f = s.index.find(key);
  if (f == s.index.end()) return false;
  remove_locked(s, f->second);
  return true;
}

void L1Cache::clear() {
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> lock(sp->mu);
    sp->index.clear();
    sp->lru.clear();
    sp->bytes = 0;
  }
}

size_t L1Cache::purge_expired() {
  size_t n = 0;
  auto now = Clock::now();
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> lock(sp->mu);
    for (auto it = sp->lru.begin(); it != sp->lru.end();) {
      auto next = std::next(it);
      if (it->expires <= now) {
        remove_locked(*sp, it);
        ++sp->expirations;
        ++n;
      }
      it = next;
    }
  }
  return n;
}

L1Cache::Stats L1Cache::stats() const {
  Stats st;
  for (const auto& sp : shards_) {
    std::lock_guard<std::mutex> lock(sp->mu);
    st.hits += sp->hits;
    st.misses += sp->misses;
    st.evictions += sp->evictions;
    st.expirations += sp->expirations;
    st.entries += sp->lru.size();
    st.bytes += sp->bytes;
  }
  return st;
}

void L1Cache::publish_metrics() {
  Stats now = stats();
  std::lock_guard<std::mutex> lock(publish_mu_);
  m_hits_->Increment(static_cast<double>(now.hits - published_.hits));
  m_misses_->Increment(static_cast<double>(now.misses - published_.misses));
  m_evictions_->Increment(static_cast<double>(now.evictions - published_.evictions));
  m_expirations_->Increment(static_cast<double>(now.expirations - published_.expirations));
  m_entries_->Set(static_cast<double>(now.entries));
  m_bytes_->Set(static_cast<double>(now.bytes));
  published_ = now;
}

}  // namespace agentry::cache
