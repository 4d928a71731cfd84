#include "operator/runtime/controller.h"

#include "common/guarded.h"
#include "common/log.h"
#include "common/metrics.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"
#include "operator/runtime/metrics.h"

namespace agentry::runtime {
namespace {
constexpr const char* kTerminalTag = "[terminal] ";
}

Status terminal(Status s) {
  if (is_terminal(s)) return s;
  return Status(s.code(), kTerminalTag + s.message(), s.http_status());
}

bool is_terminal(const Status& s) {
  return s.message().rfind(kTerminalTag, 0) == 0;
}

namespace predicates {
Predicate generation_changed() {
  return [](const ObjectPtr& a, const ObjectPtr& b) {
    return kube::generation(*a) != kube::generation(*b);
  };
}
Predicate resource_version_changed() {
  return [](const ObjectPtr& a, const ObjectPtr& b) {
    return kube::resource_version(*a) != kube::resource_version(*b);
  };
}
Predicate labels_changed() {
  return
      [](const ObjectPtr& a, const ObjectPtr& b) { return kube::labels(*a) != kube::labels(*b); };
}
Predicate annotations_changed() {
  return [](const ObjectPtr& a, const ObjectPtr& b) {
    return kube::annotations(*a) != kube::annotations(*b);
  };
}
}  // namespace predicates

MapFn map_to_controller_owner(const kube::Resource& owner) {
  return [group = owner.group, kind = owner.kind,
          namespaced = owner.namespaced](const nlohmann::json& obj) {
    std::vector<kube::ObjectKey> out;
    const nlohmann::json* ref = kube::controller_of(obj);
    // Checked accessors: what the watch delivers may have any shape (kube::string_at).
    if (!ref || kube::string_at(*ref, "kind") != kind) return out;
    const std::string& av = kube::string_at(*ref, "apiVersion");
    auto slash = av.find('/');
    std::string g = slash == std::string::npos ? "" : av.substr(0, slash);
    if (g != group) return out;
    out.push_back({namespaced ? kube::namespace_of(obj) : "", kube::string_at(*ref, "name")});
    return out;
  };
}

Controller::Controller(std::string name, ReconcileFn fn, Options opts)
    : name_(std::move(name)), fn_(std::move(fn)), opts_(std::move(opts)) {
  queue_ = std::make_unique<WorkQueue>(
      name_, opts_.rate_limiter ? opts_.rate_limiter() : default_controller_rate_limiter());
  // Every series exists from the start (at 0), as controller-runtime does, so rate() works.
  auto& m = runtime_metrics();
  for (const char* r : {"success", "error", "requeue", "requeue_after"}) {
    m.reconcile_total.Add({{"controller", name_}, {"result", r}});
  }
  m.reconcile_errors.Add({{"controller", name_}});
  m.active_workers.Add({{"controller", name_}});
}

Controller::~Controller() {
  *alive_ = false;
  stop(false);
}

Controller& Controller::watches(const std::shared_ptr<Informer>& informer, MapFn map,
                                std::vector<Predicate> preds) {
  sources_.push_back(informer);
  // Handlers outlive nothing: they check alive_ (the informer may outlive this controller).
  auto alive = alive_;
  WorkQueue* q = queue_.get();
  auto enqueue = [alive, q, map](const ObjectPtr& o) {
    if (!*alive) return;
    for (const auto& k : map(*o)) q->add(k.str());
  };
  EventHandler h;
  h.on_add = enqueue;
  h.on_delete = enqueue;
  h.on_update = [enqueue, preds = std::move(preds)](const ObjectPtr& a, const ObjectPtr& b) {
    for (const auto& p : preds) {
      if (!p(a, b)) return;
    }
    enqueue(b);
  };
  informer->add_handler(std::move(h));
  return *this;
}

Controller& Controller::watches_for(const std::shared_ptr<Informer>& informer,
                                    std::vector<Predicate> preds) {
  return watches(
      informer,
      [](const nlohmann::json& o) { return std::vector<kube::ObjectKey>{kube::key_of(o)}; },
      std::move(preds));
}

Controller& Controller::watches_owned(const std::shared_ptr<Informer>& informer,
                                      const kube::Resource& owner, std::vector<Predicate> preds) {
  return watches(informer, map_to_controller_owner(owner), std::move(preds));
}

void Controller::start() {
  if (running_.exchange(true)) return;
  if (queue_->shutting_down()) {  // a controller runs once (the process exits on lost lease)
    running_ = false;
    return;
  }
  log::info("controller starting", {{"controller", name_}, {"workers", opts_.workers}});
  for (int i = 0; i < opts_.workers; ++i)
    workers_.emplace_back([this] { run_guarded("controller-worker", [this] { worker(); }); });
}

void Controller::stop(bool drain) {
  if (!running_.exchange(false)) return;
  if (drain) {
    if (!queue_->shut_down_with_drain(opts_.drain_deadline)) {
      log::warn("controller drain deadline passed", {{"controller", name_}});
    }
  } else {
    queue_->shut_down();
  }
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  log::info("controller stopped", {{"controller", name_}});
}

void Controller::worker() {
  auto& active = runtime_metrics().active_workers.Add({{"controller", name_}});
  std::string key;
  while (queue_->get(&key)) {
    active.Increment();
    process(key);
    active.Decrement();
    queue_->done(key);
  }
}

namespace {
constexpr std::chrono::seconds kTransientRetryMax{2};
}  // namespace

void Controller::process(const std::string& key) {
  auto& m = runtime_metrics();
  auto start = std::chrono::steady_clock::now();
  Result<ReconcileResult> r = ReconcileResult{};
  try {
    r = fn_(kube::ObjectKey::parse(key));
  } catch (const std::exception& e) {
    r = internal_error(std::string("reconcile threw: ") + e.what());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.reconcile_time.Add({{"controller", name_}}, metrics::latency_buckets()).Observe(secs);
  ++reconciles_;
  const char* result;
  if (!r.ok()) {
    m.reconcile_errors.Add({{"controller", name_}}).Increment();
    if (is_terminal(r.status())) {
      queue_->forget(key);
      log::error("reconcile failed (terminal)",
                 {{"controller", name_}, {"key", key}, {"error", r.status().to_string()}});
    } else if (kube::is_transient(r.status())) {
      // The API server is down, overloaded or restarting: not the object's fault, so its retries
      // stay short (at most kTransientRetryMax) and it converges within seconds of the server
      // coming back, instead of after a per-item backoff grown through the outage. The client's
      // token bucket still bounds the total rate.
      queue_->add_rate_limited(key, kTransientRetryMax);
      log::warn("reconcile failed (transient)", {{"controller", name_},
                                                 {"key", key},
                                                 {"error", r.status().to_string()},
                                                 {"requeues", queue_->num_requeues(key)}});
    } else {
      queue_->add_rate_limited(key);
      log::warn("reconcile failed", {{"controller", name_},
                                     {"key", key},
                                     {"error", r.status().to_string()},
                                     {"requeues", queue_->num_requeues(key)}});
    }
    result = "error";
  } else if (r->requeue_after.count() > 0) {
    queue_->forget(key);
    queue_->add_after(key, r->requeue_after);
    result = "requeue_after";
  } else if (r->requeue) {
    queue_->add_rate_limited(key);
    result = "requeue";
  } else {
    queue_->forget(key);
    result = "success";
  }
  m.reconcile_total.Add({{"controller", name_}, {"result", result}}).Increment();
}

}  // namespace agentry::runtime
