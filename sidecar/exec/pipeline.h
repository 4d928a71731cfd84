// What one execution does: recall memory (in parallel with preparing tools and the cache key),
// answer from the response cache or the model (chunking large input into parallel calls when the
// agent enables it, then combining), run the tool-calling loop, and stream deltas when asked.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "sidecar/config.h"
#include "sidecar/exec/execution.h"
#include "sidecar/exec/memory_hook.h"
#include "sidecar/exec/providers/provider.h"
#include "sidecar/exec/response_cache_hook.h"
#include "sidecar/exec/tools.h"

namespace agentry::sidecar {

class Pipeline {
 public:
  Pipeline(const AgentConfig& agent, std::shared_ptr<Provider> provider);

  void set_memory_hook(std::shared_ptr<MemoryHook> h) { std::atomic_store(&memory_, std::move(h)); }
  void set_response_cache_hook(std::shared_ptr<ResponseCacheHook> h) {
    std::atomic_store(&cache_, std::move(h));
  }
  std::shared_ptr<MemoryHook> memory_hook() const { return std::atomic_load(&memory_); }

  // Runs to completion or cancellation; never throws.
  ExecutionResult run(Execution& ex);

 private:
  struct Flight;  // one in-progress provider call for a cache key (single flight)

  Result<ChatResponse> answer(Execution& ex, std::vector<Message> messages,
                              const nlohmann::json& options, ExecutionResult* acc);
  Result<ChatResponse> tool_loop(Execution& ex, std::vector<Message> messages,
                                 const nlohmann::json& options, bool stream, ExecutionResult* acc);
  Result<ChatResponse> chunked(Execution& ex, const std::vector<Message>& prefix,
                               const nlohmann::json& options, ExecutionResult* acc);
  Result<ChatResponse> call_model(Execution& ex, const ChatRequest& req, bool stream,
                                  ExecutionResult* acc);

  const AgentConfig agent_;
  std::shared_ptr<Provider> provider_;
  ToolRunner tools_;
  std::shared_ptr<MemoryHook> memory_;
  std::shared_ptr<ResponseCacheHook> cache_;
  std::mutex flights_mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

// Splits text into pieces of at most `max_chars`, preferring paragraph, line, then word breaks.
std::vector<std::string> split_chunks(const std::string& text, size_t max_chars);

}  // namespace agentry::sidecar
