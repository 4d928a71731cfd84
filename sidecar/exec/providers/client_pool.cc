#include "sidecar/exec/providers/client_pool.h"

namespace agentry::sidecar {

Result<Endpoint> parse_endpoint(const std::string& url) {
  Endpoint ep;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return invalid_argument("endpoint '" + url + "': want scheme://host[:port][/path]");
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    return invalid_argument("endpoint '" + url + "': scheme must be http or https");
  ep.https = scheme == "https";
  size_t host_start = scheme_end + 3;
  size_t path_start = url.find('/', host_start);
  std::string hostport = url.substr(
      host_start, path_start == std::string::npos ? std::string::npos : path_start - host_start);
  if (hostport.empty()) return invalid_argument("endpoint '" + url + "': no host");
  if (hostport[0] == '[') {
    ep.host = hostport.substr(1, hostport.find(']') - 1);  // [v6]:port
  } else {
    ep.host = hostport.substr(0, hostport.rfind(':'));
  }
  ep.origin = scheme + "://" + hostport;
  if (path_start != std::string::npos) {
    ep.base_path = url.substr(path_start);
    while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  }
  return ep;
}

ClientPool::ClientPool(Endpoint ep, PoolOptions opts) : ep_(std::move(ep)), opts_(std::move(opts)) {
  if (!ep_.https || !opts_.tls_verify) return;
  auto trust = opts_.ca_bundle_file.empty() ? tls::Trust::system_roots()
                                            : tls::Trust::from_file(opts_.ca_bundle_file);
  if (trust.ok()) {
    trust_ = *trust;
  } else {
    trust_error_ = trust.status();
  }
}

std::unique_ptr<httplib::Client> ClientPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>(ep_.origin);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(std::chrono::milliseconds(opts_.connect_timeout_ms));
  c->set_read_timeout(std::chrono::milliseconds(opts_.read_timeout_ms));
  c->set_write_timeout(std::chrono::milliseconds(opts_.connect_timeout_ms + 5000));
  if (ep_.https) {
    c->enable_server_certificate_verification(false);  // OpenSSL verifies: see tls::Trust
    if (trust_) trust_->apply(c->ssl_context(), ep_.host);
  }
  return c;
}

void ClientPool::release(std::unique_ptr<httplib::Client> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < opts_.max_idle) idle_.push_back(std::move(c));
}

void ClientPool::clear_idle() {
  std::vector<std::unique_ptr<httplib::Client>> drop;
  std::lock_guard<std::mutex> lock(mu_);
  drop.swap(idle_);
}

size_t ClientPool::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

HttpResult ClientPool::request(const std::string& method, const std::string& path,
                               const std::string& body, const httplib::Headers& headers,
                               CancelToken* cancel,
                               const std::function<bool(const char*, size_t)>& on_chunk) {
  HttpResult out;
  if (!trust_error_.is_ok()) {
    out.error = httplib::Error::SSLLoadingCerts;
    out.error_text = trust_error_.message();
    return out;
  }
  auto cli = acquire();
  httplib::Client* raw = cli.get();
  if (cancel && !cancel->set_abort([raw] { raw->stop(); })) {
    out.cancelled = true;
    out.error = httplib::Error::Canceled;
    return out;
  }
  httplib::Request req;
  req.method = method;
  req.path = ep_.base_path + path;
  if (req.path.empty() || req.path[0] == '?') req.path = "/" + req.path;
  req.headers = headers;
  if (!body.empty()) {
    req.body = body;
    req.set_header("Content-Type", "application/json");
  }
  httplib::Response res;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (on_chunk && res.status >= 200 && res.status < 300) return on_chunk(data, n);
    out.body.append(data, n);
    return true;
  };
  httplib::Error err = httplib::Error::Success;
  tls::clear_last_failure();
  bool ok = raw->send(req, res, err);
  if (cancel) cancel->clear_abort();
  out.cancelled = cancel && cancel->cancelled();
  if (ok) {
    out.status = res.status;
    out.retry_after = res.get_header_value("Retry-After");
    out.headers = std::move(res.headers);
  } else {
    out.error = err;
    out.error_text = tls::describe(err);
  }
  // A connection that failed or was cut is not reused; the client reconnects by itself anyway,
  // but dropping it keeps a cancelled socket state from leaking into the next call.
  if (ok && !out.cancelled) release(std::move(cli));
  return out;
}

}  // namespace agentry::sidecar
