#include "operator/runtime/recent_writes.h"

#include <charconv>

#include "operator/kube/object.h"

namespace agentry::runtime {
namespace {

// resourceVersion as a number; 0 when it is not one.
uint64_t revision(const nlohmann::json& obj) {
  const std::string rv = kube::resource_version(obj);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), v);
  return ec == std::errc() && p == rv.data() + rv.size() ? v : 0;
}

}  // namespace

void RecentWrites::remember(const nlohmann::json& obj) {
  std::lock_guard<std::mutex> l(mu_);
  written_[kube::key_of(obj).str()] = std::make_shared<const nlohmann::json>(obj);
}

ObjectPtr RecentWrites::fresher(const std::string& key, ObjectPtr cached) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = written_.find(key);
  if (it == written_.end()) return cached;
  if (!cached) {
    written_.erase(it);
    return nullptr;
  }
  const nlohmann::json& w = *it->second;
  if (kube::uid(w) == kube::uid(*cached) && revision(w) > revision(*cached)) return it->second;
  written_.erase(it);  // the cache caught up (or the object was replaced)
  return cached;
}

void RecentWrites::forget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  written_.erase(key);
}

}  // namespace agentry::runtime
