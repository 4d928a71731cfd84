// agentry soak: the whole product on a real local control plane, under steady load, with one fault
// every few minutes, checked every 10 s. Exits non-zero on any violation.
//
// What runs (all on 127.0.0.1, wired the way hack/demo.sh wires them):
//   a private control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok), a real
//   redis-server (appendfsync always), the fake LLM, the agentry-operator binary, and three Agents
//   whose agentry-sidecar processes run locally with the config and token the operator rendered:
//     soak-redis     memory and cache on Redis
//     soak-embedded  memory on the sidecar's own log (fsync'd)
//     soak-flow      runs the Workflows' steps
// Load: executions on every sidecar, memory writes on the first two, a 3-step Workflow every few
// seconds on soak-flow.
// Faults, one at a time in this order: kube-apiserver SIGKILL, Redis SIGKILL, operator SIGKILL,
// sidecar SIGKILL (soak-redis and soak-embedded in turn), kwok SIGSTOP for 70 s (the node goes
// NotReady; after it the unready pods are replaced, see heal_pods_after_node_outage). A killed
// process is started again after 2 s, as a kubelet or systemd would.
// Checks, every 10 s:
//   - each Agent's status matches its Deployment (readyReplicas, and Ready iff the Deployment has
//     all its replicas ready) within 15 s;
//   - acknowledged memory writes are there (a sample every tick, all of them at the end);
//   - no Workflow step reached the model twice (the fake LLM counts each step's "mark:"); every
//     Workflow finishes within 3 minutes;
//   - after each API server restart, a new Agent becomes Ready within 5 s of a bare Deployment
//     created at the same moment (what the control plane itself needs);
//   - operator and sidecar RSS and open FDs stay flat (per process lifetime, after a warm-up).
//
// soak-flow's sidecar is never killed: a sidecar keeps its executions in memory, so a step whose
// sidecar dies mid-call is run again by design (the workflow tests cover that case).
//
// Usage: agentry-soak [--minutes M] [--fault-every S] [--keep]
#include <dirent.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"
#include "tests/support/control_plane.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_tools.h"

using namespace agentry;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace res = kube::resources;

namespace {

constexpr const char* kNs = "soak";

double secs_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

int open_fds(pid_t pid) {
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return 0;
  int n = 0;
  while (readdir(d)) ++n;
  closedir(d);
  return n - 2;
}

// Violations and counters, printed as the final table. Thread-safe (mu).
class Ledger {
 public:
  void violation(const std::string& check, const std::string& what) {
    std::lock_guard<std::mutex> l(mu_);
    ++violations_[check];
    std::fprintf(stderr, "[%7.1fs] VIOLATION %s: %s\n", secs_since(start_), check.c_str(),
                 what.c_str());
  }
  void count(const std::string& what, long n = 1) {
    std::lock_guard<std::mutex> l(mu_);
    counters_[what] += n;
  }
  void checked(const std::string& check) {
    std::lock_guard<std::mutex> l(mu_);
    ++checks_[check];
  }
  void log(const std::string& what) {
    std::fprintf(stderr, "[%7.1fs] %s\n", secs_since(start_), what.c_str());
  }
  void figure(const std::string& what, double v) {
    std::lock_guard<std::mutex> l(mu_);
    figures_[what].push_back(v);
  }
  int print() {
    std::lock_guard<std::mutex> l(mu_);
    std::printf("\n%-62s %10s %10s\n", "check", "checked", "violations");
    int total = 0;
    std::set<std::string> names;
    for (auto& [k, _] : checks_) names.insert(k);
    for (auto& [k, _] : violations_) names.insert(k);
    for (const auto& k : names) {
      std::printf("%-62s %10ld %10d\n", k.c_str(), checks_[k], violations_[k]);
      total += violations_[k];
    }
    std::printf("\n%-62s %10s\n", "counter", "value");
    for (auto& [k, v] : counters_) std::printf("%-62s %10ld\n", k.c_str(), v);
    std::printf("\n%-62s %8s %8s %8s\n", "figure", "n", "median", "max");
    for (auto& [k, v] : figures_) {
      std::vector<double> s = v;
      std::sort(s.begin(), s.end());
      std::printf("%-62s %8zu %8.2f %8.2f\n", k.c_str(), s.size(), s[s.size() / 2], s.back());
    }
    std::printf("\nsoak: %s (%d violation(s))\n", total ? "FAILED" : "ok", total);
    return total;
  }

