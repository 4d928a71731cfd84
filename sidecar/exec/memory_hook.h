// Plug-in point for agent memory (sidecar/memory/ implements it). The engine calls recall() before
// the model call and remember() after answering, from a background writer: remember() must not
// block long, and the implementation must not drop what it is given (the engine drains its writer
// on shutdown before the process exits).
#pragma once

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
};

}  // namespace agentry::sidecar
