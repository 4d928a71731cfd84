// The agent's tools: HTTP endpoints declared in the config. A model's tool call becomes one HTTP
// request (POST with the arguments as the JSON body, or GET with them as query parameters); the
// answer body (or an error text the model can react to) goes back to the model.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sidecar/config.h"
#include "sidecar/exec/cancel.h"
#include "sidecar/exec/providers/provider.h"

namespace agentry::sidecar {

class ToolRunner {
 public:
  ToolRunner(std::vector<ToolConfig> tools, int timeout_ms);
  // OpenAI-style declarations ({"type":"function","function":{...}}), understood by both dialects.
  const nlohmann::json& declarations() const { return decls_; }
  bool empty() const { return tools_.empty(); }
  // Never fails: errors become text for the model ("error: ...").
  std::string call(const ToolCall& call, CancelToken* cancel) const;

 private:
  std::vector<ToolConfig> tools_;
  int timeout_ms_;
  nlohmann::json decls_ = nlohmann::json::array();
};

}  // namespace agentry::sidecar
