#include "sidecar/memory/group_commit.h"

#include <future>

#include "common/guarded.h"

namespace agentry::memory {

GroupCommitter::GroupCommitter(Flush flush, size_t max_pending)
    : flush_(std::move(flush)), max_pending_(max_pending) {
  thread_ = std::thread([this] { run_guarded("memory-group-commit", [this] { loop(); }); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool GroupCommitter::submit(std::vector<Op> ops, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || queue_.size() >= max_pending_) return false;
    queue_.push_back({std::move(ops), std::move(done), ok_status()});
  }
  cv_.notify_one();
  return true;
}

Status GroupCommitter::commit(std::vector<Op> ops) {
  auto result = std::make_shared<std::promise<Status>>();
  auto future = result->get_future();
  if (!submit(std::move(ops), [result](const Status& s) { result->set_value(s); }))
    return refused();
  return future.get();
}

Status GroupCommitter::refused() {
  return Status(Code::kUnavailable, "memory write queue full; retry later", 503);
}

size_t GroupCommitter::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

uint64_t GroupCommitter::groups() const {
  std::lock_guard<std::mutex> lock(mu_);
  return groups_;
}

void GroupCommitter::loop() {
  std::vector<Request> group;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is flushed
    group.swap(queue_);
    ++groups_;
    lock.unlock();
    flush_(group);
    for (auto& r : group) r.done(r.result);
    group.clear();
    lock.lock();
  }
}

}  // namespace agentry::memory
