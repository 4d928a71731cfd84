#include "sidecar/exec/engine.h"

#include <charconv>
#include <iterator>
#include <set>

#include "common/guarded.h"
#include "common/log.h"
#include "common/random_id.h"
#include "sidecar/sidecar_metrics.h"

namespace agentry::sidecar {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWorkerIdle = std::chrono::seconds(60);

std::string new_id() {
  return "ex-" + random_hex(16);
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

Engine::Engine(const Config& cfg, std::shared_ptr<Provider> provider)
    : cfg_(cfg), provider_(provider), pipeline_(cfg.agent, provider) {
  supervisor_ =
      std::thread([this] { run_guarded("engine-supervisor", [this] { supervisor_loop(); }); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [id, ex] : running_) ex->cancel_token().cancel("shutdown");
  }
  work_cv_.notify_all();
  {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [&] { return workers_ == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(sup_mu_);
    sup_stop_ = true;
  }
  sup_cv_.notify_all();
  supervisor_.join();
}

void Engine::set_memory_hook(std::shared_ptr<MemoryHook> h) {
  pipeline_.set_memory_hook(std::move(h));
}
void Engine::set_response_cache_hook(std::shared_ptr<ResponseCacheHook> h) {
  pipeline_.set_response_cache_hook(std::move(h));
}

Result<Engine::Submitted> Engine::submit(ExecutionRequest req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (draining_ || stopping_)
    return Status(Code::kUnavailable, "the sidecar is shutting down; retry on another replica",
                  503);
  if (!req.idempotency_key.empty()) {
    auto it = by_key_.find(req.idempotency_key);
    if (it != by_key_.end()) {
      auto ex = by_id_.find(it->second);
      if (ex != by_id_.end()) return Submitted{ex->second, false};
    }
  }
  const size_t capacity = static_cast<size_t>(cfg_.limits.max_concurrency + cfg_.limits.queue_size);
  if (running_.size() + queue_.size() >= capacity) {
    metrics().executions_rejected->Increment();
    return Status(Code::kResourceExhausted,
                  "execution queue full (" + std::to_string(running_.size()) + " running, " +
                      std::to_string(queue_.size()) + " queued); retry later",
                  429);
  }
  auto ex = std::make_shared<Execution>(new_id(), next_seq_++, std::move(req));
  by_id_[ex->id()] = ex;
  by_seq_[ex->seq()] = ex;
  if (!ex->request().idempotency_key.empty()) by_key_[ex->request().idempotency_key] = ex->id();
  queue_.push_back(ex);
  if (queue_.size() > idle_workers_ &&
      workers_ < static_cast<size_t>(cfg_.limits.max_concurrency)) {
    ++workers_;
    std::thread([this] { worker_loop(); }).detach();
  }
  metrics().execution_queue_depth->Set(static_cast<double>(queue_.size()));
  work_cv_.notify_one();
  return Submitted{ex, true};
}

void Engine::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_workers_;
    bool has_work =
        work_cv_.wait_for(lock, kWorkerIdle, [&] { return stopping_ || !queue_.empty(); });
    --idle_workers_;
    if (!has_work || queue_.empty()) {
      --workers_;
      idle_cv_.notify_all();
      return;
    }
    auto ex = queue_.front();
    queue_.pop_front();
    metrics().execution_queue_depth->Set(static_cast<double>(queue_.size()));
    if (!ex->mark_running()) continue;  // cancelled while queued
    running_[ex->id()] = ex;
    metrics().executions_in_flight->Set(static_cast<double>(running_.size()));
    lock.unlock();
    execute(ex);
    lock.lock();
    running_.erase(ex->id());
    metrics().executions_in_flight->Set(static_cast<double>(running_.size()));
    retire(ex);
    idle_cv_.notify_all();
  }
}

void Engine::execute(const std::shared_ptr<Execution>& ex) {
  ExecutionResult r;
  try {
    r = pipeline_.run(*ex);
  } catch (const std::exception& e) {
    r.state = ExecState::kFailed;
    r.error_code = "internal";
    r.error_message = e.what();
  }
  const std::string output = r.output;
  const ExecState state = r.state;
  const std::string code = r.error_code;
  ex->finish(std::move(r));
  double secs = seconds_between(ex->started_steady(), ex->finished_steady());
  metrics().observe_execution(state_name(state), secs);
  if (state == ExecState::kSucceeded) remember(ex, output);
  log::debug(
      "execution finished",
      {{"execution", ex->id()}, {"state", state_name(state)}, {"error", code}, {"seconds", secs}});
}

void Engine::retire(const std::shared_ptr<Execution>& ex) {
  // Workers retire an execution after waking its waiters, so two can arrive here out of the order
  // they finished in; retention drops the oldest finished first.
  auto pos = finished_.end();
  while (pos != finished_.begin() && (*std::prev(pos))->finished_steady() > ex->finished_steady())
    --pos;
  finished_.insert(pos, ex);
  trim_locked(Clock::now());
}

void Engine::trim_locked(Clock::time_point now) {
  const auto max_age = std::chrono::seconds(cfg_.limits.retain_seconds);
  while (!finished_.empty() &&
         (finished_.size() > static_cast<size_t>(cfg_.limits.retain_executions) ||
          now - finished_.front()->finished_steady() > max_age)) {
    drop_oldest_finished_locked();
  }
}

void Engine::drop_oldest_finished_locked() {
  auto old = finished_.front();
  finished_.pop_front();
  by_id_.erase(old->id());
  by_seq_.erase(old->seq());
  const auto& key = old->request().idempotency_key;
  if (!key.empty()) {
    auto it = by_key_.find(key);
    if (it != by_key_.end() && it->second == old->id()) by_key_.erase(it);
  }
}

size_t Engine::trim_finished(size_t keep) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t before = finished_.size();
  while (finished_.size() > keep) drop_oldest_finished_locked();
  return before - finished_.size();
}

