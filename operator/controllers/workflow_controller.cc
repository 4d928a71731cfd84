#include "operator/controllers/workflow_controller.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>

#include "common/log.h"
#include "common/metrics.h"
#include "operator/controllers/agent_names.h"
#include "operator/controllers/conditions.h"
#include "operator/controllers/workflow_dag.h"
#include "operator/controllers/workflow_plan.h"
#include "operator/controllers/workflow_sidecar.h"
#include "operator/controllers/workflow_slots.h"
#include "operator/controllers/workflow_status.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"
#include "operator/runtime/finalizer.h"
#include "operator/runtime/recent_writes.h"

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
using workflow::trim_message;

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

// Per Workflow, across reconciles: when the operator first saw it (workflow_start_latency) and
// its poll interval.
struct Memo {
  Clock::time_point first_seen = Clock::now();
  milliseconds poll{0};
};

class WorkflowReconciler {
 public:
  WorkflowReconciler(runtime::Manager& mgr, OperatorSettings settings, WorkflowSettings ws)
      : mgr_(mgr),
        settings_(std::move(settings)),
        ws_(std::move(ws)),
        metrics_(WorkflowMetrics::get()),
        slots_(ws_.max_concurrent_workflows, ws_.namespace_parallelism) {
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
  // ---- state across reconciles ----

  ObjectPtr current(const kube::ObjectKey& key) {
    return recent_.fresher(key.str(), workflows_->store().get(key.str()));
  }

  Memo& memo_locked(const std::string& key) { return memos_[key]; }

  void settle(const std::string& key, const std::string& ns, int running, bool active) {
    slots_.settle(key, ns, running, active);
    metrics_.running.Set(slots_.active());
  }
  void untrack(const std::string& key) {
    slots_.forget(key);
    recent_.forget(key);
    {
      std::lock_guard<std::mutex> l(mu_);
      memos_.erase(key);
    }
    metrics_.running.Set(slots_.active());
  }

  // The Workflow's next poll interval: back to poll_min on reset, else doubled up to poll_max.
  milliseconds next_poll(const std::string& key, bool reset) {
    std::lock_guard<std::mutex> l(mu_);
    milliseconds& p = memo_locked(key).poll;
    p = reset || p.count() == 0 ? ws_.poll_min : std::min(ws_.poll_max, p * 2);
    return p;
  }

  // ---- observing ----

  // Endpoint and token of an Agent, or the reason it cannot take work yet.
  Result<wf::Target> target(const std::string& ns, const std::string& agent_name) {
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
      endpoint = kube::string_at(kube::annotations(*agent), kEndpointOverrideAnnotation);
    }
    if (endpoint.empty()) {
      const json* st = agent->contains("status") ? &(*agent)["status"] : nullptr;
      const std::string phase = st ? kube::string_at(*st, "phase") : "";
      if (phase != "Ready") {
        return unavailable("Agent \"" + agent_name +
                           "\" is not Ready (phase: " + (phase.empty() ? "unknown" : phase) + ")");
      }
      endpoint = kube::string_at(*st, "endpoint");
      if (endpoint.empty()) {
        return unavailable("Agent \"" + agent_name + "\" has no status.endpoint yet");
      }
    }
    const std::string secret_name = token_secret_name(agent_name);
    ObjectPtr secret = secrets_->store().get(ns + "/" + secret_name);
    if (!secret) {
      return unavailable("Secret " + ns + "/" + secret_name + " (the Agent's API token) not found");
    }
    std::string t = token_of_secret(*secret);
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    if (t.empty()) return unavailable("Secret " + ns + "/" + secret_name + " has no data.token");
    return wf::Target{endpoint, t};
  }

