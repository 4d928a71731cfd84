#include "operator/runtime/workqueue.h"

#include <algorithm>

#include "common/guarded.h"
#include "common/metrics.h"
#include "operator/runtime/metrics.h"

namespace agentry::runtime {

WorkQueue::WorkQueue(std::string name, std::unique_ptr<RateLimiter> limiter)
    : name_(std::move(name)), limiter_(std::move(limiter)) {
  auto& m = runtime_metrics();
  depth_ = &m.workqueue_depth.Add({{"name", name_}});
  adds_ = &m.workqueue_adds.Add({{"name", name_}});
  retries_ = &m.workqueue_retries.Add({{"name", name_}});
  queue_duration_ = &m.workqueue_queue_duration.Add({{"name", name_}}, metrics::latency_buckets());
  work_duration_ = &m.workqueue_work_duration.Add({{"name", name_}}, metrics::latency_buckets());
  delay_thread_ = std::thread([this] { run_guarded("workqueue-delay", [this] { delay_loop(); }); });
}

WorkQueue::~WorkQueue() {
  shut_down();
  if (delay_thread_.joinable()) delay_thread_.join();
}

void WorkQueue::add_locked(const std::string& key, Clock::time_point now) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // already queued
  adds_->Increment();
  if (processing_.count(key)) return;  // queued again by done()
  queue_.push_back(key);
  added_at_.emplace(key, now);
  depth_->Set(static_cast<double>(queue_.size()));
  cv_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  add_locked(key, Clock::now());
}

void WorkQueue::add_after(const std::string& key, Duration delay) {
  if (delay.count() <= 0) return add(key);
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  auto ready = Clock::now() + std::chrono::duration_cast<Clock::duration>(delay);
  auto it = waiting_.find(key);
  if (it != waiting_.end() && it->second <= ready) return;  // already due sooner
  waiting_[key] = ready;
  heap_.emplace(ready, key);
  delay_cv_.notify_one();
}

void WorkQueue::add_rate_limited(const std::string& key) {
  retries_->Increment();
  add_after(key, limiter_->when(key));
}

void WorkQueue::add_rate_limited(const std::string& key, Duration max) {
  retries_->Increment();
  add_after(key, std::min(limiter_->when(key), max));
}

void WorkQueue::forget(const std::string& key) {
  limiter_->forget(key);
}
int WorkQueue::num_requeues(const std::string& key) {
  return limiter_->num_requeues(key);
}

void WorkQueue::delay_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    auto now = Clock::now();
    while (!heap_.empty() && heap_.top().first <= now) {
      Entry e = heap_.top();
      heap_.pop();
      auto it = waiting_.find(e.second);
      if (it == waiting_.end() || it->second != e.first) continue;  // stale entry
      waiting_.erase(it);
      add_locked(e.second, now);
    }
    if (heap_.empty()) {
      delay_cv_.wait(lock);
    } else {
      // A copy: while we wait the lock is released and pushes may reallocate the heap.
      const auto until = heap_.top().first;
      delay_cv_.wait_until(lock, until);
    }
  }
}

bool WorkQueue::get(std::string* key) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return shutting_down_ || !queue_.empty(); });
  if (shutting_down_) return false;
  *key = std::move(queue_.front());
  queue_.pop_front();
  depth_->Set(static_cast<double>(queue_.size()));
  auto now = Clock::now();
  if (auto it = added_at_.find(*key); it != added_at_.end()) {
    queue_duration_->Observe(std::chrono::duration<double>(now - it->second).count());
    added_at_.erase(it);
  }
  started_at_[*key] = now;
  processing_.insert(*key);
  dirty_.erase(*key);
  return true;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (auto it = started_at_.find(key); it != started_at_.end()) {
    work_duration_->Observe(std::chrono::duration<double>(Clock::now() - it->second).count());
    started_at_.erase(it);
  }
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    added_at_.emplace(key, Clock::now());
    depth_->Set(static_cast<double>(queue_.size()));
    cv_.notify_one();
  }
  if (processing_.empty()) drain_cv_.notify_all();
}

void WorkQueue::shut_down() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
  delay_cv_.notify_all();
}

bool WorkQueue::shut_down_with_drain(std::chrono::milliseconds deadline) {
  shut_down();
  std::unique_lock<std::mutex> lock(mu_);
  return drain_cv_.wait_for(lock, deadline, [&] { return processing_.empty(); });
}

bool WorkQueue::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}
size_t WorkQueue::processing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return processing_.size();
}
size_t WorkQueue::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

}  // namespace agentry::runtime
