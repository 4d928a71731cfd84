// Batches the writes of concurrent requests into one durable commit.
//
// A request thread (or an I/O thread that must not block) submits its operations with a callback;
// one committer thread takes everything queued, hands the whole group to `flush` (one backend
// round trip and one fsync for all of them), and then runs each callback with that request's
// status. Without it every request held a thread through its own commit, and the hand-offs
// between those threads cost more CPU than the write itself.
//
// Bounded: submit() refuses once max_pending requests are waiting, so a slow backend turns into
// 503s instead of unbounded memory. The destructor flushes what is queued before it returns.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"
#include "sidecar/memory/types.h"

namespace agentry::memory {

class GroupCommitter {
 public:
  using Done = std::function<void(const Status&)>;
  struct Request {
    std::vector<Op> ops;
    Done done;
    Status result;
  };
  // Makes every request of the group durable and sets each one's result.
  using Flush = std::function<void(std::vector<Request>& group)>;

  GroupCommitter(Flush flush, size_t max_pending);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // false (done is not called) when max_pending requests are already waiting or it is stopping.
  bool submit(std::vector<Op> ops, Done done);
  // Submits and waits; refused() when refused.
  Status commit(std::vector<Op> ops);
  // What a refused write answers: kUnavailable, 503.
  static Status refused();

  size_t pending() const;
  uint64_t groups() const;  // flushes so far (requests / groups is the batching achieved)

 private:
  void loop();

  const Flush flush_;
  const size_t max_pending_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> queue_;
  bool stop_ = false;
  uint64_t groups_ = 0;
  std::thread thread_;
};

}  // namespace agentry::memory
