// A thread-safe object cache for one kind, keyed "namespace/name", with secondary indexes
// (client-go's cache.Indexer). Objects are immutable shared_ptrs: readers keep theirs even if the
// store moves on.
//
// Objects are kept packed (MessagePack), not as nlohmann::json trees: a tree costs 3-4 times its
// JSON text (a map node, a std::string and a 16-byte value per field), and an operator caches
// every owned object of every Agent. A packed object is unpacked on get() (tens of
// microseconds for a Deployment); while anybody still holds the unpacked object, get() returns
// that same one. Index values are computed once, on insert.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace agentry::runtime {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;
using IndexFunc = std::function<std::vector<std::string>(const nlohmann::json&)>;

inline constexpr const char* kNamespaceIndex = "namespace";
inline constexpr const char* kOwnerUidIndex = "owner-uid";  // every ownerReference's uid

class Store {
 public:
  Store();  // with the namespace and owner-uid indexes

  // Adds an index (and indexes what is stored already).
  void add_index(const std::string& name, IndexFunc fn);

  ObjectPtr get(const std::string& key) const;
  std::vector<ObjectPtr> list() const;
  std::vector<std::string> keys() const;
  size_t size() const;
  std::vector<ObjectPtr> by_index(const std::string& index, const std::string& value) const;
  // How many objects by_index() would return, without unpacking them.
  size_t count_by_index(const std::string& index, const std::string& value) const;
  // Bytes held by packed objects (for tests and the store's memory figure).
  size_t packed_bytes() const;

  // Inserts or replaces; returns the previous object (nullptr if new).
  ObjectPtr upsert(ObjectPtr obj);
  // Removes; returns the removed object (nullptr if absent).
  ObjectPtr erase(const std::string& key);
  // Replaces the whole content (a relist); returns the previous content.
  std::unordered_map<std::string, ObjectPtr> replace(std::vector<ObjectPtr> objs);

 private:
  struct Index {
    IndexFunc fn;
    std::map<std::string, std::set<std::string>> values;  // index value -> keys
  };
  struct Entry {
    std::vector<uint8_t> packed;
    mutable std::weak_ptr<const nlohmann::json> live;  // the unpacked object, while held
    // (index name, value) pairs this entry is filed under, so removal needs no unpacking.
    std::vector<std::pair<const std::string*, std::string>> filed;
  };
  Entry pack(const ObjectPtr& obj) const;
  ObjectPtr unpack_locked(const Entry& e) const;
  void index_locked(const std::string& key, Entry& e, const nlohmann::json& obj);
  void unindex_locked(const std::string& key, const Entry& e);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> items_;
  std::map<std::string, Index> indexes_;
  size_t packed_bytes_ = 0;
};

std::string store_key(const nlohmann::json& obj);

}  // namespace agentry::runtime
