#include "operator/runtime/informer.h"

#include <malloc.h>

#include "common/guarded.h"
#include "common/log.h"
#include "operator/kube/object.h"

namespace agentry::runtime {

namespace {

// The informer's transforms run in the watcher, as each object arrives. Items of a List carry
// no apiVersion/kind (watch events do); set them so every cached object is self-describing
// (Events and owner references built from it need both).
InformerOptions with_transform(InformerOptions o, const kube::Resource& r) {
  auto user = o.transform;
  bool strip = o.strip_managed_fields;
  std::string api_version = r.api_version(), kind = r.kind;
  o.watcher.transform = [strip, user, api_version, kind](nlohmann::json& j) {
    if (j.is_object()) {
      if (!j.contains("apiVersion")) j["apiVersion"] = api_version;
      if (!j.contains("kind")) j["kind"] = kind;
    }
    if (strip) kube::strip_managed_fields(j);
    if (user) user(j);
  };
  return o;
}

}  // namespace

Informer::Informer(std::shared_ptr<kube::Client> client, kube::Resource resource, Options opts)
    : resource_(resource),
      opts_(with_transform(std::move(opts), resource)),
      watcher_(std::move(client), resource, opts_.watcher) {}

Informer::~Informer() {
  stop();
}

void Informer::add_handler(EventHandler h) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  if (running_ && h.on_add) {
    for (const auto& o : store_.list()) h.on_add(o);
  }
  handlers_.push_back(std::move(h));
}

void Informer::start() {
  if (running_.exchange(true)) return;
  finished_ = false;
  thread_ = std::thread([this] {
    run_guarded("informer-watch",
                [this] { watcher_.run([this](WatcherEvent&& ev) { on_event(std::move(ev)); }); });
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    cv_.notify_all();
  });
  if (opts_.resync.count() > 0)
    resync_thread_ =
        std::thread([this] { run_guarded("informer-resync", [this] { resync_loop(); }); });
}

void Informer::stop() {
  if (!running_) return;
  watcher_.stop();
  {
    // A cancel that raced with the connect is repeated until the thread is out.
    std::unique_lock<std::mutex> lock(mu_);
    while (!finished_) {
      if (cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished_.load(); }))
        break;
      lock.unlock();
      watcher_.stop();
      lock.lock();
    }
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
  running_ = false;
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return synced_.load() || finished_.load(); }) &&
         synced_.load();
}

void Informer::resync_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!finished_ && !watcher_.stopping()) {
    cv_.wait_for(lock, opts_.resync, [&] { return finished_.load() || watcher_.stopping(); });
    if (finished_ || watcher_.stopping()) break;
    lock.unlock();
    for (const auto& o : store_.list()) dispatch_update(o, o);
    lock.lock();
  }
}

void Informer::dispatch_add(const ObjectPtr& o) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  for (auto& h : handlers_) {
    if (h.on_add) h.on_add(o);
  }
}
void Informer::dispatch_update(const ObjectPtr& old_obj, const ObjectPtr& o) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  for (auto& h : handlers_) {
    if (h.on_update) h.on_update(old_obj, o);
  }
}
void Informer::dispatch_delete(const ObjectPtr& o) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  for (auto& h : handlers_) {
    if (h.on_delete) h.on_delete(o);
  }
}

void Informer::on_event(WatcherEvent&& ev) {
  auto prepare = [](nlohmann::json&& j) {
    return std::make_shared<const nlohmann::json>(std::move(j));
  };
  switch (ev.type) {
    case WatcherEvent::Type::kRestarted: {
      std::vector<ObjectPtr> objs;
      objs.reserve(ev.objects.size());
      for (auto& j : ev.objects) objs.push_back(prepare(std::move(j)));
      ev.objects.clear();
      ev.objects.shrink_to_fit();
      auto old = store_.replace(objs);
      for (const auto& o : objs) {
        auto it = old.find(store_key(*o));
        if (it == old.end()) {
          dispatch_add(o);
        } else {
          if (kube::resource_version(*it->second) != kube::resource_version(*o)) {
            dispatch_update(it->second, o);
          }
          old.erase(it);
        }
      }
      for (const auto& [_, gone] : old) dispatch_delete(gone);  // vanished while not watching
      old.clear();
      malloc_trim(0);  // give the list's transient pages back to the OS
      if (!synced_.exchange(true)) {
        std::lock_guard<std::mutex> lock(mu_);
        cv_.notify_all();
        log::debug("informer synced", {{"resource", resource_.plural}, {"objects", objs.size()}});
      }
      break;
    }
    case WatcherEvent::Type::kApplied: {
      ObjectPtr o = prepare(std::move(ev.object));
      ObjectPtr old = store_.upsert(o);
      if (old) {
        dispatch_update(old, o);
      } else {
        dispatch_add(o);
      }
      break;
    }
    case WatcherEvent::Type::kDeleted: {
      ObjectPtr o = prepare(std::move(ev.object));
      store_.erase(store_key(*o));
      dispatch_delete(o);
      break;
    }
  }
}

}  // namespace agentry::runtime
