// YAML documents as nlohmann::json (manifests, config files). Plain scalars become numbers or
// booleans when they read as such; quoted scalars stay strings.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace YAML {
class Node;
}

namespace agentry {

Result<nlohmann::json> yaml_file_to_json(const std::string& path);
Result<nlohmann::json> yaml_to_json(const std::string& text);
// One already-parsed node (a section of a config file).
nlohmann::json yaml_node_to_json(const YAML::Node& node);

}  // namespace agentry
