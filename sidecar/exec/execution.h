// One execution: its request, its state machine (queued -> running -> succeeded | failed |
// cancelled | timed_out), its result, and (when streamed) the SSE frames a subscriber reads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sidecar/exec/cancel.h"

namespace agentry::sidecar {

enum class ExecState { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kTimedOut };
const char* state_name(ExecState s);
inline bool terminal(ExecState s) {
  return s >= ExecState::kSucceeded;
}

struct ExecutionRequest {
  std::string input;
  std::string session_id;
  nlohmann::json parameters = nlohmann::json::object();
  bool stream = false;
  std::string idempotency_key;
  // The agents this execution was called through (Agentry-Call-Chain, sidecar/mcp/call_chain.h).
  std::vector<std::string> call_chain;
};

struct ExecutionResult {
  ExecState state = ExecState::kSucceeded;
  std::string output;
  std::string finish_reason;  // the last model call's (ChatResponse::finish_reason)
  std::string error_code;     // e.g. provider_unavailable, timeout, cancelled, shutdown
  std::string error_message;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int tool_calls = 0;
  int model_calls = 0;
  bool cached = false;
};

class Execution {
 public:
  using SysClock = std::chrono::system_clock;
  using Clock = std::chrono::steady_clock;

  Execution(std::string id, uint64_t seq, ExecutionRequest req);

  const std::string& id() const { return id_; }
  uint64_t seq() const { return seq_; }
  const ExecutionRequest& request() const { return req_; }
  CancelToken& cancel_token() { return cancel_; }

  ExecState state() const;
  bool mark_running();  // false if it was cancelled while queued
  // Terminal; a streamed execution also gets its final "done" frame here, atomically.
  void finish(ExecutionResult r);
  // Waits until terminal or timeout; true if terminal.
  bool wait(std::chrono::milliseconds timeout) const;
  // Runs fn once terminal: at once on this thread when it already is, else on the thread that
  // finishes it. fn must not block (the HTTP server's long-polls answer from here).
  void on_terminal(std::function<void()> fn);
  Clock::time_point started_steady() const;
  Clock::time_point finished_steady() const;
  nlohmann::json to_json() const;

  // Streaming: frames are appended by the runner; readers follow them by index.
  void push_frame(std::string frame);
  // Copies frames from *next on, waiting up to timeout for one; sets *done when none will follow.
  std::vector<std::string> frames_from(size_t* next, std::chrono::milliseconds timeout,
                                       bool* done) const;

 private:
  nlohmann::json to_json_locked() const;

  const std::string id_;
  const uint64_t seq_;
  const ExecutionRequest req_;
  CancelToken cancel_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  ExecState state_ = ExecState::kQueued;
  ExecutionResult result_;
  SysClock::time_point created_ = SysClock::now();
  SysClock::time_point started_{}, finished_{};
  Clock::time_point started_steady_{}, finished_steady_{};
  std::vector<std::string> frames_;
  std::vector<std::function<void()>> on_terminal_;
};

// "text/event-stream" frame: "event: <event>\ndata: <json>\n\n".
std::string sse_frame(const std::string& event, const nlohmann::json& data);

}  // namespace agentry::sidecar
