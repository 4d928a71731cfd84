#include "operator/controllers/workflow_dag.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>

#include "common/time_format.h"

namespace agentry::controllers::workflow {

using nlohmann::json;

const StepSpec* WorkflowSpec::step(std::string_view name) const {
  for (const auto& s : steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

namespace {

int64_t int_or(const json& o, const char* key, int64_t dflt) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return dflt;
  return it->get<int64_t>();
}

std::string str_or(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "steps.NAME.output" -> NAME, else "".
std::string step_of_ref(std::string_view ref) {
  constexpr std::string_view kPre = "steps.", kSuf = ".output";
  if (ref.size() <= kPre.size() + kSuf.size()) return "";
  if (ref.substr(0, kPre.size()) != kPre) return "";
  if (ref.substr(ref.size() - kSuf.size()) != kSuf) return "";
  auto name = ref.substr(kPre.size(), ref.size() - kPre.size() - kSuf.size());
  if (name.empty() || name.find_first_of(". \t") != std::string_view::npos) return "";
  return std::string(name);
}

// Calls fn(ref, begin, end) for every {{ ... }}; an error on an unclosed one.
Status scan(std::string_view tmpl,
            const std::function<void(std::string_view, size_t, size_t)>& fn) {
  size_t pos = 0;
  while (true) {
    size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) return ok_status();
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return invalid_argument("unclosed '{{' at offset " + std::to_string(open));
    }
    fn(trim(tmpl.substr(open + 2, close - open - 2)), open, close + 2);
    pos = close + 2;
  }
}

}  // namespace

Result<WorkflowSpec> parse_spec(const json& spec) {
  if (!spec.is_object()) return invalid_argument("spec: want an object");
  WorkflowSpec w;
  w.input = str_or(spec, "input");
  w.parallelism = static_cast<int>(std::clamp<int64_t>(int_or(spec, "parallelism", 4), 1, 64));
  w.active_deadline_seconds = int_or(spec, "activeDeadlineSeconds", 0);
  w.fail_fast = spec.value("failFast", true);
  w.suspend = spec.value("suspend", false);
  w.ttl_seconds_after_finished = int_or(spec, "ttlSecondsAfterFinished", -1);
  auto steps = spec.find("steps");
  if (steps == spec.end() || !steps->is_array() || steps->empty()) {
    return invalid_argument("spec.steps: want at least one step");
  }
  for (size_t i = 0; i < steps->size(); ++i) {
    const json& s = (*steps)[i];
    StepSpec st;
    st.name = str_or(s, "name");
    if (st.name.empty())
      return invalid_argument("spec.steps[" + std::to_string(i) + "].name: required");
    if (s.contains("agentRef") && s["agentRef"].is_object())
      st.agent = str_or(s["agentRef"], "name");
    if (st.agent.empty()) {
      return invalid_argument("spec.steps[" + std::to_string(i) + "].agentRef.name: required");
    }
    st.input = str_or(s, "input");
    if (s.contains("dependsOn") && s["dependsOn"].is_array()) {
      for (const auto& d : s["dependsOn"]) {
        if (d.is_string()) st.depends_on.push_back(d.get<std::string>());
      }
    }
    st.timeout_seconds = std::max<int64_t>(1, int_or(s, "timeoutSeconds", 300));
    if (s.contains("retries") && s["retries"].is_object()) {
      st.retry_limit = static_cast<int>(std::max<int64_t>(0, int_or(s["retries"], "limit", 2)));
      st.backoff_seconds = std::max<int64_t>(0, int_or(s["retries"], "backoffSeconds", 5));
    }
    w.steps.push_back(std::move(st));
  }
  return w;
}

std::optional<std::vector<std::string>> find_cycle(const WorkflowSpec& spec) {
  // DFS with colours; spec order keeps the answer deterministic.
  std::map<std::string, int> colour;  // 0 white, 1 on the stack, 2 done
  std::vector<std::string> stack;
  std::optional<std::vector<std::string>> found;
  std::function<bool(const StepSpec&)> dfs = [&](const StepSpec& s) -> bool {
    colour[s.name] = 1;
    stack.push_back(s.name);
    for (const auto& d : s.depends_on) {
      const StepSpec* dep = spec.step(d);
      if (!dep) continue;
      int c = colour[d];
      if (c == 1) {
        // The cycle in "depends on" order: d -> ... -> s -> d.
        auto it = std::find(stack.begin(), stack.end(), d);
        std::vector<std::string> path(it, stack.end());
        path.push_back(d);
        found = path;
        return true;
      }
      if (c == 0 && dfs(*dep)) return true;
    }
    stack.pop_back();
    colour[s.name] = 2;
    return false;
  };
  for (const auto& s : spec.steps) {
    if (colour[s.name] == 0 && dfs(s)) return found;
  }
  return std::nullopt;
}

std::string cycle_message(const std::vector<std::string>& cycle) {
  std::string m = "cycle: ";
  for (size_t i = 0; i < cycle.size(); ++i) {
    if (i) m += " -> ";
    m += cycle[i];
  }
  return m;
}

Result<std::vector<std::string>> template_refs(std::string_view tmpl) {
  std::vector<std::string> refs;
  std::string bad;
  auto st = scan(tmpl, [&](std::string_view ref, size_t, size_t) {
    std::string r(ref);
    if (r != "input" && step_of_ref(r).empty() && bad.empty()) bad = r;
    refs.push_back(r);
  });
  if (!st.is_ok()) return st;
  if (!bad.empty()) {
    return invalid_argument("unknown reference '{{ " + bad +
                            " }}' (want {{ input }} or {{ steps.NAME.output }})");
  }
  return refs;
}

std::vector<std::string> referenced_steps(std::string_view tmpl) {
  std::vector<std::string> out;
  (void)scan(tmpl, [&](std::string_view ref, size_t, size_t) {
    auto n = step_of_ref(ref);
    if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  });
  return out;
}

std::set<std::string> ancestors(const WorkflowSpec& spec, const std::string& step) {
  std::set<std::string> seen;
  std::vector<std::string> todo{step};
  while (!todo.empty()) {
    auto cur = todo.back();
    todo.pop_back();
    const StepSpec* s = spec.step(cur);
    if (!s) continue;
    for (const auto& d : s->depends_on) {
      if (seen.insert(d).second) todo.push_back(d);
    }
  }
  return seen;
}

Status validate(const WorkflowSpec& spec) {
  std::set<std::string> names;
  for (const auto& s : spec.steps) {
    if (!names.insert(s.name).second)
      return invalid_argument("duplicate step name '" + s.name + "'");
  }
  for (const auto& s : spec.steps) {
    for (const auto& d : s.depends_on) {
      if (d == s.name) return invalid_argument("step '" + s.name + "' depends on itself");
      if (!names.count(d)) {
        return invalid_argument("step '" + s.name + "' depends on unknown step '" + d + "'");
      }
    }
  }
  if (auto c = find_cycle(spec)) return invalid_argument(cycle_message(*c));
  for (const auto& s : spec.steps) {
    auto refs = template_refs(s.input);
    if (!refs.ok())
      return invalid_argument("step '" + s.name + "' input: " + refs.status().message());
    auto anc = ancestors(spec, s.name);
    for (const auto& r : *refs) {
      auto n = step_of_ref(r);
      if (n.empty()) continue;
      if (!names.count(n)) {
        return invalid_argument("step '" + s.name + "' input: unknown reference '{{ " + r +
                                " }}': no step '" + n + "'");
      }
      if (n == s.name) {
        return invalid_argument("step '" + s.name + "' input: '{{ " + r +
                                " }}' is this step's own output, which does not exist while it "
                                "runs: reference an earlier step or the workflow's input");
      }
      if (!anc.count(n)) {
        return invalid_argument("step '" + s.name + "' input: '{{ " + r + " }}' needs '" + n +
                                "' in dependsOn (directly or through another step)");
      }
    }
  }
  return ok_status();
}

Result<std::string> render(std::string_view tmpl, const std::string& input,
                           const std::map<std::string, std::string>& outputs) {
  std::string out;
  out.reserve(tmpl.size());
  size_t last = 0;
  std::string unknown;
  auto st = scan(tmpl, [&](std::string_view ref, size_t begin, size_t end) {
    out.append(tmpl.substr(last, begin - last));
    last = end;
    if (ref == "input") {
      out += input;
      return;
    }
    auto n = step_of_ref(ref);
    auto it = n.empty() ? outputs.end() : outputs.find(n);
    if (it == outputs.end()) {
      if (unknown.empty()) unknown = std::string(ref);
      return;
    }
    out += it->second;
  });
  if (!st.is_ok()) return st;
  if (!unknown.empty()) return invalid_argument("unknown reference '{{ " + unknown + " }}'");
  out.append(tmpl.substr(last));
  return out;
}

bool step_done(std::string_view p) {
  return p == kSucceeded || p == kFailed || p == kSkipped || p == kCancelled;
}

namespace {
std::string phase_of(const std::map<std::string, std::string>& phases, const std::string& n) {
  auto it = phases.find(n);
  return it == phases.end() || it->second.empty() ? kPending : it->second;
}
bool waiting(std::string_view p) {
  return p == kPending || p == kWaiting;
}
}  // namespace

std::vector<std::string> ready_steps(const WorkflowSpec& spec,
                                     const std::map<std::string, std::string>& phases) {
  std::vector<std::string> out;
  for (const auto& s : spec.steps) {
    if (!waiting(phase_of(phases, s.name))) continue;
    bool ok = std::all_of(s.depends_on.begin(), s.depends_on.end(),
                          [&](const std::string& d) { return phase_of(phases, d) == kSucceeded; });
    if (ok) out.push_back(s.name);
  }
  return out;
}

std::vector<std::string> blocked_steps(const WorkflowSpec& spec,
                                       const std::map<std::string, std::string>& phases) {
  std::map<std::string, std::string> p = phases;
  std::vector<std::string> out;
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& s : spec.steps) {
      if (!waiting(phase_of(p, s.name))) continue;
      for (const auto& d : s.depends_on) {
        auto dp = phase_of(p, d);
        if (dp == kFailed || dp == kSkipped || dp == kCancelled) {
          p[s.name] = kSkipped;
          out.push_back(s.name);
          changed = true;
          break;
        }
      }
    }
  }
  return out;
}

