// Agent memory: validation, embedding, durability (embedded log or Redis) and search, in front of
// the in-process MemoryStore. Writes are made durable first, then applied, then acknowledged.
//
// recall()/remember() are the execution engine's MemoryHook: remember() only queues (bounded) and a
// worker writes in batches, retrying while the backend is unavailable; when the queue is full the
// caller writes synchronously instead of dropping; shutdown drains the queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "sidecar/memory/backend.h"
#include "sidecar/memory/embedder.h"
#include "sidecar/memory/group_commit.h"
#include "sidecar/memory/log_store.h"
#include "sidecar/memory/memory_store.h"
#include "sidecar/memory/redis_backend.h"
#include "sidecar/redis/redis_pool.h"

namespace agentry::memory {

struct MemoryOptions {
  enum class Persistence { kNone, kEmbedded, kRedis };
  Persistence persistence = Persistence::kNone;
  std::string default_agent = "default";
  Limits limits;
  IndexOptions index;
  LogOptions log;                            // kEmbedded
  std::optional<redis::RedisOptions> redis;  // kRedis
  RedisBackendOptions redis_backend;
  size_t remember_queue = 4096;
  size_t max_pending_writes = 4096;  // add() requests waiting for the group commit; beyond: 503
  Ms index_wait{5000};               // most a write group waits for the index backlog; then 503
  Ms sweep_interval{5000};           // TTL sweep and compaction check
};

struct NewEntry {
  Kind kind = Kind::kFact;
  std::string agent;  // empty: default_agent
  std::string id;     // empty: generated (time-ordered)
  std::string session;
  std::string text;
  std::map<std::string, std::string> metadata;
  std::optional<Vector> embedding;  // none: embedded from text
  int64_t ttl_s = 0;                // 0: no expiry
};

struct SearchRequest {
  std::string agent;
  std::optional<std::string> query;
  std::optional<Vector> vector;
  size_t k = 10;
  float min_score = -1.0f;
  Filter filter;
};

struct SearchResult {
  std::vector<Hit> hits;
  bool exact = true;
  double took_ms = 0;
};

struct RecallHit {
  std::string id;
  std::string text;
  double score;
};

class MemoryService {
 public:
  static Result<std::unique_ptr<MemoryService>> open(MemoryOptions opts,
                                                     std::shared_ptr<Embedder> embedder);
  ~MemoryService();
  MemoryService(const MemoryService&) = delete;
  MemoryService& operator=(const MemoryService&) = delete;

  // Validates, embeds and makes the batch durable (a group commit shared with concurrent writers),
  // then applies it. The entries as stored, without embeddings.
  Result<std::vector<Entry>> add(std::vector<NewEntry> batch);
  // add() without waiting: validation and embedding run on the calling thread (so only where the
  // embedder does not block), and `done` runs once, on the calling thread for bad input, else on
  // the committer thread once the write is durable and applied (or failed). kUnavailable (503)
  // when too many writes are waiting already.
  using AddDone = std::function<void(Result<std::vector<Entry>>)>;
  void add_async(std::vector<NewEntry> batch, AddDone done);
  Result<Entry> get(const std::string& agent, const std::string& id, bool with_embedding);
  Status remove(const std::string& agent, const std::string& id);
  Result<MemoryStore::Page> list(const std::string& agent, const Filter& filter, size_t limit,
                                 const std::string& after);
  Result<SearchResult> search(SearchRequest req);

  std::vector<RecallHit> recall(const std::string& agent, const std::string& session,
                                const std::string& query, int k);
  void remember(const std::string& agent, const std::string& session, const std::string& input,
                const std::string& output);
  // Waits until every remember() so far is written (or fails to be); tests and shutdown.
  void drain();
  bool drain_for(Ms timeout);
  // remember() calls queued or being written.
  size_t remember_pending() const;