  // What plan() needs before its first round: every Agent's sidecar and every Running step's
  // execution (by id; by re-sending the attempt's key when the id is unknown or was forgotten).
  wf::Observations observe(const json& obj, const Result<wf::WorkflowSpec>& spec,
                           const wf::WorkflowStatus& status) {
    wf::Observations obs;
    obs.now_ms = now_ms();
    obs.generation = kube::generation(obj);
    obs.uid = kube::uid(obj);
    obs.waiting_retry = ws_.waiting_retry;
    if (!spec.ok()) return obs;
    const std::string ns = kube::namespace_of(obj);
    for (const auto& s : spec->steps)
      if (!obs.targets.count(s.agent)) obs.targets.emplace(s.agent, target(ns, s.agent));
    if (spec->suspend) return obs;
    for (const auto& st : status.steps) {
      const wf::StepSpec* s = spec->step(st.name);
      if (st.phase != wf::kRunning || !s) continue;
      const auto& t = obs.targets.at(s->agent);
      if (!t.ok()) continue;
      Result<wf::Execution> e = Status();
      std::string id = st.execution_id;
      if (!id.empty()) {
        e = sidecar_.get(t->endpoint, t->token, id);
        if (!e.ok() && kube::is_not_found(e.status())) id.clear();  // sidecar restarted
      }
      if (id.empty()) {
        auto in = input_of(ns, *spec, *s, status, obs);
        e = sidecar_.start(t->endpoint, t->token,
                           wf::idempotency_key(obs.uid, st.name, std::max(1, st.attempts)),
                           in.ok() ? *in : std::string(), obs.uid);
      }
      obs.executions.emplace(st.name, std::move(e));
    }
    return obs;
  }

  // The step's input with {{ input }} and earlier outputs filled in. A summary that was cut is
  // replaced by the full output: from this reconcile's observation of a step that just ended,
  // else from the step's sidecar.
  Result<std::string> input_of(const std::string& ns, const wf::WorkflowSpec& sp,
                               const wf::StepSpec& s, const wf::WorkflowStatus& status,
                               const wf::Observations& obs) {
    std::map<std::string, std::string> outputs;
    for (const auto& ref : wf::referenced_steps(s.input)) {
      const wf::StepStatus* st = status.step(ref);
      if (!st || st->phase != wf::kSucceeded || !st->output)
        return invalid_argument("step " + ref + " has no output yet");
      std::string out = *st->output;
      if (wf::is_truncated(out)) {
        if (auto e = obs.executions.find(ref);
            e != obs.executions.end() && e->second.ok() && e->second->state == "succeeded") {
          out = e->second->output;
        } else {
          auto t = target(ns, sp.step(ref)->agent);
          if (!t.ok()) return t.status();
          auto full = sidecar_.get(t->endpoint, t->token, st->execution_id);
          if (!full.ok())
            return Status(full.status().code(),
                          "full output of step " + ref + ": " + full.status().message());
          out = full->output;
        }
      }
      outputs[ref] = std::move(out);
    }
    return wf::render(s.input, sp.input, outputs);
  }

  // Fills what the plan asked for: inputs, and slots from the operator's limits.
  void gather(const wf::Needs& needs, const std::string& key, const json& obj,
              const wf::WorkflowSpec& sp, const wf::Plan& partial, wf::Observations* obs) {
    const std::string ns = kube::namespace_of(obj);
    for (const auto& name : needs.inputs)
      obs->inputs.emplace(name, input_of(ns, sp, *sp.step(name), partial.status, *obs));
    if (needs.workflow_slot && !obs->workflow_slot) {
      obs->workflow_slot = slots_.reserve_workflow(key, ns);
      obs->workflow_refusal = slots_.workflow_refusal();
    }
    if (needs.ask_step_slots && !obs->step_slots) {
      int running = 0;
      for (const auto& st : partial.status.steps) running += st.phase == wf::kRunning;
      obs->step_slots = slots_.reserve_steps(key, ns, running, needs.step_slots);
      obs->step_refusal = slots_.step_refusal(ns);
    }
  }

  // ---- acting ----

  void event(const json& obj, const char* type, const std::string& reason,
             const std::string& note) {
    mgr_.events().record(obj, type, reason, "Reconcile", trim_message(note));
  }

