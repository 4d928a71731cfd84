// OpenAI-compatible /v1/chat/completions (SSE when streaming) and /v1/embeddings; vLLM, LiteLLM,
// llama.cpp's server and KubeAI speak the same.
#include "common/json_io.h"
#include "sidecar/exec/providers/dialect.h"

namespace agentry::sidecar {
namespace {

using nlohmann::json;

json tool_calls_to_json(const std::vector<ToolCall>& calls) {
  json a = json::array();
  for (const auto& c : calls)
    a.push_back({{"id", c.id},
                 {"type", "function"},
                 {"function", {{"name", c.name}, {"arguments", json_io::dump(c.arguments)}}}});
  return a;
}

json parse_args(const json& a) {
  if (a.is_string()) {
    auto p = json::parse(a.get<std::string>(), nullptr, false);
    return p.is_discarded() ? json::object() : p;
  }
  return a.is_object() ? a : json::object();
}

}  // namespace

// choices[i].finish_reason when it is a string, else "".
std::string finish_reason_of(const json& choice) {
  if (!choice.is_object()) return "";
  const auto it = choice.find("finish_reason");
  return it != choice.end() && it->is_string() ? it->get<std::string>() : "";
}

void read_openai_usage(const json& body, ChatResponse* r) {
  const auto u = body.find("usage");
  if (u == body.end() || !u->is_object()) return;
  const auto p = u->find("prompt_tokens"), c = u->find("completion_tokens");
  if (p != u->end() && p->is_number_integer()) r->prompt_tokens = p->get<int64_t>();
  if (c != u->end() && c->is_number_integer()) r->completion_tokens = c->get<int64_t>();
}

std::string openai_path_prefix(const std::string& base_path) {
  const bool has_v1 =
      base_path.size() >= 3 && base_path.compare(base_path.size() - 3, 3, "/v1") == 0;
  return has_v1 ? "" : "/v1";
}

Result<std::vector<std::vector<float>>> parse_openai_embeddings(const json& body) {
  if (!body.contains("data") || !body["data"].is_array())
    return internal_error("openai: answer has no 'data' list");
  std::vector<std::vector<float>> out(body["data"].size());
  try {
    for (size_t i = 0; i < body["data"].size(); ++i) {
      const auto& e = body["data"][i];
      size_t idx = e.value("index", i);
      if (idx >= out.size()) return internal_error("openai: embedding index out of range");
      out[idx] = e.at("embedding").get<std::vector<float>>();
    }
  } catch (const json::exception& e) {
    return internal_error(std::string("openai: bad embeddings: ") + e.what());
  }
  return out;
}

bool sse_data(std::string_view line, std::string_view* data) {
  if (line.rfind("data:", 0) != 0) return false;
  *data = line.substr(5);
  while (!data->empty() && data->front() == ' ') data->remove_prefix(1);
  return true;
}

namespace {

class OpenAI : public Dialect {
 public:
  // The endpoint may or may not end in /v1 (".../v1" is how most servers document it).
  explicit OpenAI(const std::string& base_path) : prefix_(openai_path_prefix(base_path)) {}
  std::string name() const override { return "openai"; }
  std::string chat_path() const override { return prefix_ + "/chat/completions"; }
  std::string embed_path() const override { return prefix_ + "/embeddings"; }

  json chat_body(const std::string& model, const ChatRequest& req, bool stream) const override {
    json msgs = json::array();
    for (const auto& m : req.messages) {
      json j = {{"role", m.role}, {"content", m.content}};
      if (!m.tool_calls.empty()) j["tool_calls"] = tool_calls_to_json(m.tool_calls);
      if (m.role == "tool") j["tool_call_id"] = m.tool_call_id;
      msgs.push_back(std::move(j));
    }
    json body = {{"model", model}, {"messages", std::move(msgs)}, {"stream", stream}};
    if (stream) body["stream_options"] = {{"include_usage", true}};
    if (!req.tools.empty()) body["tools"] = req.tools;
    for (const auto& [k, v] : req.options.items()) body[k] = v;
    return body;
  }

