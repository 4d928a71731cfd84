// agentry-console under the guidelines' load test (their locust AgentFrameworkUser): log in, then
// list agents (weight 3), get one agent (2) and create one from the chatbot template (1), from
// concurrent clients on keep-alive connections, against a real kube-apiserver + etcd (a private
// one) holding 1,000 Agents. Printed beside the guidelines' API SLA (p95 < 200 ms) and beside a
// floor measured in the same run: GET /healthz on the same server by the same clients (the HTTP
// exchange alone), so the ratio says what the API work itself costs on this machine today.
//
// Usage: console_bench [--agents N] [--seconds S] [--clients C]
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "bench/memory/table.h"
#include "common/log.h"
#include "console/app/console.h"
#include "console/auth/passwords.h"
#include "operator/kube/config.h"
#include "tests/support/control_plane.h"

using namespace agentry;
using bench::Clock;
using bench::fmt;
using bench::ms_since;
using bench::pct;
using bench::row;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Samples {
  std::mutex mu;
  std::vector<double> list, get, create, health, direct_create, direct_events;
  long errors = 0;
};

// Runs `clients` threads for `seconds`, each calling op(client, thread, i) in a loop.
void load(int clients, double seconds, const std::function<void(httplib::Client&, int, long)>& op,
          int port) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < clients; ++t) {
    ts.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_read_timeout(30, 0);
      for (long i = 0; !stop; ++i) op(c, t, i);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
}

}  // namespace

