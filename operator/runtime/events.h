// An Event recorder (events.k8s.io/v1) that cannot flood the API server:
//  - aggregation: the same (object, type, reason, action, note) within 10 minutes patches the
//    existing Event's series (count, lastObservedTime) instead of creating a new object;
//  - a token bucket per object (burst 25, one token per 5 minutes, client-go's spam filter):
//    beyond it events are dropped and counted.
// record() is synchronous and cheap when aggregated; errors are logged, never returned (events
// are best effort).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "operator/kube/client.h"
#include "operator/kube/token_bucket.h"

namespace agentry::runtime {

class EventRecorder {
 public:
  struct Options {
    std::string controller = "agentry.dev/operator";  // reportingController
    std::string instance{};                           // reportingInstance (default: hostname)
    std::chrono::seconds aggregation_window{600};
    double per_object_qps = 1.0 / 300;
    int per_object_burst = 25;
  };
  struct Stats {
    uint64_t created = 0, aggregated = 0, dropped = 0, failed = 0;
  };

  EventRecorder(std::shared_ptr<kube::Client> client, Options opts);

  // type: "Normal" or "Warning".
  void record(const nlohmann::json& regarding, std::string_view type, std::string_view reason,
              std::string_view action, std::string_view note);
  Stats stats() const;

 private:
  struct Series {
    std::string ns, name;
    int count = 1;
    std::chrono::steady_clock::time_point first;
  };
  std::shared_ptr<kube::Client> client_;
  Options opts_;
  mutable std::mutex mu_;
  std::map<std::string, Series> series_;  // aggregation key -> the Event written
  std::map<std::string, std::unique_ptr<kube::TokenBucket>> buckets_;  // object uid -> bucket
  Stats stats_;
};

}  // namespace agentry::runtime
