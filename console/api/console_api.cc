#include "console/api/console_api.h"

#include <algorithm>
#include <set>

#include "common/http_util.h"
#include "common/json_io.h"
#include "common/log.h"
#include "console/api/sidecar_target.h"
#include "console/api/views.h"
#include "operator/controllers/agent_names.h"
#include "operator/kube/object.h"
#include "sidecar/api/errors.h"

namespace agentry::console {
namespace {

using json = nlohmann::json;
using sidecar::Router;
using sidecar::api::send_status;
namespace res = kube::resources;

constexpr const char* kName = "([a-z0-9]([-a-z0-9.]*[a-z0-9])?)";

std::string bearer(const httplib::Request& req) {
  const std::string h = req.get_header_value("Authorization");
  if (h.size() > 7 && (h.rfind("Bearer ", 0) == 0 || h.rfind("bearer ", 0) == 0))
    return h.substr(7);
  return "";
}

Status forbidden(const std::string& verb, const std::string& what, const std::string& ns) {
  return Status(Code::kPermissionDenied,
                "you may not " + verb + " " + what + (ns.empty() ? "" : " in namespace " + ns),
                403);
}

Result<json> parse_body(const httplib::Request& req) {
  if (req.body.empty()) return invalid_argument("the body: want a JSON object");
  auto j = json_io::parse(req.body);
  if (!j.ok()) return j.status();
  if (!j->is_object()) return invalid_argument("the body: want a JSON object");
  return j;
}

// key=value[,key=value...]: equality selectors only (what the UI sends).
Result<std::vector<std::pair<std::string, std::string>>> parse_selector(const std::string& s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    std::string term =
        s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t eq = term.find('=');
    if (eq == std::string::npos || eq == 0 || term.find('=', eq + 1) != std::string::npos)
      return invalid_argument("labelSelector: want key=value[,key=value] (got " + term + ")");
    out.emplace_back(term.substr(0, eq), term.substr(eq + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// The rows of a kind the caller may list, in namespace ns ("" every namespace they may), in id
// order. A caller without a cluster-wide grant gets the namespaces they may list, asked one by
// one (each answer cached by KubeAccess), outside the catalog's lock.
Result<std::vector<Catalog::Row>> visible(ConsoleApi& api, const Identity& who,
                                          const std::string& kind, const kube::Resource& r,
                                          const std::string& ns) {
  auto everywhere = api.access.allowed(who, "list", r, ns);
  if (!everywhere.ok()) return everywhere.status();
  if (*everywhere) {
    if (ns.empty() || !r.namespaced) return api.catalog.rows(kind, nullptr);
    const std::set<std::string> one = {ns};
    return api.catalog.rows(kind, &one);
  }
  if (!ns.empty() || !r.namespaced) return forbidden("list", r.plural, ns);
  std::set<std::string> mine;
  for (const auto& n : api.catalog.namespaces(kind)) {
    auto a = api.access.allowed(who, "list", r, n);
    if (!a.ok()) return a.status();
    if (*a) mine.insert(n);
  }
  return api.catalog.rows(kind, &mine);
}

// GET list: filters, id order, paged by limit and continue (the last id of the page before).
void list_route(ConsoleApi& api, const httplib::Request& req, httplib::Response& out,
                const std::string& kind, const kube::Resource& r) {
  auto who = caller(api, req);
  if (!who.ok()) return send_status(out, who.status());
  const std::string ns = req.get_param_value("namespace");
  auto limit = json_io::parse_int(req.get_param_value("limit"), "limit", 1,
                                  static_cast<int64_t>(api.opts.max_page));
  if (req.has_param("limit") && !limit.ok()) return send_status(out, limit.status());
  const size_t page = req.has_param("limit") ? static_cast<size_t>(*limit) : api.opts.default_page;
  std::vector<std::pair<std::string, std::string>> selector;
  if (req.has_param("labelSelector")) {
    auto sel = parse_selector(req.get_param_value("labelSelector"));
    if (!sel.ok()) return send_status(out, sel.status());
    selector = std::move(*sel);
  }
  const uint64_t revision = api.catalog.feed().head();  // before the read: no change is missed
  auto rows = visible(api, *who, kind, r, ns);
  if (!rows.ok()) return send_status(out, rows.status());
  const std::string phase = req.get_param_value("phase");
  const std::string after = req.get_param_value("continue");
  auto id_of = [](const json& row) -> const std::string& {
    return row.contains("id") ? row["id"].get_ref<const std::string&>()
                              : row["name"].get_ref<const std::string&>();
  };
  json items = json::array();
  std::string last;
  bool more = false;
  for (const auto& row : *rows) {
    const json& v = *row;
    if (!after.empty() && id_of(v) <= after) continue;
    if (!phase.empty() && (!v.contains("phase") || v["phase"] != phase)) continue;
    bool match = true;
    for (const auto& [k, val] : selector) {
      const json* labels = v.contains("labels") ? &v["labels"] : nullptr;
      match = match && labels && labels->is_object() && labels->contains(k) && (*labels)[k] == val;
    }
    if (!match) continue;
    if (items.size() == page) {
      more = true;
      break;
    }
    items.push_back(v);
    last = id_of(v);
  }
  json body = {{"items", std::move(items)}, {"revision", revision}};
  if (more) body["continue"] = last;
  http::send_json(out, 200, body);
}

// The cached object ns/name the caller may get; 404 when it is not there (or not theirs to see:
// a user who may not get it is told 403, as kubectl would).
Result<runtime::ObjectPtr> cached_object(ConsoleApi& api, const Identity& who,
                                         runtime::Store& store, const kube::Resource& r,
                                         const std::string& ns, const std::string& name) {
  auto may = api.access.allowed(who, "get", r, ns);
  if (!may.ok()) return may.status();
  if (!*may) return forbidden("get", r.plural, ns);
  auto o = store.get(ns.empty() ? name : ns + "/" + name);
  if (!o)
    return Status(Code::kNotFound,
                  r.kind + " " + (ns.empty() ? "" : ns + "/") + name + " not found", 404);
  return o;
}

Result<std::shared_ptr<kube::Client>> user_client(ConsoleApi& api, const httplib::Request& req,
                                                  Identity* who_out) {
  auto who = caller(api, req);
  if (!who.ok()) return who.status();
  if (who_out) *who_out = *who;
  return api.access.client_for(*who);
}

json events_of(kube::Client& c, const std::string& kind, const std::string& ns,
               const std::string& name) {
  kube::ListOptions lo;
  lo.field_selector = "involvedObject.kind=" + kind + ",involvedObject.name=" + name;
  auto list = c.list(res::kEvents, ns, lo);
  json out = json::array();
  if (!list.ok()) return out;
  for (const auto& e : list->value("items", json::array())) {
    out.push_back({{"type", kube::string_at(e, "type")},
                   {"reason", kube::string_at(e, "reason")},
                   {"message", kube::string_at(e, "message")},
                   {"count", e.value("count", 1)},
                   {"lastTimestamp", kube::string_at(e, "lastTimestamp").empty()
                                         ? kube::string_at(e, "eventTime")
                                         : kube::string_at(e, "lastTimestamp")}});
  }
  return out;
}

// The memory and cache figures one of the agent's sidecars reports (GET /v1/memory?limit=1 and
// GET /v1/cache), for callers who could read them themselves; {"error"} says why not. Short
// timeouts: the page must not wait on a sidecar that is away.
json sidecar_figures(ConsoleApi& api, const Identity& who, const std::string& ns,
                     const std::string& name) {
  auto target = sidecar_target(api, who, ns, name, "read the figures of");
  if (!target.ok()) return {{"error", target.status().message()}};
  sidecar::PoolOptions po;
  po.connect_timeout_ms = 1000;
  po.read_timeout_ms = 2000;
  po.max_idle = 0;
  sidecar::ClientPool pool(target->endpoint, po);
  const httplib::Headers h = {{"Authorization", "Bearer " + target->token}};
  json out = json::object();
  for (const auto& [key, path] :
       {std::pair{"memory", "/v1/memory?limit=1"}, std::pair{"cache", "/v1/cache"}}) {
    auto r = pool.request("GET", path, "", h, nullptr);
    auto j = r.status == 200 ? json_io::parse(r.body) : Result<json>(unavailable(""));
    if (!j.ok() || !j->is_object()) {
      out["error"] = "the sidecar did not answer " + std::string(path) +
                     (r.status ? " (HTTP " + std::to_string(r.status) + ")" : ": " + r.error_text);
      continue;
    }
    if (std::string(key) == "memory") {
      out[key] = j->contains("stats") && (*j)["stats"].is_object() ? (*j)["stats"] : json::object();
    } else {
      out[key] = *j;
    }
  }
  return out;
}

void agent_detail(ConsoleApi& api, const httplib::Request& req, httplib::Response& out,
                  const std::string& ns, const std::string& name) {
  Identity who;
  auto c = user_client(api, req, &who);
  if (!c.ok()) return send_status(out, c.status());
  const uint64_t revision = api.catalog.feed().head();  // before the read: no change is missed
  auto o = cached_object(api, who, api.catalog.agents(), res::kAgents, ns, name);
  if (!o.ok()) return send_status(out, o.status());
  const json& a = **o;
  json body = agent_view(a);
  body["revision"] = revision;
  body["spec"] = a.value("spec", json::object());
  body["status"] = a.value("status", json::object());
  body["events"] = events_of(**c, "Agent", ns, name);
  const std::string owned = controllers::owned_name(name);
  body["owned"] = json::array({{{"kind", "Deployment"}, {"name", owned}},
                               {{"kind", "Service"}, {"name", owned}},
                               {{"kind", "ConfigMap"}, {"name", owned}},
                               {{"kind", "Secret"}, {"name", controllers::token_secret_name(name)}},
                               {{"kind", "PodDisruptionBudget"}, {"name", owned}},
                               {{"kind", "NetworkPolicy"}, {"name", owned}}});
  // The scaling state as the operator mirrors it from the HPA into the Agent's status (no API
  // call: min/max, current/desired replicas, each metric over its target, the last scale time).
  json hpa = nullptr;
  const json status = a.value("status", json::object());
  if (status.is_object() && status.contains("autoscaling") && status["autoscaling"].is_object())
    hpa = status["autoscaling"];
  body["autoscaling"] = hpa;
  http::send_json(out, 200, body);
}

}  // namespace

Result<Identity> caller(ConsoleApi& api, const httplib::Request& req) {
  return api.auth.authenticate(bearer(req));
}

Result<std::shared_ptr<void>> stream_slot(ConsoleApi& api, const Identity& who, const char* what) {
  auto slot = api.streams->acquire(who.key());
  if (!slot)
    return Status(Code::kResourceExhausted,
                  std::string("too many open streams to open a ") + what + " (at most " +
                      std::to_string(api.opts.max_streams_per_identity) + " per user and " +
                      std::to_string(api.opts.max_streams) + " in all); close a tab and retry",
                  429);
  return slot;
}

void mount_console_api(Router& r, ConsoleApi& api) {
  const std::string ns_name = std::string("/") + kName + "/" + kName;

  r.Post("/api/v1/auth/login", [&api](const httplib::Request& req, httplib::Response& out) {
    auto body = parse_body(req);
    if (!body.ok()) return send_status(out, body.status());
    const auto& b = *body;
    if (!b.contains("username") || !b["username"].is_string() || !b.contains("password") ||
        !b["password"].is_string())
      return send_status(out, invalid_argument("username and password: required strings"));
    int retry = 1;
    auto s = api.auth.login(req.remote_addr, b["username"].get<std::string>(),
                            b["password"].get<std::string>(), &retry);
    if (!s.ok()) return send_status(out, s.status(), retry);
    const auto secs =
        std::chrono::duration_cast<std::chrono::seconds>(s->expires_at - SessionStore::Clock::now())
            .count();
    http::send_json(out, 200,
                    {{"access_token", s->token},
                     {"token_type", "Bearer"},
                     {"expires_in", secs},
                     {"expires_at", std::chrono::duration_cast<std::chrono::seconds>(
                                        s->expires_at.time_since_epoch())
                                        .count()},
                     {"user", s->identity.user},
                     {"groups", s->identity.groups}});
  });
  r.Post("/api/v1/auth/logout", [&api](const httplib::Request& req, httplib::Response& out) {
    auto who = caller(api, req);
    if (!who.ok()) return send_status(out, who.status());
    api.auth.logout(bearer(req));
    out.status = 204;
  });
  r.Get("/api/v1/auth/whoami", [&api](const httplib::Request& req, httplib::Response& out) {
    auto who = caller(api, req);
    if (!who.ok()) return send_status(out, who.status());
    http::send_json(out, 200,
                    {{"user", who->user}, {"groups", who->groups}, {"account", who->account}});
  });

  r.Get("/api/v1/templates", [&api](const httplib::Request& req, httplib::Response& out) {
    auto who = caller(api, req);
    if (!who.ok()) return send_status(out, who.status());
    json items = json::array();
    for (const auto& t : api.catalog.templates())
      items.push_back({{"name", t.name},
                       {"description", t.description},
                       {"source", t.source},
                       {"spec", t.spec}});
    json keys = json::array();
    for (const auto& k : config_keys()) keys.push_back({{"key", k.key}, {"sets", k.spec_pointer}});
    http::send_json(out, 200, {{"items", items}, {"configKeys", keys}});
  });

  // Agents.
  r.Get("/api/v1/agents", [&api](const httplib::Request& req, httplib::Response& out) {
    list_route(api, req, out, "agent", res::kAgents);
  });
  r.Post("/api/v1/agents", [&api](const httplib::Request& req, httplib::Response& out) {
    auto c = user_client(api, req, nullptr);
    if (!c.ok()) return send_status(out, c.status());
    auto body = parse_body(req);
    if (!body.ok()) return send_status(out, body.status());
    std::string default_ns =
        req.has_param("namespace") ? req.get_param_value("namespace") : api.opts.default_namespace;
    auto agent = agent_from_request(*body, api.catalog.templates(), default_ns);
    if (!agent.ok()) return send_status(out, agent.status());
    auto created = (*c)->create(res::kAgents, kube::namespace_of(*agent), *agent);
    if (!created.ok()) return send_status(out, created.status());
    out.set_header("Location",
                   "/api/v1/agents/" + kube::namespace_of(*created) + "/" + kube::name(*created));
    http::send_json(out, 201, agent_view(*created));
  });
  r.Get("/api/v1/agents" + ns_name, [&api](const httplib::Request& req, httplib::Response& out) {
    agent_detail(api, req, out, req.matches[1], req.matches[3]);
  });
  // The guidelines' GET /agents/{id}: the name in ?namespace= (default: the default namespace).
  r.Get(std::string("/api/v1/agents/") + kName,
        [&api](const httplib::Request& req, httplib::Response& out) {
          agent_detail(api, req, out,
                       req.has_param("namespace") ? req.get_param_value("namespace")
                                                  : api.opts.default_namespace,
                       req.matches[1]);
        });
  // Apart from the detail: a sidecar that is away (or a name that takes long to resolve) must not
  // hold up the page.
  r.Get("/api/v1/agents" + ns_name + "/figures",
        [&api](const httplib::Request& req, httplib::Response& out) {
          auto who = caller(api, req);
          if (!who.ok()) return send_status(out, who.status());
          http::send_json(out, 200, sidecar_figures(api, *who, req.matches[1], req.matches[3]));
        });
  r.Put("/api/v1/agents" + ns_name, [&api](const httplib::Request& req, httplib::Response& out) {
    auto c = user_client(api, req, nullptr);
    if (!c.ok()) return send_status(out, c.status());
    auto body = parse_body(req);
    if (!body.ok()) return send_status(out, body.status());
    for (const auto& [k, _] : body->items())
      if (k != "spec" && k != "labels")
        return send_status(out, invalid_argument(k + ": an update changes spec and labels only"));
    json patch = json::object();
    if (body->contains("spec")) {
      if (!(*body)["spec"].is_object())
        return send_status(out, invalid_argument("spec: want an object"));
      patch["spec"] = (*body)["spec"];
    }
    if (body->contains("labels")) patch["metadata"] = {{"labels", (*body)["labels"]}};
    auto updated = (*c)->patch(res::kAgents, std::string(req.matches[1]),
                               std::string(req.matches[3]), kube::PatchType::kMerge, patch);
    if (!updated.ok()) return send_status(out, updated.status());
    http::send_json(out, 200, agent_view(*updated));
  });
  r.Delete("/api/v1/agents" + ns_name, [&api](const httplib::Request& req, httplib::Response& out) {
    auto c = user_client(api, req, nullptr);
    if (!c.ok()) return send_status(out, c.status());
    auto gone =
        (*c)->remove(res::kAgents, std::string(req.matches[1]), std::string(req.matches[3]));
    if (!gone.ok()) return send_status(out, gone.status());
    http::send_json(
        out, 202, {{"deleting", std::string(req.matches[1]) + "/" + std::string(req.matches[3])}});
  });

  // Workflows.
  r.Get("/api/v1/workflows", [&api](const httplib::Request& req, httplib::Response& out) {
    list_route(api, req, out, "workflow", res::kWorkflows);
  });
  r.Get("/api/v1/workflows" + ns_name, [&api](const httplib::Request& req, httplib::Response& out) {
    auto who = caller(api, req);
    if (!who.ok()) return send_status(out, who.status());
    const uint64_t revision = api.catalog.feed().head();
    auto o = cached_object(api, *who, api.catalog.workflows(), res::kWorkflows, req.matches[1],
                           req.matches[3]);
    if (!o.ok()) return send_status(out, o.status());
    json body = workflow_view(**o);
    body["revision"] = revision;
    body["spec"] = (*o)->value("spec", json::object());
    body["conditions"] = (*o)->value("status", json::object()).value("conditions", json::array());
    if (auto c = api.access.client_for(*who); c.ok())
      body["events"] = events_of(**c, "Workflow", req.matches[1], req.matches[3]);
    http::send_json(out, 200, body);
  });
  r.Post("/api/v1/workflows", [&api](const httplib::Request& req, httplib::Response& out) {
    auto c = user_client(api, req, nullptr);
    if (!c.ok()) return send_status(out, c.status());
    auto body = parse_body(req);
    if (!body.ok()) return send_status(out, body.status());
    const json& b = *body;
    for (const auto& [k, _] : b.items())
      if (k != "name" && k != "namespace" && k != "spec" && k != "labels")
        return send_status(out, invalid_argument(k + ": not a field of a workflow create request"));
    if (!b.contains("name") || !b["name"].is_string() ||
        !is_dns_label(b["name"].get<std::string>()))
      return send_status(out, invalid_argument("name: want a DNS label"));
    if (!b.contains("spec") || !b["spec"].is_object())
      return send_status(out, invalid_argument("spec: required (a Workflow spec)"));
    std::string ns = api.opts.default_namespace;
    if (b.contains("namespace")) {
      if (!b["namespace"].is_string() || !is_dns_label(b["namespace"].get<std::string>()))
        return send_status(out, invalid_argument("namespace: want a DNS label"));
      ns = b["namespace"].get<std::string>();
    }
    json meta = {{"name", b["name"]}, {"namespace", ns}};
    if (b.contains("labels")) meta["labels"] = b["labels"];
    json wf = {{"apiVersion", "agentry.dev/v1alpha1"},
               {"kind", "Workflow"},
               {"metadata", meta},
               {"spec", b["spec"]}};
    auto created = (*c)->create(res::kWorkflows, ns, wf);
    if (!created.ok()) return send_status(out, created.status());
    http::send_json(out, 201, workflow_view(*created));
  });
  for (const auto& action : {std::pair{"cancel", true}, std::pair{"resume", false}}) {
    const bool suspend = action.second;
    r.Post("/api/v1/workflows" + ns_name + "/" + action.first,
           [&api, suspend](const httplib::Request& req, httplib::Response& out) {
             auto c = user_client(api, req, nullptr);
             if (!c.ok()) return send_status(out, c.status());
             auto p = (*c)->patch(res::kWorkflows, std::string(req.matches[1]),
                                  std::string(req.matches[3]), kube::PatchType::kMerge,
                                  {{"spec", {{"suspend", suspend}}}});
             if (!p.ok()) return send_status(out, p.status());
             http::send_json(out, 200, workflow_view(*p));
           });
  }

  // AgentPolicies (cluster-scoped).
  r.Get("/api/v1/policies", [&api](const httplib::Request& req, httplib::Response& out) {
    list_route(api, req, out, "policy", res::kAgentPolicies);
  });
  r.Get(std::string("/api/v1/policies/") + kName,
        [&api](const httplib::Request& req, httplib::Response& out) {
          auto who = caller(api, req);
          if (!who.ok()) return send_status(out, who.status());
          auto o = cached_object(api, *who, api.catalog.policies(), res::kAgentPolicies, "",
                                 req.matches[1]);
          if (!o.ok()) return send_status(out, o.status());
          http::send_json(out, 200, policy_view(**o));
        });

  mount_chat_route(r, api);
  mount_watch_route(r, api);
}

}  // namespace agentry::console
