// The Redis backend: entries live in Redis, one hash per entry (<prefix>e:<agent>:<id> with the
// encoded entry under "data" plus readable session/text/createdAt fields), and every change is
// also appended to a Redis Stream (<prefix>feed) in the same MULTI/EXEC. Each replica loads all
// entries at start, then follows the stream on a dedicated connection (XREAD BLOCK) from the id
// it last applied, so after a restart or an outage it catches up with what it missed. If the
// stream was trimmed past that id, the replica reloads everything.
//
// Every write runs one Lua script (EVALSHA; atomic in Redis): it checks the bounds of bounds.h
// against per-agent, per-kind sorted sets (<prefix>z:<agent>:<kind>, scored by createdAt;
// <prefix>x:<agent>:<kind> scored by expiry drops expired entries from the count), refuses or
// evicts, and writes the hashes, the sets and the feed records together (one stream entry per
// request, its ops in order as repeated "op" fields, then its evictions). So replicas sharing one
// Redis cannot overshoot a bound together, and evictions reach every replica through the feed.
// Sets missing from data written before kinds existed are rebuilt once at load (<prefix>zver).
// The script derives its keys from the prefix: one Redis (or one cluster slot), not a cluster.
//
// A write is acknowledged after the script succeeds; with Redis' appendonly + appendfsync always
// (the tests' setting, recommended in the docs) an acknowledged write survives a Redis crash too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sidecar/memory/backend.h"
#include "sidecar/memory/embedder_mark.h"
#include "sidecar/redis/redis_pool.h"

namespace agentry::memory {

// Pure readers of the stream replies the backend gets (XREAD, XRANGE, XREVRANGE): whatever Redis,
// a proxy or a corrupt AOF sends, malformed parts are skipped and nothing throws.

// A stream entry id "<ms>-<seq>" as a comparable pair; nullopt when it is not one.
std::optional<std::pair<uint64_t, uint64_t>> parse_stream_id(std::string_view id);
// The first entry's id of an XRANGE/XREVRANGE reply; "" when there is none.
std::string first_stream_id(const redis::Reply& range);
// The entries of an XREAD reply ([[stream, [[id, [field, value, ...]], ...]], ...]) in order: each
// id with the values of its "op" fields.
struct FeedItem {
  std::string id;
  std::vector<std::string> ops;
};
std::vector<FeedItem> feed_items(const redis::Reply& xread);

// The write script's reply for n requests: per request ["ok", agent, kind, id, ...evicted] or
// ["full", agent]. kInternal for anything else.
struct ScriptOutcome {
  bool full = false;
  std::string full_agent;
  std::vector<Op> evictions;  // deletes, entry.kind set
};
Result<std::vector<ScriptOutcome>> parse_write_reply(const redis::Reply& reply, size_t n);

struct RedisBackendOptions {
  std::string prefix = "agentry:mem:";
  size_t stream_maxlen = 1000000;  // approximate trim (MAXLEN ~)
  Ms block{1000};                  // XREAD BLOCK
  EmbedderMark mark;               // checked before each full load; <prefix>embedder (SET NX)
};

class RedisBackend : public Backend {
 public:
  RedisBackend(redis::RedisPool& pool, RedisBackendOptions opts);
  ~RedisBackend() override;

  Status open(const Apply& apply) override;
  // commit() without bounds (deletes; tests).
  Status commit(const std::vector<Op>& ops) override;
  // The requests in order, each all or nothing, the bounds of `limits` enforced in Redis (see the
  // top of this file). An error Status for all when Redis cannot be reached or fails the script.
  Result<std::vector<ScriptOutcome>> commit_bounded(
      const std::vector<const std::vector<Op>*>& requests, const Limits& limits);
  std::string degraded_reason() const override;
  std::string name() const override { return "redis"; }

  bool following() const { return following_.load(); }
  std::string last_id() const;
  uint64_t applied() const { return applied_.load(); }
  // Set before open(): called before a full reload so the store can be cleared.
  std::function<void()> on_reload;

 private:
  Status load_all(std::string* last_id);
  void follow_loop();
  std::string entry_key(const Entry& e) const;
  Result<redis::Reply> run_script(const redis::Argv& args);
  Status migrate_sets(const std::vector<Entry>& entries);
  void set_load_error(const std::string& why);

  redis::RedisPool& pool_;
  RedisBackendOptions opts_;
  Apply apply_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string last_id_ = "0-0";
  std::string script_sha_;  // guarded by mu_; empty until SCRIPT LOAD
  std::string load_error_;  // guarded by mu_; why the last full load failed ("" : it did not)
  bool stop_ = false;
  std::atomic<bool> following_{false};
  std::atomic<bool> need_load_{false};
  std::atomic<uint64_t> applied_{0};
  std::thread follower_;
};

}  // namespace agentry::memory