 private:
  std::mutex mu_;
  Clock::time_point start_ = Clock::now();
  std::map<std::string, int> violations_;
  std::map<std::string, long> checks_, counters_;
  std::map<std::string, std::vector<double>> figures_;
};

// RSS and FDs of one process lifetime: the baseline is taken after the warm-up; growth beyond the
// allowance is a violation (reported once per lifetime).
class Flatness {
 public:
  Flatness(std::string name, long data_allowance_kb_per_unit)
      : name_(std::move(name)), per_unit_kb_(data_allowance_kb_per_unit) {}
  void restarted() {
    std::lock_guard<std::mutex> l(mu_);
    born_ = Clock::now();
    base_rss_ = base_fds_ = -1;
    reported_ = false;
  }
  // units: the data the process legitimately holds (memory entries stored since the baseline);
  // each may cost per_unit_kb (a stored entry: its text, vector and index links, ~4 KiB).
  void sample(pid_t pid, long units, Ledger* ledger) {
    if (pid <= 0) return;
    long rss = rss_kb(pid);
    int fds = open_fds(pid);
    if (rss == 0) return;
    std::lock_guard<std::mutex> l(mu_);
    if (secs_since(born_) < 90) return;  // warm-up: pools, caches and arenas fill
    if (base_rss_ < 0) {
      base_rss_ = rss;
      base_fds_ = fds;
      base_units_ = units;
      return;
    }
    ledger->checked("RSS and open FDs flat");
    ledger->figure(name_ + " RSS growth (MiB)", static_cast<double>(rss - base_rss_) / 1024.0);
    const long allowed_kb = 48 * 1024 + base_rss_ / 4 + per_unit_kb_ * (units - base_units_);
    if (!reported_ && (rss - base_rss_ > allowed_kb || fds - base_fds_ > 64)) {
      reported_ = true;
      ledger->violation("RSS and open FDs flat",
                        name_ + ": RSS " + std::to_string(base_rss_ / 1024) + " -> " +
                            std::to_string(rss / 1024) + " MiB (allowed +" +
                            std::to_string(allowed_kb / 1024) + "), FDs " +
                            std::to_string(base_fds_) + " -> " + std::to_string(fds));
    }
  }

 private:
  std::string name_;
  long per_unit_kb_;
  std::mutex mu_;
  Clock::time_point born_ = Clock::now();
  long base_rss_ = -1, base_units_ = 0;
  int base_fds_ = -1;
  bool reported_ = false;
};

// A process the soak kills and starts again with the same options.
class Restartable {
 public:
  // allowance_kb_per_unit: see Flatness.
  Restartable(std::string name, testing::Process::Options opts, int port,
              long allowance_kb_per_unit = 0)
      : name_(std::move(name)),
        opts_(std::move(opts)),
        port_(port),
        flat_(name_, allowance_kb_per_unit) {}
  bool start(std::string* err) {
    {
      std::lock_guard<std::mutex> l(mu_);
      proc_ = std::make_unique<testing::Process>(opts_);
      if (!proc_->start(err)) return false;
    }
    flat_.restarted();
    if (!testing::wait_for_port(port_, std::chrono::seconds(60))) {
      if (err) *err = name_ + " did not listen on :" + std::to_string(port_);
      return false;
    }
    up_ = true;
    return true;
  }
  void kill9() {
    std::lock_guard<std::mutex> l(mu_);
    up_ = false;
    if (proc_) proc_->stop(SIGKILL);
  }
  void stop() {
    std::lock_guard<std::mutex> l(mu_);
    up_ = false;
    if (proc_) proc_->stop(SIGTERM, std::chrono::seconds(10));
  }
  bool up() const { return up_; }
  pid_t pid() {
    std::lock_guard<std::mutex> l(mu_);
    return proc_ ? proc_->pid() : -1;
  }
  int port() const { return port_; }
  const std::string& name() const { return name_; }
  Flatness& flatness() { return flat_; }

 private:
  std::string name_;
  testing::Process::Options opts_;
  int port_;
  Flatness flat_;
  std::mutex mu_;  // guards proc_
  std::unique_ptr<testing::Process> proc_;
  std::atomic<bool> up_{false};
};

struct AgentRig {
  std::string name;
  std::string memory_backend;  // "redis" | "embedded"
  bool memory_load = false;
  bool killable = false;
  std::string token;
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<Restartable> sidecar;
  std::mutex mu;                                           // guards acked
  std::vector<std::pair<std::string, std::string>> acked;  // id, text
  Clock::time_point mismatch_since{};
  bool mismatch = false;
};

struct Options {
  int minutes = 60;
  int fault_every_s = 180;
  bool keep = false;
};

class Soak {
 public:
  explicit Soak(Options o) : opts_(o) {}
  ~Soak() { stop_all(); }

