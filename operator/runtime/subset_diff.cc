#include "operator/runtime/subset_diff.h"

namespace agentry::runtime {

using nlohmann::json;

namespace {
// One JSON pointer step (RFC 6901: "~" and "/" escaped).
std::string step(const std::string& key) {
  std::string out = "/";
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}
const std::string kHere = "/";  // subset_difference: the value itself differs
std::string join_path(const std::string& prefix, const std::string& rest) {
  return rest == kHere ? prefix : prefix + rest;
}
}  // namespace

std::string applied_difference(const json& want, const json& have) {
  for (auto it = want.begin(); it != want.end(); ++it) {
    if (it.key() == "apiVersion" || it.key() == "kind") continue;  // list items carry neither
    if (it.key() == "metadata") {
      for (const char* f : {"labels", "annotations", "ownerReferences"}) {
        if (!it->contains(f)) continue;
        const std::string path = std::string("/metadata/") + f;
        if (!have.contains("metadata") || !have["metadata"].contains(f)) return path;
        if (auto d = subset_difference((*it)[f], have["metadata"][f]); !d.empty()) {
          return join_path(path, d);
        }
      }
      continue;
    }
    const std::string path = step(it.key());
    if (!have.contains(it.key())) return path;
    if (auto d = subset_difference(*it, have[it.key()]); !d.empty()) return join_path(path, d);
  }
  return "";
}

std::string subset_difference(const json& want, const json& have) {
  if (want.is_object()) {
    if (!have.is_object()) return kHere;
    for (auto it = want.begin(); it != want.end(); ++it) {
      auto h = have.find(it.key());
      if (h == have.end()) return step(it.key());
      if (auto d = subset_difference(*it, *h); !d.empty()) return join_path(step(it.key()), d);
    }
    return "";
  }
  if (want.is_array()) {
    if (!have.is_array() || want.size() != have.size()) return kHere;
    for (size_t i = 0; i < want.size(); ++i) {
      if (auto d = subset_difference(want[i], have[i]); !d.empty()) {
        return join_path("/" + std::to_string(i), d);
      }
    }
    return "";
  }
  if (want.is_number() && have.is_number()) {
    return want.get<double>() == have.get<double>() ? "" : kHere;
  }
  return want == have ? "" : kHere;
}

}  // namespace agentry::runtime
