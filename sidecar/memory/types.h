// Memory entries, the operations that change them (the unit of persistence and of the change
// feed), and the limits that bound them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace agentry::memory {

// What an entry is, and so how long it lives: a fact was chosen to be kept (written through the
// API or by a tool) and is bounded by Limits::max_entries_per_agent; an exchange is the engine's
// record of one execution, bounded on its own (max_exchanges_per_agent, exchange_ttl_s) and
// evicted without ever pushing out a fact.
enum class Kind : uint8_t { kFact = 0, kExchange = 1 };
const char* kind_name(Kind k);  // "fact" | "exchange"
// "fact" / "exchange"; nullopt for anything else.
std::optional<Kind> parse_kind(std::string_view s);

struct Entry {
  std::string id;
  Kind kind = Kind::kFact;
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
  // What happens to a fact write that would exceed max_entries_per_agent: refused (507, nothing
  // written) or the oldest facts are evicted in the same durable write.
  enum class OnFull { kRefuse, kEvictOldest };
  size_t max_entries_per_agent = 100000;    // facts (memory.maxEntries)
  OnFull on_full = OnFull::kRefuse;         // memory.onFull
  size_t max_exchanges_per_agent = 100000;  // memory.exchanges.maxEntries; oldest evicted first
  int64_t exchange_ttl_s = 0;               // memory.exchanges.ttlSeconds; 0: no expiry
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

// Binary encoding of one Op (little-endian, length-prefixed strings, raw floats). Format 2 adds the
// kind after the embedding. Format 1 (written before kinds existed) still decodes: an entry whose
// metadata says kind=exchange (what the engine wrote then) is an exchange, every other one a fact.
std::string encode(const Op& op);
Result<Op> decode(std::string_view data);

int64_t now_ms();
std::string rfc3339_ms(int64_t unix_ms);  // 2006-01-02T15:04:05.000Z

}  // namespace agentry::memory
