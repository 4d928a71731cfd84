#include "operator/kube/client.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <csignal>
#include <iterator>
#include <mutex>
#include <random>
#include <thread>

#include "common/file_io.h"
#include "common/json_io.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/tls_trust.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"

namespace agentry::kube {
namespace {

struct RestMetrics {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Counter>& by_resource;
  prometheus::Family<prometheus::Histogram>& latency;
  prometheus::Family<prometheus::Counter>& resends;
};

RestMetrics& rest_metrics() {
  static RestMetrics m{
      prometheus::BuildCounter()
          .Name("rest_client_requests_total")
          .Help("Number of HTTP requests to the Kubernetes API, by status code and method.")
          .Register(*metrics::registry()),
      prometheus::BuildCounter()
          .Name("rest_client_requests_by_resource_total")
          .Help("HTTP requests to the Kubernetes API by method and resource (e.g. agents/status): "
                "where the writes go.")
          .Register(*metrics::registry()),
      prometheus::BuildHistogram()
          .Name("rest_client_request_duration_seconds")
          .Help("Kubernetes API request latency, by method.")
          .Register(*metrics::registry()),
      prometheus::BuildCounter()
          .Name("rest_client_stale_connection_resends_total")
          .Help("Requests sent again on a fresh connection after a reused keep-alive one failed.")
          .Register(*metrics::registry())};
  return m;
}

void record(const std::string& method, const std::string& path, int code, double seconds) {
  auto& m = rest_metrics();
  m.requests.Add({{"code", code > 0 ? std::to_string(code) : "<error>"}, {"method", method}})
      .Increment();
  m.by_resource.Add({{"method", method}, {"resource", resource_of_path(path)}}).Increment();
  m.latency.Add({{"method", method}}, metrics::latency_buckets()).Observe(seconds);
}

}  // namespace

// Parsed once; every connection's SSL_CTX references them (OpenSSL reference counts).
struct Client::Tls {
  std::shared_ptr<tls::Trust> trust;  // null when verification is off
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  ~Tls() {
    if (cert) X509_free(cert);
    if (key) EVP_PKEY_free(key);
  }
};

void StreamCanceller::cancel() {
  cancelled_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  if (active_) active_->stop();  // shuts the socket down: a blocked read returns at once
}

Client::Client(const Config& cfg) : cfg_(cfg), limiter_(cfg.qps, cfg.burst) {}

Client::~Client() = default;

Result<std::shared_ptr<Client>> Client::create(const Config& cfg) {
  // A write on a connection the server (or StreamCanceller) closed must be an error, not the
  // process-killing SIGPIPE (OpenSSL writes with write(2), not send(MSG_NOSIGNAL)).
  static std::once_flag sigpipe_once;
  std::call_once(sigpipe_once, [] { std::signal(SIGPIPE, SIG_IGN); });
  std::shared_ptr<Client> c(new Client(cfg));
  if (Status s = c->init(); !s) return s;
  return c;
}

Status Client::init() {
  std::string url = cfg_.server;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return invalid_argument("server URL without scheme: " + url);
  std::string scheme = url.substr(0, scheme_end);
  if (scheme == "https") {
    https_ = true;
  } else if (scheme == "http") {
    https_ = false;
  } else {
    return invalid_argument("unsupported scheme " + scheme);
  }
  std::string rest = url.substr(scheme_end + 3);
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  base_path_ = slash == std::string::npos ? "" : rest.substr(slash);
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  port_ = https_ ? 443 : 80;
  if (!hostport.empty() && hostport[0] == '[') {  // [v6]:port
    auto close = hostport.find(']');
    host_ = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') {
      port_ = std::atoi(hostport.c_str() + close + 2);
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host_ = hostport.substr(0, colon);
    port_ = std::atoi(hostport.c_str() + colon + 1);
  } else {
    host_ = hostport;
  }
  if (host_.empty() || port_ <= 0) return invalid_argument("bad server URL " + url);

  tls_ = std::make_unique<Tls>();
  if (!cfg_.insecure_skip_tls_verify) {
    auto trust =
        cfg_.ca_pem.empty() ? tls::Trust::system_roots() : tls::Trust::from_pem(cfg_.ca_pem);
    if (!trust.ok()) return invalid_argument("certificate-authority: " + trust.status().message());
    tls_->trust = *trust;
  }
  if (!cfg_.client_cert_pem.empty() || !cfg_.client_key_pem.empty()) {
    auto certs = tls::parse_certs(cfg_.client_cert_pem);
    if (certs.empty()) return invalid_argument("client-certificate: no PEM certificate");
    tls_->cert = certs[0];
    for (size_t i = 1; i < certs.size(); ++i) X509_free(certs[i]);
    BIO* bio =
        BIO_new_mem_buf(cfg_.client_key_pem.data(), static_cast<int>(cfg_.client_key_pem.size()));
    tls_->key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!tls_->key) return invalid_argument("client-key: no PEM private key");
  }
  token_ = cfg_.token;
  return ok_status();
}

