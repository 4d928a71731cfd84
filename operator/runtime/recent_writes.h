// Read-your-writes over an informer's cache. A controller that has just written an object (a
// status update) may be reconciled again before the watch delivers that write; planning from the
// older cached copy would redo what was just done. RecentWrites keeps the object each of the
// controller's writes returned, and fresher() answers whichever of it and the cached copy is newer.
//
//   ObjectPtr obj = recent_.fresher(key.str(), informer->store().get(key.str()));
//   ... auto r = client.update_status(...); if (r.ok()) recent_.remember(*r);
//
// Newer means the same uid and a larger resourceVersion (etcd's revision: the API server's
// resourceVersions are opaque by contract but ordered in every server we run against). An entry
// is dropped as soon as the cache catches up, the object is gone, or its uid changed, so the map
// holds only writes the watch has not delivered yet. Thread-safe.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "operator/runtime/store.h"

namespace agentry::runtime {

class RecentWrites {
 public:
  // Keeps obj (as a write returned it) under its namespace/name key.
  void remember(const nlohmann::json& obj);
  // The fresher of cached and the remembered write for key; nullptr (and forgotten) when cached
  // is nullptr, since the object is gone from the cache.
  ObjectPtr fresher(const std::string& key, ObjectPtr cached);
  void forget(const std::string& key);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, ObjectPtr> written_;  // guarded by mu_
};

}  // namespace agentry::runtime
