// The wire format of one provider family. HttpProvider does the transport, retries and breaker;
// a Dialect only turns requests into JSON bodies and responses (whole or streamed) back.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sidecar/exec/providers/provider.h"

namespace agentry::sidecar {

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string name() const = 0;
  virtual std::string chat_path() const = 0;
  virtual std::string embed_path() const = 0;
  virtual nlohmann::json chat_body(const std::string& model, const ChatRequest& req,
                                   bool stream) const = 0;
  // Whether the answer to req may be streamed to the caller as it comes (false: HttpProvider asks
  // for it whole and hands it to on_delta in one piece once done).
  virtual bool can_stream(const ChatRequest&) const { return true; }
  virtual nlohmann::json embed_body(const std::string& model,
                                    const std::vector<std::string>& inputs) const = 0;

  // The provider's answers are untrusted: these never throw. A JSON value of an unexpected type
  // (nlohmann's value() and get() throw on one) is an error Status naming the dialect; the
  // do_* overrides may throw json exceptions, caught here (provider_answers_fuzz proves it).
  Result<ChatResponse> parse_chat(const nlohmann::json& body) const;
  // One line of a streamed answer (NDJSON or an SSE line). Appends to *acc, calls on_delta with
  // new text; `state` carries partial tool calls between lines. Returns true at the end of stream.
  Result<bool> stream_line(std::string_view line, ChatResponse* acc, nlohmann::json* state,
                           const DeltaFn& on_delta) const;
  // Runs on the whole answer (parsed or streamed) before it is returned.
  Status finish(const ChatRequest& req, ChatResponse* r) const;
  Result<std::vector<std::vector<float>>> parse_embed(const nlohmann::json& body) const;

 protected:
  virtual Result<ChatResponse> do_parse_chat(const nlohmann::json& body) const = 0;
  virtual Result<bool> do_stream_line(std::string_view line, ChatResponse* acc,
                                      nlohmann::json* state, const DeltaFn& on_delta) const = 0;
  virtual Status do_finish(const ChatRequest&, ChatResponse*) const { return ok_status(); }
  virtual Result<std::vector<std::vector<float>>> do_parse_embed(
      const nlohmann::json& body) const = 0;
};

std::unique_ptr<Dialect> make_ollama_dialect();
std::unique_ptr<Dialect> make_openai_dialect(const std::string& base_path);
// Shared by the dialects of OpenAI-compatible servers (chat and completions):
// finish_reason of one choice ("" when absent or not a string);
std::string finish_reason_of(const nlohmann::json& choice);
// usage.prompt_tokens / completion_tokens into r when present as integers;
void read_openai_usage(const nlohmann::json& body, ChatResponse* r);
// the path prefix for an endpoint whose path may or may not end in /v1 ("" or "/v1");
std::string openai_path_prefix(const std::string& base_path);
// /v1/embeddings' answer, one vector per input in the inputs' order;
Result<std::vector<std::vector<float>>> parse_openai_embeddings(const nlohmann::json& body);
// the data of an SSE "data:" line (false for comments, event: lines and blank separators).
bool sse_data(std::string_view line, std::string_view* data);

// The human part of an error body: {"error":{"message":..}}, {"error":".."} or the raw text.
std::string provider_error_text(const std::string& body);

}  // namespace agentry::sidecar
