// An informer: a Watcher feeding a Store, and event handlers called in watch order on the
// informer's thread (they should only enqueue). On a relist the store is replaced and the
// differences become add/update/delete events, so objects that vanished while the watch was
// broken are deleted (client-go's DeletedFinalStateUnknown, with the last known object).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/resource.h"
#include "operator/runtime/store.h"
#include "operator/runtime/watcher.h"

namespace agentry::runtime {

struct EventHandler {
  std::function<void(const ObjectPtr&)> on_add;
  std::function<void(const ObjectPtr& old_obj, const ObjectPtr& new_obj)> on_update;
  std::function<void(const ObjectPtr&)> on_delete;
};

struct InformerOptions {
  Watcher::Options watcher;
  std::chrono::milliseconds resync{0};  // 0: no periodic resync
  // Applied to every object before it is stored (after managedFields are dropped).
  std::function<void(nlohmann::json&)> transform{};
  bool strip_managed_fields = true;
};

class Informer {
 public:
  using Options = InformerOptions;

  Informer(std::shared_ptr<kube::Client> client, kube::Resource resource, Options opts = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  const kube::Resource& resource() const { return resource_; }
  const std::string& ns() const { return opts_.watcher.ns; }
  Store& store() { return store_; }
  const Store& store() const { return store_; }

  // Handlers added after start() first get on_add for every stored object.
  void add_handler(EventHandler h);
  void add_index(const std::string& name, IndexFunc fn) { store_.add_index(name, std::move(fn)); }

  void start();
  // Stops the watch promptly (well under a second) and joins the thread.
  void stop();
  bool running() const { return running_.load(); }
  bool has_synced() const { return synced_.load(); }
  bool wait_for_sync(std::chrono::milliseconds timeout) const;
  const Watcher& watcher() const { return watcher_; }

 private:
  void on_event(WatcherEvent&& ev);
  void dispatch_add(const ObjectPtr& o);
  void dispatch_update(const ObjectPtr& old_obj, const ObjectPtr& o);
  void dispatch_delete(const ObjectPtr& o);
  void resync_loop();

  kube::Resource resource_;
  Options opts_;
  Store store_;
  Watcher watcher_;
  // Locks: handlers_mu_ guards handlers_ and also serializes dispatch, so handlers see events in
  // order; mu_ (with cv_) only the thread's start and finish. Never both at once.
  std::mutex handlers_mu_;
  std::vector<EventHandler> handlers_;  // guarded by handlers_mu_
  std::atomic<bool> running_{false};
  std::atomic<bool> synced_{false};
  std::atomic<bool> finished_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::thread thread_;
  std::thread resync_thread_;
};

}  // namespace agentry::runtime
