// Named health checks for /healthz and /readyz (the shape of Kubernetes' own endpoints: plain "ok",
// or with ?verbose a line per check "[+]name ok" / "[-]name failed: reason").
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace agentry {

class HealthChecks {
 public:
  // A check returns an empty string when healthy, else the reason it is not.
  using Check = std::function<std::string()>;

  void add(std::string name, Check check);

  struct Report {
    bool ok = true;
    std::string body;  // Kubernetes-style verbose text
  };
  Report run(bool verbose) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Check>> checks_;
};

}  // namespace agentry
