#include "sidecar/exec/tools.h"

#include <httplib.h>

#include "common/json_io.h"
#include "sidecar/exec/providers/client_pool.h"

namespace agentry::sidecar {

namespace {
constexpr size_t kMaxToolAnswer = 64 * 1024;
}

ToolRunner::ToolRunner(std::vector<ToolConfig> tools, int timeout_ms,
                       const std::vector<McpServerConfig>& mcp_servers)
    : tools_(std::move(tools)), timeout_ms_(timeout_ms), mcp_(mcp_servers) {
  for (const auto& t : tools_) {
    nlohmann::json params =
        t.parameters.empty()
            ? nlohmann::json{{"type", "object"}, {"properties", nlohmann::json::object()}}
            : t.parameters;
    decls_.push_back(
        {{"type", "function"},
         {"function", {{"name", t.name}, {"description", t.description}, {"parameters", params}}}});
  }
}

nlohmann::json ToolRunner::declarations(CancelToken* cancel) {
  if (mcp_.empty()) return decls_;
  nlohmann::json all = decls_;
  for (auto& d : mcp_.declarations(cancel)) all.push_back(std::move(d));
  return all;
}

std::string ToolRunner::call(const ToolCall& call, const mcp::CallContext& ctx,
                             CancelToken* cancel) {
  const ToolConfig* tool = nullptr;
  for (const auto& t : tools_)
    if (t.name == call.name) tool = &t;
  if (!tool && mcp_.owns(call.name)) return mcp_.call(call, ctx, cancel);
  if (!tool) return "error: unknown tool '" + call.name + "'";
  auto ep = parse_endpoint(tool->url);
  if (!ep.ok()) return "error: " + ep.status().message();
  const int timeout_ms = tool->timeout_ms > 0 ? tool->timeout_ms : timeout_ms_;
  ClientPool pool(*ep, PoolOptions{"", true, timeout_ms, timeout_ms, 0});
  std::string path, body;
  if (tool->method == "GET") {
    httplib::Params q;
    if (call.arguments.is_object())
      for (const auto& [k, v] : call.arguments.items())
        q.emplace(k, v.is_string() ? v.get<std::string>() : json_io::dump(v));
    path = q.empty() ? "" : "?" + httplib::detail::params_to_query_str(q);
  } else {
    body = json_io::dump(call.arguments);
  }
  HttpResult r = pool.request(tool->method, path, body, {}, cancel);
  if (r.cancelled) return "error: cancelled";
  if (r.status == 0)
    return "error: tool '" + call.name + "' unreachable: " + httplib::to_string(r.error);
  std::string answer = r.body.size() > kMaxToolAnswer ? r.body.substr(0, kMaxToolAnswer) : r.body;
  if (r.status < 200 || r.status >= 300)
    return "error: tool '" + call.name + "' answered HTTP " + std::to_string(r.status) + ": " +
           answer;
  return answer;
}

}  // namespace agentry::sidecar
