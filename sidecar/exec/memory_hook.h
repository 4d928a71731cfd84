// Plug-in point for agent memory (sidecar/memory/ implements it; sidecar/app/ wires it). The engine
// calls recall() before the model call and remember() after answering, on the execution's worker:
// remember() must queue and return (one queue, the implementation's own), and must not drop what it
// is given. On shutdown the engine's drain() calls flush() so nothing queued is lost. All methods
// are called from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace agentry::sidecar {

struct MemoryHit {
  std::string id;
  std::string text;
  double score;
};

class MemoryHook {
 public:
  virtual ~MemoryHook() = default;
  virtual std::vector<MemoryHit> recall(const std::string& agent, const std::string& session,
                                        const std::string& query, int k) = 0;
  virtual void remember(const std::string& agent, const std::string& session,
                        const std::string& input, const std::string& output) = 0;
  // remember() calls queued and not yet written (or failed). 0 for a hook that writes at once.
  virtual size_t pending() const { return 0; }
  // Waits up to `deadline` until pending() is 0; false when it was not reached.
  virtual bool flush(std::chrono::milliseconds /*deadline*/) { return true; }
};

}  // namespace agentry::sidecar
