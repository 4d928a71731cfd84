// Memory entries, the operations that change them (the unit of persistence and of the change
// feed), and the limits that bound them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentry::memory {

struct Entry {
  std::string id;
  std::string agent;
  std::string session;
  std::string text;
  std::map<std::string, std::string> metadata;
  std::vector<float> embedding;
  int64_t created_ms = 0;  // unix ms
  int64_t expires_ms = 0;  // unix ms; 0: never
  uint64_t rev = 0;        // unique per write; replays of the same write are recognised by it
};

struct Op {
  enum class Type : uint8_t { kPut = 1, kDelete = 2 };
  Type type = Type::kPut;
  Entry entry;  // kDelete: only agent and id
};

struct Limits {
  size_t max_entries_per_agent = 100000;  // beyond it the oldest (createdAt) entries are evicted
  size_t max_text_bytes = 32 * 1024;
  size_t max_metadata_pairs = 32;
  size_t max_metadata_key_bytes = 128;
  size_t max_metadata_value_bytes = 1024;
  size_t max_batch = 256;
  size_t max_id_bytes = 128;
  int64_t max_ttl_s = 365LL * 24 * 3600;
  int64_t default_ttl_s =
      0;  // lifetime of an entry written without a ttl (memory.ttlSeconds); 0: none
  int max_k = 100;
};

// Binary encoding of one Op (little-endian, length-prefixed strings, raw floats).
std::string encode(const Op& op);
Result<Op> decode(std::string_view data);

int64_t now_ms();

}  // namespace agentry::memory
