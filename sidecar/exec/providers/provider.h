// The LLM provider interface: chat (optionally streamed, with tool calls) and embeddings. Ollama
// and OpenAI-compatible servers implement it over HTTP; RetryingProvider wraps either with retries
// and a circuit breaker. The memory code uses embed().
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sidecar/exec/cancel.h"

namespace agentry::sidecar {

struct ToolCall {
  std::string id;  // OpenAI's call id; Ollama has none (we make one up)
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
};

struct Message {
  std::string role;  // system | user | assistant | tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant turns that asked for tools
  std::string tool_call_id;          // tool turns: which call this answers
  std::string name;                  // tool turns: the tool's name
};

struct ChatRequest {
  std::vector<Message> messages;
  nlohmann::json tools = nlohmann::json::array();     // OpenAI-style function declarations
  nlohmann::json options = nlohmann::json::object();  // temperature, top_p, max_tokens, seed...
};

struct ChatResponse {
  std::string content;
  std::vector<ToolCall> tool_calls;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  // Why the model stopped, as the provider said: "stop" (a natural end or a stop string),
  // "length" (max_tokens reached: the answer is cut), "tool_calls"; "" when it did not say.
  std::string finish_reason;
};

// Called with each piece of streamed text; a provider streams only when this is set.
using DeltaFn = std::function<void(std::string_view)>;

struct CallOptions {
  CancelToken* cancel = nullptr;
  DeltaFn on_delta;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual Result<ChatResponse> chat(const ChatRequest& req, const CallOptions& opts) = 0;
  virtual Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>& inputs) = 0;
  // "ollama" / "openai": the provider label in metrics.
  virtual std::string name() const = 0;
  virtual std::string model() const = 0;
  // Empty when the provider can take calls; else why not (e.g. the circuit is open).
  virtual std::string readiness() const { return {}; }
};

}  // namespace agentry::sidecar
