#include "sidecar/api/worker_pool.h"

#include "common/log.h"

namespace agentry::sidecar {

WorkerPool::WorkerPool(size_t max_threads, size_t max_queued, std::chrono::milliseconds idle)
    : max_threads_(max_threads ? max_threads : 1), max_queued_(max_queued), idle_(idle) {}

WorkerPool::~WorkerPool() {
  shutdown();
}

bool WorkerPool::try_submit(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mu_);
  // Jobs beyond what idle threads and threads yet to start will take must fit in the queue.
  if (shutdown_ || jobs_.size() >= max_queued_ + idle_threads_ + (max_threads_ - live_))
    return false;
  jobs_.push_back(std::move(fn));
  if (jobs_.size() > idle_threads_ && live_ < max_threads_) {
    ++live_;
    // Detached: a thread that leaves when idle has nobody to join it; shutdown() waits for live_
    // to reach zero instead.
    std::thread([this] { work(); }).detach();
  }
  lock.unlock();
  has_job_.notify_one();
  return true;
}

void WorkerPool::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_threads_;
    bool woke = has_job_.wait_for(lock, idle_, [&] { return shutdown_ || !jobs_.empty(); });
    --idle_threads_;
    if (jobs_.empty() && (shutdown_ || !woke)) break;
    auto fn = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    try {
      fn();  // jobs catch their own errors; this is the thread's last line of defence
    } catch (const std::exception& e) {
      log::error("worker job threw", {{"error", e.what()}});
    } catch (...) {
      log::error("worker job threw", {});
    }
    fn = nullptr;  // captured state is released outside the lock
    lock.lock();
  }
  --live_;
  exited_.notify_all();
}

void WorkerPool::shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  shutdown_ = true;
  has_job_.notify_all();
  exited_.wait(lock, [&] { return live_ == 0; });
}

size_t WorkerPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

}  // namespace agentry::sidecar
