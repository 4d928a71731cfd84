#include "common/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

namespace agentry {

nlohmann::json yaml_node_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it)
        o[it->first.as<std::string>()] = yaml_node_to_json(it->second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& e : n) a.push_back(yaml_node_to_json(e));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s.empty()) return s;
      char* end = nullptr;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (*end == '\0') return i;
      double d = std::strtod(s.c_str(), &end);
      if (*end == '\0') return d;
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      return s;
    }
    default:
      return nullptr;
  }
}

Result<nlohmann::json> yaml_to_json(const std::string& text) {
  try {
    return yaml_node_to_json(YAML::Load(text));
  } catch (const std::exception& e) {
    return invalid_argument(std::string("invalid YAML: ") + e.what());
  }
}

Result<nlohmann::json> yaml_file_to_json(const std::string& path) {
  try {
    return yaml_node_to_json(YAML::LoadFile(path));
  } catch (const YAML::BadFile&) {
    return not_found("cannot read " + path);
  } catch (const std::exception& e) {
    return invalid_argument(path + ": invalid YAML: " + e.what());
  }
}

}  // namespace agentry
