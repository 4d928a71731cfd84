// libFuzzer target: what an LLM provider sends the sidecar (a provider is a remote server, so its
// answers are untrusted: an "index": 1e9 in a tool-call delta once asked for a billion entries).
// The bytes are read by every dialect (Ollama, OpenAI chat, OpenAI completions with a prompt
// template) as a whole answer (parse_chat), as a stream split at new lines (stream_line), and by
// the completion dialect as a schema-constrained answer with a tool offered (finish).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "sidecar/exec/providers/completion.h"
#include "sidecar/exec/providers/dialect.h"

using namespace agentry::sidecar;
using nlohmann::json;

namespace {

ChatRequest tool_request() {
  ChatRequest r;
  r.messages = {{"user", "weather?", {}, "", ""}};
  r.tools =
      json::array({{{"type", "function"},
                    {"function",
                     {{"name", "get_weather"},
                      {"parameters",
                       {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});
  return r;
}

void read_with(const Dialect& d, const std::string& input, const ChatRequest& req) {
  const json whole = json::parse(input, nullptr, false);
  if (!whole.is_discarded()) {
    auto r = d.parse_chat(whole);
    if (r.ok()) (void)d.finish(req, &*r);
  }
  ChatResponse acc;
  json state;
  size_t start = 0, pieces = 0;
  while (start <= input.size()) {
    size_t nl = input.find('\n', start);
    if (nl == std::string::npos) nl = input.size();
    auto done = d.stream_line(std::string_view(input).substr(start, nl - start), &acc, &state,
                              [&](std::string_view) { ++pieces; });
    if (!done.ok() || *done) break;
    start = nl + 1;
  }
  (void)d.finish(req, &acc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const ChatRequest plain{{{"user", "hi", {}, "", ""}}, json::array(), json::object()};
  const ChatRequest tools = tool_request();
  const auto ollama = make_ollama_dialect();
  const auto openai = make_openai_dialect("");
  const auto completion = make_completion_dialect("", CompletionTemplate{});
  read_with(*ollama, input, plain);
  read_with(*openai, input, tools);
  read_with(*completion, input, plain);
  read_with(*completion, input, tools);
  return 0;
}
