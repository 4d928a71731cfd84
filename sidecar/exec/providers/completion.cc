#include "sidecar/exec/providers/completion.h"

#include <map>

#include "common/json_io.h"

namespace agentry::sidecar::completion {
namespace {

using nlohmann::json;

// The template with each {key} of `values` replaced, in one pass: a value that itself holds
// "{content}" is left as it is.
std::string fill(const std::string& tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(tmpl.size() + 64);
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      const size_t close = tmpl.find('}', i);
      if (close != std::string::npos) {
        auto it = values.find(tmpl.substr(i + 1, close - i - 1));
        if (it != values.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += tmpl[i++];
  }
  return out;
}

json function_of(const json& tool) {
  const auto it = tool.find("function");
  return it != tool.end() && it->is_object() ? *it : json::object();
}

std::string tool_name(const json& tool) {
  const json f = function_of(tool);
  const auto it = f.find("name");
  return it != f.end() && it->is_string() ? it->get<std::string>() : "";
}

json tool_parameters(const json& tool) {
  const json f = function_of(tool);
  const auto it = f.find("parameters");
  return it != f.end() && it->is_object() ? *it : json{{"type", "object"}};
}

std::string call_json(const ToolCall& c) {
  return json_io::dump(json{{"tool", c.name}, {"arguments", c.arguments}});
}

}  // namespace

json offered_tools(const ChatRequest& req) {
  if (!req.tools.is_array() || req.tools.empty()) return json::array();
  const auto choice = req.options.find("tool_choice");
  if (choice == req.options.end()) return req.tools;
  if (choice->is_string() && *choice == "none") return json::array();
  if (choice->is_object()) {
    const std::string want = tool_name(*choice);
    json only = json::array();
    for (const auto& t : req.tools)
      if (tool_name(t) == want) only.push_back(t);
    return only;
  }
  return req.tools;
}

bool call_required(const ChatRequest& req) {
  const auto choice = req.options.find("tool_choice");
  return choice != req.options.end() &&
         ((choice->is_string() && *choice == "required") || choice->is_object());
}

std::string render_prompt(const CompletionTemplate& t, const ChatRequest& req) {
  std::string prompt;
  const json tools = offered_tools(req);
  if (!tools.empty()) {
    std::string lines;
    for (const auto& tool : tools) {
      const json f = function_of(tool);
      const auto d = f.find("description");
      lines += "- " + tool_name(tool) + ": " +
               (d != f.end() && d->is_string() ? d->get<std::string>() + " " : "") +
               "Arguments: " + json_io::dump(tool_parameters(tool)) + "\n";
    }
    prompt += fill(t.tools, {{"tools", lines}});
  }
  for (const auto& m : req.messages) {
    if (m.role == "system") {
      prompt += fill(t.system, {{"content", m.content}});
    } else if (m.role == "user") {
      prompt += fill(t.user, {{"content", m.content}});
    } else if (m.role == "assistant") {
      std::string content = m.content;
      for (const auto& c : m.tool_calls) content += (content.empty() ? "" : " ") + call_json(c);
      prompt += fill(t.assistant, {{"content", content}});
    } else if (m.role == "tool") {
      prompt += fill(t.tool, {{"content", m.content}, {"name", m.name}});
    }
  }
  return prompt + t.generation;
}

json tool_schema(const json& tools, bool required) {
  json branches = json::array();
  for (const auto& tool : tools)
    branches.push_back(
        {{"type", "object"},
         {"properties",
          {{"tool", {{"const", tool_name(tool)}}}, {"arguments", tool_parameters(tool)}}},
         {"required", {"tool", "arguments"}},
         {"additionalProperties", false}});
  if (!required)
    branches.push_back({{"type", "object"},
                        {"properties", {{"answer", {{"type", "string"}}}}},
                        {"required", {"answer"}},
                        {"additionalProperties", false}});
  return branches.size() == 1 ? branches[0] : json{{"oneOf", branches}};
}

Status decode_answer(const std::string& text, const json& tools, ChatResponse* r) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return invalid_argument("the model's constrained answer is not a JSON object: " +
                            text.substr(0, 200));
  if (const auto a = j.find("answer"); a != j.end() && a->is_string()) {
    r->content = a->get<std::string>();
    return ok_status();
  }
  const auto name = j.find("tool");
  if (name == j.end() || !name->is_string())
    return invalid_argument("the model's constrained answer has neither 'answer' nor 'tool': " +
                            text.substr(0, 200));
  bool known = false;
  for (const auto& t : tools) known = known || tool_name(t) == name->get<std::string>();
  if (!known) return invalid_argument("the model called a tool not offered: " + name->dump());
  ToolCall c;
  c.id = "call_0";
  c.name = name->get<std::string>();
  const auto args = j.find("arguments");
  c.arguments = args != j.end() && args->is_object() ? *args : json::object();
  r->content.clear();
  r->tool_calls = {std::move(c)};
  r->finish_reason = "tool_calls";
  return ok_status();
}

}  // namespace agentry::sidecar::completion

