// The execution engine: admission (bounded concurrency + bounded queue, else 429), idempotency,
// per-execution timeouts, cancellation, bounded retention of finished executions, handing each
// answered exchange to the memory hook (which queues it), and draining on shutdown.
//
// Workers are threads started on demand up to limits.maxConcurrency and retired after a minute
// idle, so an idle sidecar holds few threads and a burst of 1,000 slow provider calls gets 1,000.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "sidecar/config.h"
#include "sidecar/exec/execution.h"
#include "sidecar/exec/pipeline.h"

namespace agentry::sidecar {

class Engine {
 public:
  Engine(const Config& cfg, std::shared_ptr<Provider> provider);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  struct Submitted {
    std::shared_ptr<Execution> execution;
    bool created = true;  // false: an earlier execution with the same Idempotency-Key
  };
  // kResourceExhausted (429) when full, kUnavailable (503) when draining.
  Result<Submitted> submit(ExecutionRequest req);
  std::shared_ptr<Execution> get(const std::string& id) const;
  // kNotFound, or ok (also for an execution already finished: cancel is idempotent).
  Status cancel(const std::string& id);

  struct Page {
    std::vector<std::shared_ptr<Execution>> items;
    std::string next;  // continue token; empty on the last page
  };
  // Oldest first; `cont` is the token from the previous page.
  Result<Page> list(size_t limit, const std::string& cont) const;

  struct DrainReport {
    size_t finished = 0;           // in flight or queued when the drain began, and finished in time
    std::vector<std::string> cut;  // cancelled at the deadline
    size_t memory_updates_flushed = 0;
  };
  // Stops admitting, waits up to `deadline` for what is queued or running, cancels the rest
  // ("shutdown"), then waits (up to 30 s) for the memory hook to flush what it queued. Idempotent.
  DrainReport drain(std::chrono::milliseconds deadline);
  bool draining() const { return draining_.load(); }

  // Drops finished executions beyond `keep` (oldest first); returns how many. A cleanup hook.
  size_t trim_finished(size_t keep);

  void set_memory_hook(std::shared_ptr<MemoryHook> h);
  void set_response_cache_hook(std::shared_ptr<ResponseCacheHook> h);
  Provider& provider() { return *provider_; }
  std::shared_ptr<Provider> provider_ptr() const { return provider_; }
  const Config& config() const { return cfg_; }

  size_t running() const;
  size_t queued() const;
  size_t retained() const;
  size_t threads() const;
  // Seconds a client should wait before retrying after a 429.
  int retry_after_seconds() const;

 private:
  void worker_loop();
  void execute(const std::shared_ptr<Execution>& ex);
  void supervisor_loop();
  void remember(const std::shared_ptr<Execution>& ex, const std::string& output);
  void retire(const std::shared_ptr<Execution>& ex);
  void trim_locked(std::chrono::steady_clock::time_point now);
  void drop_oldest_finished_locked();  // forgets it: id, sequence and idempotency key

  const Config cfg_;
  std::shared_ptr<Provider> provider_;
  Pipeline pipeline_;

  // Locks: mu_ guards the executions and the workers; sup_mu_ only the supervisor's stop flag.
  // Never both at once.
  mutable std::mutex mu_;
  std::condition_variable work_cv_;               // with mu_: work queued or stopping
  std::condition_variable idle_cv_;               // with mu_: something finished (for drain)
  std::deque<std::shared_ptr<Execution>> queue_;  // guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<Execution>> by_id_;  // guarded by mu_
  std::map<uint64_t, std::shared_ptr<Execution>> by_seq_;              // guarded by mu_
  std::unordered_map<std::string, std::string> by_key_;  // idempotency key -> id; guarded by mu_
  std::deque<std::shared_ptr<Execution>> finished_;      // retention order; guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<Execution>> running_;  // guarded by mu_
  uint64_t next_seq_ = 1;                                                // guarded by mu_
  size_t workers_ = 0;                                                   // guarded by mu_
  size_t idle_workers_ = 0;                                              // guarded by mu_
  std::vector<std::thread> threads_;  // guarded by mu_; joined in the destructor
  bool stopping_ = false;             // guarded by mu_
  std::atomic<bool> draining_{false};

  std::thread supervisor_;
  std::mutex sup_mu_;
  std::condition_variable sup_cv_;  // with sup_mu_
  bool sup_stop_ = false;           // guarded by sup_mu_
};

}  // namespace agentry::sidecar
