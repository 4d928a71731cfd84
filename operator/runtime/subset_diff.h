// Whether what a controller would apply is already there, for server-side apply without needless
// writes: the wanted object compared with the cached one, field by field. Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace agentry::runtime {

// "" when every field of want is in have with the same value (objects compared recursively,
// arrays element by element, numbers by value so 1 == 1.0); else the JSON pointer of the first
// field that differs ("/" when the values themselves differ).
std::string subset_difference(const nlohmann::json& want, const nlohmann::json& have);

// subset_difference for a whole object we apply: apiVersion/kind are skipped (informer list items
// lack them) and of metadata only labels, annotations and ownerReferences count.
std::string applied_difference(const nlohmann::json& want, const nlohmann::json& have);

}  // namespace agentry::runtime
