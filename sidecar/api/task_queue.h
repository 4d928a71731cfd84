// cpp-httplib's connection task queue, sized from the config. The stock ThreadPool has an unbounded
// job list; this one holds at most `max_queued` accepted connections and then blocks the accept
// thread, which pushes back into the kernel's listen backlog instead of growing memory.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace agentry::sidecar {

class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t threads, size_t max_queued);
  ~BoundedTaskQueue() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void work();
  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable has_job_, has_room_;
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace agentry::sidecar