namespace agentry::sidecar {
namespace {

using nlohmann::json;
namespace cp = completion;

constexpr int kDefaultMaxTokens = 512;

class Completion : public Dialect {
 public:
  Completion(const std::string& base_path, CompletionTemplate t)
      : prefix_(openai_path_prefix(base_path)), t_(std::move(t)) {}
  std::string name() const override { return "openai"; }
  std::string chat_path() const override { return prefix_ + "/completions"; }
  std::string embed_path() const override { return prefix_ + "/embeddings"; }

  bool can_stream(const ChatRequest& req) const override { return cp::offered_tools(req).empty(); }

  json chat_body(const std::string& model, const ChatRequest& req, bool stream) const override {
    json body = {{"model", model},
                 {"prompt", cp::render_prompt(t_, req)},
                 {"stream", stream},
                 {"max_tokens", kDefaultMaxTokens}};
    if (!t_.stop.empty()) body["stop"] = t_.stop;
    if (stream) body["stream_options"] = {{"include_usage", true}};
    for (const auto& [k, v] : req.options.items())
      if (k != "tool_choice") body[k] = v;
    const json tools = cp::offered_tools(req);
    if (!tools.empty()) {
      json schema = cp::tool_schema(tools, cp::call_required(req));
      body["response_format"] = {{"type", "json_schema"},
                                 {"json_schema", {{"name", "reply"}, {"schema", schema}}}};
      body["json_schema"] = std::move(schema);
      body.erase("stop");  // the schema ends the answer; a stop string could cut the JSON
    }
    return body;
  }

  Result<ChatResponse> do_parse_chat(const json& body) const override {
    if (!body.contains("choices") || !body["choices"].is_array() || body["choices"].empty())
      return internal_error("openai: answer has no 'choices'");
    const json& c = body["choices"][0];
    ChatResponse r;
    if (c.is_object() && c.contains("text") && c["text"].is_string())
      r.content = c["text"].get<std::string>();
    r.content.erase(0, r.content.find_first_not_of(" \t\r\n"));  // all of it when blank
    r.finish_reason = finish_reason_of(c);
    read_openai_usage(body, &r);
    return r;
  }

  Result<bool> do_stream_line(std::string_view line, ChatResponse* acc, json*,
                              const DeltaFn& on_delta) const override {
    std::string_view data;
    if (!sse_data(line, &data)) return false;
    if (data == "[DONE]") return true;
    auto j = json::parse(data, nullptr, false);
    if (j.is_discarded()) return internal_error("openai: stream event is not JSON");
    if (j.contains("error"))
      return internal_error("openai: " + provider_error_text(std::string(data)));
    read_openai_usage(j, acc);
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return false;
    const json& c = j["choices"][0];
    if (auto why = finish_reason_of(c); !why.empty()) acc->finish_reason = why;
    if (c.is_object() && c.contains("text") && c["text"].is_string()) {
      std::string piece = c["text"].get<std::string>();
      if (acc->content.empty()) piece.erase(0, piece.find_first_not_of(" \t\r\n"));
      if (!piece.empty()) {
        acc->content += piece;
        if (on_delta) on_delta(piece);
      }
    }
    return false;
  }

  Status do_finish(const ChatRequest& req, ChatResponse* r) const override {
    const json tools = cp::offered_tools(req);
    return tools.empty() ? ok_status() : cp::decode_answer(r->content, tools, r);
  }

  json embed_body(const std::string& model, const std::vector<std::string>& inputs) const override {
    return {{"model", model}, {"input", inputs}};
  }

  Result<std::vector<std::vector<float>>> do_parse_embed(const json& body) const override {
    return parse_openai_embeddings(body);
  }

 private:
  std::string prefix_;
  CompletionTemplate t_;
};

}  // namespace

std::unique_ptr<Dialect> make_completion_dialect(const std::string& base_path,
                                                 CompletionTemplate t) {
  return std::make_unique<Completion>(base_path, std::move(t));
}

}  // namespace agentry::sidecar
