#include "operator/runtime/leader_election.h"

#include <unistd.h>

#include <random>
#include <thread>

#include "common/log.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"
#include "operator/kube/watch.h"
#include "operator/runtime/metrics.h"

namespace agentry::runtime {

std::string default_identity() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  std::random_device rd;
  std::mt19937_64 rng(rd());
  uint64_t a = rng(), b = rng();
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return std::string(host) + "_" + uuid;
}

LeaderElector::LeaderElector(std::shared_ptr<kube::Client> client, LeaderElectionConfig cfg,
                             std::function<void()> on_started, std::function<void()> on_stopped)
    : client_(std::move(client)),
      cfg_(std::move(cfg)),
      on_started_(std::move(on_started)),
      on_stopped_(std::move(on_stopped)) {
  if (cfg_.identity.empty()) cfg_.identity = default_identity();
  runtime_metrics().leader_status.Add({{"name", cfg_.lease_name}}).Set(0);
}

std::string LeaderElector::observed_holder() const {
  std::lock_guard<std::mutex> lock(mu_);
  return observed_holder_;
}

void LeaderElector::set_leader(bool v) {
  leader_ = v;
  runtime_metrics().leader_status.Add({{"name", cfg_.lease_name}}).Set(v ? 1 : 0);
}

bool LeaderElector::wait(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_.load() || poked_; });
  poked_ = false;
  return !stop_;
}

void LeaderElector::watch_lease() {
  kube::WatchOptions o;
  o.field_selector = "metadata.name=" + cfg_.lease_name;
  o.allow_bookmarks = false;
  o.timeout_seconds = 300;
  struct Done {
    LeaderElector* self;
    ~Done() {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->watch_done_ = true;
      self->cv_.notify_all();
    }
  } done{this};
  while (campaigning_ && !stop_) {
    auto start = std::chrono::steady_clock::now();
    kube::watch_once(
        *client_, kube::resources::kLeases, cfg_.lease_namespace, o,
        [this](kube::WatchEvent&& ev) {
          if (ev.type == "ERROR") return false;
          std::lock_guard<std::mutex> lock(mu_);
          poked_ = true;
          cv_.notify_all();
          return campaigning_.load();
        },
        &lease_watch_cancel_);
    // Polling still works without the watch; do not spin if it keeps failing.
    if (std::chrono::steady_clock::now() - start < std::chrono::seconds(1)) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, cfg_.retry_period, [&] { return stop_.load() || !campaigning_; });
    }
  }
}

// A candidate wakes when the holder's lease runs out rather than at its next poll after that, so
// a dead leader is replaced one lease duration after its last renewal (the watch above makes the
// candidate observe each renewal as it happens).
std::chrono::milliseconds LeaderElector::until_observed_expiry() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (observed_holder_.empty() || observed_holder_ == cfg_.identity) return cfg_.retry_period;
  auto expiry = observed_at_ + std::chrono::seconds(observed_duration_s_);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      expiry - std::chrono::steady_clock::now());
  return std::max(std::chrono::milliseconds(10), left + std::chrono::milliseconds(20));
}

void LeaderElector::stop() {
  stop_ = true;
  lease_watch_cancel_.cancel();
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

nlohmann::json LeaderElector::next_spec(const nlohmann::json* current, const std::string& identity,
                                        std::chrono::milliseconds lease_duration,
                                        const std::string& now) {
  nlohmann::json spec = current ? *current : nlohmann::json::object();
  std::string holder = spec.value("holderIdentity", "");
  if (holder != identity) {
    spec["acquireTime"] = now;
    // A transition is a change of holder (not the first acquisition of a new lease).
    int transitions = spec.value("leaseTransitions", 0);
    if (current && !holder.empty()) ++transitions;
    spec["leaseTransitions"] = transitions;
  }
  spec["holderIdentity"] = identity;
  spec["leaseDurationSeconds"] = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(lease_duration).count());
  spec["renewTime"] = now;
  return spec;
}

