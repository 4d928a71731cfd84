#include "console/api/views.h"

#include "console/agents/templates.h"

namespace agentry::console {
namespace {

using json = nlohmann::json;

std::string str(const json& o, const char* pointer) {
  const json::json_pointer p(pointer);
  return o.contains(p) && o[p].is_string() ? o[p].get<std::string>() : std::string();
}
json num(const json& o, const char* pointer) {
  const json::json_pointer p(pointer);
  return o.contains(p) && o[p].is_number() ? o[p] : json(0);
}
json arr(const json& o, const char* pointer) {
  const json::json_pointer p(pointer);
  return o.contains(p) && o[p].is_array() ? o[p] : json::array();
}
std::string annotation(const json& o, const char* key) {
  const auto& m = o.value("metadata", json::object());
  const auto& a = m.value("annotations", json::object());
  return a.is_object() && a.contains(key) && a[key].is_string() ? a[key].get<std::string>() : "";
}

json labels_of(const json& o) {
  const json::json_pointer p("/metadata/labels");
  return o.contains(p) && o[p].is_object() ? o[p] : json::object();
}

}  // namespace

json agent_view(const json& a) {
  const std::string ns = str(a, "/metadata/namespace"), name = str(a, "/metadata/name");
  std::string display = annotation(a, kDisplayNameAnnotation);
  return {{"id", ns + "/" + name},
          {"namespace", ns},
          {"name", name},
          {"displayName", display.empty() ? name : display},
          {"template", annotation(a, kTemplateAnnotation)},
          {"phase", str(a, "/status/phase").empty() ? "Pending" : str(a, "/status/phase")},
          {"ready", str(a, "/status/ready")},
          {"replicas", num(a, "/status/replicas")},
          {"readyReplicas", num(a, "/status/readyReplicas")},
          {"provider", str(a, "/spec/model/provider")},
          {"model", str(a, "/spec/model/name")},
          {"policy", str(a, "/status/policy")},
          {"createdAt", str(a, "/metadata/creationTimestamp")},
          {"conditions", arr(a, "/status/conditions")},
          {"labels", labels_of(a)}};
}

json workflow_view(const json& w) {
  const std::string ns = str(w, "/metadata/namespace"), name = str(w, "/metadata/name");
  json status_steps = arr(w, "/status/steps");
  json steps = json::array();
  for (const auto& s : arr(w, "/spec/steps")) {
    if (!s.is_object()) continue;
    json row = {{"name", s.value("name", "")},
                {"agent", s.value("agentRef", json::object()).value("name", "")},
                {"dependsOn", s.contains("dependsOn") && s["dependsOn"].is_array() ? s["dependsOn"]
                                                                                   : json::array()},
                {"phase", "Pending"},
                {"attempts", 0}};
    for (const auto& st : status_steps) {
      if (!st.is_object() || st.value("name", "") != row["name"]) continue;
      for (const char* k : {"phase", "startedAt", "finishedAt", "message", "output"})
        if (st.contains(k) && st[k].is_string()) row[k] = st[k];
      if (st.contains("attempts") && st["attempts"].is_number()) row["attempts"] = st["attempts"];
    }
    steps.push_back(std::move(row));
  }
  return {{"id", ns + "/" + name},
          {"namespace", ns},
          {"name", name},
          {"phase", str(w, "/status/phase").empty() ? "Pending" : str(w, "/status/phase")},
          {"progress", str(w, "/status/progress")},
          {"message", str(w, "/status/message")},
          {"startedAt", str(w, "/status/startedAt")},
          {"finishedAt", str(w, "/status/finishedAt")},
          {"suspended", w.value("spec", json::object()).value("suspend", false)},
          {"labels", labels_of(w)},
          {"createdAt", str(w, "/metadata/creationTimestamp")},
          {"steps", steps}};
}

json policy_view(const json& p) {
  return {{"name", str(p, "/metadata/name")},
          {"labels", labels_of(p)},
          {"description", annotation(p, "agentry.dev/description")},
          {"spec", p.value("spec", json::object())},
          {"createdAt", str(p, "/metadata/creationTimestamp")}};
}

}  // namespace agentry::console
