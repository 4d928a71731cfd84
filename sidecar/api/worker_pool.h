// The HTTP server's pool for handlers that may block. Threads start on demand up to `max_threads`
// and leave after `idle` without work, so an idle sidecar holds none; at most `max_queued` jobs
// wait, beyond that try_submit() refuses and the server answers 503 (backpressure, not memory).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace agentry::sidecar {

class WorkerPool {
 public:
  WorkerPool(size_t max_threads, size_t max_queued,
             std::chrono::milliseconds idle = std::chrono::seconds(60));
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full or the pool is shut down; fn is then not run.
  bool try_submit(std::function<void()> fn);
  // Runs every job already submitted, then joins the threads.
  void shutdown();
  size_t threads() const;
  size_t queued() const;

 private:
  void work();
  const size_t max_threads_, max_queued_;
  const std::chrono::milliseconds idle_;
  mutable std::mutex mu_;
  std::condition_variable has_job_, exited_;
  std::deque<std::function<void()>> jobs_;
  size_t live_ = 0, idle_threads_ = 0;
  bool shutdown_ = false;
};

}  // namespace agentry::sidecar