bool LeaderElector::try_acquire_or_renew() {
  const auto& leases = kube::resources::kLeases;
  auto now = std::chrono::steady_clock::now();
  auto got = client_->get(leases, cfg_.lease_namespace, cfg_.lease_name);
  if (!got.ok()) {
    if (!kube::is_not_found(got.status())) {
      log::warn("lease get failed",
                {{"lease", cfg_.lease_name}, {"error", got.status().to_string()}});
      return false;
    }
    nlohmann::json lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", cfg_.lease_name}, {"namespace", cfg_.lease_namespace}}},
        {"spec",
         next_spec(nullptr, cfg_.identity, cfg_.lease_duration, kube::now_rfc3339_micro())}};
    auto created = client_->create(leases, cfg_.lease_namespace, lease);
    if (!created.ok()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    observed_holder_ = cfg_.identity;
    observed_at_ = now;
    return true;
  }
  nlohmann::json& lease = *got;
  nlohmann::json spec = lease.value("spec", nlohmann::json::object());
  std::string holder = spec.value("holderIdentity", "");
  std::string renew = spec.value("renewTime", "");
  int duration_s = spec.value("leaseDurationSeconds", 15);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (holder != observed_holder_ || renew != observed_renew_ ||
        observed_at_ == std::chrono::steady_clock::time_point{}) {
      observed_holder_ = holder;
      observed_renew_ = renew;
      observed_duration_s_ = duration_s;
      observed_at_ = now;
    }
    bool held_by_other = !holder.empty() && holder != cfg_.identity;
    if (held_by_other && now < observed_at_ + std::chrono::seconds(observed_duration_s_)) {
      return false;  // someone else's lease is still valid
    }
  }
  lease["spec"] = next_spec(&spec, cfg_.identity, cfg_.lease_duration, kube::now_rfc3339_micro());
  auto updated = client_->update(leases, lease);  // carries resourceVersion: a race loses with 409
  if (!updated.ok()) {
    if (!kube::is_conflict(updated.status())) {
      log::warn("lease update failed",
                {{"lease", cfg_.lease_name}, {"error", updated.status().to_string()}});
    }
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  observed_holder_ = cfg_.identity;
  observed_renew_ = (*updated)["spec"].value("renewTime", "");
  observed_at_ = now;
  return true;
}

void LeaderElector::release() {
  const auto& leases = kube::resources::kLeases;
  auto got = client_->get(leases, cfg_.lease_namespace, cfg_.lease_name);
  if (!got.ok()) return;
  nlohmann::json& lease = *got;
  if (lease["spec"].value("holderIdentity", "") != cfg_.identity) return;
  std::string now = kube::now_rfc3339_micro();
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = now;
  auto r = client_->update(leases, lease);
  log::info("lease released", {{"lease", cfg_.lease_name},
                               {"ok", r.ok()},
                               {"error", r.ok() ? "" : r.status().to_string()}});
}

bool LeaderElector::run() {
  std::mt19937 rng(std::random_device{}());
  // Small jitter (client-go uses 1.2x, which would put a graceful hand-over past 3 s).
  auto jittered = [&] {
    auto r = cfg_.retry_period.count();
    return std::chrono::milliseconds(r + static_cast<int64_t>(rng() % (r / 10 + 1)));
  };
  log::info("leader election: campaigning",
            {{"lease", cfg_.lease_namespace + "/" + cfg_.lease_name}, {"identity", cfg_.identity}});
  campaigning_ = true;
  std::thread watcher([this] { watch_lease(); });
  auto end_campaign = [&] {
    campaigning_ = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    // Cancel until the watch thread is out (a cancel can race with its connect).
    while (watcher.joinable()) {
      lease_watch_cancel_.cancel();
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return watch_done_; })) {
        lock.unlock();
        watcher.join();
      }
    }
  };
  while (!stop_) {
    if (try_acquire_or_renew()) break;
    if (!wait(std::min(jittered(), until_observed_expiry()))) break;
  }
  end_campaign();
  if (stop_) return true;
  set_leader(true);
  log::info("leader election: became leader", {{"identity", cfg_.identity}});
  if (on_started_) on_started_();
  auto last_renew = std::chrono::steady_clock::now();
  bool lost = false;
  while (true) {
    if (!wait(cfg_.retry_period)) break;
    if (try_acquire_or_renew()) {
      last_renew = std::chrono::steady_clock::now();
      continue;
    }
    if (std::chrono::steady_clock::now() - last_renew > cfg_.renew_deadline) {
      lost = true;
      break;
    }
  }
  if (lost) {
    set_leader(false);
    log::error("leader election: lost the lease", {{"identity", cfg_.identity}});
    if (on_stopped_) on_stopped_();
    return false;
  }
  // Stop while leading: callers stop their controllers in on_stopped, then the lease goes.
  set_leader(false);
  if (on_stopped_) on_stopped_();
  release();
  return true;
}

}  // namespace agentry::runtime