std::unique_ptr<httplib::ClientImpl> Client::new_connection(std::chrono::seconds read_timeout) {
  std::unique_ptr<httplib::ClientImpl> c;
  if (https_) {
    std::unique_ptr<httplib::SSLClient> s;
    if (tls_->cert) {
      s = std::make_unique<httplib::SSLClient>(host_, port_, tls_->cert, tls_->key);
    } else {
      s = std::make_unique<httplib::SSLClient>(host_, port_);
    }
    s->enable_server_certificate_verification(false);  // OpenSSL verifies: see tls::Trust
    if (tls_->trust) {
      tls_->trust->apply(s->ssl_context(),
                         cfg_.tls_server_name.empty() ? host_ : cfg_.tls_server_name);
    }
    // Idle connections (watches between events, pooled clients) drop their 34 KB of buffers.
    SSL_CTX_set_mode(s->ssl_context(), SSL_MODE_RELEASE_BUFFERS);
    c = std::move(s);
  } else {
    c = std::make_unique<httplib::ClientImpl>(host_, port_);
  }
  c->set_keep_alive(true);
  c->set_url_encode(false);  // paths and queries are encoded here
  c->set_connection_timeout(std::chrono::seconds(5));
  c->set_read_timeout(read_timeout);
  c->set_write_timeout(std::chrono::seconds(30));
  c->set_tcp_nodelay(true);
  return c;
}

namespace {

// A pooled connection is usable when its socket has nothing to read: on an idle HTTP/1.1
// connection, readable means the server closed it (EOF) or sent something unasked (TLS alert).
// Checked before reuse, as Go's transport does with its background read, so a request is rarely
// written into a connection already closed; the resend in send() covers the remaining race.
bool idle_connection_alive(const httplib::ClientImpl& c) {
  if (!c.is_socket_open()) return true;  // not connected yet: httplib connects on send
  pollfd p{static_cast<int>(c.socket()), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace

std::unique_ptr<httplib::ClientImpl> Client::acquire(bool* reused) {
  std::vector<Idle> stale;  // closed outside the lock
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    const auto cutoff = std::chrono::steady_clock::now() - kMaxIdle;
    // The oldest are first: drop every one idle past the cutoff, then take the newest.
    auto fresh =
        std::find_if(pool_.begin(), pool_.end(), [&](const Idle& i) { return i.since >= cutoff; });
    std::move(pool_.begin(), fresh, std::back_inserter(stale));
    pool_.erase(pool_.begin(), fresh);
    while (!pool_.empty()) {
      auto c = std::move(pool_.back().conn);
      pool_.pop_back();
      if (!idle_connection_alive(*c)) {
        stale.push_back({std::move(c), {}});
        continue;
      }
      *reused = true;
      return c;
    }
  }
  *reused = false;
  return new_connection(cfg_.timeout);
}

void Client::release(std::unique_ptr<httplib::ClientImpl> c) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < cfg_.max_idle_connections)
    pool_.push_back({std::move(c), std::chrono::steady_clock::now()});
}