  // Cancels an attempt's execution, learning its id by re-sending the key when it was never
  // recorded. Ok when there is nothing to cancel (the Agent is gone).
  Status cancel(const std::string& ns, const wf::Cancel& c, const std::string& uid) {
    auto t = target(ns, c.agent);
    if (!t.ok()) return kube::is_not_found(t.status()) ? ok_status() : t.status();
    std::string id = c.execution_id;
    if (id.empty()) {
      auto e = sidecar_.start(t->endpoint, t->token, c.key, "-", uid);
      if (!e.ok()) return e.status();
      id = e->id;
    }
    return sidecar_.cancel(t->endpoint, t->token, id);
  }

  Result<ReconcileResult> after_finish(const json& obj) {
    const std::string key = kube::key_of(obj).str();
    settle(key, kube::namespace_of(obj), 0, false);
    if (kube::has_finalizer(obj, kWorkflowFinalizer)) {
      auto r = runtime::remove_finalizer(*mgr_.client(), res::kWorkflows, obj, kWorkflowFinalizer);
      if (!r.ok()) return r.status();
    }
    int64_t ttl = -1;
    if (auto sp = wf::parse_spec(obj.value("spec", json::object())); sp.ok())
      ttl = sp->ttl_seconds_after_finished;
    if (ttl < 0) return ReconcileResult{};
    const json& st = obj.contains("status") ? obj["status"] : json::object();
    auto fin = wf::parse_rfc3339_ms(kube::string_at(st, "finishedAt"));
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

  Result<ReconcileResult> finalize(const json& obj) {
    const std::string key = kube::key_of(obj).str();
    if (!kube::has_finalizer(obj, kWorkflowFinalizer)) {
      untrack(key);
      return ReconcileResult{};
    }
    auto spec = wf::parse_spec(obj.value("spec", json::object()));
    const wf::WorkflowStatus status = wf::status_from_json(obj.value("status", json::object()));
    std::string failures;
    int cancelled = 0;
    for (const auto& st : status.steps) {
      if (st.phase != wf::kRunning || st.attempts <= 0 || !spec.ok()) continue;
      const wf::StepSpec* s = spec->step(st.name);
      if (!s) continue;
      auto c = cancel(kube::namespace_of(obj),
                      {st.name, s->agent, st.execution_id,
                       wf::idempotency_key(kube::uid(obj), st.name, st.attempts), false},
                      kube::uid(obj));
      if (!c.is_ok()) {
        failures += (failures.empty() ? "" : "; ") + s->name + ": " + c.message();
      } else {
        ++cancelled;
      }
    }
    if (!failures.empty()) {
      auto del = wf::parse_rfc3339_ms(kube::string_at(obj["metadata"], "deletionTimestamp"));
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
  Result<bool> hold_for_cancel(json& obj, const wf::Plan& p) {
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
    for (const auto& d : p.dispatches) {
      const wf::StepStatus* st = p.status.step(d.step);
      if (st && !st->execution_id.empty())
        (void)cancel(kube::namespace_of(obj), {d.step, d.agent, st->execution_id, d.key, false},
                     kube::uid(obj));
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
    recent_.remember(obj);
    return true;
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
      memo_locked(key.str());  // first seen now
    }
    if (kube::being_deleted(*obj)) return finalize(*obj);
    const json& st = obj->contains("status") ? (*obj)["status"] : json::object();
    const std::string phase = st.is_object() ? kube::string_at(st, "phase") : "";
    if (phase == wf::kSucceeded || phase == wf::kFailed) return after_finish(*obj);
    json wobj = *obj;
    return run(key, wobj);
  }

  // Observe, plan (pure: workflow_plan.h), act, write.
  Result<ReconcileResult> run(const kube::ObjectKey& key, json& obj) {
    const std::string ns = kube::namespace_of(obj), uid = kube::uid(obj);
    const auto spec = wf::parse_spec(obj.value("spec", json::object()));
    const wf::WorkflowStatus old = wf::status_from_json(obj.value("status", json::object()));
    wf::Observations obs = observe(obj, spec, old);
    wf::Plan p = wf::plan(spec, old, obs);
    const size_t max_rounds = (spec.ok() ? spec->steps.size() : 0) + 2;
    for (size_t round = 1; !p.needs.empty() && round < max_rounds; ++round) {
      gather(p.needs, key.str(), obj, *spec, p, &obs);
      p = wf::plan(spec, old, obs);
    }
    if (!p.needs.empty()) return internal_error("workflow plan did not converge");

    // Cancels first; a suspend whose cancel fails writes nothing and is retried.
    for (const auto& c : p.cancels) {
      Status s = cancel(ns, c, uid);
      if (s.is_ok()) continue;
      if (c.required) return unavailable("suspend: cancelling step " + c.step + ": " + s.message());
      log::warn("workflow: cancel failed",
                {{"workflow", key.str()}, {"step", c.step}, {"error", s.message()}});
    }
    // Send, then record. A step's idempotency key comes from its stored attempt count, so a send
    // that never gets recorded (crash, conflict) is sent again with the same key and the sidecar
    // answers with the same execution: exactly once either way, and a step starts without waiting
    // for an API write.
    for (const auto& d : p.dispatches) {
      wf::StepStatus* st = p.status.step(d.step);
      const auto& t = obs.targets.at(d.agent);
      auto e = sidecar_.start(t->endpoint, t->token, d.key, d.input, uid);
      if (!e.ok()) {
        st->message = trim_message("sending attempt " + std::to_string(d.attempt) +
                                   " failed, will re-send the same key: " + e.status().message());
        continue;
      }
      metrics_.dispatches.Increment();
      if (ws_.on_dispatch) ws_.on_dispatch(key.str(), d.step, d.attempt);
      st->execution_id = e->id;
    }
    ReconcileResult result;
    if (p.wake_after) result.requeue_after = *p.wake_after;
    if (!p.dispatches.empty()) {
      if (auto held = hold_for_cancel(obj, p); !held.ok() || !*held) {
        if (!held.ok()) return held.status();
        return ReconcileResult{};  // deleted meanwhile: what was sent is cancelled
      }
      if (old.started_at.empty()) {
        std::lock_guard<std::mutex> l(mu_);
        metrics_.start_latency.Observe(
            std::chrono::duration<double>(Clock::now() - memo_locked(key.str()).first_seen)
                .count());
      }
    }
    if (p.poll || p.poll_reset) {
      milliseconds interval = next_poll(key.str(), p.poll_reset);
      if (p.poll && (result.requeue_after.count() == 0 || interval < result.requeue_after))
        result.requeue_after = interval;
    }

    auto w = write_status(obj, wf::to_json(p.status));
    if (!w.ok()) return w.status();
    if (!*w) return ReconcileResult{.requeue_after = milliseconds(20)};

    for (const auto& e : p.events) event(obj, e.warning ? "Warning" : "Normal", e.reason, e.note);
    for (const auto& e : p.steps_ended)
      metrics_.step_duration.Add({{"result", e.result}}, metrics::latency_buckets())
          .Observe(e.seconds);
    settle(key.str(), ns, p.running, p.started);
    if (p.suspended) return ReconcileResult{};
    if (p.finished) {
      metrics_.finished.Add({{"phase", p.status.phase}}).Increment();
      if (auto s0 = wf::parse_rfc3339_ms(p.status.started_at))
        metrics_.duration.Observe((obs.now_ms - *s0) / 1000.0);
      log::info(
          "workflow finished",
          {{"workflow", key.str()}, {"phase", p.status.phase}, {"progress", p.status.progress}});
      return after_finish(obj);
    }
    return result;
  }

  runtime::Manager& mgr_;
  const OperatorSettings settings_;
  const WorkflowSettings ws_;
  WorkflowMetrics& metrics_;
  std::shared_ptr<runtime::Informer> workflows_, agents_, secrets_;
  wf::SidecarClient sidecar_;
  wf::SlotLimiter slots_;
  runtime::RecentWrites recent_;
  std::mutex mu_;
  std::unordered_map<std::string, Memo> memos_;  // by Workflow key; guarded by mu_
};

}  // namespace

void register_workflow_controller(runtime::Manager& mgr, const OperatorSettings& settings,
                                  const WorkflowSettings& workflow_settings) {
  auto r = std::make_shared<WorkflowReconciler>(mgr, settings, workflow_settings);
  r->register_controller();
  mgr.keep_alive(std::move(r));
}

}  // namespace agentry::controllers
