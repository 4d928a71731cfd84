#include "operator/controllers/agent_tools.h"

#include <algorithm>

#include "operator/controllers/agent_names.h"
#include "operator/controllers/workflow_controller.h"
#include "operator/kube/object.h"

namespace agentry::controllers {

using nlohmann::json;

namespace {

std::vector<std::string> strings(const json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const auto& s : v)
    if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const json& list_at(const json& agent, const char* key) {
  static const json kEmpty = json::array();
  auto spec = agent.find("spec");  // a reference into agent: what is returned must outlive this
  if (spec == agent.end() || !spec->is_object()) return kEmpty;
  auto it = spec->find(key);
  return it != spec->end() && it->is_array() ? *it : kEmpty;
}

json secret_env(const std::string& var, const std::string& secret, const std::string& key) {
  return {{"name", var}, {"valueFrom", {{"secretKeyRef", {{"name", secret}, {"key", key}}}}}};
}

// The effective allow-list: the ToolServer's, narrowed by the Agent's. Empty: everything listed.
std::vector<std::string> narrow(const std::vector<std::string>& server,
                                const std::vector<std::string>& agent) {
  if (agent.empty()) return server;
  if (server.empty()) return agent;
  std::vector<std::string> out;
  for (const auto& t : agent)
    if (contains(server, t)) out.push_back(t);
  return out;
}

std::string env_var(size_t i) {
  return "AGENTRY_MCP_TOKEN_" + std::to_string(i);
}

}  // namespace

bool reads_secret(const json& tool_server, const json& secret) {
  return kube::namespace_of(tool_server) == kube::namespace_of(secret) &&
         tool_server.value("/spec/bearerTokenSecretRef/name"_json_pointer, std::string()) ==
             kube::name(secret);
}

std::string caller_label(const std::string& callee) {
  return "calls.agentry.dev/" + callee;
}

std::vector<std::string> referenced_tool_servers(const json& agent) {
  std::vector<std::string> out;
  for (const auto& r : list_at(agent, "toolServers")) out.push_back(r.value("name", ""));
  return out;
}

std::vector<std::string> referenced_agents(const json& agent) {
  std::vector<std::string> out;
  for (const auto& r : list_at(agent, "agentTools")) out.push_back(r.value("name", ""));
  return out;
}

ToolBindings bind_tools(const json& agent, const FindObject& tool_servers,
                        const FindObject& agents) {
  ToolBindings b;
  const std::string self = kube::name(agent);
  const json& servers = list_at(agent, "toolServers");
  for (size_t i = 0; i < servers.size(); ++i) {
    const json& ref = servers[i];
    ToolSource s;
    s.kind = "ToolServer";
    s.name = ref.value("name", "");
    s.field = "spec.toolServers[" + std::to_string(i) + "]";
    auto ts = tool_servers(s.name);
    if (!ts) {
      b.waiting = s.field + ".name: ToolServer " + kube::namespace_of(agent) + "/" + s.name +
                  " does not exist; create it (kubectl apply -f a ToolServer manifest)";
      return b;
    }
    const json& spec = ts->value("spec", json::object());
    const std::vector<std::string> allow = narrow(strings(spec.value("allowTools", json::array())),
                                                  strings(ref.value("allowTools", json::array())));
    if (allow.empty() && !strings(ref.value("allowTools", json::array())).empty()) {
      b.invalid = s.field + ".allowTools: none of its tools is in ToolServer " + s.name +
                  "'s spec.allowTools";
      return b;
    }
    s.server = {{"name", s.name},
                {"url", spec.value("url", "")},
                {"transport", spec.value("transport", "streamable-http")},
                {"timeoutMs", spec.value("timeoutMs", 30000)},
                {"retries", spec.value("retries", 2)},
                {"maxResultBytes", spec.value("maxResultBytes", 65536)}};
    if (spec.contains("headers") && spec["headers"].is_object())
      s.server["headers"] = spec["headers"];
    if (!allow.empty()) s.server["allowTools"] = allow;
    if (spec.contains("bearerTokenSecretRef") && spec["bearerTokenSecretRef"].is_object()) {
      const json& sr = spec["bearerTokenSecretRef"];
      s.secret_name = sr.value("name", "");
      s.secret_key = sr.value("key", "token");
      s.env = secret_env(env_var(b.sources.size()), s.secret_name, s.secret_key);
      s.server["bearerTokenEnv"] = env_var(b.sources.size());
    }
    const json& st = ts->value("status", json::object());
    const bool probed = st.value("observedGeneration", int64_t{0}) >= kube::generation(*ts) &&
                        st.contains("reachable");
    s.reachable = probed && st.value("reachable", false);
    s.message = !probed       ? "not probed yet"
                : s.reachable ? "reachable"
                              : st.value("lastError", std::string("unreachable"));
    for (const auto& t : st.value("tools", json::array())) {
      const std::string n = t.is_object() ? t.value("name", "") : "";
      if (!n.empty() && (allow.empty() || contains(allow, n))) s.tools.push_back(s.name + "__" + n);
    }
    b.sources.push_back(std::move(s));
  }
  const json& callees = list_at(agent, "agentTools");
  for (size_t i = 0; i < callees.size(); ++i) {
    const json& ref = callees[i];
    ToolSource s;
    s.kind = "Agent";
    s.name = ref.value("name", "");
    s.field = "spec.agentTools[" + std::to_string(i) + "]";
    if (s.name == self) {
      b.invalid = s.field + ".name: an Agent cannot list itself as a tool";
      return b;
    }
    auto callee = agents(s.name);
    if (!callee) {
      b.waiting =
          s.field + ".name: Agent " + kube::namespace_of(agent) + "/" + s.name + " does not exist";
      return b;
    }
    std::string endpoint =
        kube::annotations(*callee).value(kEndpointOverrideAnnotation, std::string());
    if (endpoint.empty()) endpoint = service_endpoint(*callee);
    s.server = {{"name", s.name},
                {"kind", "agent"},
                {"url", endpoint + "/mcp"},
                {"timeoutMs", int64_t{ref.value("timeoutSeconds", 120)} * 1000},
                {"retries", 1},
                {"bearerTokenEnv", env_var(b.sources.size())}};
    s.secret_name = token_secret_name(s.name);
    s.secret_key = "token";
    s.env = secret_env(env_var(b.sources.size()), s.secret_name, s.secret_key);
    const std::string phase = callee->value("/status/phase"_json_pointer, std::string("Pending"));
    s.reachable = phase == "Ready";
    s.message = "Agent " + s.name + " is " + phase;
    s.tools.push_back(s.name + "__" + s.name);
    b.sources.push_back(std::move(s));
  }
  return b;
}

json tools_status(const json& agent, const ToolBindings& b) {
  json tools = json::array();
  for (const auto& t : list_at(agent, "tools")) tools.push_back(t.value("name", ""));
  json sources = json::array();
  for (const auto& s : b.sources) {
    for (const auto& t : s.tools) tools.push_back(t);
    sources.push_back({{"name", s.name},
                       {"kind", s.kind},
                       {"reachable", s.reachable},
                       {"tools", s.tools.size()},
                       {"message", s.message}});
  }
  return {{"tools", tools}, {"toolServers", sources}};
}

ToolsReady tools_ready(const ToolBindings& b) {
  if (b.sources.empty()) return {true, "NoToolServers", "no ToolServers or agentTools"};
  std::string down;
  for (const auto& s : b.sources)
    if (!s.reachable) down += (down.empty() ? "" : "; ") + s.kind + " " + s.name + ": " + s.message;
  if (down.empty())
    return {true, "AllReachable", std::to_string(b.sources.size()) + " tool source(s) reachable"};
  return {false, "ToolSourceUnavailable", down};
}

}  // namespace agentry::controllers
