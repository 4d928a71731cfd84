#include "console/app/catalog.h"

#include <algorithm>

#include "console/api/views.h"
#include "operator/kube/object.h"

namespace agentry::console {
namespace {

runtime::InformerOptions all_namespaces() {
  runtime::InformerOptions o;
  o.watcher.ns = "";
  return o;
}

}  // namespace

Catalog::Catalog(std::shared_ptr<kube::Client> sa, std::string console_namespace)
    : builtins_(builtin_templates()) {
  namespace res = kube::resources;
  agents_ = std::make_shared<runtime::Informer>(sa, res::kAgents, all_namespaces());
  workflows_ = std::make_shared<runtime::Informer>(sa, res::kWorkflows, all_namespaces());
  policies_ = std::make_shared<runtime::Informer>(sa, res::kAgentPolicies, all_namespaces());
  runtime::InformerOptions t;
  t.watcher.ns = std::move(console_namespace);
  t.watcher.label_selector = std::string(kTemplateLabel) + "=true";
  templates_ = std::make_shared<runtime::Informer>(sa, res::kConfigMaps, t);
  auto handler = [this](const char* kind) {
    runtime::EventHandler h;
    h.on_add = [this, kind](const runtime::ObjectPtr& o) { publish(kind, "ADDED", o); };
    h.on_update = [this, kind](const runtime::ObjectPtr&, const runtime::ObjectPtr& o) {
      publish(kind, "MODIFIED", o);
    };
    h.on_delete = [this, kind](const runtime::ObjectPtr& o) { publish(kind, "DELETED", o); };
    return h;
  };
  agents_->add_handler(handler("agent"));
  workflows_->add_handler(handler("workflow"));
  policies_->add_handler(handler("policy"));
}

Catalog::~Catalog() {
  stop();
}

void Catalog::start() {
  for (auto* i : {&agents_, &workflows_, &policies_, &templates_}) (*i)->start();
}

void Catalog::stop() {
  feed_.stop();
  for (auto* i : {&agents_, &workflows_, &policies_, &templates_}) (*i)->stop();
}

bool Catalog::synced() const {
  return agents_->has_synced() && workflows_->has_synced() && policies_->has_synced() &&
         templates_->has_synced();
}

void Catalog::publish(const char* kind, const char* type, const runtime::ObjectPtr& obj) {
  if (!obj) return;
  Change c;
  c.kind = kind;
  c.type = type;
  c.ns = kube::namespace_of(*obj);
  c.name = kube::name(*obj);
  const std::string k = kind;
  c.object = k == "agent"      ? agent_view(*obj)
             : k == "workflow" ? workflow_view(*obj)
                               : policy_view(*obj);
  {
    const std::string id = c.ns.empty() ? c.name : c.ns + "/" + c.name;
    std::unique_lock<std::shared_mutex> lock(rows_mu_);
    Rows& r = rows_[k];
    auto it = r.by_id.find(id);
    if (std::string(type) == "DELETED") {
      if (it != r.by_id.end()) {
        r.by_id.erase(it);
        if (--r.per_namespace[c.ns] == 0) r.per_namespace.erase(c.ns);
      }
    } else {
      if (it == r.by_id.end()) ++r.per_namespace[c.ns];
      r.by_id[id] = std::make_shared<const nlohmann::json>(c.object);
    }
  }
  feed_.publish(std::move(c));
}

std::vector<Catalog::Row> Catalog::rows(const std::string& kind,
                                        const std::set<std::string>* namespaces) const {
  std::shared_lock<std::shared_mutex> lock(rows_mu_);
  std::vector<Row> out;
  auto it = rows_.find(kind);
  if (it == rows_.end()) return out;
  const auto& by_id = it->second.by_id;
  if (!namespaces || kind == "policy") {
    out.reserve(by_id.size());
    for (const auto& [_, row] : by_id) out.push_back(row);
    return out;
  }
  // ids sort as "ns/name": each namespace's rows are one range.
  for (const auto& ns : *namespaces) {
    const std::string prefix = ns + "/";
    for (auto r = by_id.lower_bound(prefix);
         r != by_id.end() && r->first.compare(0, prefix.size(), prefix) == 0; ++r)
      out.push_back(r->second);
  }
  // Namespace by namespace is not id order ("a-b/x" sorts before "a/x"): pages need id order.
  if (namespaces->size() > 1)
    std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
      return (*a)["id"].get_ref<const std::string&>() < (*b)["id"].get_ref<const std::string&>();
    });
  return out;
}

std::set<std::string> Catalog::namespaces(const std::string& kind) const {
  std::shared_lock<std::shared_mutex> lock(rows_mu_);
  std::set<std::string> out;
  auto it = rows_.find(kind);
  if (it == rows_.end()) return out;
  for (const auto& [ns, _] : it->second.per_namespace) out.insert(ns);
  return out;
}

std::vector<AgentTemplate> Catalog::templates(std::vector<std::string>* errors) const {
  std::vector<AgentTemplate> out = builtins_;
  for (const auto& cm : templates_->store().list()) {
    const std::string src = "configmap " + kube::namespace_of(*cm) + "/" + kube::name(*cm);
    const auto data = cm->value("data", nlohmann::json::object());
    if (!data.is_object() || !data.contains("template.yaml") ||
        !data["template.yaml"].is_string()) {
      if (errors) errors->push_back(src + ": no data key template.yaml");
      continue;
    }
    auto t = parse_template(data["template.yaml"].get<std::string>(), src);
    if (!t.ok()) {
      if (errors) errors->push_back(t.status().message());
      continue;
    }
    std::erase_if(out, [&](const AgentTemplate& b) { return b.name == t->name; });
    out.push_back(std::move(*t));
  }
  std::sort(out.begin(), out.end(),
            [](const AgentTemplate& a, const AgentTemplate& b) { return a.name < b.name; });
  return out;
}

}  // namespace agentry::console
