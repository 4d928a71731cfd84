// agentry-operator: watches Agent, Workflow and AgentPolicy resources and reconciles what runs
// them.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "agentry/version.h"
#include "common/log.h"
#include "common/signals.h"
#include "operator/controllers/agent_controller.h"
#include "operator/controllers/builtin_policies.h"
#include "operator/controllers/plan_command.h"
#include "operator/controllers/workflow_controller.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/runtime/manager.h"

namespace {

using namespace agentry;

struct Flags {
  std::string kubeconfig;
  std::string metrics_addr = ":8081";
  bool leader_elect = false;
  std::string leader_election_namespace;  // default: the config's namespace
  std::string leader_election_id = "agentry-operator";
  int workers = 2;
  double qps = 50;
  int burst = 100;
  int graceful_shutdown_s = 10;
  controllers::OperatorSettings settings;
  controllers::WorkflowSettings workflow;
};

void usage(FILE* out) {
  std::fprintf(
      out,
      "usage: agentry-operator [flags]\n"
      "       agentry-operator plan --target-rps N [--policy NAME] [-o text|json]  (capacity "
      "plan)\n"
      "  --kubeconfig PATH                  kubeconfig (default $KUBECONFIG, in-cluster,\n"
      "                                     ~/.kube/config)\n"
      "  --metrics-addr HOST:PORT           metrics and health address (default :8081)\n"
      "  --leader-elect                     elect a leader with a Lease before reconciling\n"
      "  --leader-election-namespace NS     the Lease's namespace (default: the config's)\n"
      "  --leader-election-id NAME          the Lease's name (default agentry-operator)\n"
      "  --workers N                        workers per controller (default 2)\n"
      "  --kube-api-qps Q --kube-api-burst B  client-side rate limit (default 50/100)\n"
      "  --graceful-shutdown-timeout S      drain deadline on SIGTERM (default 10)\n"
      "  --log-level debug|info|warn|error  (default info; or AGENTRY_LOG_LEVEL)\n"
      "  --default-policy NAME              AgentPolicy of Agents without spec.policyRef (default "
      "production)\n"
      "  --sidecar-image IMAGE              the agentry-sidecar image agent pods run\n"
      "  --operator-namespace NS            where the operator runs (NetworkPolicies admit it; "
      "default agentry-system)\n"
      "  --watch-namespace NS               reconcile only this namespace (default: all)\n"
      "  --keda-prometheus-url URL          the Prometheus KEDA reads the sidecars' execution "
      "gauges\n"
      "                                     from: enables "
      "autoscaling.targetInFlightExecutionsPerPod\n"
      "                                     (ScaledObjects; needs KEDA's CRDs; default: off)\n"
      "  --workflow-workers N               Workflow controller workers (default 4)\n"
      "  --workflow-namespace-parallelism N running steps per namespace (default 0: no limit)\n"
      "  --max-concurrent-workflows N       started, unfinished workflows (default 0: no limit)\n"
      "  --workflow-endpoint-override [NS/]AGENT=URL  development: reach an Agent's sidecar there\n"
      "  --version                          print the version and exit\n"
      "  --help                             this text\n");
}

// Controllers register here: three lines each (see docs/operator-runtime.md).
void register_controllers(runtime::Manager& mgr, const Flags& f) {
  controllers::register_agent_controllers(mgr, f.settings);
  controllers::register_workflow_controller(mgr, f.settings, f.workflow);
}

int run(const Flags& f) {
  auto cfg = kube::load_config(f.kubeconfig);
  if (!cfg.ok()) {
    log::error("no Kubernetes config", {{"error", cfg.status().to_string()}});
    return 1;
  }
  cfg->qps = f.qps;
  cfg->burst = f.burst;
  // One connection per worker that may be mid-request (two Agent-side controllers, the Workflow
  // controller, leader election and events), so busy workers do not pay a handshake each.
  cfg->max_idle_connections = static_cast<size_t>(2 * f.workers + f.workflow.workers + 2);
  auto client = kube::Client::create(*cfg);
  if (!client.ok()) {
    log::error("bad Kubernetes config", {{"error", client.status().to_string()}});
    return 1;
  }
  runtime::Manager::Options mo;
  mo.metrics_addr = f.metrics_addr;
  mo.leader_elect = f.leader_elect;
  mo.leader_election.lease_name = f.leader_election_id;
  mo.leader_election.lease_namespace =
      f.leader_election_namespace.empty() ? cfg->default_namespace : f.leader_election_namespace;
  mo.workers = f.workers;
  mo.graceful_shutdown = std::chrono::seconds(f.graceful_shutdown_s);
  if (Status s = controllers::ensure_builtin_policies(**client); !s.is_ok()) {
    // Not fatal: the CRDs may be installed a moment later; Agents then wait with a condition.
    log::warn("could not create the built-in AgentPolicies", {{"error", s.to_string()}});
  }
  runtime::Manager mgr(*client, mo);
  register_controllers(mgr, f);
  std::thread signals([&mgr] {
    int sig = wait_for_termination_signal();
    log::info("signal received, shutting down", {{"signal", sig}});
    mgr.stop();
  });
  signals.detach();  // blocked in sigwait until a signal; the process exits after run()
  log::info("starting", {{"version", kVersion},
                         {"server", cfg->server},
                         {"metrics_addr", f.metrics_addr},
                         {"leader_elect", f.leader_elect}});
  Status s = mgr.run();
  if (!s.is_ok()) {
    log::error("operator stopped", {{"error", s.to_string()}});
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  agentry::block_termination_signals();
  agentry::log::set_component("operator");
  if (argc > 1 && std::strcmp(argv[1], "plan") == 0) {
    return agentry::controllers::run_plan_command(argc - 1, argv + 1);
  }
  // --flag=value is split into --flag value (--leader-elect=false is the one boolean).
  std::vector<std::string> args;
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      if (a.substr(0, eq) == "--leader-elect") {
        f.leader_elect = a.substr(eq + 1) == "true";
        continue;
      }
      args.push_back(a.substr(0, eq));
      args.push_back(a.substr(eq + 1));
    } else {
      args.push_back(a);
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "agentry-operator: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return args[++i];
    };
    if (a == "--version") {
      std::printf("agentry-operator %s\n", agentry::kVersion);
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--kubeconfig") {
      f.kubeconfig = value();
    } else if (a == "--metrics-addr") {
      f.metrics_addr = value();
    } else if (a == "--leader-elect") {
      f.leader_elect = true;
    } else if (a == "--leader-election-namespace") {
      f.leader_election_namespace = value();
    } else if (a == "--leader-election-id") {
      f.leader_election_id = value();
    } else if (a == "--workers") {
      f.workers = std::atoi(value().c_str());
    } else if (a == "--kube-api-qps") {
      f.qps = std::atof(value().c_str());
    } else if (a == "--kube-api-burst") {
      f.burst = std::atoi(value().c_str());
    } else if (a == "--graceful-shutdown-timeout") {
      f.graceful_shutdown_s = std::atoi(value().c_str());
    } else if (a == "--default-policy") {
      f.settings.default_policy = value();
    } else if (a == "--sidecar-image") {
      f.settings.sidecar_image = value();
    } else if (a == "--operator-namespace") {
      f.settings.operator_namespace = value();
    } else if (a == "--watch-namespace") {
      f.settings.watch_namespace = value();
    } else if (a == "--keda-prometheus-url") {
      f.settings.keda_prometheus_url = value();
      if (f.settings.keda_prometheus_url.rfind("http://", 0) != 0 &&
          f.settings.keda_prometheus_url.rfind("https://", 0) != 0) {
        std::fprintf(stderr, "agentry-operator: --keda-prometheus-url: want an http(s):// URL\n");
        return 2;
      }
    } else if (a == "--workflow-workers") {
      f.workflow.workers = std::atoi(value().c_str());
    } else if (a == "--workflow-namespace-parallelism") {
      f.workflow.namespace_parallelism = std::atoi(value().c_str());
    } else if (a == "--max-concurrent-workflows") {
      f.workflow.max_concurrent_workflows = std::atoi(value().c_str());
    } else if (a == "--workflow-endpoint-override") {
      if (auto s = agentry::controllers::parse_endpoint_override(value(),
                                                                 &f.workflow.endpoint_overrides);
          !s.is_ok()) {
        std::fprintf(stderr, "agentry-operator: --workflow-endpoint-override: %s\n",
                     s.message().c_str());
        return 2;
      }
    } else if (a == "--log-level") {
      agentry::log::Level l;
      if (!agentry::log::parse_level(value(), &l)) {
        usage(stderr);
        return 2;
      }
      agentry::log::set_level(l);
    } else {
      std::fprintf(stderr, "agentry-operator: unknown flag %s\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (f.workflow.workers <= 0 || f.workflow.namespace_parallelism < 0 ||
      f.workflow.max_concurrent_workflows < 0) {
    std::fprintf(stderr,
                 "agentry-operator: --workflow-workers must be positive, the limits >= 0\n");
    return 2;
  }
  if (f.workers <= 0) {
    std::fprintf(stderr, "agentry-operator: --workers must be positive\n");
    return 2;
  }
  return run(f);
}
