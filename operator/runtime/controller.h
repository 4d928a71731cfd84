// A controller: event sources (informers) map objects to keys, a work queue de-duplicates and
// rate-limits them, N workers call reconcile(key).
//
//   auto& c = mgr.add_controller("agent", reconcile_agent);
//   c.watches_for(mgr.informer(kube::resources::kAgents), {predicates::generation_changed()});
//   c.watches_owned(mgr.informer(kube::resources::kDeployments), kube::resources::kAgents);
//
// reconcile returns ReconcileResult (requeue / requeue_after) or an error Status. Errors are
// retried with the queue's backoff, unless marked terminal(), which are logged and dropped until
// the object changes again.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/workqueue.h"

namespace agentry::runtime {

struct ReconcileResult {
  bool requeue = false;                        // again, with the rate limiter's backoff
  std::chrono::milliseconds requeue_after{0};  // again after this long (wins over requeue)
};

using ReconcileFn = std::function<Result<ReconcileResult>(const kube::ObjectKey&)>;

// A Status that must not be retried (bad spec, missing permissions the user must fix).
Status terminal(Status s);
bool is_terminal(const Status& s);

// Filters update events (adds and deletes always pass). All predicates must agree.
using Predicate = std::function<bool(const ObjectPtr& old_obj, const ObjectPtr& new_obj)>;
namespace predicates {
Predicate generation_changed();        // spec changes, not status-only writes
Predicate resource_version_changed();  // drops periodic resyncs
Predicate labels_changed();
Predicate annotations_changed();
}  // namespace predicates

using MapFn = std::function<std::vector<kube::ObjectKey>(const nlohmann::json&)>;

// Maps an owned object to its controlling owner (ownerReference controller=true of owner's kind).
MapFn map_to_controller_owner(const kube::Resource& owner);

struct ControllerOptions {
  int workers = 2;
  std::function<std::unique_ptr<RateLimiter>()> rate_limiter{};  // default controller limiter
  std::chrono::milliseconds drain_deadline{10000};
};

class Controller {
 public:
  using Options = ControllerOptions;

  Controller(std::string name, ReconcileFn fn, Options opts = {});
  ~Controller();

  const std::string& name() const { return name_; }
  WorkQueue& queue() { return *queue_; }

  // The object's own key.
  Controller& watches_for(const std::shared_ptr<Informer>& informer,
                          std::vector<Predicate> predicates = {});
  // The controlling owner's key.
  Controller& watches_owned(const std::shared_ptr<Informer>& informer, const kube::Resource& owner,
                            std::vector<Predicate> predicates = {});
  // Whatever map returns (e.g. every Agent that uses a changed AgentPolicy).
  Controller& watches(const std::shared_ptr<Informer>& informer, MapFn map,
                      std::vector<Predicate> predicates = {});

  // Starts the workers (keys queued before start are processed then).
  void start();
  // Stops workers. drain: let reconciles in flight finish (up to Options::drain_deadline).
  void stop(bool drain);
  bool running() const { return running_.load(); }

  uint64_t reconciles() const { return reconciles_.load(); }

 private:
  void worker();
  void process(const std::string& key);

  std::string name_;
  ReconcileFn fn_;
  Options opts_;
  std::unique_ptr<WorkQueue> queue_;
  std::vector<std::thread> workers_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> reconciles_{0};
  std::vector<std::shared_ptr<Informer>> sources_;  // keeps handlers' targets alive
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace agentry::runtime
