#include "operator/controllers/workflow_plan.h"

#include <algorithm>

#include "operator/controllers/conditions.h"

namespace agentry::controllers::workflow {
namespace {

using std::chrono::milliseconds;

// One reconcile's plan being built: the status it edits, what it will do, and the time.
class Planner {
 public:
  Planner(const WorkflowSpec& spec, const WorkflowStatus& old, const Observations& obs)
      : sp_(spec), old_(old), obs_(obs), now_(obs.now_ms), now_ts_(format_rfc3339(obs.now_ms)) {
    p_.status = old;
  }

  Plan run() {
    build_steps();
    if (sp_.suspend) return suspend();
    if (old_.phase == kSuspended) note("Resumed", "resumed");
    deadline();
    follow_running();
    skip_blocked();
    dispatch_ready();
    if (!p_.needs.empty()) return std::move(p_);
    conclude();
    return std::move(p_);
  }

  // A spec that cannot run: the Workflow fails at once.
  Plan invalid(const Status& why, size_t steps) {
    WorkflowStatus& st = p_.status;
    fail("InvalidSpec", "invalid workflow: " + why.message(), /*event=*/false);
    st.observed_generation = obs_.generation;
    st.progress = "0/" + std::to_string(steps);
    set_condition(&st.conditions, {"Complete", true, "InvalidSpec", st.message}, obs_.generation,
                  now_ts_);
    p_.events.push_back({true, "InvalidSpec", st.message});
    p_.finished = true;
    return std::move(p_);
  }

 private:
  WorkflowStatus& st() { return p_.status; }

  std::map<std::string, std::string> phases() const {
    std::map<std::string, std::string> m;
    for (const auto& s : p_.status.steps) m[s.name] = s.phase;
    return m;
  }

  void wake(milliseconds d) {
    if (d.count() <= 0) d = milliseconds(1);
    if (!p_.wake_after || d < *p_.wake_after) p_.wake_after = d;
  }
  void note(std::string reason, std::string text) {
    p_.events.push_back({false, std::move(reason), std::move(text)});
  }
  void warn(std::string reason, std::string text) {
    p_.events.push_back({true, std::move(reason), std::move(text)});
  }
  void fail(const std::string& reason, const std::string& message, bool event = true) {
    st().phase = kFailed;
    st().message = trim_message(message);
    if (st().finished_at.empty()) st().finished_at = now_ts_;
    if (event) warn(reason, message);
  }
  double seconds_since_first_dispatch(const StepStatus& s) const {
    auto first = parse_rfc3339_ms(s.started_at);
    return first ? (now_ - *first) / 1000.0 : 0;
  }

  // A status entry per step, in spec order.
  void build_steps() {
    std::vector<StepStatus> steps;
    for (const auto& s : sp_.steps) {
      const StepStatus* have = old_.step(s.name);
      if (have) {
        steps.push_back(*have);
      } else {
        StepStatus fresh;
        fresh.name = s.name;
        fresh.phase = kPending;
        steps.push_back(std::move(fresh));
      }
    }
    st().steps = std::move(steps);
  }

  // spec.suspend: running steps are cancelled and run again as their next attempt on resume.
  Plan suspend() {
    for (auto& s : st().steps) {
      if (s.phase != kRunning) continue;
      if (s.attempts > 0)
        p_.cancels.push_back({s.name, sp_.step(s.name)->agent, s.execution_id,
                              idempotency_key(obs_.uid, s.name, s.attempts), true});
      s.phase = kPending;
      s.execution_id.clear();
      s.message =
          "attempt " + std::to_string(s.attempts) + " cancelled by suspend; runs again on resume";
    }
    st().phase = kSuspended;
    st().progress = progress(sp_, phases());
    st().observed_generation = obs_.generation;
    set_condition(&st().conditions, {"Complete", false, "Suspended", "spec.suspend is true"},
                  obs_.generation, now_ts_);
    if (old_.phase != kSuspended) note("Suspended", "suspended; running steps cancelled");
    p_.suspended = true;
    return std::move(p_);
  }

  // activeDeadlineSeconds: once past it, running steps are cancelled and the Workflow fails.
  void deadline() {
    if (sp_.active_deadline_seconds <= 0) return;
    started_ = parse_rfc3339_ms(st().started_at);
    if (!started_) return;
    const int64_t due = *started_ + sp_.active_deadline_seconds * 1000;
    deadline_hit_ = now_ >= due;
    if (!deadline_hit_) wake(milliseconds(due - now_ + 10));
  }

