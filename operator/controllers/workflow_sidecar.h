// The Workflow controller's HTTP client to agent sidecars (docs/sidecar.md): async POST of an
// execution with an Idempotency-Key, GET of its state, DELETE to cancel. Keep-alive connections
// are pooled per endpoint; every call has short timeouts so a dead sidecar never holds a worker.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace httplib {
class Client;
}

namespace agentry::controllers::workflow {

struct Execution {
  std::string id;
  std::string state;  // queued, running, succeeded, failed, cancelled, timed_out
  std::string output;
  std::string error_code, error_message;
  std::string created_at;  // RFC 3339 (the sidecar's clock)
  bool terminal() const {
    return state == "succeeded" || state == "failed" || state == "cancelled" ||
           state == "timed_out";
  }
};

Execution parse_execution(const nlohmann::json& j);

class SidecarClient {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds read_timeout{10000};
    size_t max_idle_per_endpoint = 16;
  };
  SidecarClient();
  explicit SidecarClient(Options opts);
  ~SidecarClient();

  // POST /v1/executions (async: 202 or 200 when replayed/done) with Idempotency-Key.
  Result<Execution> start(const std::string& endpoint, const std::string& token,
                          const std::string& key, const std::string& input,
                          const std::string& session_id);
  // GET /v1/executions/{id}; wait > 0 long-polls up to that long.
  Result<Execution> get(const std::string& endpoint, const std::string& token,
                        const std::string& id, std::chrono::seconds wait = std::chrono::seconds(0));
  // DELETE /v1/executions/{id}; NotFound (already gone) is success.
  Status cancel(const std::string& endpoint, const std::string& token, const std::string& id);
  // The "stats" of GET /v1/memory?limit=1 (counts per kind, bounds, fill, evictions).
  Result<nlohmann::json> memory_stats(const std::string& endpoint, const std::string& token);

 private:
  struct Reply {
    int status = 0;
    std::string body;
  };
  Result<Reply> send(const std::string& method, const std::string& endpoint,
                     const std::string& token, const std::string& path,
                     const std::map<std::string, std::string>& headers, const std::string& body,
                     std::chrono::milliseconds read_timeout);
  std::unique_ptr<httplib::Client> acquire(const std::string& endpoint);
  void release(const std::string& endpoint, std::unique_ptr<httplib::Client> c);

  Options opts_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>> idle_;
};

}  // namespace agentry::controllers::workflow
