// Keep-alive HTTP(S) clients to one provider endpoint. httplib::Client holds one connection, so a
// pool of idle clients gives connection reuse across concurrent executions; callers that find the
// pool empty open a new one (concurrency is already bounded by the engine). TLS goes through
// OpenSSL against one trust store per pool (tls::Trust) with an optional custom CA bundle.
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/tls_trust.h"
#include "sidecar/exec/cancel.h"

namespace agentry::sidecar {

struct Endpoint {
  std::string origin;     // scheme://host:port
  std::string host;       // what the server's certificate must name
  std::string base_path;  // path prefix without trailing slash ("" or "/v1")
  bool https = false;
};

Result<Endpoint> parse_endpoint(const std::string& url);

struct PoolOptions {
  std::string ca_bundle_file;
  bool tls_verify = true;
  int connect_timeout_ms = 2000;
  int read_timeout_ms = 120000;
  size_t max_idle = 64;
};

struct HttpResult {
  int status = 0;  // 0: no HTTP response (see error)
  httplib::Error error = httplib::Error::Success;
  std::string error_text;    // the error, with why TLS verification failed when it did
  std::string body;          // when no chunk callback took it
  std::string retry_after;   // the Retry-After header, if any
  httplib::Headers headers;  // the response's headers (when there was a response)
  bool cancelled = false;
};

class ClientPool {
 public:
  ClientPool(Endpoint ep, PoolOptions opts);
  const Endpoint& endpoint() const { return ep_; }

  // One request. When on_chunk is set and the answer is 2xx, the body goes to it piece by piece
  // (returning false stops reading). The token's cancel() closes the socket of a call in progress.
  HttpResult request(const std::string& method, const std::string& path, const std::string& body,
                     const httplib::Headers& headers, CancelToken* cancel,
                     const std::function<bool(const char*, size_t)>& on_chunk = nullptr);
  void clear_idle();
  size_t idle() const;

 private:
  std::unique_ptr<httplib::Client> acquire();
  void release(std::unique_ptr<httplib::Client> c);

  Endpoint ep_;
  PoolOptions opts_;
  std::shared_ptr<tls::Trust> trust_;  // https with verification on
  Status trust_error_;                 // the CA bundle could not be loaded
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace agentry::sidecar
