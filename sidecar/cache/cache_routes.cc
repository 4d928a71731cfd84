#include "sidecar/cache/cache_routes.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/http_util.h"
#include "common/json_io.h"
#include "sidecar/api/errors.h"

namespace agentry::cache {

using sidecar::api::send_status;

namespace {

// Seconds from ?ttl= or a JSON field; false when not a whole number of seconds >= 1.
bool parse_ttl_seconds(const std::string& text, long long* out) {
  long long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 1) return false;
  *out = v;
  return true;
}

void set_degraded(httplib::Response& res, bool degraded) {
  if (degraded) res.set_header("X-Cache-Degraded", "true");
}

}  // namespace

void mount_cache_routes(sidecar::Router& server, CacheService& cache) {
  // Without Redis every operation stays in process; with it, a key operation may wait on Redis
  // (bounded by its deadline) and runs on a worker.
  sidecar::MayBlock key_op = cache.options().redis ? sidecar::blocking : sidecar::non_blocking;
  server.Get(
      "/v1/cache",
      [&cache](const httplib::Request&, httplib::Response& res) {
        res.set_content(json_io::dump(cache.stats()), "application/json");
      },
      sidecar::non_blocking);
  server.Get(
      "/v1/cache/(.+)",
      [&cache](const httplib::Request& req, httplib::Response& res) {
        auto v = cache.get(CacheService::KeySpace::kApi, req.matches[1]);
        if (!v.ok()) return send_status(res, v.status());
        res.set_header("X-Cache-Source", v->source);
        res.set_header("X-Cache-TTL-Ms", std::to_string(v->ttl_left.count()));
        set_degraded(res, v->degraded);
        res.set_content(std::move(v->value), "application/octet-stream");
      },
      key_op);
  server.Put(
      "/v1/cache/(.+)",
      [&cache](const httplib::Request& req, httplib::Response& res) {
        std::string value = req.body;
        long long ttl_s = 0;
        if (req.get_header_value("Content-Type").rfind("application/json", 0) == 0) {
          auto parsed = json_io::parse(req.body);
          if (!parsed.ok())
            return http::send_error(res, 400, "invalid_json", "body: " + parsed.status().message());
          const nlohmann::json& j = *parsed;
          if (j.is_object() && j.contains("value")) {
            // The envelope: a misspelt field ("ttlSeconds") would otherwise be dropped silently.
            for (const auto& [k, v] : j.items())
              if (k != "value" && k != "ttl")
                return http::send_error(res, 400, "invalid_argument",
                                        "unknown field " + k + " (the envelope has value and ttl)");
            value =
                j["value"].is_string() ? j["value"].get<std::string>() : json_io::dump(j["value"]);
            if (j.contains("ttl")) {
              if (!j["ttl"].is_number_integer() || j["ttl"].get<double>() < 1)
                return http::send_error(res, 400, "invalid_argument",
                                        "ttl must be a whole number of seconds >= 1");
              ttl_s = j["ttl"].get<long long>();
            }
          }
        }
        if (req.has_param("ttl") && !parse_ttl_seconds(req.get_param_value("ttl"), &ttl_s))
          return http::send_error(res, 400, "invalid_argument",
                                  "ttl must be a whole number of seconds >= 1");
        if (ttl_s > cache.options().max_ttl.count() / 1000)
          return send_status(res, cache.validate_ttl(cache.options().max_ttl + Ms(1)));
        auto w = cache.put(CacheService::KeySpace::kApi, req.matches[1], std::move(value),
                           Ms(ttl_s * 1000));
        if (!w.ok()) return send_status(res, w.status());
        set_degraded(res, w->degraded);
        nlohmann::json out = {{"key", req.matches[1].str()}, {"degraded", w->degraded}};
        res.set_content(json_io::dump(out), "application/json");
      },
      key_op);
  server.Delete(
      "/v1/cache/(.+)",
      [&cache](const httplib::Request& req, httplib::Response& res) {
        auto w = cache.erase(CacheService::KeySpace::kApi, req.matches[1]);
        if (!w.ok()) return send_status(res, w.status());
        set_degraded(res, w->degraded);
        res.status = 204;
      },
      key_op);
}

}  // namespace agentry::cache
