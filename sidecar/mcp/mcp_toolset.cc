#include "sidecar/mcp/mcp_toolset.h"

#include <algorithm>
#include <cstdlib>

#include "common/json_io.h"
#include "common/log.h"
#include "common/metrics.h"
#include "sidecar/sidecar_metrics.h"

namespace agentry::sidecar::mcp {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string qualified_name(const std::string& server, const std::string& tool) {
  return server + "__" + tool;
}

namespace {

ServerOptions options_for(const McpServerConfig& c) {
  ServerOptions o;
  o.name = c.name;
  o.url = c.url;
  for (const auto& [k, v] : c.headers) o.headers.emplace(k, v);
  if (!c.bearer_token.empty()) o.headers.emplace("Authorization", "Bearer " + c.bearer_token);
  o.timeout_ms = c.timeout_ms;
  o.retries = c.retries;
  o.transport = c.transport;
  return o;
}

void count_call(const std::string& server, const std::string& tool, const char* result,
                double seconds) {
  auto& m = metrics();
  m.mcp_tool_calls->Add({{"server", server}, {"tool", tool}, {"result", result}}).Increment();
  m.mcp_tool_call_duration->Add({{"server", server}}, agentry::metrics::latency_buckets())
      .Observe(seconds);
}

}  // namespace

Toolset::Toolset(const std::vector<McpServerConfig>& servers) {
  for (const auto& c : servers) {
    auto s = std::make_unique<Server>();
    s->config = c;
    s->client = std::make_unique<Client>(options_for(c));
    servers_.push_back(std::move(s));
  }
}

bool Toolset::allowed(const Server& s, const std::string& tool) const {
  const auto& allow = s.config.allow_tools;
  return allow.empty() || std::find(allow.begin(), allow.end(), tool) != allow.end();
}

void Toolset::refresh(Server& s, CancelToken* cancel) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    const bool fresh = s.listed && now - s.listed_at < kRefresh && !s.client->tools_changed();
    // One execution lists at a time; the others go on with the list they have (maybe none).
    if (fresh || now < s.retry_at || s.listing) return;
    s.listing = true;
  }
  auto tools = s.client->list_tools(cancel);
  if (tools.ok()) {
    s.breaker.on_success();
  } else if (tools.status().code() != Code::kCancelled) {
    s.breaker.on_failure();
  }
  std::lock_guard<std::mutex> lock(mu_);
  s.listing = false;
  if (!tools.ok()) {
    s.retry_at = Clock::now() + std::chrono::seconds(10);
    log::warn("MCP server could not be listed; its tools are left out",
              {{"server", s.config.name}, {"error", tools.status().message()}});
    metrics().mcp_list_failures->Add({{"server", s.config.name}}).Increment();
    return;
  }
  json decls = json::array();
  for (const auto& t : *tools) {
    if (!allowed(s, t.name)) continue;
    decls.push_back({{"type", "function"},
                     {"function",
                      {{"name", qualified_name(s.config.name, t.name)},
                       {"description", t.description},
                       {"parameters", t.input_schema}}}});
  }
  s.decls = std::move(decls);
  s.listed = true;
  s.listed_at = Clock::now();
}

json Toolset::declarations(CancelToken* cancel) {
  json out = json::array();
  for (auto& s : servers_) {
    if (s->breaker.allow()) refresh(*s, cancel);
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& d : s->decls) out.push_back(d);
  }
  return out;
}

bool Toolset::owns(const std::string& name) const {
  for (const auto& s : servers_)
    if (name.rfind(s->config.name + "__", 0) == 0) return true;
  return false;
}

std::string Toolset::call(const ToolCall& call, const CallContext& ctx, CancelToken* cancel) {
  Server* server = nullptr;
  for (auto& s : servers_)
    if (call.name.rfind(s->config.name + "__", 0) == 0) server = s.get();
  if (!server) return "error: unknown tool '" + call.name + "'";
  const std::string& sname = server->config.name;
  const std::string tool = call.name.substr(sname.size() + 2);
  if (!allowed(*server, tool)) {
    count_call(sname, tool, "refused", 0);
    return "error: tool '" + call.name + "' is not in agent.mcpServers[" + sname + "].allowTools";
  }
  std::chrono::milliseconds retry_in{0};
  if (!server->breaker.allow(&retry_in)) {
    count_call(sname, tool, "unavailable", 0);
    return "error: MCP server '" + sname + "' is down (circuit open, next try in " +
           std::to_string(retry_in.count() / 1000 + 1) + " s); answer without tool '" + call.name +
           "'";
  }
  const auto t0 = Clock::now();
  httplib::Headers extra;
  if (server->config.kind == "agent") {
    extra.emplace(kCallChainHeader, format_call_chain(ctx.chain));
    extra.emplace("Idempotency-Key", child_idempotency_key(ctx.parent_key, ctx.turn, ctx.index,
                                                           call.name, call.arguments));
  }
  auto r = server->client->call_tool(tool, call.arguments, cancel, extra);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!r.ok()) {
    // A protocol error (bad arguments, unknown tool) is the server answering: not a failure of it.
    if (r.status().code() == Code::kInvalidArgument) {
      server->breaker.on_success();
      count_call(sname, tool, "error", secs);
    } else if (r.status().code() == Code::kCancelled) {
      count_call(sname, tool, "cancelled", secs);
      return "error: cancelled";
    } else {
      server->breaker.on_failure();
      count_call(sname, tool, "unavailable", secs);
    }
    return "error: " + r.status().message();
  }
  server->breaker.on_success();
  count_call(sname, tool, r->is_error ? "tool_error" : "ok", secs);
  std::string text = std::move(r->text);
  const size_t cap = server->config.max_result_bytes;
  if (text.size() > cap) {
    text.resize(cap);
    text += "\n[truncated: the tool's result was over agent.mcpServers[" + sname +
            "].maxResultBytes = " + std::to_string(cap) + " bytes]";
  }
  return r->is_error ? "error: tool '" + call.name + "' failed: " + text : text;
}

}  // namespace agentry::sidecar::mcp
