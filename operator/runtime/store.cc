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
      // Checked: a non-string uid threw from json::value() (found by kube_watch_fuzz).
      const std::string& uid = kube::string_at(ref, "uid");
      if (!uid.empty()) out.push_back(uid);
    }
    return out;
  };
}

Store::Entry Store::pack(const ObjectPtr& obj) const {
  Entry e;
  e.packed = nlohmann::json::to_msgpack(*obj);
  e.packed.shrink_to_fit();
  e.live = obj;
  return e;
}

ObjectPtr Store::unpack_locked(const Entry& e) const {
  if (ObjectPtr held = e.live.lock()) return held;
  auto obj = std::make_shared<const nlohmann::json>(nlohmann::json::from_msgpack(e.packed));
  e.live = obj;
  return obj;
}

void Store::add_index(const std::string& name, IndexFunc fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, _] = indexes_.try_emplace(name);
  Index& idx = it->second;
  const std::string* iname = &it->first;
  idx.fn = std::move(fn);
  idx.values.clear();
  for (auto& [key, e] : items_) {
    std::erase_if(e.filed, [&](const auto& f) { return f.first == iname; });
    ObjectPtr obj = unpack_locked(e);
    for (auto& v : idx.fn(*obj)) {
      idx.values[v].insert(key);
      e.filed.emplace_back(iname, std::move(v));
    }
  }
}

void Store::index_locked(const std::string& key, Entry& e, const nlohmann::json& obj) {
  for (auto& [name, idx] : indexes_) {
    for (auto& v : idx.fn(obj)) {
      idx.values[v].insert(key);
      e.filed.emplace_back(&name, std::move(v));
    }
  }
  e.filed.shrink_to_fit();
}

void Store::unindex_locked(const std::string& key, const Entry& e) {
  for (const auto& [name, v] : e.filed) {
    auto& values = indexes_.find(*name)->second.values;
    auto it = values.find(v);
    if (it == values.end()) continue;
    it->second.erase(key);
    if (it->second.empty()) values.erase(it);
  }
}

ObjectPtr Store::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : unpack_locked(it->second);
}

std::vector<ObjectPtr> Store::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [_, e] : items_) out.push_back(unpack_locked(e));
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

size_t Store::packed_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return packed_bytes_;
}

std::vector<ObjectPtr> Store::by_index(const std::string& index, const std::string& value) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto vals = idx->second.values.find(value);
  if (vals == idx->second.values.end()) return out;
  for (const auto& key : vals->second) {
    if (auto it = items_.find(key); it != items_.end()) out.push_back(unpack_locked(it->second));
  }
  return out;
}

size_t Store::count_by_index(const std::string& index, const std::string& value) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return 0;
  auto vals = idx->second.values.find(value);
  return vals == idx->second.values.end() ? 0 : vals->second.size();
}

ObjectPtr Store::upsert(ObjectPtr obj) {
  std::string key = store_key(*obj);
  Entry fresh = pack(obj);  // outside the lock: packing is the expensive part
  std::lock_guard<std::mutex> lock(mu_);
  ObjectPtr old;
  auto it = items_.find(key);
  if (it != items_.end()) {
    old = unpack_locked(it->second);
    unindex_locked(key, it->second);
    packed_bytes_ -= it->second.packed.size();
    it->second = std::move(fresh);
  } else {
    it = items_.emplace(key, std::move(fresh)).first;
  }
  packed_bytes_ += it->second.packed.size();
  index_locked(key, it->second, *obj);
  return old;
}

ObjectPtr Store::erase(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr old = unpack_locked(it->second);
  unindex_locked(key, it->second);
  packed_bytes_ -= it->second.packed.size();
  items_.erase(it);
  return old;
}

std::unordered_map<std::string, ObjectPtr> Store::replace(std::vector<ObjectPtr> objs) {
  std::vector<std::string> keys;
  keys.reserve(objs.size());
  std::unordered_map<std::string, Entry> fresh;
  fresh.reserve(objs.size());
  for (auto& o : objs) fresh[keys.emplace_back(store_key(*o))] = pack(o);
  std::unordered_map<std::string, ObjectPtr> previous;
  std::lock_guard<std::mutex> lock(mu_);
  previous.reserve(items_.size());
  for (const auto& [key, e] : items_) previous.emplace(key, unpack_locked(e));
  for (auto& [_, idx] : indexes_) idx.values.clear();
  items_.swap(fresh);
  packed_bytes_ = 0;
  for (size_t i = 0; i < objs.size(); ++i) {
    Entry& e = items_.find(keys[i])->second;
    packed_bytes_ += e.packed.size();
    index_locked(keys[i], e, *objs[i]);
  }
  return previous;
}

}  // namespace agentry::runtime