  // Ends the run early (SIGINT/SIGTERM): the table is still printed and everything torn down.
  void interrupt() {
    interrupted_ = true;
    stopping_ = true;
    wake_.notify_all();
  }

  int run() {
    std::string err;
    if (!setup(&err)) {
      std::fprintf(stderr, "soak: setup failed: %s\n", err.c_str());
      return 2;
    }
    ledger_.log("everything is up; load and faults for " + std::to_string(opts_.minutes) +
                " min, one fault every " + std::to_string(opts_.fault_every_s) + " s");
    const auto until = Clock::now() + std::chrono::minutes(opts_.minutes);
    std::vector<std::thread> threads;
    threads.emplace_back([&] { exec_load(); });
    for (auto& a : agents_) {
      if (a->memory_load) threads.emplace_back([&, rig = a.get()] { memory_load(rig); });
    }
    threads.emplace_back([&] { workflow_load(); });
    threads.emplace_back([&] { checker(); });
    threads.emplace_back([&] { faults(until); });
    // The main thread starts every process again (Process children die with the thread that
    // started them), so the faults thread hands restarts over through run_on_main().
    while (Clock::now() < until && !stopping_) {
      sleep_s(0.1);
      run_main_tasks();
    }
    stopping_ = true;
    wake_.notify_all();
    for (auto& t : threads) t.join();
    if (interrupted_) {
      ledger_.violation("the soak ran to its end", "interrupted");
    } else {
      final_checks();
    }
    return ledger_.print() == 0 ? 0 : 1;
  }

 private:
  // ---- setup -----------------------------------------------------------------------------
  bool setup(std::string* err) {
    ledger_.log("starting a private control plane");
    cp_ = testing::ControlPlane::start_private({}, err);
    if (!cp_) return false;
    std::string out;
    if (cp_->kubectl({"apply", "--server-side", "-f", testing::repo_dir() + "/crds/"}, &out) != 0 ||
        cp_->kubectl({"wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"},
                     &out) != 0 ||
        cp_->kubectl({"create", "namespace", kNs}, &out) != 0) {
      *err = "CRDs/namespace: " + out;
      return false;
    }
    auto cfg = kube::load_kubeconfig(cp_->kubeconfig());
    if (!cfg.ok()) return (*err = cfg.status().to_string(), false);
    auto c = kube::Client::create(*cfg);
    if (!c.ok()) return (*err = c.status().to_string(), false);
    client_ = *c;

    redis_ = std::make_unique<testing::RedisServer>(testing::RedisServer::Options{true, 0});
    if (!redis_->start(err)) return false;

    llm_port_ = testing::free_port();
    llm_ = std::make_unique<Restartable>(
        "fake-llm",
        testing::Process::Options{{AGENTRY_FAKE_LLM_BIN, "--port", std::to_string(llm_port_),
                                   "--threads", "32", "--latency-ms", "20"},
                                  {},
                                  dir_.file("fake-llm.log"),
                                  ""},
        llm_port_);
    if (!llm_->start(err)) return false;

    int op_port = testing::free_port();
    op_ = std::make_unique<Restartable>(
        "operator",
        testing::Process::Options{
            {AGENTRY_OPERATOR_BIN, "--kubeconfig", cp_->kubeconfig(), "--metrics-addr",
             "127.0.0.1:" + std::to_string(op_port), "--log-level", "info"},
            {},
            dir_.file("operator.log"),
            ""},
        op_port);
    if (!op_->start(err)) return false;

    add_agent("soak-redis", "redis", true, true);
    add_agent("soak-embedded", "embedded", true, true);
    add_agent("soak-flow", "embedded", false, false);
    for (auto& a : agents_) {
      if (!apply(agent_yaml(*a), err)) return false;
    }
    for (auto& a : agents_) {
      if (!start_sidecar(*a, err)) return false;
    }
    for (auto& a : agents_) {
      if (!wait_until(std::chrono::seconds(120), [&] { return phase_of(a->name) == "Ready"; })) {
        *err = "Agent " + a->name + " never became Ready: " + agent_json(a->name).dump();
        return false;
      }
    }
    return true;
  }

