// Ollama's /api/chat (NDJSON when streaming) and /api/embed.
#include "common/json_io.h"
#include "sidecar/exec/providers/dialect.h"

namespace agentry::sidecar {
namespace {

using nlohmann::json;

json tool_calls_to_json(const std::vector<ToolCall>& calls) {
  json a = json::array();
  for (const auto& c : calls)
    a.push_back({{"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  return a;
}

std::vector<ToolCall> tool_calls_from_json(const json& a, size_t first_index) {
  std::vector<ToolCall> out;
  if (!a.is_array()) return out;
  for (const auto& c : a) {
    if (!c.contains("function")) continue;
    const auto& f = c["function"];
    ToolCall tc;
    tc.id = "call_" + std::to_string(first_index + out.size());
    tc.name = f.value("name", "");
    if (f.contains("arguments")) {
      tc.arguments = f["arguments"];
      if (tc.arguments.is_string()) {
        auto parsed = json::parse(tc.arguments.get<std::string>(), nullptr, false);
        tc.arguments = parsed.is_discarded() ? json::object() : parsed;
      }
    }
    out.push_back(std::move(tc));
  }
  return out;
}

// Ollama's done_reason ("stop", "length", "load", ...); "tool_calls" when the turn asked for tools.
std::string finish_reason(const json& body, const ChatResponse& r) {
  if (!r.tool_calls.empty()) return "tool_calls";
  const auto it = body.find("done_reason");
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

class Ollama : public Dialect {
 public:
  std::string name() const override { return "ollama"; }
  std::string chat_path() const override { return "/api/chat"; }
  std::string embed_path() const override { return "/api/embed"; }

  json chat_body(const std::string& model, const ChatRequest& req, bool stream) const override {
    json msgs = json::array();
    for (const auto& m : req.messages) {
      json j = {{"role", m.role}, {"content", m.content}};
      if (!m.tool_calls.empty()) j["tool_calls"] = tool_calls_to_json(m.tool_calls);
      if (m.role == "tool" && !m.name.empty()) j["tool_name"] = m.name;
      msgs.push_back(std::move(j));
    }
    json body = {{"model", model}, {"messages", std::move(msgs)}, {"stream", stream}};
    if (!req.tools.empty()) body["tools"] = req.tools;
    json opts = json::object();
    for (const auto& [k, v] : req.options.items()) opts[k == "max_tokens" ? "num_predict" : k] = v;
    if (!opts.empty()) body["options"] = std::move(opts);
    return body;
  }

  Result<ChatResponse> do_parse_chat(const json& body) const override {
    if (!body.is_object() || !body.contains("message") || !body["message"].is_object())
      return internal_error("ollama: answer has no 'message' object");
    ChatResponse r;
    const auto& m = body["message"];
    r.content = m.value("content", "");
    if (m.contains("tool_calls")) r.tool_calls = tool_calls_from_json(m["tool_calls"], 0);
    r.prompt_tokens = body.value("prompt_eval_count", 0);
    r.completion_tokens = body.value("eval_count", 0);
    r.finish_reason = finish_reason(body, r);
    return r;
  }

  Result<bool> do_stream_line(std::string_view line, ChatResponse* acc, json*,
                           const DeltaFn& on_delta) const override {
    if (line.empty()) return false;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded()) return internal_error("ollama: stream line is not JSON");
    if (j.contains("error"))
      return internal_error("ollama: " + provider_error_text(std::string(line)));
    if (j.contains("message") && j["message"].is_object()) {
      const auto& m = j["message"];
      std::string piece = m.value("content", "");
      if (!piece.empty()) {
        acc->content += piece;
        if (on_delta) on_delta(piece);
      }
      if (m.contains("tool_calls")) {
        auto more = tool_calls_from_json(m["tool_calls"], acc->tool_calls.size());
        acc->tool_calls.insert(acc->tool_calls.end(), more.begin(), more.end());
      }
    }
    if (j.value("done", false)) {
      acc->prompt_tokens = j.value("prompt_eval_count", 0);
      acc->completion_tokens = j.value("eval_count", 0);
      acc->finish_reason = finish_reason(j, *acc);
      return true;
    }
    return false;
  }

  json embed_body(const std::string& model, const std::vector<std::string>& inputs) const override {
    return {{"model", model}, {"input", inputs}};
  }

  Result<std::vector<std::vector<float>>> do_parse_embed(const json& body) const override {
    if (!body.contains("embeddings") || !body["embeddings"].is_array())
      return internal_error("ollama: answer has no 'embeddings' list");
    try {
      return body["embeddings"].get<std::vector<std::vector<float>>>();
    } catch (const json::exception& e) {
      return internal_error(std::string("ollama: bad embeddings: ") + e.what());
    }
  }
};

}  // namespace

std::unique_ptr<Dialect> make_ollama_dialect() {
  return std::make_unique<Ollama>();
}

std::string provider_error_text(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    if (e.is_string()) return e.get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string())
      return e["message"].get<std::string>();
    return json_io::dump(e);
  }
  return body.size() > 300 ? body.substr(0, 300) + "..." : body;
}

}  // namespace agentry::sidecar
