#include "sidecar/exec/execution.h"

#include <ctime>

#include "common/json_io.h"
#include "common/time_format.h"

namespace agentry::sidecar {
namespace {

std::string rfc3339(Execution::SysClock::time_point t) {
  if (t == Execution::SysClock::time_point{}) return "";
  return format_rfc3339(t, TimePrecision::kMillis);
}

}  // namespace

const char* state_name(ExecState s) {
  switch (s) {
    case ExecState::kQueued:
      return "queued";
    case ExecState::kRunning:
      return "running";
    case ExecState::kSucceeded:
      return "succeeded";
    case ExecState::kFailed:
      return "failed";
    case ExecState::kCancelled:
      return "cancelled";
    case ExecState::kTimedOut:
      return "timed_out";
  }
  return "unknown";
}

Execution::Execution(std::string id, uint64_t seq, ExecutionRequest req)
    : id_(std::move(id)), seq_(seq), req_(std::move(req)) {}

ExecState Execution::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

bool Execution::mark_running() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != ExecState::kQueued) return false;
  state_ = ExecState::kRunning;
  started_ = SysClock::now();
  started_steady_ = Clock::now();
  return true;
}

void Execution::finish(ExecutionResult r) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (terminal(state_)) return;
    callbacks.swap(on_terminal_);
    state_ = r.state;
    result_ = std::move(r);
    finished_ = SysClock::now();
    finished_steady_ = Clock::now();
    if (started_steady_ == Clock::time_point{}) started_steady_ = finished_steady_;
    if (req_.stream) frames_.push_back(sse_frame("done", to_json_locked()));
  }
  cv_.notify_all();
  for (auto& fn : callbacks) fn();
}

void Execution::on_terminal(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!terminal(state_)) {
      on_terminal_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

bool Execution::wait(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return terminal(state_); });
}

Execution::Clock::time_point Execution::started_steady() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_steady_;
}

Execution::Clock::time_point Execution::finished_steady() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_steady_;
}

nlohmann::json Execution::to_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  return to_json_locked();
}

nlohmann::json Execution::to_json_locked() const {
  nlohmann::json j = {{"id", id_}, {"state", state_name(state_)}, {"createdAt", rfc3339(created_)}};
  if (!req_.session_id.empty()) j["sessionId"] = req_.session_id;
  if (!req_.idempotency_key.empty()) j["idempotencyKey"] = req_.idempotency_key;
  if (started_ != SysClock::time_point{}) j["startedAt"] = rfc3339(started_);
  if (terminal(state_)) {
    j["finishedAt"] = rfc3339(finished_);
    j["durationMs"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(finished_steady_ - started_steady_)
            .count();
    if (state_ == ExecState::kSucceeded) {
      j["output"] = result_.output;
      if (!result_.finish_reason.empty()) j["finishReason"] = result_.finish_reason;
    } else
      j["error"] = {{"code", result_.error_code}, {"message", result_.error_message}};
    j["usage"] = {{"promptTokens", result_.prompt_tokens},
                  {"completionTokens", result_.completion_tokens},
                  {"modelCalls", result_.model_calls},
                  {"toolCalls", result_.tool_calls}};
    j["cached"] = result_.cached;
  }
  return j;
}

void Execution::push_frame(std::string frame) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    frames_.push_back(std::move(frame));
  }
  cv_.notify_all();
}

std::vector<std::string> Execution::frames_from(size_t* next, std::chrono::milliseconds timeout,
                                                bool* done) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return frames_.size() > *next || terminal(state_); });
  std::vector<std::string> out(frames_.begin() + static_cast<long>(std::min(*next, frames_.size())),
                               frames_.end());
  *next = frames_.size();
  *done = terminal(state_);
  return out;
}

std::string sse_frame(const std::string& event, const nlohmann::json& data) {
  return "event: " + event + "\ndata: " + json_io::dump(data) + "\n\n";
}

}  // namespace agentry::sidecar
