#include "operator/controllers/workflow_controller.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>

#include "common/base64.h"
#include "common/log.h"
#include "common/metrics.h"
#include "operator/controllers/conditions.h"
#include "operator/controllers/workflow_dag.h"
#include "operator/controllers/workflow_sidecar.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"
#include "operator/runtime/finalizer.h"

namespace agentry::controllers {

Status parse_endpoint_override(const std::string& flag, std::map<std::string, std::string>* out) {
  auto eq = flag.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
    return invalid_argument("endpoint override '" + flag + "': want [NAMESPACE/]AGENT=URL");
  }
  std::string url = flag.substr(eq + 1);
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return invalid_argument("endpoint override '" + flag +
                            "': URL must start with http:// or https://");
  }
  (*out)[flag.substr(0, eq)] = url;
  return ok_status();
}

namespace {

using nlohmann::json;
using runtime::ObjectPtr;
using runtime::ReconcileResult;
namespace res = kube::resources;
namespace wf = workflow;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kAgentIndex = "agentry.dev/workflow-agents";

int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct WorkflowMetrics {
  prometheus::Gauge& running;
  prometheus::Histogram& duration;
  prometheus::Family<prometheus::Histogram>& step_duration;
  prometheus::Histogram& start_latency;
  prometheus::Family<prometheus::Counter>& finished;
  prometheus::Counter& dispatches;

  static WorkflowMetrics& get() {
    static WorkflowMetrics* m = [] {
      auto& reg = *metrics::registry();
      prometheus::Histogram::BucketBoundaries long_buckets = {
          0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 14400};
      auto& running = prometheus::BuildGauge()
                          .Name("workflows_running")
                          .Help("Workflows started and not finished")
                          .Register(reg)
                          .Add({});
      auto& duration = prometheus::BuildHistogram()
                           .Name("workflow_duration_seconds")
                           .Help("Start (first dispatch) to finish of a Workflow")
                           .Register(reg)
                           .Add({}, long_buckets);
      auto& step = prometheus::BuildHistogram()
                       .Name("workflow_step_duration_seconds")
                       .Help("First dispatch to end of a step, by result")
                       .Register(reg);
      auto& start = prometheus::BuildHistogram()
                        .Name("workflow_start_latency_seconds")
                        .Help("Workflow first seen by the operator to its first step dispatched")
                        .Register(reg)
                        .Add({}, metrics::latency_buckets());
      auto& fin = prometheus::BuildCounter()
                      .Name("workflows_finished_total")
                      .Help("Workflows finished, by phase")
                      .Register(reg);
      auto& disp = prometheus::BuildCounter()
                       .Name("workflow_step_dispatches_total")
                       .Help("Step attempts sent to sidecars (first sends, not re-sends of a key)")
                       .Register(reg)
                       .Add({});
      return new WorkflowMetrics{running, duration, step, start, fin, disp};
    }();
    return *m;
  }
};

// What the controller knows across reconciles (rebuilt from status after a restart).
struct Tracked {
  std::string ns;
  int running = 0;      // steps Running
  bool active = false;  // started and not finished
};

struct Dispatch {
  std::string step, endpoint, token, key, input;
  int attempt = 0;
};

struct AgentTarget {
  std::string endpoint, token;
};

json* find_step(json& steps, const std::string& name) {
  for (auto& s : steps) {
    if (s.value("name", "") == name) return &s;
  }
  return nullptr;
}

std::string str(const json& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string trim_message(std::string m) {
  if (m.size() > wf::kMaxMessage) m = wf::summarize(m, wf::kMaxMessage);
  return m;
}

class WorkflowReconciler {
 public:
  WorkflowReconciler(runtime::Manager& mgr, OperatorSettings settings, WorkflowSettings ws)
      : mgr_(mgr),
        settings_(std::move(settings)),
        ws_(std::move(ws)),
        metrics_(WorkflowMetrics::get()) {
    const std::string& ns = settings_.watch_namespace;
    workflows_ = mgr.informer(res::kWorkflows, ns);
    agents_ = mgr.informer(res::kAgents, ns);
    secrets_ = mgr.informer(res::kSecrets, ns);
    workflows_->add_index(kAgentIndex, [](const json& w) {
      std::set<std::string> names;
      const json& steps = w.value("/spec/steps"_json_pointer, json::array());
      for (const auto& s : steps) {
        auto n = s.value("/agentRef/name"_json_pointer, std::string());
        if (!n.empty()) names.insert(kube::namespace_of(w) + "/" + n);
      }
      return std::vector<std::string>(names.begin(), names.end());
    });
  }

  void register_controller() {
    auto& c =
        mgr_.add_controller("workflow", [this](const kube::ObjectKey& k) { return reconcile(k); },
                            {.workers = std::max(1, ws_.workers)});
    // Spec edits and deletion; our own status writes do not come back as work (polls do).
    c.watches_for(workflows_, {[](const ObjectPtr& a, const ObjectPtr& b) {
                    return kube::generation(*a) != kube::generation(*b) ||
                           kube::being_deleted(*a) != kube::being_deleted(*b) ||
                           kube::annotations(*a) != kube::annotations(*b);
                  }});
    // An Agent appearing, becoming Ready or changing its endpoint wakes the Workflows using it.
    c.watches(agents_,
              [this](const json& a) {
                std::vector<kube::ObjectKey> keys;
                for (auto& w : workflows_->store().by_index(
                         kAgentIndex, kube::namespace_of(a) + "/" + kube::name(a))) {
                  keys.push_back(kube::key_of(*w));
                }
                return keys;
              },
              {runtime::predicates::resource_version_changed()});
  }

 private:
  // ---- object helpers ----

  // The freshest copy we know: the cache, or what we wrote last if the cache lags behind it.
  ObjectPtr current(const kube::ObjectKey& key) {
    ObjectPtr cached = workflows_->store().get(key.str());
    std::lock_guard<std::mutex> l(mu_);
    auto it = written_.find(key.str());
    if (!cached) {
      if (it != written_.end()) written_.erase(it);
      return nullptr;
    }
    if (it == written_.end()) return cached;
    const json& w = *it->second;
    if (kube::uid(w) != kube::uid(*cached)) {
      written_.erase(it);
      return cached;
    }
    try {
      if (std::stoull(kube::resource_version(w)) > std::stoull(kube::resource_version(*cached))) {
        return it->second;
      }
    } catch (...) {
    }
    written_.erase(it);
    return cached;
  }

  void remember(const json& obj) {
    std::lock_guard<std::mutex> l(mu_);
    written_[kube::key_of(obj).str()] = std::make_shared<const json>(obj);
  }

  void track(const std::string& key, const std::string& ns, int running, bool active) {
    std::lock_guard<std::mutex> l(mu_);
    auto& t = tracked_[key];
    t.ns = ns;
    t.running = running;
    t.active = active;
    update_gauge_locked();
  }
  void untrack(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    tracked_.erase(key);
    written_.erase(key);
    first_seen_.erase(key);
    poll_.erase(key);
    update_gauge_locked();
  }
  void update_gauge_locked() {
    int n = 0;
    for (auto& [k, t] : tracked_) n += t.active;
    metrics_.running.Set(n);
  }
  // The limits are checked and taken in one step under the lock: workflows reconciled at the
  // same moment on different workers must not all pass the check before any of them is counted.
  // The counts are made exact again by track() at the end of the reconcile.
  bool reserve_step_slot(const std::string& key, const std::string& ns, int running_here) {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (auto& [k, t] : tracked_) {
      if (t.ns == ns && k != key) n += t.running;
    }
    if (n + running_here >= ws_.namespace_parallelism) return false;
    auto& me = tracked_[key];
    me.ns = ns;
    me.running = running_here + 1;
    return true;
  }
  bool reserve_workflow_slot(const std::string& key, const std::string& ns) {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (auto& [k, t] : tracked_) {
      if (k != key) n += t.active;
    }
    if (n >= ws_.max_concurrent_workflows) return false;
    auto& me = tracked_[key];
    me.ns = ns;
    me.active = true;
    return true;
  }
  milliseconds next_poll(const std::string& key, bool reset) {
    std::lock_guard<std::mutex> l(mu_);
    auto& p = poll_[key];
    if (reset || p.count() == 0) {
      p = ws_.poll_min;
    } else {
      p = std::min(ws_.poll_max, p * 2);
    }
    return p;
  }

  // Endpoint and token of an Agent, or the reason it cannot take work yet.
  Result<AgentTarget> target(const std::string& ns, const std::string& agent_name) {
    ObjectPtr agent = agents_->store().get(ns + "/" + agent_name);
    if (!agent) {
      return not_found("Agent \"" + agent_name + "\" not found in namespace " + ns);
    }
    std::string endpoint;
    if (auto it = ws_.endpoint_overrides.find(ns + "/" + agent_name);
        it != ws_.endpoint_overrides.end()) {
      endpoint = it->second;
    } else if (auto it2 = ws_.endpoint_overrides.find(agent_name);
               it2 != ws_.endpoint_overrides.end()) {
      endpoint = it2->second;
    } else if (ws_.allow_endpoint_annotation) {
      const json& ann = kube::annotations(*agent);
      endpoint = str(ann, kEndpointOverrideAnnotation);
    }
    if (endpoint.empty()) {
      std::string phase = agent->value("/status/phase"_json_pointer, std::string());
      if (phase != "Ready") {
        return unavailable("Agent \"" + agent_name +
                           "\" is not Ready (phase: " + (phase.empty() ? "unknown" : phase) + ")");
      }
      endpoint = agent->value("/status/endpoint"_json_pointer, std::string());
      if (endpoint.empty()) {
        return unavailable("Agent \"" + agent_name + "\" has no status.endpoint yet");
      }
    }
    const std::string secret_name = token_secret_name(agent_name);
    ObjectPtr secret = secrets_->store().get(ns + "/" + secret_name);
    if (!secret) {
      return unavailable("Secret " + ns + "/" + secret_name + " (the Agent's API token) not found");
    }
    std::string b64 = secret->value("/data/token"_json_pointer, std::string());
    auto token = base64_decode(b64);
    if (!token.ok() || token->empty()) {
      return unavailable("Secret " + ns + "/" + secret_name + " has no data.token");
    }
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return AgentTarget{endpoint, t};
  }

  void event(const json& obj, const char* type, const std::string& reason,
             const std::string& note) {
    mgr_.events().record(obj, type, reason, "Reconcile", trim_message(note));
  }

  // ---- reconcile ----

  Result<ReconcileResult> reconcile(const kube::ObjectKey& key) {
    ObjectPtr obj = current(key);
    if (!obj) {
      untrack(key.str());
      return ReconcileResult{};
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      first_seen_.try_emplace(key.str(), Clock::now());
    }
    if (kube::being_deleted(*obj)) return finalize(*obj);

    const std::string phase = obj->value("/status/phase"_json_pointer, std::string());
    const bool finished = phase == wf::kSucceeded || phase == wf::kFailed;
    if (finished) return after_finish(*obj);

    json wobj = *obj;
    return run(key, wobj);
  }

  Result<ReconcileResult> after_finish(const json& obj) {
    const std::string key = kube::key_of(obj).str();
    track(key, kube::namespace_of(obj), 0, false);
    if (kube::has_finalizer(obj, kWorkflowFinalizer)) {
      auto r = runtime::remove_finalizer(*mgr_.client(), res::kWorkflows, obj, kWorkflowFinalizer);
      if (!r.ok()) return r.status();
    }
    int64_t ttl = obj.value("/spec/ttlSecondsAfterFinished"_json_pointer, int64_t{-1});
    if (ttl < 0) return ReconcileResult{};
    auto fin = wf::parse_rfc3339_ms(obj.value("/status/finishedAt"_json_pointer, std::string()));
    int64_t due = (fin ? *fin : now_ms()) + ttl * 1000;
    int64_t now = now_ms();
    if (now < due) return ReconcileResult{.requeue_after = milliseconds(due - now + 50)};
    kube::DeleteOptions o;
    o.precondition_uid = kube::uid(obj);
    auto r = mgr_.client()->remove(res::kWorkflows, kube::namespace_of(obj), kube::name(obj), o);
    if (!r.ok() && !kube::is_not_found(r.status())) return r.status();
    log::info("workflow deleted after ttlSecondsAfterFinished", {{"workflow", key}, {"ttl", ttl}});
    return ReconcileResult{};
  }

  // Cancels a running step's execution (re-sending its key to learn the id when we never
  // recorded one). Ok when there is nothing to cancel.
  Status cancel_step(const json& obj, const json& st, const std::string& agent) {
    int attempt = st.value("attempts", 0);
    if (attempt <= 0) return ok_status();
    auto t = target(kube::namespace_of(obj), agent);
    if (!t.ok()) return kube::is_not_found(t.status()) ? ok_status() : t.status();
    std::string id = str(st, "executionId");
    if (id.empty()) {
      auto e = sidecar_.start(t->endpoint, t->token,
                              wf::idempotency_key(kube::uid(obj), str(st, "name"), attempt), "-",
                              kube::uid(obj));
      if (!e.ok()) return e.status();
      id = e->id;
    }
    return sidecar_.cancel(t->endpoint, t->token, id);
  }

  Result<ReconcileResult> finalize(const json& obj) {
    const std::string key = kube::key_of(obj).str();
    if (!kube::has_finalizer(obj, kWorkflowFinalizer)) {
      untrack(key);
      return ReconcileResult{};
    }
    auto spec = wf::parse_spec(obj.value("spec", json::object()));
    const json& steps = obj.value("/status/steps"_json_pointer, json::array());
    std::string failures;
    int cancelled = 0;
    for (const auto& st : steps) {
      if (str(st, "phase") != wf::kRunning || !spec.ok()) continue;
      const wf::StepSpec* s = spec->step(str(st, "name"));
      if (!s) continue;
      auto c = cancel_step(obj, st, s->agent);
      if (!c.is_ok()) {
        failures += (failures.empty() ? "" : "; ") + s->name + ": " + c.message();
      } else {
        ++cancelled;
      }
    }
    if (!failures.empty()) {
      auto del = wf::parse_rfc3339_ms(
          obj.value("/metadata/deletionTimestamp"_json_pointer, std::string()));
      bool give_up = del && now_ms() - *del > ws_.cancel_give_up.count() * 1000;
      if (!give_up) return unavailable("cancelling running steps: " + failures);
      event(obj, "Warning", "CancelFailed", "gave up cancelling running steps: " + failures);
    } else if (cancelled > 0) {
      event(obj, "Normal", "Cancelled",
            "deleted: cancelled " + std::to_string(cancelled) + " running step(s)");
    }
    auto r = runtime::remove_finalizer(*mgr_.client(), res::kWorkflows, obj, kWorkflowFinalizer);
    if (!r.ok()) return r.status();
    untrack(key);
    return ReconcileResult{};
  }

  // Once something runs, deleting the Workflow must cancel it: adds the finalizer (in `obj`)
  // after the first send. False when the Workflow was deleted meanwhile; what was just sent is
  // then cancelled here, since no finalizer will run for it.
  Result<bool> hold_for_cancel(json& obj, const std::vector<Dispatch>& sent, json& status) {
    if (kube::has_finalizer(obj, kWorkflowFinalizer)) return true;
    auto r = runtime::ensure_finalizer(*mgr_.client(), res::kWorkflows, obj, kWorkflowFinalizer);
    if (r.ok()) {
      obj = *r;
      kube::strip_managed_fields(obj);
      return true;
    }
    auto fresh = mgr_.client()->get(res::kWorkflows, kube::namespace_of(obj), kube::name(obj));
    bool gone = !fresh.ok() && kube::is_not_found(fresh.status());
    if (!gone && !(fresh.ok() && kube::being_deleted(*fresh))) return r.status();
    for (const auto& d : sent) {
      json* st = find_step(status["steps"], d.step);
      std::string id = st ? str(*st, "executionId") : "";
      if (!id.empty()) (void)sidecar_.cancel(d.endpoint, d.token, id);
    }
    return false;
  }

  // Writes status if it changed; a conflict means someone (or our cache) moved on: requeue.
  // Returns false when not written.
  Result<bool> write_status(json& obj, const json& status) {
    if (obj.value("status", json()) == status) return true;
    json upd = obj;
    upd["status"] = status;
    auto r = mgr_.client()->update_status(res::kWorkflows, upd);
    if (!r.ok()) {
      if (kube::is_conflict(r.status()) || kube::is_not_found(r.status())) return false;
      return r.status();
    }
    obj = *r;
    kube::strip_managed_fields(obj);
    remember(obj);
    return true;
  }

  Result<ReconcileResult> run(const kube::ObjectKey& key, json& obj) {
    const std::string ns = kube::namespace_of(obj), uid = kube::uid(obj);
    const int64_t generation = kube::generation(obj);
    const int64_t now = now_ms();
    const std::string now_ts = wf::format_rfc3339(now);
    const json old_status = obj.value("status", json::object());
    json status = old_status;
    if (!status.is_object()) status = json::object();
    std::string old_phase = str(status, "phase");
    ReconcileResult result;
    auto want_after = [&](milliseconds d) {
      if (d.count() <= 0) d = milliseconds(1);
      if (result.requeue_after.count() == 0 || d < result.requeue_after) result.requeue_after = d;
    };
    std::vector<std::pair<std::string, std::string>> events;  // (reason, note), Normal
    std::vector<std::pair<std::string, std::string>> warnings;

    auto fail_workflow = [&](const std::string& reason, const std::string& message) {
      status["phase"] = wf::kFailed;
      status["message"] = trim_message(message);
      if (!status.contains("finishedAt")) status["finishedAt"] = now_ts;
      warnings.emplace_back(reason, message);
    };

    // 1. The spec must be a DAG whose templates resolve.
    auto spec = wf::parse_spec(obj.value("spec", json::object()));
    Status valid = spec.ok() ? wf::validate(*spec) : spec.status();
    if (!valid.is_ok()) {
      fail_workflow("InvalidSpec", "invalid workflow: " + valid.message());
      status["observedGeneration"] = generation;
      status["progress"] = spec.ok() ? "0/" + std::to_string(spec->steps.size()) : "0/0";
      set_condition(&status["conditions"],
                    {"Complete", true, "InvalidSpec", str(status, "message")}, generation);
      auto w = write_status(obj, status);
      if (!w.ok()) return w.status();
      if (!*w) return ReconcileResult{.requeue = true};
      event(obj, "Warning", "InvalidSpec", str(status, "message"));
      return after_finish(obj);
    }
    const wf::WorkflowSpec& sp = *spec;

    // 2. A status entry per step, in spec order.
    json steps = json::array();
    json old_steps = status.value("steps", json::array());
    for (const auto& s : sp.steps) {
      json* have = find_step(old_steps, s.name);
      steps.push_back(have ? *have
                           : json{{"name", s.name}, {"phase", wf::kPending}, {"attempts", 0}});
    }
    auto phases = [&] {
      std::map<std::string, std::string> p;
      for (const auto& st : steps) p[str(st, "name")] = str(st, "phase");
      return p;
    };

    // 3. Suspend: cancel running steps (they re-run as their next attempt on resume).
    if (sp.suspend) {
      for (auto& st : steps) {
        if (str(st, "phase") != wf::kRunning) continue;
        auto c = cancel_step(obj, st, sp.step(str(st, "name"))->agent);
        if (!c.is_ok())
          return unavailable("suspend: cancelling step " + str(st, "name") + ": " + c.message());
        st["phase"] = wf::kPending;
        st.erase("executionId");
        st["message"] = "attempt " + std::to_string(st.value("attempts", 0)) +
                        " cancelled by suspend; runs again on resume";
      }
      status["steps"] = steps;
      status["phase"] = wf::kSuspended;
      status["progress"] = wf::progress(sp, phases());
      status["observedGeneration"] = generation;
      set_condition(&status["conditions"], {"Complete", false, "Suspended", "spec.suspend is true"},
                    generation);
      auto w = write_status(obj, status);
      if (!w.ok()) return w.status();
      if (!*w) return ReconcileResult{.requeue = true};
      if (old_phase != wf::kSuspended)
        event(obj, "Normal", "Suspended", "suspended; running steps cancelled");
      track(key.str(), ns, 0, false);
      return ReconcileResult{};
    }
    if (old_phase == wf::kSuspended) events.emplace_back("Resumed", "resumed");

    // 4. activeDeadlineSeconds: fail the workflow and cancel what runs.
    auto started = wf::parse_rfc3339_ms(str(status, "startedAt"));
    bool deadline_hit = sp.active_deadline_seconds > 0 && started &&
                        now >= *started + sp.active_deadline_seconds * 1000;
    if (sp.active_deadline_seconds > 0 && started && !deadline_hit) {
      want_after(milliseconds(*started + sp.active_deadline_seconds * 1000 - now + 10));
    }

    std::string first_failure;  // "step X: message"
    int succeeded_now = 0;
    // 5. Follow running steps.
    for (auto& st : steps) {
      if (str(st, "phase") != wf::kRunning) continue;
      const std::string name = str(st, "name");
      const wf::StepSpec& s = *sp.step(name);
      const int attempt = st.value("attempts", 1);
      if (deadline_hit) {
        auto c = cancel_step(obj, st, s.agent);
        if (!c.is_ok())
          log::warn("workflow: cancel at deadline failed",
                    {{"workflow", key.str()}, {"step", name}, {"error", c.message()}});
        st["phase"] = wf::kCancelled;
        st["finishedAt"] = now_ts;
        st["message"] = "cancelled: activeDeadlineSeconds (" +
                        std::to_string(sp.active_deadline_seconds) + "s) exceeded";
        continue;
      }
      auto t = target(ns, s.agent);
      if (!t.ok()) {
        st["message"] = trim_message("following attempt " + std::to_string(attempt) + ": " +
                                     t.status().message());
        want_after(ws_.waiting_retry);
        continue;
      }
      const std::string ikey = wf::idempotency_key(uid, name, attempt);
      Result<wf::Execution> e = Status();
      std::string id = str(st, "executionId");
      if (!id.empty()) {
        e = sidecar_.get(t->endpoint, t->token, id);
        if (!e.ok() && kube::is_not_found(e.status()))
          id.clear();  // sidecar restarted: same key again
      }
      if (id.empty()) {
        // Never learnt (or lost) the id: the same key returns the same execution.
        auto in = render_input(obj, sp, s, steps);
        e = sidecar_.start(t->endpoint, t->token, ikey, in.ok() ? *in : std::string(), uid);
        if (e.ok()) st["executionId"] = e->id;
      }
      if (!e.ok()) {
        st["message"] = trim_message("sidecar unreachable, retrying: " + e.status().message());
        want_after(next_poll(key.str(), false));
        continue;
      }
      if (!e->terminal()) {
        // Step timeout, measured from the attempt's creation at the sidecar.
        auto created = wf::parse_rfc3339_ms(e->created_at);
        int64_t begun = created ? *created : now;
        if (now - begun >= s.timeout_seconds * 1000) {
          (void)sidecar_.cancel(t->endpoint, t->token, e->id);
          e->state = "timed_out";
          e->error_code = "timeout";
          e->error_message =
              "step timed out after " + std::to_string(s.timeout_seconds) + "s (timeoutSeconds)";
        } else {
          if (!str(st, "message").empty()) st.erase("message");
          milliseconds p = next_poll(key.str(), false);
          want_after(std::min(p, milliseconds(begun + s.timeout_seconds * 1000 - now + 10)));
          continue;
        }
      }
      auto first = wf::parse_rfc3339_ms(str(st, "startedAt"));
      if (e->state == "succeeded") {
        st["phase"] = wf::kSucceeded;
        st["output"] = wf::summarize(e->output);
        st["finishedAt"] = now_ts;
        st.erase("message");
        ++succeeded_now;
        metrics_.step_duration.Add({{"result", "succeeded"}}, metrics::latency_buckets())
            .Observe(first ? (now - *first) / 1000.0 : 0);
        continue;
      }
      std::string why = e->error_code.empty() ? e->state : e->error_code + ": " + e->error_message;
      if (attempt <= s.retry_limit) {
        int64_t delay = wf::retry_delay_seconds(s.backoff_seconds, attempt + 1);
        st["phase"] = wf::kPending;
        st["nextAttemptAt"] = wf::format_rfc3339(now + delay * 1000);
        st["message"] =
            trim_message("attempt " + std::to_string(attempt) + " failed (" + why + "); retry " +
                         std::to_string(attempt) + "/" + std::to_string(s.retry_limit) + " in " +
                         std::to_string(delay) + "s");
        warnings.emplace_back("StepRetrying", name + ": " + str(st, "message"));
      } else {
        st["phase"] = wf::kFailed;
        st["finishedAt"] = now_ts;
        st["message"] =
            trim_message("failed after " + std::to_string(attempt) + " attempt(s): " + why);
        warnings.emplace_back("StepFailed", name + ": " + str(st, "message"));
        metrics_.step_duration.Add({{"result", "failed"}}, metrics::latency_buckets())
            .Observe(first ? (now - *first) / 1000.0 : 0);
      }
    }
    if (succeeded_now > 0) next_poll(key.str(), true);

    // 6. Failed steps: skip what depends on them; failFast stops everything not yet started.
    for (const auto& st : steps) {
      if (str(st, "phase") == wf::kFailed && first_failure.empty()) {
        first_failure = "step " + str(st, "name") + " " + str(st, "message");
      }
    }
    for (const auto& n : wf::blocked_steps(sp, phases())) {
      json* st = find_step(steps, n);
      (*st)["phase"] = wf::kSkipped;
      (*st)["message"] = "not run: a dependency did not succeed";
    }
    if (deadline_hit || (!first_failure.empty() && sp.fail_fast)) {
      for (auto& st : steps) {
        std::string p = str(st, "phase");
        if (p != wf::kPending && p != wf::kWaiting) continue;
        st["phase"] = wf::kSkipped;
        st.erase("nextAttemptAt");
        st["message"] = deadline_hit ? "not run: activeDeadlineSeconds exceeded"
                                     : "not run: failFast after a failed step";
      }
    }

    // 7. Dispatch ready steps within the limits.
    std::vector<Dispatch> to_send;
    int running = 0;
    for (const auto& st : steps) running += str(st, "phase") == wf::kRunning;
    bool was_started = status.contains("startedAt");
    std::string limit_message;
    for (const auto& name : wf::ready_steps(sp, phases())) {
      json& st = *find_step(steps, name);
      const wf::StepSpec& s = *sp.step(name);
      if (auto next = wf::parse_rfc3339_ms(str(st, "nextAttemptAt")); next && *next > now) {
        want_after(milliseconds(*next - now));
        continue;
      }
      if (running >= sp.parallelism) break;
      if (!was_started && ws_.max_concurrent_workflows > 0 &&
          !reserve_workflow_slot(key.str(), ns)) {
        limit_message = "queued: " + std::to_string(ws_.max_concurrent_workflows) +
                        " workflows are running (the operator's max concurrent workflows)";
        want_after(milliseconds(500));
        break;
      }
      if (ws_.namespace_parallelism > 0 && !reserve_step_slot(key.str(), ns, running)) {
        limit_message = "waiting: namespace " + ns + " runs " +
                        std::to_string(ws_.namespace_parallelism) +
                        " steps (the operator's per-namespace limit)";
        want_after(milliseconds(500));
        break;
      }
      auto t = target(ns, s.agent);
      if (!t.ok()) {
        if (str(st, "phase") != wf::kWaiting || str(st, "message") != t.status().message()) {
          warnings.emplace_back("StepWaiting", name + ": " + t.status().message());
        }
        st["phase"] = wf::kWaiting;
        st["message"] = trim_message(t.status().message());
        want_after(ws_.waiting_retry);
        continue;
      }
      auto input = render_input(obj, sp, s, steps);
      if (!input.ok()) {
        st["phase"] = wf::kWaiting;
        st["message"] = trim_message("rendering input: " + input.status().message());
        want_after(ws_.waiting_retry);
        continue;
      }
      int attempt = st.value("attempts", 0) + 1;
      st["phase"] = wf::kRunning;
      st["attempts"] = attempt;
      if (!st.contains("startedAt")) st["startedAt"] = now_ts;
      st.erase("executionId");
      st.erase("nextAttemptAt");
      st.erase("message");
      st.erase("finishedAt");
      to_send.push_back(
          {name, t->endpoint, t->token, wf::idempotency_key(uid, name, attempt), *input, attempt});
      ++running;
      if (!was_started) {
        status["startedAt"] = now_ts;
        was_started = true;
        events.emplace_back("Started", "first step dispatched: " + name);
      }
    }

    // 8. The workflow's phase.
    auto ph = phases();
    bool all_done = std::all_of(steps.begin(), steps.end(),
                                [](const json& st) { return wf::step_done(str(st, "phase")); });
    bool all_ok = std::all_of(steps.begin(), steps.end(),
                              [](const json& st) { return str(st, "phase") == wf::kSucceeded; });
    status["steps"] = steps;
    status["progress"] = wf::progress(sp, ph);
    status["observedGeneration"] = generation;
    if (deadline_hit && running == 0) {
      fail_workflow("DeadlineExceeded", "activeDeadlineSeconds (" +
                                            std::to_string(sp.active_deadline_seconds) +
                                            "s) exceeded; running steps cancelled");
    } else if (all_done && all_ok) {
      status["phase"] = wf::kSucceeded;
      status["finishedAt"] = now_ts;
      status.erase("message");
      events.emplace_back("Succeeded", "all " + std::to_string(steps.size()) + " steps succeeded");
    } else if (all_done) {
      fail_workflow("Failed", first_failure.empty() ? "a step did not succeed" : first_failure);
    } else {
      status["phase"] = was_started ? wf::kRunning : wf::kPending;
      if (!limit_message.empty()) {
        status["message"] = limit_message;
      } else {
        status.erase("message");
      }
    }
    const std::string new_phase = str(status, "phase");
    const bool done = new_phase == wf::kSucceeded || new_phase == wf::kFailed;
    if (done) {
      // Anything still pending can never run now.
      for (auto& st : status["steps"]) {
        std::string p = str(st, "phase");
        if (p == wf::kPending || p == wf::kWaiting) {
          st["phase"] = wf::kSkipped;
          st["message"] = "not run: the workflow finished";
        }
      }
    }
    if (auto s0 = wf::parse_rfc3339_ms(str(status, "startedAt"))) {
      auto end =
          done ? wf::parse_rfc3339_ms(str(status, "finishedAt")) : std::optional<int64_t>(now);
      if (done || str(old_status, "duration").empty()) {
        status["duration"] = wf::format_duration(((end ? *end : now) - *s0) / 1000.0);
      } else {
        status["duration"] = str(old_status, "duration");
      }
    }
    if (done) {
      set_condition(&status["conditions"],
                    {"Complete", true, new_phase,
                     new_phase == wf::kSucceeded ? "all steps succeeded" : str(status, "message")},
                    generation);
    } else {
      set_condition(&status["conditions"],
                    {"Complete", false, new_phase,
                     new_phase == wf::kRunning ? "steps are running" : "waiting to start"},
                    generation);
    }

    // 9. Send, then record. A step's idempotency key comes from its stored attempt count, so a
    // send that never gets recorded (crash, conflict) is sent again with the same key and the
    // sidecar answers with the same execution: exactly once either way, and a step starts
    // without waiting for an API write.
    for (const auto& d : to_send) {
      auto e = sidecar_.start(d.endpoint, d.token, d.key, d.input, uid);
      json* st = find_step(status["steps"], d.step);
      if (!e.ok()) {
        (*st)["message"] =
            trim_message("sending attempt " + std::to_string(d.attempt) +
                         " failed, will re-send the same key: " + e.status().message());
        continue;
      }
      metrics_.dispatches.Increment();
      if (ws_.on_dispatch) ws_.on_dispatch(key.str(), d.step, d.attempt);
      (*st)["executionId"] = e->id;
    }
    if (!to_send.empty()) {
      if (auto held = hold_for_cancel(obj, to_send, status); !held.ok() || !*held) {
        if (!held.ok()) return held.status();
        return ReconcileResult{};  // deleted meanwhile: what was sent is cancelled
      }
      if (str(old_status, "startedAt").empty()) {
        std::lock_guard<std::mutex> l(mu_);
        auto it = first_seen_.find(key.str());
        if (it != first_seen_.end()) {
          metrics_.start_latency.Observe(
              std::chrono::duration<double>(Clock::now() - it->second).count());
        }
      }
      want_after(next_poll(key.str(), true));
    }
    auto w = write_status(obj, status);
    if (!w.ok()) return w.status();
    if (!*w) return ReconcileResult{.requeue_after = milliseconds(20)};

    for (auto& [reason, note] : events) event(obj, "Normal", reason, note);
    for (auto& [reason, note] : warnings) event(obj, "Warning", reason, note);

    int running_after = 0;
    for (const auto& st : status["steps"]) running_after += str(st, "phase") == wf::kRunning;
    track(key.str(), ns, done ? 0 : running_after, was_started && !done);
    if (done) {
      metrics_.finished.Add({{"phase", new_phase}}).Increment();
      if (auto s0 = wf::parse_rfc3339_ms(str(status, "startedAt"))) {
        metrics_.duration.Observe((now - *s0) / 1000.0);
      }
      log::info(
          "workflow finished",
          {{"workflow", key.str()}, {"phase", new_phase}, {"progress", str(status, "progress")}});
      return after_finish(obj);
    }
    if (running_after > 0 && result.requeue_after.count() == 0)
      want_after(next_poll(key.str(), false));
    return result;
  }

  // The step's input with {{ input }} and earlier outputs filled in (full outputs come from the
  // sidecar when the status summary was cut).
  Result<std::string> render_input(const json& obj, const wf::WorkflowSpec& sp,
                                   const wf::StepSpec& s, const json& steps) {
    std::map<std::string, std::string> outputs;
    for (const auto& ref : wf::referenced_steps(s.input)) {
      const json* st = nullptr;
      for (const auto& x : steps) {
        if (str(x, "name") == ref) st = &x;
      }
      if (!st || str(*st, "phase") != wf::kSucceeded) {
        return invalid_argument("step " + ref + " has no output yet");
      }
      std::string out = str(*st, "output");
      if (wf::is_truncated(out)) {
        const wf::StepSpec* rs = sp.step(ref);
        auto t = target(kube::namespace_of(obj), rs->agent);
        if (!t.ok()) return t.status();
        auto e = sidecar_.get(t->endpoint, t->token, str(*st, "executionId"));
        if (!e.ok())
          return Status(e.status().code(),
                        "full output of step " + ref + ": " + e.status().message());
        out = e->output;
      }
      outputs[ref] = std::move(out);
    }
    return wf::render(s.input, sp.input, outputs);
  }

  runtime::Manager& mgr_;
  OperatorSettings settings_;
  WorkflowSettings ws_;
  WorkflowMetrics& metrics_;
  std::shared_ptr<runtime::Informer> workflows_, agents_, secrets_;
  wf::SidecarClient sidecar_;
  std::mutex mu_;
  std::unordered_map<std::string, ObjectPtr> written_;
  std::unordered_map<std::string, Tracked> tracked_;
  std::unordered_map<std::string, Clock::time_point> first_seen_;
  std::unordered_map<std::string, milliseconds> poll_;
};

}  // namespace

void register_workflow_controller(runtime::Manager& mgr, const OperatorSettings& settings,
                                  const WorkflowSettings& workflow_settings) {
  // Lives as long as the process (the manager's controllers call into it).
  auto* r = new WorkflowReconciler(mgr, settings, workflow_settings);
  r->register_controller();
}

}  // namespace agentry::controllers
