#include "sidecar/api/execution_events.h"

#include "common/json_io.h"
#include "sidecar/mcp/json_rpc.h"

namespace agentry::sidecar {

namespace {

bool relay(const std::vector<std::string>& frames, const ExecutionEventFn& fn) {
  for (const auto& f : frames) {
    for (const auto& e : mcp::parse_sse(f, 4)) {  // our own frames: one event each
      if (e.event != "delta" && e.event != "tool_call") continue;
      auto data = json_io::parse(e.data);
      if (data.ok() && data->is_object() && !fn(e.event, *data)) return false;
    }
  }
  return true;
}

}  // namespace

bool follow_execution(const Execution& ex, size_t* next, std::chrono::milliseconds wait,
                      const ExecutionEventFn& fn, bool* done) {
  bool terminal_now = false;
  if (!relay(ex.frames_from(next, wait, &terminal_now), fn)) return false;
  *done = false;
  if (!terminal_now) return true;
  bool ignored;  // frames pushed between the last read and the end
  if (!relay(ex.frames_from(next, std::chrono::milliseconds(0), &ignored), fn)) return false;
  *done = true;
  return true;
}

}  // namespace agentry::sidecar