  Result<ChatResponse> do_parse_chat(const json& body) const override {
    if (!body.contains("choices") || !body["choices"].is_array() || body["choices"].empty())
      return internal_error("openai: answer has no 'choices'");
    const auto& m = body["choices"][0].value("message", json::object());
    ChatResponse r;
    r.finish_reason = finish_reason_of(body["choices"][0]);
    if (m.contains("content") && m["content"].is_string())
      r.content = m["content"].get<std::string>();
    if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
      for (const auto& c : m["tool_calls"]) {
        ToolCall tc;
        tc.id = c.value("id", "call_" + std::to_string(r.tool_calls.size()));
        const auto fit = c.find("function");
        const json& f = fit != c.end() && fit->is_object() ? *fit : json::object();
        tc.name = f.value("name", "");
        if (f.contains("arguments")) tc.arguments = parse_args(f["arguments"]);
        r.tool_calls.push_back(std::move(tc));
      }
    }
    read_openai_usage(body, &r);
    return r;
  }

  Result<bool> do_stream_line(std::string_view line, ChatResponse* acc, json* state,
                              const DeltaFn& on_delta) const override {
    std::string_view data;
    if (!sse_data(line, &data)) return false;
    if (data == "[DONE]") {
      finish_tools(acc, state);
      return true;
    }
    auto j = json::parse(data, nullptr, false);
    if (j.is_discarded()) return internal_error("openai: stream event is not JSON");
    if (j.contains("error"))
      return internal_error("openai: " + provider_error_text(std::string(data)));
    read_openai_usage(j, acc);
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return false;
    if (auto why = finish_reason_of(j["choices"][0]); !why.empty()) acc->finish_reason = why;
    const auto& d = j["choices"][0].value("delta", json::object());
    if (d.contains("content") && d["content"].is_string()) {
      std::string piece = d["content"].get<std::string>();
      if (!piece.empty()) {
        acc->content += piece;
        if (on_delta) on_delta(piece);
      }
    }
    if (d.contains("tool_calls") && d["tool_calls"].is_array()) {
      if (!state->is_object()) *state = json::object();
      auto& calls = (*state)["calls"];
      if (!calls.is_array()) calls = json::array();
      for (const auto& c : d["tool_calls"]) {
        // The provider's index is untrusted: "index": 1e9 would have grown the list a billion
        // entries (and a float index is undefined behaviour to convert). At most kMaxToolCalls
        // calls per turn; others are ignored.
        constexpr int64_t kMaxToolCalls = 128;
        if (!c.is_object()) continue;
        const auto ix = c.find("index");
        const int64_t idx64 = ix == c.end() ? 0 : ix->is_number_integer() ? ix->get<int64_t>() : -1;
        if (idx64 < 0 || idx64 >= kMaxToolCalls) continue;
        const size_t idx = static_cast<size_t>(idx64);
        while (calls.size() <= idx) calls.push_back({{"id", ""}, {"name", ""}, {"args", ""}});
        if (c.contains("id") && c["id"].is_string()) calls[idx]["id"] = c["id"];
        const auto fit = c.find("function");
        const json& f = fit != c.end() && fit->is_object() ? *fit : json::object();
        if (f.contains("name") && f["name"].is_string())
          calls[idx]["name"] = calls[idx]["name"].get<std::string>() + f["name"].get<std::string>();
        if (f.contains("arguments") && f["arguments"].is_string())
          calls[idx]["args"] =
              calls[idx]["args"].get<std::string>() + f["arguments"].get<std::string>();
      }
    }
    return false;
  }

  json embed_body(const std::string& model, const std::vector<std::string>& inputs) const override {
    return {{"model", model}, {"input", inputs}};
  }

  Result<std::vector<std::vector<float>>> do_parse_embed(const json& body) const override {
    return parse_openai_embeddings(body);
  }

 private:
  static void finish_tools(ChatResponse* acc, json* state) {
    if (!state->is_object() || !state->contains("calls")) return;
    for (const auto& c : (*state)["calls"]) {
      ToolCall tc;
      tc.id = c["id"].get<std::string>();
      if (tc.id.empty()) tc.id = "call_" + std::to_string(acc->tool_calls.size());
      tc.name = c["name"].get<std::string>();
      tc.arguments = parse_args(c["args"]);
      acc->tool_calls.push_back(std::move(tc));
    }
    state->erase("calls");
  }

  std::string prefix_;
};

}  // namespace

std::unique_ptr<Dialect> make_openai_dialect(const std::string& base_path) {
  return std::make_unique<OpenAI>(base_path);
}

}  // namespace agentry::sidecar
