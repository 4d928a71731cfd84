// A rate-limited, de-duplicating work queue (client-go's workqueue semantics):
//  - a key queued twice before a worker takes it is processed once (the dirty set);
//  - a key being processed is never handed to a second worker; added meanwhile, it is queued
//    again when the first worker calls done() (the processing set);
//  - add_after() delays, add_rate_limited() delays by the rate limiter, forget() clears history.
// Metrics (labelled name=<queue>): workqueue_depth, workqueue_adds_total,
// workqueue_queue_duration_seconds, workqueue_work_duration_seconds, workqueue_retries_total.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "operator/runtime/rate_limiter.h"

namespace prometheus {
class Gauge;
class Counter;
class Histogram;
}  // namespace prometheus

namespace agentry::runtime {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WorkQueue(std::string name,
                     std::unique_ptr<RateLimiter> limiter = default_controller_rate_limiter());
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void add_after(const std::string& key, Duration delay);
  void add_rate_limited(const std::string& key);
  // The same, but never later than max from now (the limiter still counts the retry).
  void add_rate_limited(const std::string& key, Duration max);
  void forget(const std::string& key);
  int num_requeues(const std::string& key);

  // Blocks for the next key; false once the queue is shut down.
  bool get(std::string* key);
  // Marks key finished; if it was added while processing, it is queued again.
  void done(const std::string& key);

  // get() returns false at once in every worker; queued keys are dropped.
  void shut_down();
  // Stops handing out keys, then waits (up to deadline) for keys in process to be done().
  // True if they all finished.
  bool shut_down_with_drain(std::chrono::milliseconds deadline);
  bool shutting_down() const;

  size_t len() const;  // queued, not counting delayed or processing keys
  size_t processing() const;
  size_t waiting() const;  // delayed

 private:
  void add_locked(const std::string& key, Clock::time_point now);
  void delay_loop();

  std::string name_;
  std::unique_ptr<RateLimiter> limiter_;
  mutable std::mutex mu_;
  std::condition_variable cv_;        // workers
  std::condition_variable delay_cv_;  // the delay thread
  std::condition_variable drain_cv_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  std::unordered_map<std::string, Clock::time_point> added_at_;
  std::unordered_map<std::string, Clock::time_point> started_at_;
  // Delayed keys: the earliest ready time per key, and a heap of (time, key) entries (stale
  // entries are skipped when their time no longer matches).
  using Entry = std::pair<Clock::time_point, std::string>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::unordered_map<std::string, Clock::time_point> waiting_;
  bool shutting_down_ = false;
  std::thread delay_thread_;

  prometheus::Gauge* depth_;
  prometheus::Counter* adds_;
  prometheus::Counter* retries_;
  prometheus::Histogram* queue_duration_;
  prometheus::Histogram* work_duration_;
};

}  // namespace agentry::runtime