  void add_agent(const std::string& name, const std::string& backend, bool memory_load,
                 bool killable) {
    auto a = std::make_unique<AgentRig>();
    a->name = name;
    a->memory_backend = backend;
    a->memory_load = memory_load;
    a->killable = killable;
    a->dir = std::make_unique<testing::TempDir>("soak-" + name);
    if (opts_.keep) a->dir->keep();
    agents_.push_back(std::move(a));
  }

  std::string agent_yaml(const AgentRig& a) const {
    std::string y =
        "apiVersion: agentry.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: " + a.name +
        "\nspec:\n  model: {provider: ollama, name: fake, endpoint: 'http://127.0.0.1:" +
        std::to_string(llm_port_) +
        "'}\n  replicas: 2\n  autoscaling: {enabled: false}\n"
        "  policyRef: {name: development}\n";
    if (a.memory_backend == "redis") {
      y += "  memory: {backend: redis, redis: {url: '" + redis_->url() + "'}}\n";
      y += "  cache: {ttlSeconds: 60, redis: {url: '" + redis_->url() + "'}}\n";
    } else {
      y += "  memory: {backend: embedded}\n";
    }
    return y;
  }

  // Reads the rendered config and token, starts the sidecar locally and points the Agent at it.
  bool start_sidecar(AgentRig& a, std::string* err) {
    std::string cfg, tok;
    if (!wait_until(std::chrono::seconds(60), [&] {
          auto cm = client_->get(res::kConfigMaps, kNs, a.name + "-agent");
          auto sec = client_->get(res::kSecrets, kNs, a.name + "-agent-token");
          if (!cm.ok() || !sec.ok()) return false;
          cfg = cm->value("/data/config.yaml"_json_pointer, std::string());
          auto t = base64_decode(sec->value("/data/token"_json_pointer, std::string()));
          tok = t.ok() ? *t : "";
          return !cfg.empty() && !tok.empty();
        })) {
      *err = "no rendered config/token for " + a.name;
      return false;
    }
    for (size_t p; (p = cfg.find("/var/lib/agentry/memory")) != std::string::npos;)
      cfg.replace(p, 23, a.dir->file("memory"));
    testing::write_file(a.dir->file("config.yaml"), cfg);
    testing::write_file(a.dir->file("token"), tok + "\n");
    a.token = tok;
    int port = testing::free_port();
    a.sidecar = std::make_unique<Restartable>(
        a.name,
        testing::Process::Options{
            {AGENTRY_SIDECAR_BIN, "--config", a.dir->file("config.yaml"), "--listen",
             "127.0.0.1:" + std::to_string(port), "--token-file", a.dir->file("token")},
            {},
            a.dir->file("sidecar.log"),
            ""},
        port, /*allowance_kb_per_unit=*/4);
    if (!a.sidecar->start(err)) return false;
    std::string out;
    if (cp_->kubectl({"-n", kNs, "annotate", "agent", a.name, "--overwrite",
                      "agentry.dev/endpoint-override=http://127.0.0.1:" + std::to_string(port)},
                     &out) != 0) {
      *err = "annotate: " + out;
      return false;
    }
    return true;
  }

  bool apply(const std::string& yaml, std::string* err) {
    std::string out;
    if (cp_->kubectl_stdin({"apply", "-n", kNs, "-f", "-"}, yaml, &out) == 0) return true;
    if (err) *err = out + "\n" + yaml;
    return false;
  }

  json agent_json(const std::string& name) {
    auto a = client_->get(res::kAgents, kNs, name);
    return a.ok() ? *a : json();
  }
  std::string phase_of(const std::string& name) {
    return agent_json(name).value("/status/phase"_json_pointer, std::string());
  }

  bool wait_until(std::chrono::seconds limit, const std::function<bool()>& f) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (f()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }

  // Runs fn on the main thread (see run()) and waits for it; false when the soak stopped first.
  bool run_on_main(std::function<void()> fn) {
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    {
      std::lock_guard<std::mutex> l(tasks_mu_);
      tasks_.push_back([fn = std::move(fn), done] {
        fn();
        done->set_value();
      });
    }
    while (f.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (stopping_) return false;
    }
    return true;
  }
  void run_main_tasks() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> l(tasks_mu_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
  }

  // Sleeps up to s seconds; returns early (false) when the soak stops.
  bool sleep_s(double s) {
    std::unique_lock<std::mutex> l(wake_mu_);
    return !wake_.wait_for(l, std::chrono::duration<double>(s), [&] { return stopping_.load(); });
  }

