#include "console/agents/templates.h"

#include <cctype>

#include "common/embedded_file.h"
#include "common/yaml_json.h"

namespace agentry {
std::span<const EmbeddedFile> console_agent_templates();  // generated (console/CMakeLists.txt)
}

namespace agentry::console {
namespace {

using json = nlohmann::json;

constexpr ConfigKey kConfigKeys[] = {
    {"llm_provider", "/model/provider"},
    {"model", "/model/name"},
    {"endpoint", "/model/endpoint"},
    {"temperature", "/model/temperature"},
    {"max_tokens", "/model/maxTokens"},
    {"system_prompt", "/systemPrompt"},
    {"replicas", "/replicas"},
    {"min_replicas", "/autoscaling/minReplicas"},
    {"max_replicas", "/autoscaling/maxReplicas"},
    {"policy", "/policyRef/name"},
    {"memory_backend", "/memory/backend"},
    {"api_key_secret", "/model/apiKeySecretRef/name"},
};

// Objects merge key by key; anything else is replaced (JSON merge patch, without null deletes).
void merge_into(json& base, const json& over) {
  if (!base.is_object() || !over.is_object()) {
    base = over;
    return;
  }
  for (const auto& [k, v] : over.items()) {
    if (v.is_object() && base.contains(k) && base[k].is_object()) {
      merge_into(base[k], v);
    } else {
      base[k] = v;
    }
  }
}

// spec at pointer = v, when every parent that exists is an object (a spec of {"model": "x"} must
// not turn a config key into an exception).
bool set_at(json& spec, const std::string& pointer, const json& v) {
  json* at = &spec;
  size_t start = 1;
  while (true) {
    const size_t slash = pointer.find('/', start);
    const std::string key =
        pointer.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!at->is_object()) return false;
    if (slash == std::string::npos) {
      (*at)[key] = v;
      return true;
    }
    at = &(*at)[key];
    if (at->is_null()) *at = json::object();
    start = slash + 1;
  }
}

}  // namespace

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  }
  return s.front() != '-' && s.back() != '-';
}

std::string slugify(std::string_view display, size_t max_len) {
  std::string out;
  for (char c : display) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 128) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
    if (out.size() >= max_len) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "agent" : out;
}

Result<AgentTemplate> parse_template(std::string_view yaml, const std::string& source) {
  auto doc = yaml_to_json(std::string(yaml));
  if (!doc.ok()) return invalid_argument("template " + source + ": " + doc.status().message());
  if (!doc->is_object()) return invalid_argument("template " + source + ": want a YAML mapping");
  AgentTemplate t;
  t.source = source;
  if (!doc->contains("name") || !(*doc)["name"].is_string() ||
      !is_dns_label((*doc)["name"].get<std::string>()))
    return invalid_argument("template " + source + ": name: want a DNS label");
  t.name = (*doc)["name"].get<std::string>();
  if (doc->contains("description")) {
    if (!(*doc)["description"].is_string())
      return invalid_argument("template " + source + ": description: want a string");
    t.description = (*doc)["description"].get<std::string>();
  }
  if (!doc->contains("spec") || !(*doc)["spec"].is_object())
    return invalid_argument("template " + source + ": spec: want a mapping (a partial Agent spec)");
  t.spec = (*doc)["spec"];
  return t;
}

std::vector<AgentTemplate> builtin_templates() {
  std::vector<AgentTemplate> out;
  for (const auto& f : console_agent_templates()) {
    auto t = parse_template(f.data, "built-in " + std::string(f.name));
    if (t.ok()) out.push_back(std::move(*t));  // a broken built-in fails its unit test
  }
  return out;
}

std::span<const ConfigKey> config_keys() {
  return kConfigKeys;
}

Result<json> agent_from_request(const json& body, const std::vector<AgentTemplate>& templates,
                                const std::string& default_namespace) {
  if (!body.is_object()) return invalid_argument("the body: want a JSON object");
  static constexpr const char* kKnown[] = {"name", "namespace", "template",   "config",
                                           "spec", "labels",    "description"};
  for (const auto& [k, _] : body.items()) {
    bool known = false;
    for (const char* n : kKnown) known = known || k == n;
    if (!known) return invalid_argument(k + ": not a field of an agent create request");
  }
  if (!body.contains("name") || !body["name"].is_string() ||
      body["name"].get<std::string>().empty())
    return invalid_argument("name: required (a string)");
  const std::string name = body["name"].get<std::string>();
  if (name.size() > 253) return invalid_argument("name: at most 253 characters");
  std::string ns = default_namespace;
  if (body.contains("namespace")) {
    if (!body["namespace"].is_string() || !is_dns_label(body["namespace"].get<std::string>()))
      return invalid_argument("namespace: want a DNS label");
    ns = body["namespace"].get<std::string>();
  }
  json spec = json::object();
  std::string template_name;
  if (body.contains("template")) {
    if (!body["template"].is_string()) return invalid_argument("template: want a string");
    template_name = body["template"].get<std::string>();
    const AgentTemplate* found = nullptr;
    for (const auto& t : templates)
      if (t.name == template_name) found = &t;
    if (!found) {
      std::string names;
      for (const auto& t : templates) names += (names.empty() ? "" : ", ") + t.name;
      return invalid_argument("template: no template " + template_name + " (there are: " + names +
                              ")");
    }
    spec = found->spec;
  }
  if (body.contains("spec")) {
    if (!body["spec"].is_object()) return invalid_argument("spec: want an object (an Agent spec)");
    merge_into(spec, body["spec"]);
  }
  if (template_name.empty() && !body.contains("spec"))
    return invalid_argument("template: give a template or a spec");
  if (body.contains("config")) {
    if (!body["config"].is_object()) return invalid_argument("config: want an object");
    for (const auto& [k, v] : body["config"].items()) {
      const ConfigKey* ck = nullptr;
      for (const auto& c : kConfigKeys)
        if (k == c.key) ck = &c;
      if (!ck) {
        std::string keys;
        for (const auto& c : kConfigKeys) keys += (keys.empty() ? "" : ", ") + std::string(c.key);
        return invalid_argument("config." + k + ": not a config key (there are: " + keys + ")");
      }
      if (v.is_null() || v.is_object() || v.is_array())
        return invalid_argument("config." + k + ": want a string or a number");
      if (!set_at(spec, ck->spec_pointer, v))
        return invalid_argument("config." + k + ": the spec has no object at " +
                                std::string(ck->spec_pointer));
    }
  }
  if (!spec.contains("model") || !spec["model"].is_object())
    return invalid_argument("spec.model: required (or a template that has one)");
  json meta = {{"namespace", ns}};
  json annotations = json::object();
  if (is_dns_label(name)) {
    meta["name"] = name;
  } else {
    meta["generateName"] = slugify(name) + "-";
    annotations[kDisplayNameAnnotation] = name;
  }
  if (!template_name.empty()) annotations[kTemplateAnnotation] = template_name;
  if (body.contains("description")) {
    if (!body["description"].is_string()) return invalid_argument("description: want a string");
    annotations["agentry.dev/description"] = body["description"];
  }
  if (!annotations.empty()) meta["annotations"] = annotations;
  if (body.contains("labels")) {
    if (!body["labels"].is_object()) return invalid_argument("labels: want an object of strings");
    for (const auto& [k, v] : body["labels"].items())
      if (!v.is_string()) return invalid_argument("labels." + k + ": want a string");
    meta["labels"] = body["labels"];
  }
  return json{{"apiVersion", "agentry.dev/v1alpha1"},
              {"kind", "Agent"},
              {"metadata", meta},
              {"spec", spec}};
}

}  // namespace agentry::console
