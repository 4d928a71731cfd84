// agentry-operator: watches Agent, Workflow and AgentPolicy resources and reconciles what runs them.
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "agentry/version.h"
#include "common/http_util.h"
#include "common/log.h"
#include "common/signals.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: agentry-operator [flags]\n"
               "  --kubeconfig PATH        kubeconfig (default $KUBECONFIG, ~/.kube/config, in-cluster)\n"
               "  --metrics-addr HOST:PORT metrics and health address (default :8081)\n"
               "  --version                print the version and exit\n"
               "  --help                   this text\n");
}

}  // namespace

int main(int argc, char** argv) {
  agentry::block_termination_signals();
  agentry::log::set_component("operator");
  std::string metrics_addr = ":8081";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--version") {
      std::printf("agentry-operator %s\n", agentry::kVersion);
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--metrics-addr" && i + 1 < argc) {
      metrics_addr = argv[++i];
    } else {
      std::fprintf(stderr, "agentry-operator: unknown flag %s\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  std::string host;
  int port = 0;
  if (!agentry::http::parse_host_port(metrics_addr, &host, &port)) {
    std::fprintf(stderr, "agentry-operator: --metrics-addr %s: want HOST:PORT\n", metrics_addr.c_str());
    return 2;
  }
  agentry::HealthChecks live, ready;
  httplib::Server server;
  agentry::http::mount_operational_routes(server, live, ready);
  if (!server.bind_to_port(host, port)) {
    agentry::log::error("cannot listen", {{"addr", metrics_addr}});
    return 1;
  }
  std::thread serve([&] { server.listen_after_bind(); });
  agentry::log::info("started", {{"version", agentry::kVersion}, {"metrics_addr", metrics_addr}});
  int sig = agentry::wait_for_termination_signal();
  agentry::log::info("shutting down", {{"signal", sig}});
  server.stop();
  serve.join();
  return 0;
}