  void stop_all() {
    for (auto& a : agents_) {
      if (a->sidecar) a->sidecar->stop();
    }
    if (op_) op_->stop();
    if (llm_) llm_->stop();
    redis_.reset();
    client_.reset();
    cp_.reset();
  }

  // ---- load ------------------------------------------------------------------------------
  void exec_load() {
    long n = 0;
    while (sleep_s(0.15)) {
      AgentRig& a = *agents_[static_cast<size_t>(n) % agents_.size()];
      if (!a.sidecar->up()) continue;
      httplib::Client c("127.0.0.1", a.sidecar->port());
      c.set_read_timeout(40, 0);
      json body = {{"input", "soak question " + std::to_string(n % 500)}};
      auto r = c.Post("/v1/executions?wait=30s", {{"Authorization", "Bearer " + a.token}},
                      body.dump(), "application/json");
      ledger_.count(r && r->status < 300 ? "executions ok" : "executions failed (during faults)");
      ++n;
    }
  }

  void memory_load(AgentRig* a) {
    std::mt19937 rng(std::hash<std::string>{}(a->name));
    long n = 0;
    while (sleep_s(0.2)) {
      if (!a->sidecar->up()) continue;
      httplib::Client c("127.0.0.1", a->sidecar->port());
      c.set_read_timeout(15, 0);
      std::string text = "fact " + std::to_string(n++) + " about " + a->name + " #" +
                         std::to_string(rng() % 100000);
      auto r = c.Post("/v1/memory", {{"Authorization", "Bearer " + a->token}},
                      json{{"text", text}}.dump(), "application/json");
      if (r && r->status == 201) {
        auto j = json::parse(r->body, nullptr, false);
        std::lock_guard<std::mutex> l(a->mu);
        a->acked.emplace_back(j.value("id", ""), text);
        ledger_.count("memory writes acknowledged");
      } else {
        ledger_.count("memory writes refused or lost (during faults)");
      }
    }
  }

  void workflow_load() {
    long n = 0;
    while (sleep_s(6)) {
      std::string wf = "wf-" + std::to_string(n++);
      auto step = [&](const std::string& s, const std::string& after, const std::string& in) {
        return "  - {name: " + s + ", agentRef: {name: soak-flow}" + after +
               ", input: \"mark:" + wf + "/" + s + " " + in +
               "\", retries: {limit: 5, backoffSeconds: 1}}\n";
      };
      std::string y = "apiVersion: agentry.dev/v1alpha1\nkind: Workflow\nmetadata:\n  name: " + wf +
                      "\nspec:\n  input: go\n  steps:\n" + step("one", "", "{{ input }}") +
                      step("two", ", dependsOn: [one]", "{{ steps.one.output }}") +
                      step("three", ", dependsOn: [two]", "{{ steps.two.output }}");
      // The API server may be down: retry the create for a while, as a user's client would.
      bool created = false;
      for (int i = 0; i < 30 && !created && !stopping_; ++i) {
        created = apply(y, nullptr);
        if (!created) sleep_s(1);
      }
      if (created) {
        std::lock_guard<std::mutex> l(wf_mu_);
        workflows_[wf] = Clock::now();
        ledger_.count("workflows created");
      }
    }
  }

  // ---- faults ----------------------------------------------------------------------------
  void faults(Clock::time_point until) {
    const std::vector<std::string> order = {"apiserver", "redis", "operator", "sidecar", "kwok"};
    size_t i = 0, victim = 0;
    while (sleep_s(opts_.fault_every_s / 2.0)) {
      if (Clock::now() + std::chrono::seconds(40) > until) break;  // let the last one settle
      const std::string f = order[i++ % order.size()];
      ledger_.log("fault: " + f);
      ledger_.count("faults: " + f);
      if (f == "apiserver") {
        cp_->kill_apiserver();
        sleep_s(2);
        std::string err;
        if (!cp_->start_apiserver_again(&err)) ledger_.violation("fault recovery", err);
        const auto ready_at = Clock::now();
        convergence_probe(ready_at);
      } else if (f == "redis") {
        redis_->kill();
        sleep_s(2);
        run_on_main([&] {
          std::string err;
          if (!redis_->start(&err)) ledger_.violation("fault recovery", "redis: " + err);
        });
      } else if (f == "operator") {
        op_->kill9();
        sleep_s(2);
        run_on_main([&] {
          std::string err;
          if (!op_->start(&err)) ledger_.violation("fault recovery", "operator: " + err);
        });
      } else if (f == "sidecar") {
        std::vector<AgentRig*> killable;
        for (auto& a : agents_) {
          if (a->killable) killable.push_back(a.get());
        }
        AgentRig* a = killable[victim++ % killable.size()];
        ledger_.log("  sidecar of " + a->name);
        a->sidecar->kill9();
        sleep_s(2);
        run_on_main([&] {
          std::string err;
          if (!a->sidecar->start(&err)) ledger_.violation("fault recovery", a->name + ": " + err);
        });
      } else if (f == "kwok") {
        const int pid = cp_->pid_of("kwok");
        ::kill(pid, SIGSTOP);
        sleep_s(70);
        ::kill(pid, SIGCONT);
        heal_pods_after_node_outage();
      }
      sleep_s(opts_.fault_every_s / 2.0);
    }
  }

