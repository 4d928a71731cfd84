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
  c.object = k == "agent" ? agent_view(*obj) : k == "workflow" ? workflow_view(*obj)
                                                               : policy_view(*obj);
  feed_.publish(std::move(c));
}

std::vector<AgentTemplate> Catalog::templates(std::vector<std::string>* errors) const {
  std::vector<AgentTemplate> out = builtins_;
  for (const auto& cm : templates_->store().list()) {
    const std::string src = "configmap " + kube::namespace_of(*cm) + "/" + kube::name(*cm);
    const auto data = cm->value("data", nlohmann::json::object());
    if (!data.is_object() || !data.contains("template.yaml") || !data["template.yaml"].is_string()) {
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
