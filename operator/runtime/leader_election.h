// Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection with LeaseLock).
//
// A candidate polls every retry_period; it takes the lease when it is free (no holder, or the
// holder released it) or when the record it observed has not changed for lease_duration (measured
// on the local clock from when the change was seen, so clock skew does not matter). The leader
// renews every retry_period; if it cannot renew within renew_deadline it steps down and calls
// on_stopped_leading at once. stop() releases a held lease (holder "" and a 1 s duration); a
// standby watches the Lease while it campaigns, so it takes over at once instead of waiting for
// expiry or its next poll.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "operator/kube/client.h"

namespace agentry::runtime {

struct LeaderElectionConfig {
  std::string lease_namespace = "default";
  std::string lease_name = "agentry-operator";
  std::string identity;  // default: hostname_uuid
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
};

std::string default_identity();  // hostname_<random uuid>

class LeaderElector {
 public:
  LeaderElector(std::shared_ptr<kube::Client> client, LeaderElectionConfig cfg,
                std::function<void()> on_started_leading, std::function<void()> on_stopped_leading);

  // Campaigns, then leads until stop() or the lease is lost. Blocking. Returns true if it
  // stopped because of stop() (false: lost the lease).
  bool run();
  // Wakes run(); a held lease is released before run() returns.
  void stop();
  bool is_leader() const { return leader_.load(); }
  const std::string& identity() const { return cfg_.identity; }
  // What the last poll saw ("" when free or unknown).
  std::string observed_holder() const;

  // The lease spec this candidate would write over `current` (nullptr: no lease yet). Pure.
  static nlohmann::json next_spec(const nlohmann::json* current, const std::string& identity,
                                  std::chrono::milliseconds lease_duration,
                                  const std::string& now_micro);

 private:
  // One attempt: true if this candidate holds the lease afterwards.
  bool try_acquire_or_renew();
  void release();
  bool wait(std::chrono::milliseconds d);  // false if stopped; returns early when poked
  std::chrono::milliseconds until_observed_expiry() const;
  // Watches the Lease while campaigning: a release (or any change) wakes the candidate at once
  // instead of at its next poll, so a graceful hand-over takes a round trip, not a retry period.
  void watch_lease();
  void set_leader(bool v);

  std::shared_ptr<kube::Client> client_;
  LeaderElectionConfig cfg_;
  std::function<void()> on_started_, on_stopped_;
  std::atomic<bool> leader_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> campaigning_{false};
  bool poked_ = false;
  bool watch_done_ = false;
  kube::StreamCanceller lease_watch_cancel_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // The record as last observed and when (local clock).
  std::string observed_holder_;
  std::string observed_renew_;
  int observed_duration_s_ = 0;
  std::chrono::steady_clock::time_point observed_at_{};
};

}  // namespace agentry::runtime
