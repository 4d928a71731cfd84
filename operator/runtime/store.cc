#include "operator/runtime/store.h"

#include "operator/kube/object.h"

namespace agentry::runtime {

std::string store_key(const nlohmann::json& obj) {
  return kube::key_of(obj).str();
}

Store::Store() {
  indexes_[kNamespaceIndex].fn = [](const nlohmann::json& o) {
    return std::vector<std::string>{kube::namespace_of(o)};
  };
  indexes_[kOwnerUidIndex].fn = [](const nlohmann::json& o) {
    std::vector<std::string> out;
    for (const auto& ref : kube::owner_references(o)) {
      if (ref.is_object()) out.push_back(ref.value("uid", ""));
    }
    return out;
  };
}

void Store::add_index(const std::string& name, IndexFunc fn) {
  std::lock_guard<std::mutex> lock(mu_);
  Index& idx = indexes_[name];
  idx.fn = std::move(fn);
  idx.values.clear();
  for (const auto& [key, obj] : items_) {
    for (auto& v : idx.fn(*obj)) idx.values[v].insert(key);
  }
}

void Store::index_locked(const std::string& key, const nlohmann::json& obj) {
  for (auto& [_, idx] : indexes_) {
    for (auto& v : idx.fn(obj)) idx.values[v].insert(key);
  }
}

void Store::unindex_locked(const std::string& key, const nlohmann::json& obj) {
  for (auto& [_, idx] : indexes_) {
    for (auto& v : idx.fn(obj)) {
      auto it = idx.values.find(v);
      if (it == idx.values.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) idx.values.erase(it);
    }
  }
}

ObjectPtr Store::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [_, o] : items_) out.push_back(o);
  return out;
}

std::vector<std::string> Store::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [k, _] : items_) out.push_back(k);
  return out;
}

size_t Store::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return items_.size();
}

std::vector<ObjectPtr> Store::by_index(const std::string& index, const std::string& value) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto vals = idx->second.values.find(value);
  if (vals == idx->second.values.end()) return out;
  for (const auto& key : vals->second) {
    if (auto it = items_.find(key); it != items_.end()) out.push_back(it->second);
  }
  return out;
}

ObjectPtr Store::upsert(ObjectPtr obj) {
  std::string key = store_key(*obj);
  std::lock_guard<std::mutex> lock(mu_);
  ObjectPtr old;
  auto it = items_.find(key);
  if (it != items_.end()) {
    old = it->second;
    unindex_locked(key, *old);
    it->second = obj;
  } else {
    items_.emplace(key, obj);
  }
  index_locked(key, *obj);
  return old;
}

ObjectPtr Store::erase(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr old = it->second;
  unindex_locked(key, *old);
  items_.erase(it);
  return old;
}

std::unordered_map<std::string, ObjectPtr> Store::replace(std::vector<ObjectPtr> objs) {
  std::unordered_map<std::string, ObjectPtr> fresh;
  fresh.reserve(objs.size());
  for (auto& o : objs) {
    std::string key = store_key(*o);
    fresh[key] = std::move(o);
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [_, idx] : indexes_) idx.values.clear();
  items_.swap(fresh);
  for (const auto& [key, obj] : items_) index_locked(key, *obj);
  return fresh;  // the previous content
}

}  // namespace agentry::runtime
