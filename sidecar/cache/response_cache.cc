#include "sidecar/cache/response_cache.h"

#include <openssl/evp.h>

#include <cstdio>

namespace agentry::cache {

ResponseCache::ResponseCache(CacheService& cache, std::string key_prefix, Ms flight_wait)
    : cache_(cache), prefix_(std::move(key_prefix)), flight_wait_(flight_wait) {}

std::string ResponseCache::key_for(const std::string& model, const std::string& messages,
                                   const std::string& params) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  // Length-prefixed parts, so ("ab","c") and ("a","bc") differ.
  for (const std::string* part : {&model, &messages, &params}) {
    uint64_t len = part->size();
    EVP_DigestUpdate(ctx, &len, sizeof len);
    EVP_DigestUpdate(ctx, part->data(), part->size());
  }
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  std::string hex(n * 2, '0');
  for (unsigned i = 0; i < n; ++i) std::snprintf(&hex[i * 2], 3, "%02x", md[i]);
  return hex;
}

std::optional<std::string> ResponseCache::get(const std::string& key) {
  auto v = cache_.get(CacheService::KeySpace::kResponses, prefix_ + key);
  if (v.ok()) return std::move(v->value);
  std::unique_lock<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  auto it = flights_.find(key);
  if (it == flights_.end() || it->second->started + flight_wait_ < now) {
    auto f = std::make_shared<Flight>();
    f->started = now;
    flights_[key] = f;
    ++leader_misses_;
    return std::nullopt;  // this caller leads
  }
  auto f = it->second;
  ++shared_waits_;
  f->cv.wait_until(lock, f->started + flight_wait_, [&] { return f->done; });
  lock.unlock();
  v = cache_.get(CacheService::KeySpace::kResponses, prefix_ + key);
  if (v.ok()) return std::move(v->value);
  return std::nullopt;  // the leader failed or did not cache: compute without leading
}

void ResponseCache::finish(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = flights_.find(key);
  if (it == flights_.end()) return;
  it->second->done = true;
  it->second->cv.notify_all();
  flights_.erase(it);
}

void ResponseCache::put(const std::string& key, const std::string& value,
                        std::chrono::seconds ttl) {
  (void)cache_.put(CacheService::KeySpace::kResponses, prefix_ + key, value,
                   std::chrono::duration_cast<Ms>(ttl));
  finish(key);
}

void ResponseCache::abandon(const std::string& key) {
  finish(key);
}

Result<std::string> ResponseCache::get_or_compute(
    const std::string& key, std::chrono::seconds ttl,
    const std::function<Result<std::string>()>& compute) {
  if (auto v = get(key)) return *v;
  auto r = compute();
  if (r.ok()) {
    put(key, r.value(), ttl);
  } else {
    abandon(key);
  }
  return r;
}

uint64_t ResponseCache::leader_misses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_misses_;
}

uint64_t ResponseCache::shared_waits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shared_waits_;
}

}  // namespace agentry::cache
