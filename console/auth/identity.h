// Who a console request acts as: the Kubernetes user and groups every read and write is
// impersonated as (console/access/), and how the console learned it.
#pragma once

#include <string>
#include <vector>

namespace agentry::console {

struct Identity {
  std::string user;                 // the Kubernetes user name impersonated
  std::vector<std::string> groups;  // impersonated groups
  std::string account;              // the console account, or "" for a Kubernetes token
  // A stable key for caches keyed by identity (user and groups).
  std::string key() const {
    std::string k = user;
    for (const auto& g : groups) k += '\n' + g;
    return k;
  }
};

}  // namespace agentry::console
