#include "operator/controllers/conditions.h"

#include "operator/kube/object.h"

namespace agentry::controllers {

const nlohmann::json* find_condition(const nlohmann::json& conditions, const std::string& type) {
  if (!conditions.is_array()) return nullptr;
  for (const auto& c : conditions) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}

void set_condition(nlohmann::json* conditions, const Condition& c, int64_t generation) {
  set_condition(conditions, c, generation, kube::now_rfc3339());
}

void set_condition(nlohmann::json* conditions, const Condition& c, int64_t generation,
                   const std::string& now) {
  if (!conditions->is_array()) *conditions = nlohmann::json::array();
  const std::string status = c.status ? "True" : "False";
  nlohmann::json next = {{"type", c.type},
                         {"status", status},
                         {"reason", c.reason},
                         {"message", c.message.substr(0, 32000)},
                         {"observedGeneration", generation}};
  for (auto& existing : *conditions) {
    if (existing.value("type", "") != c.type) continue;
    next["lastTransitionTime"] =
        existing.value("status", "") == status ? existing.value("lastTransitionTime", now) : now;
    existing = next;
    return;
  }
  next["lastTransitionTime"] = now;
  conditions->push_back(next);
}

}  // namespace agentry::controllers
