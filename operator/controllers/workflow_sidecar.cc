#include "operator/controllers/workflow_sidecar.h"

#include <httplib.h>

#include "common/json_io.h"

namespace agentry::controllers::workflow {

using nlohmann::json;

Execution parse_execution(const json& j) {
  Execution e;
  if (!j.is_object()) return e;
  e.id = j.value("id", "");
  e.state = j.value("state", "");
  if (j.contains("output") && j["output"].is_string()) e.output = j["output"].get<std::string>();
  if (j.contains("error") && j["error"].is_object()) {
    e.error_code = j["error"].value("code", "");
    e.error_message = j["error"].value("message", "");
  }
  e.created_at = j.value("createdAt", "");
  return e;
}

SidecarClient::SidecarClient() : SidecarClient(Options{}) {}
SidecarClient::SidecarClient(Options opts) : opts_(opts) {}
SidecarClient::~SidecarClient() = default;

std::unique_ptr<httplib::Client> SidecarClient::acquire(const std::string& endpoint) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& v = idle_[endpoint];
    if (!v.empty()) {
      auto c = std::move(v.back());
      v.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>(endpoint);
  c->set_keep_alive(true);
  // httplib writes a POST's headers and body separately: without TCP_NODELAY the body waits for
  // the sidecar's delayed ACK (40 ms a dispatch).
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(opts_.connect_timeout);
  return c;
}

void SidecarClient::release(const std::string& endpoint, std::unique_ptr<httplib::Client> c) {
  std::lock_guard<std::mutex> l(mu_);
  auto& v = idle_[endpoint];
  if (v.size() < opts_.max_idle_per_endpoint) v.push_back(std::move(c));
}

Result<SidecarClient::Reply> SidecarClient::send(const std::string& method,
                                                 const std::string& endpoint,
                                                 const std::string& token, const std::string& path,
                                                 const std::map<std::string, std::string>& headers,
                                                 const std::string& body,
                                                 std::chrono::milliseconds read_timeout) {
  if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
    return invalid_argument("endpoint '" + endpoint + "': want http:// or https://");
  }
  auto c = acquire(endpoint);
  if (!c->is_valid()) return invalid_argument("endpoint '" + endpoint + "' is not usable");
  c->set_read_timeout(read_timeout);
  httplib::Headers h{{"Authorization", "Bearer " + token}};
  for (const auto& [k, v] : headers) h.emplace(k, v);
  httplib::Result r = method == "POST"     ? c->Post(path, h, body, "application/json")
                      : method == "DELETE" ? c->Delete(path, h)
                                           : c->Get(path, h);
  if (!r) {
    return unavailable("sidecar " + endpoint + ": " + httplib::to_string(r.error()));
  }
  Reply rep{r->status, r->body};
  release(endpoint, std::move(c));
  return rep;
}

namespace {
Status http_error(const std::string& what, int status, const std::string& body) {
  std::string msg = what + ": HTTP " + std::to_string(status);
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    msg += " " + j["error"].value("code", "") + ": " + j["error"].value("message", "");
  }
  Code code = status == 404                    ? Code::kNotFound
              : status == 401                  ? Code::kUnauthenticated
              : status == 400 || status == 413 ? Code::kInvalidArgument
              : status == 429                  ? Code::kResourceExhausted
                                               : Code::kUnavailable;
  return Status(code, msg, status);
}
}  // namespace

Result<Execution> SidecarClient::start(const std::string& endpoint, const std::string& token,
                                       const std::string& key, const std::string& input,
                                       const std::string& session_id) {
  json body = {{"input", input}};
  if (!session_id.empty()) body["sessionId"] = session_id;
  auto r = send("POST", endpoint, token, "/v1/executions", {{"Idempotency-Key", key}}, body.dump(),
                opts_.read_timeout);
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 201 && r->status != 202) {
    return http_error("POST " + endpoint + "/v1/executions", r->status, r->body);
  }
  auto j = json::parse(r->body, nullptr, false);
  Execution e = parse_execution(j);
  if (e.id.empty()) return internal_error("sidecar answered without an execution id");
  return e;
}

Result<Execution> SidecarClient::get(const std::string& endpoint, const std::string& token,
                                     const std::string& id, std::chrono::seconds wait) {
  std::string path = "/v1/executions/" + id;
  if (wait.count() > 0) path += "?wait=" + std::to_string(wait.count()) + "s";
  auto r = send("GET", endpoint, token, path, {}, "", opts_.read_timeout + wait);
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 202) return http_error("GET " + path, r->status, r->body);
  return parse_execution(json::parse(r->body, nullptr, false));
}

Status SidecarClient::cancel(const std::string& endpoint, const std::string& token,
                             const std::string& id) {
  auto r = send("DELETE", endpoint, token, "/v1/executions/" + id, {}, "", opts_.read_timeout);
  if (!r.ok()) return r.status();
  if (r->status == 404 || (r->status >= 200 && r->status < 300) || r->status == 409) {
    return ok_status();
  }
  return http_error("DELETE /v1/executions/" + id, r->status, r->body);
}

Result<nlohmann::json> SidecarClient::memory_stats(const std::string& endpoint,
                                                   const std::string& token) {
  auto r = send("GET", endpoint, token, "/v1/memory?limit=1", {}, "", opts_.read_timeout);
  if (!r.ok()) return r.status();
  if (r->status != 200) return http_error("GET /v1/memory", r->status, r->body);
  auto j = json_io::parse(r->body);
  if (!j.ok() || !j->is_object() || !j->contains("stats") || !(*j)["stats"].is_object())
    return internal_error("GET /v1/memory: no stats in the answer");
  return std::move((*j)["stats"]);
}

}  // namespace agentry::controllers::workflow
