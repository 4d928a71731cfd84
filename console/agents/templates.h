// Agent templates and the create request of the console's API, in pure code.
//
// A template is data: a YAML document with `name`, `description` and a partial Agent `spec`.
// Built-in ones ship in the binary (console/agents/templates/*.yaml: chatbot, researcher,
// summarizer); users add theirs as ConfigMaps in the console's namespace labelled
// `agentry.dev/agent-template: "true"`, with the document under the key `template.yaml` (a
// user template of a built-in's name replaces it).
//
// The create body (the guidelines' shape is accepted as is):
//
//   {"name": "Load Test Agent", "namespace": "team-a", "template": "chatbot",
//    "config": {"llm_provider": "ollama", "model": "llama2"},
//    "spec": {...}, "labels": {...}}
//
// `template` or `spec` (or both: spec is merged over the template's). `config` holds the common
// settings by their snake_case names (config_keys()); any other key is an error naming it. A
// `name` that is not a DNS label becomes a display name (annotation agentry.dev/display-name) and
// the object gets generateName from it, so "Load Test Agent" creates load-test-agent-x7k2q.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace agentry::console {

struct AgentTemplate {
  std::string name;
  std::string description;
  nlohmann::json spec;  // a partial Agent spec
  std::string source;   // "built-in" or "configmap NS/NAME"
};

// Parses one template document; errors name the source and the field.
Result<AgentTemplate> parse_template(std::string_view yaml, const std::string& source);

// The templates compiled into the binary (parsed once by the caller).
std::vector<AgentTemplate> builtin_templates();

// The config keys and the spec fields they set, e.g. {"llm_provider", "/model/provider"}.
struct ConfigKey {
  const char* key;
  const char* spec_pointer;
};
std::span<const ConfigKey> config_keys();

inline constexpr const char* kDisplayNameAnnotation = "agentry.dev/display-name";
inline constexpr const char* kTemplateAnnotation = "agentry.dev/template";

// The Agent object a create body asks for. templates: what is known (looked up by `template`).
// kInvalidArgument names the body's field (`name`, `config.model`, `template`, ...).
Result<nlohmann::json> agent_from_request(const nlohmann::json& body,
                                          const std::vector<AgentTemplate>& templates,
                                          const std::string& default_namespace);

// A DNS-1123 label from a display name ("Load Test Agent" -> "load-test-agent"), at most
// max_len characters; "agent" when nothing is left.
std::string slugify(std::string_view display, size_t max_len = 40);
bool is_dns_label(std::string_view s);

}  // namespace agentry::console
