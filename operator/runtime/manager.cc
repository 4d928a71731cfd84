#include "operator/runtime/manager.h"

#include <httplib.h>

#include "common/http_util.h"
#include "common/log.h"
#include "operator/runtime/metrics.h"

namespace agentry::runtime {

Manager::Manager(std::shared_ptr<kube::Client> client, Options opts)
    : client_(std::move(client)), opts_(std::move(opts)) {
  runtime_metrics();  // the families exist (with no series) before the first scrape
  readiness_.add("informers-synced", [this] {
    return informers_synced() ? "" : std::string("not every informer has synced");
  });
  liveness_.add("leader-election", [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return lost_ ? std::string("the leader lease was lost") : std::string();
  });
  if (opts_.leader_elect) {
    elector_ = std::make_unique<LeaderElector>(
        client_, opts_.leader_election,
        [this] {
          std::lock_guard<std::mutex> lock(mu_);
          want_controllers_ = true;
          cv_.notify_all();
        },
        [this] {
          bool graceful;
          {
            std::lock_guard<std::mutex> lock(mu_);
            graceful = stop_requested_;
            want_controllers_ = false;
          }
          // Lost: stop reconciling at once; graceful: let reconciles in flight finish first.
          stop_controllers(graceful);
        });
  }
}

Manager::~Manager() {
  stop();
  stop_controllers(false);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [_, inf] : informers_) inf->stop();
}

void Manager::keep_alive(std::shared_ptr<void> part) {
  std::lock_guard<std::mutex> lock(mu_);
  parts_.push_back(std::move(part));
}

std::string Manager::identity() const {
  return elector_ ? elector_->identity() : "";
}
bool Manager::is_leader() const {
  return elector_ ? elector_->is_leader() : running_.load();
}

std::shared_ptr<Informer> Manager::informer(const kube::Resource& r, const std::string& ns) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = r.api_version() + "/" + r.plural + "@" + ns;
  auto& inf = informers_[key];
  if (!inf) {
    Informer::Options o = opts_.informer_defaults;
    o.watcher.ns = ns;
    inf = std::make_shared<Informer>(client_, r, o);
    if (running_) inf->start();
  }
  return inf;
}

Controller& Manager::add_controller(std::string name, ReconcileFn fn, Controller::Options o) {
  if (o.workers <= 0) o.workers = opts_.workers;
  if (o.drain_deadline > opts_.graceful_shutdown) o.drain_deadline = opts_.graceful_shutdown;
  std::lock_guard<std::mutex> lock(mu_);
  controllers_.push_back(std::make_unique<Controller>(std::move(name), std::move(fn), o));
  Controller& c = *controllers_.back();
  if (controllers_started_) c.start();
  return c;
}

EventRecorder& Manager::events() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!events_) events_ = std::make_unique<EventRecorder>(client_, EventRecorder::Options{});
  return *events_;
}

bool Manager::informers_synced() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [_, inf] : informers_) {
    if (!inf->has_synced()) return false;
  }
  return true;
}

void Manager::start_controllers() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : controllers_) c->start();
  controllers_started_ = true;
}

void Manager::stop_controllers(bool drain) {
  std::vector<Controller*> cs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : controllers_) cs.push_back(c.get());
    controllers_started_ = false;
  }
  for (Controller* c : cs) c->stop(drain);
}

void Manager::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_requested_ = true;
  cv_.notify_all();
}

Status Manager::run() {
  if (!opts_.metrics_addr.empty()) {
    std::string host;
    int port = 0;
    if (!http::parse_host_port(opts_.metrics_addr, &host, &port)) {
      return invalid_argument("metrics address " + opts_.metrics_addr + ": want HOST:PORT");
    }
    server_ = std::make_unique<httplib::Server>();
    http::guard_server(*server_);
    http::mount_operational_routes(*server_, liveness_, readiness_);
    if (port == 0) {
      port = server_->bind_to_any_port(host);
      if (port <= 0) return unavailable("cannot listen on " + opts_.metrics_addr);
    } else if (!server_->bind_to_port(host, port)) {
      return unavailable("cannot listen on " + opts_.metrics_addr);
    }
    metrics_port_ = port;
    server_thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = true;
    for (auto& [_, inf] : informers_) inf->start();
    if (!elector_) want_controllers_ = true;
  }
  std::thread elector_thread;
  if (elector_) {
    elector_thread = std::thread([this] {
      if (!elector_->run()) {
        std::lock_guard<std::mutex> lock(mu_);
        lost_ = true;
        cv_.notify_all();
      }
    });
  }
  log::info("manager started", {{"metrics_port", metrics_port_.load()},
                                {"leader_elect", opts_.leader_elect},
                                {"identity", identity()}});
  Status result;
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_requested_ && !lost_) {
      if (want_controllers_ && !controllers_started_) {
        lock.unlock();
        bool synced = informers_synced();
        lock.lock();
        if (synced && want_controllers_ && !stop_requested_ && !lost_) {
          lock.unlock();
          start_controllers();
          lock.lock();
          continue;
        }
        cv_.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
      cv_.wait(lock);
    }
    if (lost_) result = unavailable("leader election lost");
  }
  log::info("manager stopping", {{"lost_lease", !result.is_ok()}});
  if (elector_) {
    elector_->stop();  // drains the controllers (on_stopped) and releases the lease
    if (elector_thread.joinable()) elector_thread.join();
  }
  stop_controllers(true);
  {
    std::vector<std::shared_ptr<Informer>> infs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [_, inf] : informers_) infs.push_back(inf);
    }
    for (auto& inf : infs) inf->stop();
  }
  if (server_) {
    server_->stop();
    if (server_thread_.joinable()) server_thread_.join();
  }
  running_ = false;
  log::info("manager stopped");
  return result;
}

}  // namespace agentry::runtime
