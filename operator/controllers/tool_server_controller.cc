#include "operator/controllers/tool_server_controller.h"

#include <algorithm>

#include "common/base64.h"
#include "common/log.h"
#include "operator/controllers/agent_tools.h"
#include "operator/controllers/conditions.h"
#include "operator/kube/object.h"
#include "sidecar/mcp/mcp_client.h"

namespace agentry::controllers {

using nlohmann::json;
using runtime::ObjectPtr;
using runtime::ReconcileResult;
namespace res = kube::resources;

json tool_server_status(const json& ts, const ProbeResult& probe) {
  const json& spec = ts.value("spec", json::object());
  std::vector<std::string> allow;
  for (const auto& t : spec.value("allowTools", json::array()))
    if (t.is_string()) allow.push_back(t.get<std::string>());
  json tools = json::array();
  for (const auto& [name, description] : probe.tools) {
    if (!allow.empty() && std::find(allow.begin(), allow.end(), name) == allow.end()) continue;
    tools.push_back({{"name", name}, {"description", description.substr(0, 1024)}});
  }
  const int64_t gen = kube::generation(ts);
  json st = ts.value("status", json::object());
  st["observedGeneration"] = gen;
  st["reachable"] = probe.reachable;
  st["lastError"] = probe.error.substr(0, 4096);
  if (probe.reachable) {
    st["protocolVersion"] = probe.protocol_version;
    st["toolCount"] = probe.tools.size();
    st["tools"] = tools;
  }
  json conditions = st.value("conditions", json::array());
  set_condition(&conditions,
                probe.reachable ? Condition{"Ready", true, "Reachable",
                                            std::to_string(tools.size()) + " tool(s) offered of " +
                                                std::to_string(probe.tools.size()) + " listed"}
                                : Condition{"Ready", false, "Unreachable", probe.error},
                gen);
  st["conditions"] = conditions;
  return st;
}

namespace {

class ToolServerReconciler {
 public:
  ToolServerReconciler(runtime::Manager& mgr, const OperatorSettings& settings) : mgr_(mgr) {
    tool_servers_ = mgr.informer(res::kToolServers, settings.watch_namespace);
    secrets_ = mgr.informer(res::kSecrets, settings.watch_namespace);
  }

  void register_controller() {
    // Probes block a worker for up to the server's timeout: two workers, so one slow server does
    // not hold up the others for long.
    auto& c = mgr_.add_controller(
        "toolserver", [this](const kube::ObjectKey& k) { return reconcile(k); }, {.workers = 2});
    c.watches_for(tool_servers_, {runtime::predicates::generation_changed()});
    c.watches(secrets_,
              [this](const json& secret) {
                std::vector<kube::ObjectKey> keys;
                for (auto& ts : tool_servers_->store().list())
                  if (reads_secret(*ts, secret)) keys.push_back(kube::key_of(*ts));
                return keys;
              },
              {runtime::predicates::resource_version_changed()});
  }

 private:
  Result<ReconcileResult> reconcile(const kube::ObjectKey& key) {
    ObjectPtr ts = tool_servers_->store().get(key.str());
    if (!ts || kube::being_deleted(*ts)) return ReconcileResult{};
    const ProbeResult probe = this->probe(*ts);
    json st = tool_server_status(*ts, probe);
    const json& old = ts->value("status", json::object());
    if (st != old) {
      auto r = mgr_.client()->patch(res::kToolServers, key.ns, key.name, kube::PatchType::kMerge,
                                    {{"status", st}}, "status");
      if (!r.ok()) {
        if (r.status().code() == Code::kNotFound) return ReconcileResult{};
        return r.status();  // retried with backoff: never a stale status left as if written
      }
      const bool was = old.value("reachable", false);
      if (!old.contains("reachable") || was != probe.reachable) {
        mgr_.events().record(
            *ts, probe.reachable ? "Normal" : "Warning",
            probe.reachable ? "Reachable" : "Unreachable", "Probe",
            probe.reachable ? std::to_string(probe.tools.size()) + " tool(s) listed" : probe.error);
      }
    }
    const int interval = ts->value("/spec/probeIntervalSeconds"_json_pointer, 300);
    return ReconcileResult{
        .requeue_after = std::chrono::seconds(probe.reachable ? interval : std::min(interval, 30))};
  }

  ProbeResult probe(const json& ts) {
    ProbeResult out;
    const json& spec = ts.value("spec", json::object());
    sidecar::mcp::ServerOptions o;
    o.name = kube::name(ts);
    o.url = spec.value("url", "");
    o.transport = spec.value("transport", "streamable-http");
    o.timeout_ms = std::min(spec.value("timeoutMs", 30000), 10000);
    o.retries = 0;
    o.listen = false;  // one probe, then the client is gone
    if (spec.contains("headers") && spec["headers"].is_object())
      for (auto it = spec["headers"].begin(); it != spec["headers"].end(); ++it)
        if (it->is_string()) o.headers.emplace(it.key(), it->get<std::string>());
    if (spec.contains("bearerTokenSecretRef") && spec["bearerTokenSecretRef"].is_object()) {
      const std::string name = spec["bearerTokenSecretRef"].value("name", "");
      const std::string skey = spec["bearerTokenSecretRef"].value("key", "token");
      ObjectPtr s = secrets_->store().get(kube::namespace_of(ts) + "/" + name);
      auto p = json::json_pointer("/data/" + skey);
      if (!s || !s->contains(p) || !s->at(p).is_string()) {
        out.error = "spec.bearerTokenSecretRef: Secret " + kube::namespace_of(ts) + "/" + name +
                    (s ? " has no key \"" + skey + "\"" : " does not exist");
        return out;
      }
      auto token = base64_decode(s->at(p).get<std::string>());
      if (!token.ok() || token->empty()) {
        out.error = "spec.bearerTokenSecretRef: Secret " + name + " key \"" + skey + "\" is empty";
        return out;
      }
      o.headers.emplace("Authorization", "Bearer " + *token);
    }
    sidecar::mcp::Client client(o);
    sidecar::CancelToken cancel;
    auto tools = client.list_tools(&cancel);
    if (!tools.ok()) {
      out.error = tools.status().message();
      log::info("ToolServer probe failed",
                {{"toolserver", kube::key_of(ts).str()}, {"error", out.error}});
      return out;
    }
    out.reachable = true;
    out.protocol_version = client.protocol_version();
    for (const auto& t : *tools) out.tools.emplace_back(t.name, t.description);
    return out;
  }

  runtime::Manager& mgr_;
  std::shared_ptr<runtime::Informer> tool_servers_, secrets_;
};

}  // namespace

void register_tool_server_controller(runtime::Manager& mgr, const OperatorSettings& settings) {
  auto r = std::make_shared<ToolServerReconciler>(mgr, settings);
  r->register_controller();
  mgr.keep_alive(std::move(r));
}

}  // namespace agentry::controllers
