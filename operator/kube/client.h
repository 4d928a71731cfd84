// REST client for the Kubernetes API on cpp-httplib + OpenSSL.
//
// Thread-safe: requests take a connection from a small pool (an httplib client serves one request
// at a time), so N threads use up to N keep-alive connections. Every request passes a client-side
// token bucket (Config::qps/burst). Idempotent reads are retried on transport errors, 429 and 5xx.
// Watches (watch.h) get a dedicated connection each, cancellable from another thread.
// Client::create() sets SIGPIPE to SIG_IGN once for the process (writes to closed TLS sockets).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "operator/kube/config.h"
#include "operator/kube/resource.h"
#include "operator/kube/token_bucket.h"

namespace httplib {
class ClientImpl;
}

namespace agentry::kube {

using json = nlohmann::json;

// Responses and watch events nesting deeper than this are refused (json_io.h): far past any
// object the API server holds, and far from what a recursive copy or compare of one can take.
inline constexpr int kMaxObjectDepth = 512;

struct ListOptions {
  std::string label_selector{};
  std::string field_selector{};
  int64_t limit = 0;  // 0: no paging
  std::string continue_token{};
  std::string resource_version{};
};

struct DeleteOptions {
  std::string propagation_policy{};  // "", "Foreground", "Background", "Orphan"
  std::string precondition_uid{};
  std::string precondition_resource_version{};
  int64_t grace_period_seconds = -1;  // -1: the kind's default
};

enum class PatchType { kMerge, kJson, kStrategicMerge };

struct ApplyOptions {
  std::string field_manager{};  // required by the API server
  bool force = false;
};

// Lets another thread abort a running stream promptly (shuts the socket down).
class StreamCanceller {
 public:
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  void reset() { cancelled_ = false; }

 private:
  friend class Client;
  std::mutex mu_;
  httplib::ClientImpl* active_ = nullptr;  // guarded by mu_
  std::atomic<bool> cancelled_{false};
};

class Client {
 public:
  struct Request {
    std::string method = "GET";
    std::string path;  // /api/v1/...
    std::vector<std::pair<std::string, std::string>> query;
    std::string body;
    std::string content_type;
    bool idempotent = false;  // retry on transient errors
  };

  static Result<std::shared_ptr<Client>> create(const Config& cfg);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Config& config() const { return cfg_; }

  Result<json> get(const Resource& r, std::string_view ns, std::string_view name,
                   std::string_view subresource = {});
  // One page: the List object with items and metadata.continue / resourceVersion.
  Result<json> list(const Resource& r, std::string_view ns, const ListOptions& opts = {});
  // Every page concatenated into one List (metadata.resourceVersion from the last page).
  Result<json> list_all(const Resource& r, std::string_view ns, ListOptions opts = {});
  Result<json> create(const Resource& r, std::string_view ns, const json& obj);
  // PUT; obj must carry metadata.resourceVersion for optimistic concurrency (kConflict on a stale
  // one). subresource "status" writes status only.
  Result<json> update(const Resource& r, const json& obj, std::string_view subresource = {});
  Result<json> update_status(const Resource& r, const json& obj) {
    return update(r, obj, "status");
  }
  Result<json> patch(const Resource& r, std::string_view ns, std::string_view name, PatchType type,
                     const json& patch, std::string_view subresource = {},
                     std::string_view field_manager = {});
  // Server-side apply of obj (its apiVersion, kind, metadata.name/namespace identify it).
  Result<json> apply(const Resource& r, const json& obj, const ApplyOptions& opts,
                     std::string_view subresource = {});
  Result<json> remove(const Resource& r, std::string_view ns, std::string_view name,
                      const DeleteOptions& opts = {});
  Result<json> get_scale(const Resource& r, std::string_view ns, std::string_view name) {
    return get(r, ns, name, "scale");
  }
  Result<json> set_scale(const Resource& r, std::string_view ns, std::string_view name,
                         int64_t replicas);
  // Resolves a kind not in the static table from the API server's discovery document.
  Result<Resource> discover(std::string_view api_version, std::string_view kind);

  // Any request; a 2xx JSON body (or {} when empty) or the API error.
  Result<json> send(const Request& req);
  // Streams a GET's body to on_data until the server ends it, on_data returns false, or
  // canceller->cancel(). A non-2xx answer becomes the API error. read_timeout bounds silence.
  Status stream(const Request& req, const std::function<bool(std::string_view)>& on_data,
                StreamCanceller* canceller, std::chrono::seconds read_timeout);

 private:
  struct Tls;
  explicit Client(const Config& cfg);
  Status init();
  std::unique_ptr<httplib::ClientImpl> new_connection(std::chrono::seconds read_timeout);
  // A pooled connection (reused = true) or a new one. Connections idle longer than kMaxIdle are
  // closed here rather than reused: the server may be closing them right now.
  std::unique_ptr<httplib::ClientImpl> acquire(bool* reused);
  void release(std::unique_ptr<httplib::ClientImpl> c);
  std::string bearer_token();
  std::string target(const Request& req) const;

  Config cfg_;
  bool https_ = true;
  std::string host_;
  int port_ = 443;
  std::string base_path_;
  std::unique_ptr<Tls> tls_;
  TokenBucket limiter_;
  // Well under the API server's idle timeout (Go's http.Server in kube-apiserver: 90 s), and under
  // what proxies and load balancers in front of it commonly use (60 s).
  static constexpr std::chrono::seconds kMaxIdle{30};
  struct Idle {
    std::unique_ptr<httplib::ClientImpl> conn;
    std::chrono::steady_clock::time_point since;
  };
  std::mutex pool_mu_;
  std::vector<Idle> pool_;  // guarded by pool_mu_; newest last
  std::mutex token_mu_;
  std::string token_;                                   // guarded by token_mu_
  std::chrono::steady_clock::time_point token_read_{};  // guarded by token_mu_
};

}  // namespace agentry::kube