  // A stopped kwok lets the node go NotReady, and the node lifecycle controller marks its pods
  // NotReady. A kubelet would report them Ready again once back; kwok 0.7 does not reset a Ready
  // condition someone else cleared, so the pods would stay unready. Once the node is Ready again
  // the soak deletes them, as an operator of the cluster would, and the Deployments replace them:
  // the Agents must then go back to Ready (the status check follows them both ways).
  void heal_pods_after_node_outage() {
    std::string out;
    wait_until(std::chrono::seconds(90), [&] {
      return cp_->kubectl({"get", "node", "kwok-node-0", "-o",
                           "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"},
                          &out) == 0 &&
             out == "True";
    });
    cp_->kubectl({"-n", kNs, "delete", "pods", "--all", "--wait=false"}, &out);
    ledger_.log("  node Ready again; unready pods replaced");
  }

  // Right after the API server is back: an Agent and a bare Deployment (the Agent's own pod
  // template) created at the same moment. The Agent must be Ready within 5 s of the Deployment
  // being available: the operator adds at most 5 s to what the control plane itself needs.
  void convergence_probe(Clock::time_point ready_at) {
    const std::string name = "probe-" + std::to_string(probes_++);
    auto model = client_->get(res::kDeployments, kNs, "soak-flow-agent");
    if (!model.ok()) {
      ledger_.violation("convergence after API server restart",
                        "cannot read a Deployment: " + model.status().to_string());
      return;
    }
    json bare = {{"apiVersion", "apps/v1"},
                 {"kind", "Deployment"},
                 {"metadata", {{"name", name + "-bare"}, {"namespace", kNs}}},
                 {"spec", (*model)["spec"]}};
    bare["spec"]["selector"] = {{"matchLabels", {{"soak-probe", name}}}};
    bare["spec"]["template"]["metadata"]["labels"] = {{"soak-probe", name}};
    bare["spec"]["replicas"] = 2;
    AgentRig probe;
    probe.name = name;
    probe.memory_backend = "embedded";
    const auto t0 = Clock::now();
    std::string err;
    auto created = client_->create(res::kDeployments, kNs, bare);
    if (!created.ok() || !apply(agent_yaml(probe), &err)) {
      ledger_.violation("convergence after API server restart",
                        "create: " + (created.ok() ? err : created.status().to_string()));
      return;
    }
    std::optional<double> dep_s, agent_s;
    wait_until(std::chrono::seconds(120), [&] {
      if (!dep_s) {
        auto d = client_->get(res::kDeployments, kNs, name + "-bare");
        if (d.ok() && d->value("/status/availableReplicas"_json_pointer, 0) >= 2)
          dep_s = secs_since(t0);
      }
      if (!agent_s && phase_of(name) == "Ready") agent_s = secs_since(t0);
      return dep_s && agent_s;
    });
    ledger_.checked("convergence after API server restart");
    const double since_ready = std::chrono::duration<double>(t0 - ready_at).count();
    if (!dep_s || !agent_s) {
      ledger_.violation("convergence after API server restart",
                        name + ": not Ready within 120 s (bare Deployment " +
                            (dep_s ? std::to_string(*dep_s) + " s" : "not available") + ")");
    } else {
      ledger_.figure("probe: bare Deployment available (s)", *dep_s);
      ledger_.figure("probe: Agent Ready (s)", *agent_s);
      ledger_.figure("probe: Agent minus Deployment (s)", *agent_s - *dep_s);
      ledger_.log("  probe " + name + " (created " + std::to_string(since_ready) +
                  " s after /readyz): Deployment " + std::to_string(*dep_s) + " s, Agent " +
                  std::to_string(*agent_s) + " s");
      if (*agent_s > *dep_s + 5)
        ledger_.violation("convergence after API server restart",
                          name + ": Agent Ready " + std::to_string(*agent_s - *dep_s) +
                              " s after its bare Deployment");
    }
    (void)client_->remove(res::kAgents, kNs, name);
    (void)client_->remove(res::kDeployments, kNs, name + "-bare");
  }

