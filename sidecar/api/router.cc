#include "sidecar/api/router.h"

#include <cstring>

#include "common/http_util.h"

namespace agentry::sidecar {
namespace {

std::string literal_prefix(const std::string& pattern) {
  size_t n = pattern.find_first_of("\\^$.|?*+()[]{}");
  return pattern.substr(0, n == std::string::npos ? pattern.size() : n);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

}  // namespace

Router& Router::add(const char* method, const std::string& pattern, Handler h, AsyncHandler a,
                    MayBlock b) {
  routes_.push_back({method, literal_prefix(pattern), std::regex(pattern), std::move(h),
                     std::move(a), std::move(b)});
  return *this;
}

Router& Router::Get(const std::string& p, Handler h, MayBlock b) {
  return add("GET", p, std::move(h), nullptr, std::move(b));
}
Router& Router::Post(const std::string& p, Handler h, MayBlock b) {
  return add("POST", p, std::move(h), nullptr, std::move(b));
}
Router& Router::Put(const std::string& p, Handler h, MayBlock b) {
  return add("PUT", p, std::move(h), nullptr, std::move(b));
}
Router& Router::Delete(const std::string& p, Handler h, MayBlock b) {
  return add("DELETE", p, std::move(h), nullptr, std::move(b));
}
Router& Router::Patch(const std::string& p, Handler h, MayBlock b) {
  return add("PATCH", p, std::move(h), nullptr, std::move(b));
}

Router& Router::GetAsync(const std::string& p, AsyncHandler h) {
  return add("GET", p, nullptr, std::move(h), non_blocking);
}
Router& Router::PostAsync(const std::string& p, AsyncHandler h) {
  return add("POST", p, nullptr, std::move(h), non_blocking);
}

const Router::Route* Router::match(httplib::Request& req) const {
  for (const auto& r : routes_) {
    if (r.method != req.method || !starts_with(req.path, r.prefix)) continue;
    if (std::regex_match(req.path, req.matches, r.pattern)) return &r;
  }
  return nullptr;
}

std::string Router::allowed(const std::string& path) const {
  std::string allow;
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    for (const auto& r : routes_) {
      if (r.method != method || !starts_with(path, r.prefix) || !std::regex_match(path, r.pattern))
        continue;
      allow += (allow.empty() ? "" : ", ") + r.method;
      break;
    }
  }
  return allow;
}

void mount_operational_routes(Router& router, const HealthChecks& liveness,
                              const HealthChecks& readiness, std::function<void()> before_scrape) {
  auto serve = http::metrics_handler();
  router.Get(
      "/metrics",
      [serve, before_scrape](const httplib::Request& req, httplib::Response& res) {
        if (before_scrape) before_scrape();
        serve(req, res);
      },
      non_blocking);
  router.Get("/healthz", http::health_handler(liveness), non_blocking);
  router.Get("/livez", http::health_handler(liveness), non_blocking);
  router.Get("/readyz", http::health_handler(readiness), non_blocking);
}

}  // namespace agentry::sidecar