  Status compact();  // embedded: rotate the log and snapshot now
  // Evictions by kind and reason (bound: a write over the kind's bound; ttl: expired).
  struct Evictions {
    uint64_t fact_bound = 0, fact_ttl = 0, exchange_bound = 0, exchange_ttl = 0;
    int64_t last_ms = 0;  // unix ms of the newest, 0: none yet
  };
  Evictions evictions() const;
  // The numbers the sidecar's gauges copy at each scrape (stats() has them too).
  struct WriteStats {
    size_t entries = 0;
    size_t facts = 0, exchanges = 0;  // all agents
    // The fullest agent's share of each kind's bound (what alerts and the Agent's status read).
    double fill_facts = 0, fill_exchanges = 0;
    uint64_t refused_full = 0;  // fact writes refused at memory.maxEntries
    size_t waiting = 0;         // add() requests waiting for the group commit
    uint64_t groups = 0;
    size_t index_backlog = 0;
    uint64_t refused_index_behind = 0;
  };
  WriteStats write_stats() const;
  nlohmann::json stats() const;
  std::string degraded_reason() const;
  const std::string& agent_or_default(const std::string& agent) const;
  const MemoryOptions& options() const { return opts_; }
  MemoryStore& store() { return store_; }
  Embedder& embedder() { return *embedder_; }
  RedisBackend* redis_backend() { return redis_backend_; }

 private:
  MemoryService(MemoryOptions opts, std::shared_ptr<Embedder> embedder);
  Status validate(const NewEntry& e) const;
  Status commit_and_apply(const std::vector<Op>& ops);  // one request, not through the committer
  struct PreparedAdd {
    std::vector<Op> ops;     // the puts, then the evictions they cause
    std::vector<Entry> out;  // what to answer
  };
  Result<PreparedAdd> prepare_add(std::vector<NewEntry> batch);
  void flush_group(std::vector<GroupCommitter::Request>& group);  // waits for the index first
  void write_group(std::vector<GroupCommitter::Request>& group);  // one backend commit, then apply
  void remember_loop();
  // Drops exchanges already stored in the same agent and session (see remember_loop).
  void drop_repeated(std::vector<NewEntry>* batch, std::vector<uint64_t>* keys);
  void maintenance_loop();
  // Counts evictions (deletes with entry.kind set) and logs a warning at most once a minute.
  void count_evictions(const std::vector<Op>& deletes, bool ttl);

  MemoryOptions opts_;
  std::shared_ptr<Embedder> embedder_;
  MemoryStore store_;
  std::unique_ptr<redis::RedisPool> pool_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<GroupCommitter> committer_;  // add()'s writes; before backend_ goes
  LogStore* log_ = nullptr;
  RedisBackend* redis_backend_ = nullptr;
  // Locks: gate_ is held shared by every write and alone by compaction's log rotation; q_mu_
  // guards the remember queue and the stop flag (q_cv_: work, q_done_cv_: drained, m_cv_: the
  // maintenance thread's sleep). The two are never held together.
  std::shared_mutex gate_;
  std::atomic<bool> compacting_{false};

  mutable std::mutex q_mu_;
  std::condition_variable q_cv_, q_done_cv_, m_cv_;
  std::deque<NewEntry> queue_;  // guarded by q_mu_
  size_t in_flight_ = 0;        // guarded by q_mu_
  bool stop_ = false;           // guarded by q_mu_
  std::atomic<uint64_t> remember_written_{0}, remember_failed_{0}, remember_repeated_{0},
      index_refused_{0}, refused_full_{0};
  // [kind][reason: 0 bound, 1 ttl]
  std::atomic<uint64_t> evicted_[2][2] = {};
  std::atomic<int64_t> last_eviction_ms_{0}, last_eviction_log_ms_{0},
      last_remember_error_log_ms_{0};
  // Recently remembered exchanges: hash of (agent, session, text) -> entry id; bounded, and only
  // touched by the remember thread.
  std::unordered_map<uint64_t, std::string> remembered_;
  std::thread remember_, maintenance_;
};

}  // namespace agentry::memory