std::string Client::bearer_token() {
  if (cfg_.token_file.empty()) return cfg_.token;
  std::lock_guard<std::mutex> lock(token_mu_);
  auto now = std::chrono::steady_clock::now();
  // Projected service-account tokens rotate; client-go re-reads the file every minute.
  if (token_.empty() || now - token_read_ > std::chrono::minutes(1)) {
    std::string t;
    if (read_file(cfg_.token_file, &t)) {
      while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
      token_ = t;
      token_read_ = now;
    }
  }
  return token_;
}

std::string Client::target(const Request& req) const {
  std::string t = base_path_ + req.path;
  char sep = '?';
  for (const auto& [k, v] : req.query) {
    t += sep;
    t += k;
    t += '=';
    t += url_encode(v);
    sep = '&';
  }
  return t;
}

namespace {

httplib::Request make_request(const Client::Request& r, const std::string& target,
                              const std::string& token, const Config& cfg) {
  httplib::Request req;
  req.method = r.method;
  req.path = target;
  req.headers.emplace("Accept", "application/json");
  req.headers.emplace("User-Agent", cfg.user_agent);
  if (!token.empty()) req.headers.emplace("Authorization", "Bearer " + token);
  if (!cfg.impersonate_user.empty()) {
    req.headers.emplace("Impersonate-User", cfg.impersonate_user);
    for (const auto& g : cfg.impersonate_groups) req.headers.emplace("Impersonate-Group", g);
  }
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
    req.headers.emplace("Content-Type",
                        r.content_type.empty() ? "application/json" : r.content_type);
    req.body = r.body;
  }
  return req;
}

}  // namespace

// Whether a request that failed on a reused keep-alive connection may be sent again at once on a
// fresh one. A server closes an idle connection at its own moment, so the first request on it can
// fail although the server never saw it (Go's net/http retries the same cases).
// - The write failed: the request never reached a server that was still reading; safe for every
//   verb, a POST (create) included.
// - Reading the answer failed: the server may have acted before the connection died, so only
//   verbs whose repetition changes nothing again: GET, HEAD, PUT (a full replacement carrying its
//   resourceVersion: a repeat is at worst a 409), DELETE (a repeat is at worst a 404), and PATCH
//   of the merge and apply kinds, which set fields to values. A JSON patch (add to an array) and
//   a POST are not repeated.
bool safe_to_resend(const Client::Request& r, httplib::Error err) {
  if (err == httplib::Error::Write) return true;
  if (err != httplib::Error::Read) return false;
  if (r.method == "GET" || r.method == "HEAD" || r.method == "PUT" || r.method == "DELETE")
    return true;
  return r.method == "PATCH" && r.content_type != "application/json-patch+json";
}

Result<json> Client::send(const Request& r) {
  const int attempts = r.idempotent ? 4 : 1;
  std::mt19937 rng(std::random_device{}());
  std::string target_path = target(r);
  Status last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      int base = 100 << (attempt - 1);  // 100, 200, 400 ms, plus jitter
      std::this_thread::sleep_for(std::chrono::milliseconds(base + rng() % base));
    }
    limiter_.wait();
    bool reused = false;
    auto conn = acquire(&reused);
    httplib::Request req = make_request(r, target_path, bearer_token(), cfg_);
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    auto start = std::chrono::steady_clock::now();
    tls::clear_last_failure();
    bool ok = conn->send(req, res, err);
    if (!ok && reused && safe_to_resend(r, err)) {
      // Once, at once, on a fresh connection; not counted as an attempt.
      rest_metrics().resends.Add({{"method", r.method}}).Increment();
      conn = new_connection(cfg_.timeout);
      res = httplib::Response();
      err = httplib::Error::Success;
      tls::clear_last_failure();
      ok = conn->send(req, res, err);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!ok) {
      record(r.method, r.path, 0, secs);
      last = transport_error(r.method + " " + r.path + ": " + tls::describe(err));
      continue;  // the connection is dropped
    }
    record(r.method, r.path, res.status, secs);
    release(std::move(conn));
    if (res.status >= 200 && res.status < 300) {
      if (res.body.empty()) return json::object();
      auto j = json_io::parse(res.body, kMaxObjectDepth);
      if (!j.ok())
        return internal_error("invalid JSON from " + r.path + ": " + j.status().message());
      return j;
    }
    last = status_from_http(res.status, res.body);
    if (!is_transient(last)) return last;
  }
  return last;
}

