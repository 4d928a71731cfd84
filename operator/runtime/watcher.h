// The list+watch loop for one kind (kube-rs's watcher, client-go's Reflector without the store):
// list (paged), then watch from the list's resourceVersion with bookmarks and a random 5-10 min
// timeoutSeconds, re-watch from the last seen resourceVersion when a watch ends, relist on
// 410 Gone / Expired (HTTP 410 or an ERROR event with code 410), back off 800 ms -> 30 s with
// jitter on errors, reset after 2 quiet minutes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "operator/kube/client.h"
#include "operator/kube/resource.h"

namespace agentry::runtime {

struct WatcherEvent {
  enum class Type { kRestarted, kApplied, kDeleted };
  Type type;
  std::vector<nlohmann::json> objects;  // kRestarted: the full list
  nlohmann::json object;                // kApplied, kDeleted
};

struct WatcherOptions {
  std::string ns;  // "" = all namespaces
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  int min_timeout_seconds = 300;
  int max_timeout_seconds = 600;
  // Applied to every object as it arrives (list pages and events), before the sink sees it;
  // the informer drops managedFields here so a big initial list never holds them all at once.
  std::function<void(nlohmann::json&)> transform{};
  // Retries of a failed list or watch: 0.5 s doubling to 2 s, times up to 2 with jitter, so a
  // watch is back within about 4 s of the API server (client-go waits up to 30 s; after a restart
  // that left every kind's watch asleep long after the server was ready). A few requests a second
  // while the server is down cost it nothing.
  BackoffPolicy backoff{
      std::chrono::milliseconds(500), std::chrono::milliseconds(2000), 2.0, 1.0, false,
      std::chrono::minutes(2)};
};

class Watcher {
 public:
  using Options = WatcherOptions;

  Watcher(std::shared_ptr<kube::Client> client, kube::Resource resource, Options opts);

  // Runs until stop(); calls sink on this thread, in order. Blocking.
  void run(const std::function<void(WatcherEvent&&)>& sink);
  // Safe from any thread; run() returns promptly (the stream's socket is shut down).
  void stop();
  bool stopping() const { return stop_.load(); }

  std::string resource_version() const;
  uint64_t lists() const { return lists_.load(); }  // initial list + relists
  uint64_t watches() const { return watches_.load(); }

 private:
  bool sleep_for(std::chrono::milliseconds d);  // false if stopped meanwhile
  Status list_all(WatcherEvent* ev, std::string* rv);

  std::shared_ptr<kube::Client> client_;
  kube::Resource resource_;
  Options opts_;
  kube::StreamCanceller canceller_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string rv_;
  std::atomic<uint64_t> lists_{0};
  std::atomic<uint64_t> watches_{0};
};

}  // namespace agentry::runtime
