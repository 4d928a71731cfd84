// The changes the console's informers saw, numbered, for the watch stream (GET /api/v1/watch):
// a ring of the last `capacity` changes, so a browser that lists, then watches from the list's
// revision, misses nothing between the two; one that fell further behind is told to list again.
//
//   uint64_t rev = feed.head();                        // with the list
//   auto batch = feed.since(rev, 15s);                 // blocks until something newer or 15 s
//   if (batch.lost) relist(); else for (auto& c : batch.changes) send(c);
//
// Thread-safe (mu_): one writer (the informers' threads) and many readers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agentry::console {

struct Change {
  uint64_t revision = 0;
  std::string kind;  // "agent" | "workflow" | "policy"
  std::string type;  // "ADDED" | "MODIFIED" | "DELETED"
  std::string ns;    // "" for cluster-scoped kinds
  std::string name;
  nlohmann::json object;  // the view the list of that kind shows (api/views.h)
};

class ChangeFeed {
 public:
  explicit ChangeFeed(size_t capacity = 4096) : capacity_(capacity) {}

  void publish(Change c);  // gives it the next revision
  uint64_t head() const;   // the newest revision (0: none yet)

  struct Batch {
    std::vector<Change> changes;
    bool lost = false;     // changes after `after` were dropped from the ring: list again
    bool stopped = false;  // the feed was stopped: no more will come
  };
  // Changes with revision > after, waiting up to `wait` for one; or stop() was called.
  Batch since(uint64_t after, std::chrono::milliseconds wait) const;
  // Wakes every waiter for good (shutdown).
  void stop();

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<Change> ring_;  // guarded by mu_; oldest first
  uint64_t head_ = 0;        // guarded by mu_
  bool stopped_ = false;     // guarded by mu_
};

}  // namespace agentry::console
