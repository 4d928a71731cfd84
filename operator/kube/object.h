// Kubernetes objects are nlohmann::json; these are the typed accessors the operator needs.
// Every accessor tolerates missing fields (returns "" / 0 / an empty object).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace agentry::kube {

using json = nlohmann::json;

// "namespace/name" (or "name" for cluster-scoped objects), client-go's cache key.
struct ObjectKey {
  std::string ns;
  std::string name;
  std::string str() const { return ns.empty() ? name : ns + "/" + name; }
  static ObjectKey parse(std::string_view key);
  bool operator==(const ObjectKey&) const = default;
};

const std::string& name(const json& obj);
const std::string& namespace_of(const json& obj);
const std::string& uid(const json& obj);
const std::string& resource_version(const json& obj);
int64_t generation(const json& obj);
const std::string& kind(const json& obj);
// obj[key] when obj is an object holding a string there, else "" (never throws: for what the API
// server or a proxy sends, where json::value() would throw on a wrong type).
const std::string& string_at(const json& obj, const char* key);
const json& labels(const json& obj);
const json& annotations(const json& obj);
const json& owner_references(const json& obj);
std::vector<std::string> finalizers(const json& obj);
bool has_finalizer(const json& obj, std::string_view finalizer);
bool being_deleted(const json& obj);  // metadata.deletionTimestamp set
ObjectKey key_of(const json& obj);

// The ownerReference with controller=true, or nullptr.
const json* controller_of(const json& obj);
// An ownerReference pointing at owner (apiVersion, kind, name, uid), controller and
// blockOwnerDeletion set as asked.
json owner_reference(const json& owner, bool controller = true, bool block_owner_deletion = true);

// Drops metadata.managedFields (the informer's default transform: it is half of a small object).
void strip_managed_fields(json& obj);

// RFC 3339 timestamps in UTC as the API server writes them.
std::string now_rfc3339();        // 2006-01-02T15:04:05Z
std::string now_rfc3339_micro();  // 2006-01-02T15:04:05.000000Z (MicroTime)

}  // namespace agentry::kube
