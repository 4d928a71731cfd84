#include "console/app/console.h"

#include "common/http_util.h"
#include "common/log.h"
#include "operator/kube/config.h"

namespace agentry {
std::span<const EmbeddedFile> console_ui_files();  // generated (console/CMakeLists.txt)
}

namespace agentry::console {
namespace {

// Every answer: no sniffing, no framing, no referrer, a CSP that allows only the console's own
// scripts and styles (no inline script, no eval), and API answers never cached.
void security_headers(const httplib::Request& req, httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Cross-Origin-Resource-Policy", "same-origin");
  res.set_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
                 "form-action 'self'; frame-ancestors 'none'");
  if (req.path.rfind("/api/", 0) == 0) res.set_header("Cache-Control", "no-store");
}

}  // namespace

Console::Console(ConsoleOptions opts) : opts_(std::move(opts)) {}

Console::~Console() {
  stop();
}

Status Console::start() {
  auto cfg = kube::load_config(opts_.kubeconfig);
  if (!cfg.ok()) return cfg.status();
  cfg->user_agent = "agentry-console";
  auto client = kube::Client::create(*cfg);
  if (!client.ok()) return client.status();
  client_ = *client;
  catalog_ = std::make_unique<Catalog>(client_, opts_.console_namespace);
  auto auth_opts = opts_.auth;
  auth_opts.accounts_namespace = opts_.console_namespace;
  auth_ = std::make_unique<Authenticator>(client_, auth_opts);
  access_ = std::make_unique<KubeAccess>(client_, opts_.access);
  api_ = std::make_unique<ConsoleApi>(ConsoleApi{*auth_, *access_, *catalog_, opts_.api});
  assets_ = std::make_unique<StaticAssets>(console_ui_files());

  readiness_.add("informers-synced", [this] {
    return catalog_->synced() ? std::string() : std::string("the informers have not listed yet");
  });
  sidecar::mount_operational_routes(router_, liveness_, readiness_);
  mount_console_api(router_, *api_);
  assets_->mount(router_);

  std::string host;
  int port = 0;
  if (!http::parse_host_port(opts_.listen, &host, &port))
    return invalid_argument("--listen " + opts_.listen + ": want HOST:PORT");
  sidecar::HttpServerOptions so;
  so.host = host.empty() ? "0.0.0.0" : host;
  so.port = port;
  // Streams hold a worker each for their whole life: the budget caps them, and these 64 more stay
  // for the API's requests (api/stream_budget.h).
  so.worker_threads = static_cast<int>(opts_.api.max_streams) + 64;
  so.write_timeout_seconds = 30;
  sidecar::HttpHooks hooks;
  hooks.before = [](const httplib::Request& req, httplib::Response& res) {
    security_headers(req, res);
    return false;
  };
  server_ = std::make_unique<sidecar::HttpServer>(router_, so, hooks);
  if (auto s = server_->bind(); !s.is_ok()) return s;
  catalog_->start();
  log::info("console listening",
            {{"port", server_->port()},
             {"namespace", opts_.console_namespace},
             {"accounts", opts_.console_namespace + "/" + opts_.auth.accounts_secret}});
  return ok_status();
}

void Console::serve() {
  if (server_) server_->serve();
}

void Console::stop() {
  if (catalog_) catalog_->feed().stop();  // watch streams end now, not at their next keep-alive
  if (server_) server_->stop();
  if (catalog_) catalog_->stop();
}

int Console::port() const {
  return server_ ? server_->port() : 0;
}

}  // namespace agentry::console