std::shared_ptr<Execution> Engine::get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

Status Engine::cancel(const std::string& id) {
  std::shared_ptr<Execution> ex;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return not_found("execution " + id + " not found");
    ex = it->second;
    if (ex->state() == ExecState::kQueued) {
      for (auto q = queue_.begin(); q != queue_.end(); ++q) {
        if (*q == ex) {
          queue_.erase(q);
          break;
        }
      }
      ExecutionResult r;
      r.state = ExecState::kCancelled;
      r.error_code = "cancelled";
      r.error_message = "cancelled by request before it started";
      ex->finish(std::move(r));
      metrics().observe_execution("cancelled", 0);
      metrics().execution_queue_depth->Set(static_cast<double>(queue_.size()));
      retire(ex);
      idle_cv_.notify_all();
      return ok_status();
    }
  }
  ex->cancel_token().cancel("cancelled");
  return ok_status();
}

Result<Engine::Page> Engine::list(size_t limit, const std::string& cont) const {
  uint64_t from = 0;
  if (!cont.empty()) {
    auto [end, ec] = std::from_chars(cont.data(), cont.data() + cont.size(), from, 16);
    if (ec != std::errc() || end != cont.data() + cont.size())
      return invalid_argument("continue: not a token from a previous page");
  }
  Page p;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = by_seq_.lower_bound(from); it != by_seq_.end(); ++it) {
    if (p.items.size() == limit) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(it->first));
      p.next = buf;
      break;
    }
    p.items.push_back(it->second);
  }
  return p;
}

void Engine::supervisor_loop() {
  std::unique_lock<std::mutex> slock(sup_mu_);
  while (!sup_stop_) {
    auto now = Clock::now();
    auto next = now + std::chrono::milliseconds(250);
    std::vector<std::shared_ptr<Execution>> expired;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto timeout = std::chrono::seconds(cfg_.limits.execution_timeout_seconds);
      for (auto& [id, ex] : running_) {
        auto deadline = ex->started_steady() + timeout;
        if (deadline <= now)
          expired.push_back(ex);
        else
          next = std::min(next, deadline);
      }
      trim_locked(now);
    }
    for (auto& ex : expired) {
      if (!ex->cancel_token().cancelled())
        log::warn(
            "execution timed out",
            {{"execution", ex->id()}, {"timeout_seconds", cfg_.limits.execution_timeout_seconds}});
      ex->cancel_token().cancel("timeout");
    }
    sup_cv_.wait_until(slock, next, [&] { return sup_stop_; });
  }
}

void Engine::remember(const std::shared_ptr<Execution>& ex, const std::string& output) {
  auto hook = pipeline_.memory_hook();
  if (!hook) return;
  // The hook queues (MemoryHook's contract); an exception here must not fail an answered execution.
  try {
    hook->remember(cfg_.agent.name, ex->request().session_id, ex->request().input, output);
  } catch (const std::exception& e) {
    log::error("memory update failed", {{"execution", ex->id()}, {"error", e.what()}});
  }
}

Engine::DrainReport Engine::drain(std::chrono::milliseconds deadline) {
  DrainReport rep;
  const auto until = Clock::now() + deadline;
  std::set<std::string> active;
  std::unique_lock<std::mutex> lock(mu_);
  draining_ = true;
  for (auto& ex : queue_) active.insert(ex->id());
  for (auto& [id, ex] : running_) active.insert(id);
  idle_cv_.wait_until(lock, until, [&] { return running_.empty() && queue_.empty(); });
  // Past the deadline: what is queued never starts, what runs is cancelled.
  while (!queue_.empty()) {
    auto ex = queue_.front();
    queue_.pop_front();
    ExecutionResult r;
    r.state = ExecState::kCancelled;
    r.error_code = "shutdown";
    r.error_message = "cancelled: the sidecar shut down before it started";
    ex->finish(std::move(r));
    retire(ex);
    rep.cut.push_back(ex->id());
  }
  for (auto& [id, ex] : running_) {
    ex->cancel_token().cancel("shutdown");
    rep.cut.push_back(id);
  }
  idle_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return running_.empty(); });
  rep.finished = active.size() - std::min(active.size(), rep.cut.size());
  lock.unlock();

  if (auto hook = pipeline_.memory_hook()) {
    rep.memory_updates_flushed = hook->pending();
    if (!hook->flush(std::chrono::seconds(30)))
      log::error("memory updates not flushed at shutdown", {{"pending", hook->pending()}});
  }
  return rep;
}

size_t Engine::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_.size();
}
size_t Engine::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}
size_t Engine::retained() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_id_.size();
}
size_t Engine::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return workers_;
}
int Engine::retry_after_seconds() const {
  return 1;
}

}  // namespace agentry::sidecar