std::string progress(const WorkflowSpec& spec, const std::map<std::string, std::string>& phases) {
  size_t ok = 0;
  for (const auto& s : spec.steps) ok += phase_of(phases, s.name) == kSucceeded;
  return std::to_string(ok) + "/" + std::to_string(spec.steps.size());
}

std::string summarize(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // …
  size_t cut = max - kEllipsis.size();
  // Back up to a UTF-8 lead byte (never split a code point).
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + std::string(kEllipsis);
}

bool is_truncated(std::string_view summary, size_t max) {
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  return summary.size() + 3 >= max && summary.size() >= kEllipsis.size() &&
         summary.substr(summary.size() - kEllipsis.size()) == kEllipsis;
}

std::string format_duration(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 1) return std::to_string(static_cast<int64_t>(std::lround(seconds * 1000))) + "ms";
  auto t = static_cast<int64_t>(seconds);
  int64_t h = t / 3600, m = (t % 3600) / 60, s = t % 60;
  std::string out;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += std::to_string(s) + "s";
  return out;
}

std::string idempotency_key(std::string_view uid, std::string_view step, int attempt) {
  return std::string(uid) + "/" + std::string(step) + "/" + std::to_string(attempt);
}

int64_t retry_delay_seconds(int64_t backoff_seconds, int next_attempt) {
  int shift = std::clamp(next_attempt - 2, 0, 20);
  int64_t d = backoff_seconds << shift;
  return std::min<int64_t>(d, 3600);
}

