// The manager ties the runtime together for a binary: one shared informer per (kind, namespace),
// controllers, leader election, and the operator's HTTP server with /metrics, /healthz, /readyz.
//
//   runtime::Manager mgr(client, {.metrics_addr = ":8081", .leader_elect = true});
//   mgr.add_controller("agent", reconcile)
//       .watches_for(mgr.informer(kube::resources::kAgents), {predicates::generation_changed()})
//       .watches_owned(mgr.informer(kube::resources::kDeployments), kube::resources::kAgents);
//   std::thread([&] { wait_for_termination_signal(); mgr.stop(); }).detach();
//   return mgr.run().ok() ? 0 : 1;
//
// Informers start at once (a standby has a warm cache); controllers start when this process leads
// and every informer has synced. Losing the lease stops the controllers at once and run() returns
// an error (the process should exit, as controller-runtime's does). stop(): controllers drain
// (up to graceful_shutdown), the lease is released, watches stop, the server stops.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/health.h"
#include "common/result.h"
#include "operator/kube/client.h"
#include "operator/runtime/controller.h"
#include "operator/runtime/events.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/leader_election.h"

namespace httplib {
class Server;
}

namespace agentry::runtime {

class Manager {
 public:
  struct Options {
    std::string metrics_addr = ":8081";  // "": no HTTP server; port 0: any free port
    bool leader_elect = false;
    LeaderElectionConfig leader_election;
    int workers = 2;  // per controller, unless its Options say otherwise
    std::chrono::milliseconds graceful_shutdown{10000};
    Informer::Options informer_defaults;
  };

  Manager(std::shared_ptr<kube::Client> client, Options opts);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  const std::shared_ptr<kube::Client>& client() const { return client_; }
  // The shared informer for a kind ("" namespace: all). Started by run() (or at once if running).
  std::shared_ptr<Informer> informer(const kube::Resource& r, const std::string& ns = "");
  // workers <= 0 in opts: the manager's default.
  Controller& add_controller(std::string name, ReconcileFn fn,
                             Controller::Options opts = {.workers = 0});
  EventRecorder& events();
  // Keeps a part the controllers call into (a reconciler) alive for as long as the manager: it is
  // released in ~Manager, after the controllers and informers have stopped. Call before run().
  void keep_alive(std::shared_ptr<void> part);
  HealthChecks& liveness() { return liveness_; }
  HealthChecks& readiness() { return readiness_; }

  // Blocks until stop() (ok) or a lost lease / bind failure (error).
  Status run();
  // Safe from any thread (e.g. the signal thread).
  void stop();

  bool is_leader() const;
  bool controllers_running() const { return controllers_started_.load(); }
  int metrics_port() const { return metrics_port_.load(); }
  bool informers_synced() const;
  std::string identity() const;

 private:
  void start_controllers();
  void stop_controllers(bool drain);

  // Declared first, so destroyed last: controllers and informer handlers call into these parts.
  std::vector<std::shared_ptr<void>> parts_;  // guarded by mu_
  std::shared_ptr<kube::Client> client_;
  Options opts_;
  HealthChecks liveness_, readiness_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Informer>> informers_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<LeaderElector> elector_;
  std::unique_ptr<httplib::Server> server_;
  std::thread server_thread_;
  std::atomic<bool> running_{false};
  bool stop_requested_ = false;
  bool lost_ = false;
  bool want_controllers_ = false;
  std::atomic<bool> controllers_started_{false};
  std::atomic<int> metrics_port_{0};
};

}  // namespace agentry::runtime
