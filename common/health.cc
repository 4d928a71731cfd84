#include "common/health.h"

namespace agentry {

void HealthChecks::add(std::string name, Check check) {
  std::lock_guard<std::mutex> lock(mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

HealthChecks::Report HealthChecks::run(bool verbose) const {
  std::vector<std::pair<std::string, Check>> checks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    checks = checks_;
  }
  Report r;
  std::string lines;
  for (auto& [name, check] : checks) {
    std::string why = check();
    if (why.empty()) {
      lines += "[+]" + name + " ok\n";
    } else {
      r.ok = false;
      lines += "[-]" + name + " failed: " + why + "\n";
    }
  }
  if (verbose || !r.ok) {
    r.body = lines + (r.ok ? "check passed\n" : "check failed\n");
  } else {
    r.body = "ok";
  }
  return r;
}

}  // namespace agentry