  // ---- checks ----------------------------------------------------------------------------
  void checker() {
    while (sleep_s(10)) {
      check_status();
      check_memory_sample();
      check_workflows(false);
      check_flat();
    }
  }

  void check_status() {
    for (auto& a : agents_) {
      auto ag = client_->get(res::kAgents, kNs, a->name);
      auto dep = client_->get(res::kDeployments, kNs, a->name + "-agent");
      if (!ag.ok() || !dep.ok()) continue;  // the API server is down: nothing to compare
      ledger_.checked("Agent status matches its Deployment within 15 s");
      const int64_t desired = dep->value("/spec/replicas"_json_pointer, int64_t{1});
      const int64_t ready = dep->value("/status/readyReplicas"_json_pointer, int64_t{0});
      const int64_t said = ag->value("/status/readyReplicas"_json_pointer, int64_t{-1});
      const bool said_ready = ag->value("/status/phase"_json_pointer, std::string()) == "Ready";
      const bool is_ready = desired > 0 && ready >= desired;
      const bool mismatch = said != ready || said_ready != is_ready;
      if (!mismatch) {
        a->mismatch = false;
        continue;
      }
      if (!a->mismatch) {
        a->mismatch = true;
        a->mismatch_since = Clock::now();
        continue;
      }
      if (secs_since(a->mismatch_since) > 15) {
        ledger_.violation(
            "Agent status matches its Deployment within 15 s",
            a->name + ": Agent says " + std::to_string(said) + " ready (phase " +
                ag->value("/status/phase"_json_pointer, std::string()) + "), Deployment has " +
                std::to_string(ready) + "/" + std::to_string(desired) + " for " +
                std::to_string(static_cast<int>(secs_since(a->mismatch_since))) + " s");
        a->mismatch_since = Clock::now();  // report again only after another 15 s
      }
    }
  }

  // 1: found; 0: missing (404); -1: cannot tell (sidecar or Redis down).
  int memory_present(AgentRig& a, const std::string& id) {
    httplib::Client c("127.0.0.1", a.sidecar->port());
    c.set_read_timeout(10, 0);
    auto r = c.Get("/v1/memory/" + id, {{"Authorization", "Bearer " + a.token}});
    if (!r) return -1;
    if (r->status == 200) return 1;
    if (r->status == 404) return 0;
    return -1;
  }

  void check_memory(AgentRig& a, size_t sample) {
    std::vector<std::pair<std::string, std::string>> ids;
    {
      std::lock_guard<std::mutex> l(a.mu);
      if (sample == 0 || a.acked.size() <= sample) {
        ids = a.acked;
      } else {
        std::mt19937 rng(static_cast<unsigned>(a.acked.size()));
        for (size_t i = 0; i < sample; ++i) ids.push_back(a.acked[rng() % a.acked.size()]);
        ids.push_back(a.acked.back());
      }
    }
    for (const auto& [id, text] : ids) {
      if (!a.sidecar->up()) return;
      int p = memory_present(a, id);
      if (p < 0) continue;
      ledger_.checked("acknowledged memory writes are there");
      if (p == 0)
        ledger_.violation("acknowledged memory writes are there",
                          a.name + ": " + id + " (\"" + text + "\") is gone");
    }
  }

  void check_memory_sample() {
    for (auto& a : agents_) {
      if (a->memory_load) check_memory(*a, 20);
    }
  }

