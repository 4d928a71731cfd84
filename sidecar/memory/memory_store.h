// The in-process state of memory: every agent's entries and vector index. It does no I/O; the
// service persists an Op first (log or Redis) and then applies it here. apply() is idempotent, so a
// replayed log, a change-feed event for this replica's own write, or a catch-up after an outage
// can be applied again without harm.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "sidecar/memory/types.h"
#include "sidecar/memory/vector_index.h"

namespace agentry::memory {

struct Filter {
  std::optional<std::string> session;
  std::optional<Kind> kind;
  std::map<std::string, std::string> metadata;  // every pair must match exactly
};

struct Hit {
  Entry entry;  // without the embedding
  float score;
};

class MemoryStore {
 public:
  explicit MemoryStore(IndexOptions opts = {}) : opts_(opts) {}

  // kInvalidArgument when a put's vector has the wrong dimension for its agent.
  Status apply(const Op& op);
  std::optional<Entry> get(const std::string& agent, const std::string& id,
                           bool with_embedding) const;
  struct Page {
    std::vector<Entry> items;
    std::string last_id;  // set when more may follow
  };
  // Entries in id order after `after` that match the filter (session, kind, metadata), without
  // embeddings.
  Page list(const std::string& agent, const Filter& filter, size_t limit,
            const std::string& after) const;
  // Top k by cosine to q; at equal score a fact ranks before an exchange. With query_text (the text
  // q was embedded from), every entry whose text equals it up to case, spacing and punctuation
  // (text_key) is scored too and merged in: the graph is approximate, and on many near-identical
  // entries it can miss the very entry a user searches for by its own words. So an exact match is
  // always found, whatever the graph does.
  std::vector<Hit> search(const std::string& agent, const std::vector<float>& q, size_t k,
                          float min_score, const Filter& filter, bool* exact,
                          const std::string* query_text = nullptr) const;

  // The key under which texts count as the same for that lookup: ASCII lower-cased, every run of
  // ASCII space and punctuation one separator, trimmed; other bytes kept (FNV-1a 64 of that).
  static uint64_t text_key(std::string_view text);

  int dimension(const std::string& agent) const;  // 0: not fixed yet
  size_t count(const std::string& agent) const;
  size_t count(const std::string& agent, Kind kind) const;
  // The kind of a live entry; nullopt when there is none with that id.
  std::optional<Kind> kind_of(const std::string& agent, const std::string& id) const;
  size_t total() const;
  size_t total(Kind kind) const;
  // The most entries of one kind any agent holds (the fill the bounds are compared with).
  size_t max_count(Kind kind) const;
  // Ids of the n oldest (createdAt) entries of one kind of the agent (eviction candidates).
  std::vector<std::string> oldest(const std::string& agent, Kind kind, size_t n) const;
  // Deletes for entries whose TTL passed.
  std::vector<Op> expired(int64_t now) const;
  // Every live entry with its embedding (snapshots).
  void for_each(const std::function<void(const Entry&)>& fn) const;
  // Drops everything (a full resync).
  void clear();
  // Builds pending HNSW work now (benchmarks, tests).
  void build_indexes();
  // Waits until no agent has more than IndexOptions::max_pending vectors awaiting its graph; false
  // at timeout.
  bool wait_indexed(std::chrono::milliseconds timeout) const;
  size_t index_backlog() const;  // vectors awaiting a graph, all agents
  bool exact_only(const std::string& agent) const;

 private:
  struct Stored {
    Entry entry;  // embedding moved into the index
    VectorIndex::Slot slot;
  };
  struct Agent {
    mutable std::shared_mutex mu;
    std::unique_ptr<VectorIndex> index;
    std::map<std::string, Stored> entries;
    std::vector<Stored*> by_slot;
    std::map<std::string, std::set<VectorIndex::Slot>> sessions;
    std::unordered_map<uint64_t, std::vector<VectorIndex::Slot>> by_text;  // text_key -> slots
    std::set<std::pair<int64_t, std::string>> by_age[2];  // per Kind: (createdAt, id)
  };
  Agent* find(const std::string& agent) const;
  Agent& find_or_add(const std::string& agent);
  static void erase_locked(Agent& a, std::map<std::string, Stored>::iterator it);

  IndexOptions opts_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Agent>> agents_;
};

}  // namespace agentry::memory
