// agentry-console assembled: one owner for the process's parts, in the order they stop.
//
//   Console c(opts);
//   if (auto s = c.start(); !s.is_ok()) ...   // connects, binds, starts the informers
//   std::thread t([&] { c.serve(); });          // HTTP until stop()
//   wait_for_termination_signal();
//   c.stop(); t.join();
//
// Lifecycle: start() builds the API client from the kubeconfig (or in-cluster config), starts
// the informers and binds the listener; /readyz fails until every informer has listed. stop()
// stops the HTTP server (requests in flight finish; streams end), then the informers.
#pragma once

#include <memory>
#include <string>

#include "common/health.h"
#include "common/result.h"
#include "console/access/kube_access.h"
#include "console/api/console_api.h"
#include "console/app/catalog.h"
#include "console/app/static_assets.h"
#include "console/auth/authenticator.h"
#include "sidecar/api/http_server.h"
#include "sidecar/api/router.h"

namespace agentry::console {

struct ConsoleOptions {
  std::string kubeconfig;  // "" : $KUBECONFIG, in-cluster, ~/.kube/config
  std::string listen = "0.0.0.0:8090";
  std::string console_namespace = "agentry-system";  // its accounts Secret and templates
  AuthenticatorOptions auth{};
  KubeAccessOptions access{};
  ConsoleApiOptions api{};
};

class Console {
 public:
  explicit Console(ConsoleOptions opts);
  ~Console();

  Status start();
  void serve();
  void stop();
  int port() const;

 private:
  ConsoleOptions opts_;
  std::shared_ptr<kube::Client> client_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<KubeAccess> access_;
  std::unique_ptr<ConsoleApi> api_;
  std::unique_ptr<StaticAssets> assets_;
  HealthChecks liveness_, readiness_;
  sidecar::Router router_;
  std::unique_ptr<sidecar::HttpServer> server_;  // last made, first stopped
};

}  // namespace agentry::console
