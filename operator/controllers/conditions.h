// Standard status conditions (type, status, reason, message, lastTransitionTime,
// observedGeneration), as metav1.Condition.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace agentry::controllers {

struct Condition {
  std::string type;
  bool status = false;
  std::string reason;
  std::string message;
};

// Sets or adds the condition in a conditions array; lastTransitionTime moves only when the status
// flips, so a reconcile that sees the same state writes the same bytes.
void set_condition(nlohmann::json* conditions, const Condition& c, int64_t generation);
// Same, with `now` (RFC 3339) as the transition time: for pure code that is given the time.
void set_condition(nlohmann::json* conditions, const Condition& c, int64_t generation,
                   const std::string& now);
// The condition of that type, or nullptr.
const nlohmann::json* find_condition(const nlohmann::json& conditions, const std::string& type);

}  // namespace agentry::controllers
