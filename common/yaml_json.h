// YAML documents as nlohmann::json (manifests, config files). Plain scalars become numbers or
// booleans when they read as such; quoted scalars stay strings.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace agentry {

Result<nlohmann::json> yaml_file_to_json(const std::string& path);
Result<nlohmann::json> yaml_to_json(const std::string& text);

}  // namespace agentry