  void check_workflows(bool final) {
    std::map<std::string, Clock::time_point> open;
    {
      std::lock_guard<std::mutex> l(wf_mu_);
      open = workflows_;
    }
    if (open.empty()) return;
    httplib::Client c("127.0.0.1", llm_port_);
    auto r = c.Get("/admin/marks");
    if (!r || r->status != 200) return;
    json marks = json::parse(r->body, nullptr, false);
    for (const auto& [wf, created] : open) {
      auto w = client_->get(res::kWorkflows, kNs, wf);
      if (!w.ok()) continue;
      const std::string phase = w->value("/status/phase"_json_pointer, std::string());
      if (phase == "Succeeded" || phase == "Failed") {
        ledger_.checked("no Workflow step reached the model twice");
        ledger_.checked("every Workflow finishes (Succeeded) within 3 min");
        if (phase == "Failed")
          ledger_.violation(
              "every Workflow finishes (Succeeded) within 3 min",
              wf + " failed: " + w->value("/status/message"_json_pointer, std::string()));
        ledger_.figure("workflow created -> finished (s)", secs_since(created));
        for (const char* s : {"one", "two", "three"}) {
          const int seen = marks.value(wf + "/" + s, 0);
          if (seen > 1)
            ledger_.violation(
                "no Workflow step reached the model twice",
                wf + "/" + s + " reached the model " + std::to_string(seen) + " times");
        }
        ledger_.count("workflows finished");
        (void)client_->remove(res::kWorkflows, kNs, wf);
        std::lock_guard<std::mutex> l(wf_mu_);
        workflows_.erase(wf);
      } else if (secs_since(created) > 180 || final) {
        ledger_.violation("every Workflow finishes (Succeeded) within 3 min",
                          wf + " still " + (phase.empty() ? "(no phase)" : phase) + " after " +
                              std::to_string(static_cast<int>(secs_since(created))) + " s");
        std::lock_guard<std::mutex> l(wf_mu_);
        workflows_.erase(wf);
      }
    }
  }

  void check_flat() {
    op_->flatness().sample(op_->pid(), 0, &ledger_);
    for (auto& a : agents_) {
      long units = 0;
      {
        std::lock_guard<std::mutex> l(a->mu);
        units = static_cast<long>(a->acked.size());
      }
      a->sidecar->flatness().sample(a->sidecar->pid(), units, &ledger_);
    }
  }

  void final_checks() {
    ledger_.log("final checks: every acknowledged memory write, every Workflow");
    for (auto& a : agents_) {
      if (!a->sidecar->up()) {
        std::string err;
        a->sidecar->start(&err);
      }
    }
    // Settle: the last fault's effects (a stopped kwok, a restarted operator) pass.
    sleep_until_settled();
    for (auto& a : agents_) {
      if (a->memory_load) check_memory(*a, 0);
    }
    wait_until(std::chrono::seconds(180), [&] {
      check_workflows(false);
      std::lock_guard<std::mutex> l(wf_mu_);
      return workflows_.empty();
    });
    check_workflows(true);
    for (auto& a : agents_) a->mismatch = false;
    for (int i = 0; i < 3; ++i) {
      check_status();
      std::this_thread::sleep_for(std::chrono::seconds(10));
    }
  }

  void sleep_until_settled() {
    wait_until(std::chrono::seconds(60), [&] { return cp_->apiserver_ready(); });
  }

  Options opts_;
  Ledger ledger_;
  testing::TempDir dir_{"agentry-soak"};
  std::unique_ptr<testing::ControlPlane> cp_;
  std::shared_ptr<kube::Client> client_;
  std::unique_ptr<testing::RedisServer> redis_;
  int llm_port_ = 0;
  std::unique_ptr<Restartable> llm_;
  std::unique_ptr<Restartable> op_;
  std::vector<std::unique_ptr<AgentRig>> agents_;
  std::mutex tasks_mu_;                                 // guards tasks_
  std::vector<std::function<void()>> tasks_;            // for the main thread (run_on_main)
  std::mutex wf_mu_;                                    // guards workflows_
  std::map<std::string, Clock::time_point> workflows_;  // created, not yet finished
  int probes_ = 0;                                      // the faults thread's own
  std::atomic<bool> stopping_{false}, interrupted_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--minutes" && i + 1 < argc)
      o.minutes = std::atoi(argv[++i]);
    else if (a == "--fault-every" && i + 1 < argc)
      o.fault_every_s = std::atoi(argv[++i]);
    else if (a == "--keep")
      o.keep = true;
    else {
      std::fprintf(stderr, "usage: agentry-soak [--minutes M] [--fault-every S] [--keep]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  // The operator renders memory.embedder: minilm; the sidecars find the model through the env.
  if (!agentry::testing::ensure_model_env()) {
    std::fprintf(stderr, "soak: hack/models.sh failed\n");
    return 1;
  }
  // SIGINT/SIGTERM are taken by a thread of ours, so an interrupted soak still stops its control
  // plane and processes (their destructors) instead of leaving them behind.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    Soak soak(o);
    std::thread([&soak, stop_signals] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      std::fprintf(stderr, "soak: signal %d, stopping\n", sig);
      soak.interrupt();
    }).detach();
    return soak.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
    return 2;
  }
}