  void follow_running() {
    int succeeded_now = 0;
    for (auto& s : st().steps) {
      if (s.phase != kRunning) continue;
      const StepSpec& spec = *sp_.step(s.name);
      const int attempt = std::max(1, s.attempts);
      if (deadline_hit_) {
        if (s.attempts > 0)  // an attempt that was never sent has nothing to cancel
          p_.cancels.push_back({s.name, spec.agent, s.execution_id,
                                idempotency_key(obs_.uid, s.name, attempt), false});
        s.phase = kCancelled;
        s.finished_at = now_ts_;
        s.message = "cancelled: activeDeadlineSeconds (" +
                    std::to_string(sp_.active_deadline_seconds) + "s) exceeded";
        continue;
      }
      auto t = obs_.targets.find(spec.agent);
      if (t == obs_.targets.end() || !t->second.ok()) {
        const std::string why = t == obs_.targets.end()
                                    ? "Agent \"" + spec.agent + "\" not observed"
                                    : t->second.status().message();
        s.message = trim_message("following attempt " + std::to_string(attempt) + ": " + why);
        wake(obs_.waiting_retry);
        continue;
      }
      auto seen = obs_.executions.find(s.name);
      if (seen == obs_.executions.end() || !seen->second.ok()) {
        const std::string why =
            seen == obs_.executions.end() ? "not asked" : seen->second.status().message();
        s.message = trim_message("sidecar unreachable, retrying: " + why);
        p_.poll = true;
        continue;
      }
      Execution e = seen->second.value();
      s.execution_id = e.id;
      if (!e.terminal()) {
        // Step timeout, measured from the attempt's creation at the sidecar.
        auto created = parse_rfc3339_ms(e.created_at);
        const int64_t begun = created ? *created : now_;
        if (now_ - begun < spec.timeout_seconds * 1000) {
          s.message.clear();
          p_.poll = true;
          wake(milliseconds(begun + spec.timeout_seconds * 1000 - now_ + 10));
          continue;
        }
        p_.cancels.push_back(
            {s.name, spec.agent, e.id, idempotency_key(obs_.uid, s.name, attempt), false});
        e.state = "timed_out";
        e.error_code = "timeout";
        e.error_message =
            "step timed out after " + std::to_string(spec.timeout_seconds) + "s (timeoutSeconds)";
      }
      if (e.state == "succeeded") {
        s.phase = kSucceeded;
        s.output = summarize(e.output);
        s.finished_at = now_ts_;
        s.message.clear();
        ++succeeded_now;
        p_.steps_ended.push_back({"succeeded", seconds_since_first_dispatch(s)});
        continue;
      }
      const std::string why =
          e.error_code.empty() ? e.state : e.error_code + ": " + e.error_message;
      if (attempt <= spec.retry_limit) {
        const int64_t delay = retry_delay_seconds(spec.backoff_seconds, attempt + 1);
        s.phase = kPending;
        s.next_attempt_at = format_rfc3339(now_ + delay * 1000);
        s.message =
            trim_message("attempt " + std::to_string(attempt) + " failed (" + why + "); retry " +
                         std::to_string(attempt) + "/" + std::to_string(spec.retry_limit) + " in " +
                         std::to_string(delay) + "s");
        warn("StepRetrying", s.name + ": " + s.message);
      } else {
        s.phase = kFailed;
        s.finished_at = now_ts_;
        s.message = trim_message("failed after " + std::to_string(attempt) + " attempt(s): " + why);
        warn("StepFailed", s.name + ": " + s.message);
        p_.steps_ended.push_back({"failed", seconds_since_first_dispatch(s)});
      }
    }
    if (succeeded_now > 0) p_.poll_reset = true;
  }

  // Failed steps: what depends on them is skipped; failFast (or the deadline) stops everything
  // not yet started.
  void skip_blocked() {
    for (const auto& s : st().steps) {
      if (s.phase == kFailed) {
        first_failure_ = "step " + s.name + " " + s.message;
        break;
      }
    }
    for (const auto& n : blocked_steps(sp_, phases())) {
      StepStatus* s = st().step(n);
      s->phase = kSkipped;
      s->message = "not run: a dependency did not succeed";
    }
    if (!deadline_hit_ && (first_failure_.empty() || !sp_.fail_fast)) return;
    for (auto& s : st().steps) {
      if (s.phase != kPending && s.phase != kWaiting) continue;
      s.phase = kSkipped;
      s.next_attempt_at.clear();
      s.message = deadline_hit_ ? "not run: activeDeadlineSeconds exceeded"
                                : "not run: failFast after a failed step";
    }
  }

