// The pure parts of the Workflow controller: the spec as a struct, DAG validation (cycles named),
// templating ({{ input }}, {{ steps.NAME.output }}), ready-step computation, progress, bounded
// output summaries, durations and idempotency keys. No I/O: everything here is unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace agentry::controllers::workflow {

inline constexpr size_t kMaxOutputSummary = 4096;  // status.steps[].output maxLength
inline constexpr size_t kMaxMessage = 2048;        // what we put in messages (CRD allows 32 KiB)

struct StepSpec {
  std::string name;
  std::string agent;
  std::string input;
  std::vector<std::string> depends_on;
  int64_t timeout_seconds = 300;
  int retry_limit = 2;
  int64_t backoff_seconds = 5;
};

struct WorkflowSpec {
  std::string input;
  int parallelism = 4;
  int64_t active_deadline_seconds = 0;  // 0: none
  bool fail_fast = true;
  bool suspend = false;
  int64_t ttl_seconds_after_finished = -1;  // -1: keep
  std::vector<StepSpec> steps;

  const StepSpec* step(std::string_view name) const;
};

// Reads spec (defaults as the CRD's, in case the object did not pass the API server's defaulting).
Result<WorkflowSpec> parse_spec(const nlohmann::json& spec);

// A cycle as the path of step names that closes it ("a", "b", "a"), or nullopt for a DAG.
// Unknown dependencies are ignored here (validate() reports them).
std::optional<std::vector<std::string>> find_cycle(const WorkflowSpec& spec);
// "cycle: a -> b -> a"
std::string cycle_message(const std::vector<std::string>& cycle);

// Every reference {{ ... }} in a template: "input" or "steps.NAME.output" (whitespace trimmed).
// An error names a malformed reference.
Result<std::vector<std::string>> template_refs(std::string_view tmpl);

// Everything a Workflow needs before it may run: unique names, known dependencies, no cycle,
// templates referencing only {{ input }} and steps that are (transitive) dependencies of the step.
// The error message names the offender (the cycle, the unknown reference, the step).
Status validate(const WorkflowSpec& spec);

// Renders a template; outputs maps step name -> full output. An unknown reference is an error
// naming it.
Result<std::string> render(std::string_view tmpl, const std::string& input,
                           const std::map<std::string, std::string>& outputs);

// The step names a step's template reads ({{ steps.X.output }}), deduplicated.
std::vector<std::string> referenced_steps(std::string_view tmpl);

// Transitive dependencies of a step.
std::set<std::string> ancestors(const WorkflowSpec& spec, const std::string& step);

// Step phases (status.steps[].phase).
inline constexpr const char* kPending = "Pending";
inline constexpr const char* kWaiting = "Waiting";
inline constexpr const char* kRunning = "Running";
inline constexpr const char* kSucceeded = "Succeeded";
inline constexpr const char* kFailed = "Failed";
inline constexpr const char* kSkipped = "Skipped";
inline constexpr const char* kCancelled = "Cancelled";
inline constexpr const char* kSuspended = "Suspended";

bool step_done(std::string_view phase);  // Succeeded, Failed, Skipped, Cancelled

// Steps whose dependencies all succeeded and that are waiting to be dispatched (Pending or
// Waiting), in spec order. phases: step name -> phase (absent means Pending).
std::vector<std::string> ready_steps(const WorkflowSpec& spec,
                                     const std::map<std::string, std::string>& phases);
// Pending/Waiting steps that can never run because a dependency failed, was skipped or cancelled
// (transitively through other such steps).
std::vector<std::string> blocked_steps(const WorkflowSpec& spec,
                                       const std::map<std::string, std::string>& phases);

// "k/n": succeeded steps / all steps.
std::string progress(const WorkflowSpec& spec, const std::map<std::string, std::string>& phases);

// At most max bytes, cut on a UTF-8 boundary; cut ones end with "…" inside the bound.
std::string summarize(std::string_view s, size_t max = kMaxOutputSummary);
bool is_truncated(std::string_view summary, size_t max = kMaxOutputSummary);
// A status message or event note: summarize()d to kMaxMessage when longer.
std::string trim_message(std::string m);

// "850ms", "12s", "3m4s", "1h2m3s".
std::string format_duration(double seconds);

// "<uid>/<step>/<attempt>"
std::string idempotency_key(std::string_view uid, std::string_view step, int attempt);

// Delay before attempt `next_attempt` (2 = first retry): backoff * 2^(next_attempt-2), capped
// at one hour.
int64_t retry_delay_seconds(int64_t backoff_seconds, int next_attempt);

// RFC 3339 (with or without fractional seconds, Z or +hh:mm) to Unix milliseconds; nullopt when
// malformed.
std::optional<int64_t> parse_rfc3339_ms(std::string_view ts);
std::string format_rfc3339(int64_t unix_ms);  // seconds precision, Z

}  // namespace agentry::controllers::workflow