std::optional<int64_t> parse_rfc3339_ms(std::string_view ts) {
  int y, mo, d, h, mi, s;
  if (ts.size() < 20) return std::nullopt;
  std::string str(ts);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  size_t i = 19;
  if (i < str.size() && str[i] == '.') {
    ++i;
    int64_t frac = 0, digits = 0;
    while (i < str.size() && std::isdigit(static_cast<unsigned char>(str[i]))) {
      if (digits < 3) {
        frac = frac * 10 + (str[i] - '0');
        ++digits;
      }
      ++i;
    }
    while (digits < 3) {
      frac *= 10;
      ++digits;
    }
    ms += frac;
  }
  if (i >= str.size()) return std::nullopt;
  if (str[i] == 'Z' || str[i] == 'z') return ms;
  if ((str[i] == '+' || str[i] == '-') && i + 5 < str.size() + 0 && str.size() >= i + 6) {
    int oh = 0, om = 0;
    if (std::sscanf(str.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    int64_t off = (oh * 60 + om) * 60000LL;
    return str[i] == '+' ? ms - off : ms + off;
  }
  return std::nullopt;
}

std::string format_rfc3339(int64_t unix_ms) {
  return format_rfc3339_ms(unix_ms);
}

std::string trim_message(std::string m) {
  if (m.size() > kMaxMessage) m = summarize(m, kMaxMessage);
  return m;
}

}  // namespace agentry::controllers::workflow