Status Client::stream(const Request& r, const std::function<bool(std::string_view)>& on_data,
                      StreamCanceller* canceller, std::chrono::seconds read_timeout) {
  if (canceller && canceller->cancelled()) return Status(Code::kCancelled, "cancelled");
  limiter_.wait();
  auto conn = new_connection(read_timeout);
  if (canceller) {
    std::lock_guard<std::mutex> lock(canceller->mu_);
    if (canceller->cancelled()) return Status(Code::kCancelled, "cancelled");
    canceller->active_ = conn.get();
  }
  httplib::Request req = make_request(r, target(r), bearer_token(), cfg_);
  int http_status = 0;
  std::string error_body;
  req.response_handler = [&](const httplib::Response& res) {
    http_status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (canceller && canceller->cancelled()) return false;
    if (http_status >= 200 && http_status < 300) return on_data(std::string_view(data, n));
    if (error_body.size() < 65536) error_body.append(data, n);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  tls::clear_last_failure();
  bool ok = conn->send(req, res, err);
  if (canceller) {
    std::lock_guard<std::mutex> lock(canceller->mu_);
    canceller->active_ = nullptr;
  }
  record(r.method, r.path, ok ? res.status : http_status, 0);
  if (canceller && canceller->cancelled()) return Status(Code::kCancelled, "cancelled");
  if (http_status != 0 && (http_status < 200 || http_status >= 300)) {
    return status_from_http(http_status, error_body);
  }
  if (!ok) {
    if (err == httplib::Error::Canceled) return ok_status();  // on_data said stop
    return transport_error(r.path + ": " + tls::describe(err));
  }
  return ok_status();
}

Result<json> Client::get(const Resource& r, std::string_view ns, std::string_view name,
                         std::string_view subresource) {
  Request req;
  req.path = r.path(ns, name, subresource);
  req.idempotent = true;
  return send(req);
}

Result<json> Client::list(const Resource& r, std::string_view ns, const ListOptions& o) {
  Request req;
  req.path = r.path(ns);
  req.idempotent = true;
  if (!o.label_selector.empty()) req.query.emplace_back("labelSelector", o.label_selector);
  if (!o.field_selector.empty()) req.query.emplace_back("fieldSelector", o.field_selector);
  if (o.limit > 0) req.query.emplace_back("limit", std::to_string(o.limit));
  if (!o.continue_token.empty()) req.query.emplace_back("continue", o.continue_token);
  if (!o.resource_version.empty()) req.query.emplace_back("resourceVersion", o.resource_version);
  return send(req);
}

Result<json> Client::list_all(const Resource& r, std::string_view ns, ListOptions opts) {
  if (opts.limit == 0) opts.limit = 500;
  json all;
  json items = json::array();
  for (;;) {
    auto page = list(r, ns, opts);
    if (!page.ok()) return page.status();
    json& p = *page;
    if (auto it = p.find("items"); it != p.end() && it->is_array()) {
      for (auto& item : *it) items.push_back(std::move(item));
    }
    std::string cont;
    if (auto md = p.find("metadata"); md != p.end()) cont = string_at(*md, "continue");
    all = std::move(p);
    if (cont.empty()) break;
    opts.continue_token = cont;
    opts.resource_version.clear();  // the continue token pins the snapshot
  }
  all["items"] = std::move(items);
  if (all.contains("metadata")) all["metadata"].erase("continue");
  return all;
}

Result<json> Client::create(const Resource& r, std::string_view ns, const json& obj) {
  Request req;
  req.method = "POST";
  std::string obj_ns;
  if (ns.empty() && obj.contains("metadata")) obj_ns = obj["metadata"].value("namespace", "");
  req.path = r.path(ns.empty() ? std::string_view(obj_ns) : ns);
  req.body = obj.dump();
  return send(req);
}

Result<json> Client::update(const Resource& r, const json& obj, std::string_view subresource) {
  const auto& md = obj.contains("metadata") ? obj["metadata"] : json::object();
  Request req;
  req.method = "PUT";
  req.path = r.path(md.value("namespace", ""), md.value("name", ""), subresource);
  req.body = obj.dump();
  return send(req);
}

Result<json> Client::patch(const Resource& r, std::string_view ns, std::string_view name,
                           PatchType type, const json& patch, std::string_view subresource,
                           std::string_view field_manager) {
  Request req;
  req.method = "PATCH";
  req.path = r.path(ns, name, subresource);
  req.body = patch.dump();
  switch (type) {
    case PatchType::kMerge:
      req.content_type = "application/merge-patch+json";
      break;
    case PatchType::kJson:
      req.content_type = "application/json-patch+json";
      break;
    case PatchType::kStrategicMerge:
      req.content_type = "application/strategic-merge-patch+json";
      break;
  }
  if (!field_manager.empty()) req.query.emplace_back("fieldManager", std::string(field_manager));
  return send(req);
}

Result<json> Client::apply(const Resource& r, const json& obj, const ApplyOptions& o,
                           std::string_view subresource) {
  if (o.field_manager.empty()) return invalid_argument("apply needs a field manager");
  const auto& md = obj.contains("metadata") ? obj["metadata"] : json::object();
  Request req;
  req.method = "PATCH";
  req.path = r.path(md.value("namespace", ""), md.value("name", ""), subresource);
  req.content_type = "application/apply-patch+yaml";  // JSON is YAML
  req.body = obj.dump();
  req.query.emplace_back("fieldManager", o.field_manager);
  if (o.force) req.query.emplace_back("force", "true");
  return send(req);
}

Result<json> Client::remove(const Resource& r, std::string_view ns, std::string_view name,
                            const DeleteOptions& o) {
  Request req;
  req.method = "DELETE";
  req.path = r.path(ns, name);
  json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!o.propagation_policy.empty()) body["propagationPolicy"] = o.propagation_policy;
  if (o.grace_period_seconds >= 0) body["gracePeriodSeconds"] = o.grace_period_seconds;
  if (!o.precondition_uid.empty()) body["preconditions"]["uid"] = o.precondition_uid;
  if (!o.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = o.precondition_resource_version;
  }
  req.body = body.dump();
  req.content_type = "application/json";
  return send(req);
}