  // Ready steps start within spec.parallelism and the operator's limits.
  void dispatch_ready() {
    for (const auto& s : st().steps) running_ += s.phase == kRunning;
    was_started_ = !st().started_at.empty();
    int slots_taken = 0;
    for (const auto& name : ready_steps(sp_, phases())) {
      StepStatus& s = *st().step(name);
      const StepSpec& spec = *sp_.step(name);
      if (auto next = parse_rfc3339_ms(s.next_attempt_at); next && *next > now_) {
        wake(milliseconds(*next - now_));
        continue;
      }
      if (running_ >= sp_.parallelism) break;
      if (!was_started_) {
        if (!obs_.workflow_slot) {
          p_.needs.workflow_slot = true;
        } else if (!*obs_.workflow_slot) {
          limit_message_ = obs_.workflow_refusal;
          wake(milliseconds(500));
          break;
        }
      }
      if (!obs_.step_slots) {
        p_.needs.ask_step_slots = true;
        ++p_.needs.step_slots;
      } else if (slots_taken >= *obs_.step_slots) {
        limit_message_ = obs_.step_refusal;
        wake(milliseconds(500));
        break;
      }
      ++slots_taken;
      auto t = obs_.targets.find(spec.agent);
      if (t == obs_.targets.end() || !t->second.ok()) {
        const std::string why = t == obs_.targets.end()
                                    ? "Agent \"" + spec.agent + "\" not observed"
                                    : t->second.status().message();
        if (s.phase != kWaiting || s.message != why) warn("StepWaiting", name + ": " + why);
        s.phase = kWaiting;
        s.message = trim_message(why);
        wake(obs_.waiting_retry);
        continue;
      }
      auto in = obs_.inputs.find(name);
      if (in == obs_.inputs.end()) {
        // Counted as started, so the next round asks for the same slots.
        p_.needs.inputs.push_back(name);
        ++running_;
        was_started_ = true;
        continue;
      }
      if (!in->second.ok()) {
        s.phase = kWaiting;
        s.message = trim_message("rendering input: " + in->second.status().message());
        wake(obs_.waiting_retry);
        continue;
      }
      const int attempt = s.attempts + 1;
      s.phase = kRunning;
      s.attempts = attempt;
      if (s.started_at.empty()) s.started_at = now_ts_;
      s.execution_id.clear();
      s.next_attempt_at.clear();
      s.message.clear();
      s.finished_at.clear();
      p_.dispatches.push_back({name, spec.agent, idempotency_key(obs_.uid, name, attempt),
                               in->second.value(), attempt});
      ++running_;
      if (!was_started_) {
        st().started_at = now_ts_;
        was_started_ = true;
        note("Started", "first step dispatched: " + name);
      }
    }
    if (!p_.dispatches.empty()) p_.poll = p_.poll_reset = true;
  }

  // The Workflow's phase, duration and Complete condition.
  void conclude() {
    const auto& steps = st().steps;
    const bool all_done = std::all_of(steps.begin(), steps.end(),
                                      [](const StepStatus& s) { return step_done(s.phase); });
    const bool all_ok = std::all_of(steps.begin(), steps.end(),
                                    [](const StepStatus& s) { return s.phase == kSucceeded; });
    st().progress = progress(sp_, phases());
    st().observed_generation = obs_.generation;
    if (deadline_hit_ && running_ == 0) {
      fail("DeadlineExceeded", "activeDeadlineSeconds (" +
                                   std::to_string(sp_.active_deadline_seconds) +
                                   "s) exceeded; running steps cancelled");
    } else if (all_done && all_ok) {
      st().phase = kSucceeded;
      st().finished_at = now_ts_;
      st().message.clear();
      note("Succeeded", "all " + std::to_string(steps.size()) + " steps succeeded");
    } else if (all_done) {
      fail("Failed", first_failure_.empty() ? "a step did not succeed" : first_failure_);
    } else {
      st().phase = was_started_ ? kRunning : kPending;
      st().message = limit_message_;
    }
    const bool done = st().phase == kSucceeded || st().phase == kFailed;
    if (done) {
      for (auto& s : st().steps) {  // anything still pending can never run now
        if (s.phase != kPending && s.phase != kWaiting) continue;
        s.phase = kSkipped;
        s.message = "not run: the workflow finished";
      }
    }
    if (auto s0 = parse_rfc3339_ms(st().started_at)) {
      if (done || old_.duration.empty()) {
        auto end = done ? parse_rfc3339_ms(st().finished_at) : std::optional<int64_t>(now_);
        st().duration = format_duration(((end ? *end : now_) - *s0) / 1000.0);
      }
    }
    const std::string& phase = st().phase;
    const std::string message =
        done ? (phase == kSucceeded ? "all steps succeeded" : st().message)
             : (phase == kRunning ? "steps are running" : "waiting to start");
    set_condition(&st().conditions, {"Complete", done, phase, message}, obs_.generation, now_ts_);
    p_.finished = done;
    for (const auto& s : st().steps) p_.running += s.phase == kRunning;
    if (done) p_.running = 0;
    p_.started = was_started_ && !done;
    if (!done && p_.running > 0 && !p_.wake_after) p_.poll = true;
  }

  const WorkflowSpec& sp_;
  const WorkflowStatus& old_;
  const Observations& obs_;
  const int64_t now_;
  const std::string now_ts_;
  Plan p_;
  std::optional<int64_t> started_;
  bool deadline_hit_ = false;
  bool was_started_ = false;
  int running_ = 0;
  std::string first_failure_;  // "step X message"
  std::string limit_message_;  // why no step started although one was ready
};

}  // namespace

Plan plan(const Result<WorkflowSpec>& spec, const WorkflowStatus& status, const Observations& obs) {
  if (!spec.ok()) {
    const WorkflowSpec none;
    return Planner(none, status, obs).invalid(spec.status(), 0);
  }
  if (Status v = validate(*spec); !v.is_ok())
    return Planner(*spec, status, obs).invalid(v, spec->steps.size());
  return Planner(*spec, status, obs).run();
}

}  // namespace agentry::controllers::workflow