int main(int argc, char** argv) {
  log::set_level(log::Level::kError);
  int agents = 1000, clients = 32;
  double seconds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--agents") agents = std::atoi(argv[i + 1]);
    if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    if (a == "--clients") clients = std::atoi(argv[i + 1]);
  }
  double load_avg[3] = {0, 0, 0};
  getloadavg(load_avg, 3);
  std::fprintf(stderr, "starting a private etcd + kube-apiserver...\n");
  std::string err;
  auto cp = testing::ControlPlane::start_private({.full = false, .apiserver_args = ""}, &err);
  if (!cp) {
    std::fprintf(stderr, "cannot start a control plane: %s\n", err.c_str());
    return 1;
  }
  std::string out;
  if (!cp->install_crds(&out)) {
    std::fprintf(stderr, "CRDs: %s\n", out.c_str());
    return 1;
  }
  const std::string ns = "bench";
  const std::string hash = *console::hash_password("bench-pw");
  const std::string setup =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n---\n"
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: agentry-system}\n---\n"
      "apiVersion: v1\nkind: Secret\nmetadata: {name: agentry-console-accounts, namespace: "
      "agentry-system}\nstringData:\n  locust: '" +
      hash +
      "'\n---\n"
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: agents, namespace: "
      "bench}\nrules:\n- {apiGroups: [agentry.dev], resources: [agents], verbs: [get, list, watch, "
      "create]}\n- {apiGroups: [''], resources: [events], verbs: [list]}\n---\n"
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: locust, "
      "namespace: bench}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "
      "agents}\n"
      "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: locust}]\n";
  if (cp->kubectl_stdin({"apply", "-f", "-"}, setup, &out) != 0) {
    std::fprintf(stderr, "setup: %s\n", out.c_str());
    return 1;
  }
  auto cfg = kube::load_kubeconfig(cp->kubeconfig());
  cfg->qps = 1000;  // the floor must not wait on a client-side bucket (the console's don't)
  cfg->burst = 2000;
  cfg->max_idle_connections = 64;
  auto admin = kube::Client::create(*cfg);
  std::fprintf(stderr, "creating %d Agents...\n", agents);
  {
    std::atomic<int> next{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t)
      ts.emplace_back([&] {
        for (int i; (i = next++) < agents;) {
          json a = {{"apiVersion", "agentry.dev/v1alpha1"},
                    {"kind", "Agent"},
                    {"metadata", {{"name", "agent-" + std::to_string(i)}, {"namespace", ns}}},
                    {"spec", {{"model", {{"provider", "ollama"}, {"name", "llama2"}}}}}};
          (void)(*admin)->create(kube::resources::kAgents, ns, a);
        }
      });
    for (auto& t : ts) t.join();
  }
  console::ConsoleOptions o;
  o.kubeconfig = cp->kubeconfig();
  o.listen = "127.0.0.1:0";
  o.console_namespace = "agentry-system";
  o.api.default_namespace = ns;
  console::Console c(o);
  if (auto s = c.start(); !s.is_ok()) {
    std::fprintf(stderr, "console: %s\n", s.to_string().c_str());
    return 1;
  }
  std::thread server([&] { c.serve(); });
  struct Join {
    console::Console& c;
    std::thread& t;
    ~Join() {
      c.stop();
      if (t.joinable()) t.join();
    }
  } join{c, server};
  const int port = c.port();
  httplib::Client probe("127.0.0.1", port);
  for (int i = 0; i < 300; ++i) {
    auto r = probe.Get("/readyz");
    if (r && r->status == 200) break;
    std::this_thread::sleep_for(100ms);
  }
  // Logins: the guidelines' on_start, one per client (yescrypt's cost is the point).
  std::vector<std::string> tokens(clients);
  std::vector<double> login_ms;
  for (int t = 0; t < clients; ++t) {
    auto t0 = Clock::now();
    auto r = probe.Post("/api/v1/auth/login", R"({"username":"locust","password":"bench-pw"})",
                        "application/json");
    login_ms.push_back(ms_since(t0));
    if (!r || r->status != 200) {
      std::fprintf(stderr, "login failed: %s\n", r ? r->body.c_str() : "no answer");
      return 1;
    }
    tokens[t] = json::parse(r->body)["access_token"];
  }
  Samples s;
  auto timed = [&](std::vector<double>& into, const std::function<httplib::Result()>& f, int want) {
    auto t0 = Clock::now();
    auto r = f();
    const double ms = ms_since(t0);
    std::lock_guard<std::mutex> l(s.mu);
    if (!r || r->status != want) {
      ++s.errors;
      return;
    }
    into.push_back(ms);
  };
  // The floor first, with the same clients: /healthz answers inline, no Kubernetes work.
  auto t_floor = Clock::now();
  load(
      clients, seconds / 2,
      [&](httplib::Client& hc, int, long) {
        timed(
            s.health, [&] { return hc.Get("/healthz"); }, 200);
      },
      port);
  const double floor_rps = s.health.size() / (ms_since(t_floor) / 1000);
  // The second floor: what the API server itself takes for the calls a get and a create make
  // (an Events list, an Agent create), from the same number of clients, straight.
  {
    std::atomic<bool> stop{false};
    std::vector<std::thread> ts;
    const json body = {{"apiVersion", "agentry.dev/v1alpha1"},
                       {"kind", "Agent"},
                       {"metadata", {{"generateName", "direct-"}, {"namespace", ns}}},
                       {"spec", {{"model", {{"provider", "ollama"}, {"name", "llama2"}}}}}};
    for (int t = 0; t < clients; ++t)
      ts.emplace_back([&, t] {
        for (long i = 0; !stop; ++i) {
          auto t0 = Clock::now();
          if (i % 3 == 2) {
            auto r = (*admin)->create(kube::resources::kAgents, ns, body);
            std::lock_guard<std::mutex> l(s.mu);
            if (r.ok())
              s.direct_create.push_back(ms_since(t0));
            else
              ++s.errors;
          } else {
            kube::ListOptions lo;
            lo.field_selector = "involvedObject.kind=Agent,involvedObject.name=agent-" +
                                std::to_string((t * 97 + i) % agents);
            auto r = (*admin)->list(kube::resources::kEvents, ns, lo);
            std::lock_guard<std::mutex> l(s.mu);
            if (r.ok())
              s.direct_events.push_back(ms_since(t0));
            else
              ++s.errors;
          }
        }
      });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds / 2));
    stop = true;
    for (auto& t : ts) t.join();
  }
  auto t_mix = Clock::now();
  load(
      clients, seconds,
      [&](httplib::Client& hc, int t, long i) {
        httplib::Headers h = {{"Authorization", "Bearer " + tokens[t]}};
        switch (i % 6) {
          case 0:
          case 1:
          case 2:
            timed(
                s.list, [&] { return hc.Get("/api/v1/agents?namespace=" + ns, h); }, 200);
            break;
          case 3:
          case 4:
            timed(
                s.get,
                [&] {
                  return hc.Get(
                      "/api/v1/agents/" + ns + "/agent-" + std::to_string((t * 97 + i) % agents),
                      h);
                },
                200);
            break;
          default:
            timed(
                s.create,
                [&] {
                  return hc.Post("/api/v1/agents", h,
                                 R"({"name": "Load Test Agent", "template": "chatbot",
                             "config": {"llm_provider": "ollama", "model": "llama2"}})",
                                 "application/json");
                },
                201);
        }
      },
      port);
  const double mix_s = ms_since(t_mix) / 1000;
  const double mix_rps = (s.list.size() + s.get.size() + s.create.size()) / mix_s;

  std::printf(
      "load average at start: %.2f (2 cores: the control plane, the console and the %d "
      "clients share them)\n",
      load_avg[0], clients);
  std::printf("| %-52s | %-26s | %-28s |\n", "figure", "measured", "target");
  std::printf("|%s|%s|%s|\n", std::string(54, '-').c_str(), std::string(28, '-').c_str(),
              std::string(30, '-').c_str());
  row("login (yescrypt), p50 / p95", fmt("%.1f / %.1f ms", pct(login_ms, 0.5), pct(login_ms, 0.95)),
      "- (the hash's cost, by design)");
  row("GET /healthz, the floor (same clients)",
      fmt("%.0f rps, p95 %.2f ms", floor_rps, pct(s.health, 0.95)), "-");
  row("floor: Events list straight to the API server, p50/p95",
      fmt("%.1f / %.1f ms", pct(s.direct_events, 0.5), pct(s.direct_events, 0.95)), "-");
  row("floor: Agent create straight to the API server, p50/p95",
      fmt("%.1f / %.1f ms", pct(s.direct_create, 0.5), pct(s.direct_create, 0.95)), "-");
  row("list agents (100 of the namespace), p50 / p95",
      fmt("%.1f / %.1f ms", pct(s.list, 0.5), pct(s.list, 0.95)), "p95 < 200 ms (guidelines)");
  row("get agent (cache + Events as the user), p50 / p95",
      fmt("%.1f / %.1f ms (%.2fx)", pct(s.get, 0.5), pct(s.get, 0.95),
          pct(s.get, 0.95) / std::max(1e-9, pct(s.direct_events, 0.95))),
      "p95 < 200 ms; x the Events floor");
  row("create from the chatbot template, p50 / p95",
      fmt("%.1f / %.1f ms (%.2fx)", pct(s.create, 0.5), pct(s.create, 0.95),
          pct(s.create, 0.95) / std::max(1e-9, pct(s.direct_create, 0.95))),
      "p95 < 200 ms; x the create floor");
  row("the 3:2:1 mix, requests per second",
      fmt("%.0f rps (%.3fx the floor)", mix_rps, mix_rps / floor_rps), "-");
  row("errors", fmt("%.0f", static_cast<double>(s.errors)), "0");
  std::printf(
      "  (%d clients, %.0f s of the mix after %.0f s of the floor, %d Agents; %zu created)\n",
      clients, seconds, seconds / 2, agents, s.create.size());
  return s.errors == 0 ? 0 : 1;
}