Result<json> Client::set_scale(const Resource& r, std::string_view ns, std::string_view name,
                               int64_t replicas) {
  return patch(r, ns, name, PatchType::kMerge, {{"spec", {{"replicas", replicas}}}}, "scale");
}

Result<Resource> Client::discover(std::string_view api_version, std::string_view kind) {
  if (const Resource* r = find_resource(api_version, kind)) return *r;
  Request req;
  std::string av(api_version);
  req.path = av.find('/') == std::string::npos ? "/api/" + av : "/apis/" + av;
  req.idempotent = true;
  auto doc = send(req);
  if (!doc.ok()) return doc.status();
  auto resources = doc->is_object() ? doc->find("resources") : doc->end();
  if (resources == doc->end() || !resources->is_array())
    return not_found("NotFound: no resource for " + av + " " + std::string(kind));
  for (const auto& res : *resources) {
    std::string n = string_at(res, "name");
    if (string_at(res, "kind") != kind || n.empty() || n.find('/') != std::string::npos) continue;
    Resource out;
    auto slash = av.find('/');
    out.group = slash == std::string::npos ? "" : av.substr(0, slash);
    out.version = slash == std::string::npos ? av : av.substr(slash + 1);
    out.kind = std::string(kind);
    out.plural = n;
    auto ns = res.find("namespaced");
    out.namespaced = ns == res.end() || !ns->is_boolean() || ns->get<bool>();
    return out;
  }
  return not_found("NotFound: no resource for " + av + " " + std::string(kind));
}

}  // namespace agentry::kube
