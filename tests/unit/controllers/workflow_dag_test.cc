// The Workflow controller's pure logic: spec parsing, cycles named, templating, ready steps,
// progress, summaries, durations, keys and backoff.
#include "operator/controllers/workflow_dag.h"

#include <gtest/gtest.h>

#include "operator/controllers/workflow_controller.h"

namespace agentry::controllers::workflow {
namespace {

using nlohmann::json;

WorkflowSpec spec_of(json steps, const std::string& input = "in") {
  // {step(...)} with one element is that element, not an array of it.
  if (steps.is_object()) steps = json::array({steps});
  auto r = parse_spec({{"input", input}, {"steps", steps}});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return *r;
}

json step(const std::string& name, std::vector<std::string> deps = {},
          const std::string& input = "x") {
  return {{"name", name}, {"agentRef", {{"name", "ag"}}}, {"input", input}, {"dependsOn", deps}};
}

TEST(WorkflowDag, ParseAppliesCrdDefaults) {
  auto r =
      parse_spec({{"steps", {{{"name", "a"}, {"agentRef", {{"name", "x"}}}, {"input", "hi"}}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->parallelism, 4);
  EXPECT_TRUE(r->fail_fast);
  EXPECT_FALSE(r->suspend);
  EXPECT_EQ(r->ttl_seconds_after_finished, -1);
  EXPECT_EQ(r->steps[0].timeout_seconds, 300);
  EXPECT_EQ(r->steps[0].retry_limit, 2);
  EXPECT_EQ(r->steps[0].backoff_seconds, 5);
  EXPECT_EQ(r->steps[0].agent, "x");
}

TEST(WorkflowDag, ParseRejectsMissingPieces) {
  EXPECT_FALSE(parse_spec({{"steps", json::array()}}).ok());
  auto r = parse_spec({{"steps", {{{"name", "a"}, {"input", "hi"}}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("agentRef.name"), std::string::npos);
}

TEST(WorkflowDag, TwoStepCycleIsNamed) {
  auto s = spec_of({step("a", {"b"}), step("b", {"a"})});
  auto c = find_cycle(s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(cycle_message(*c), "cycle: a -> b -> a");
  auto v = validate(s);
  EXPECT_FALSE(v.is_ok());
  EXPECT_EQ(v.message(), "cycle: a -> b -> a");
}

TEST(WorkflowDag, LongerCycleBehindADagIsNamed) {
  auto s = spec_of({step("root"), step("x", {"root", "z"}), step("y", {"x"}), step("z", {"y"})});
  auto c = find_cycle(s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(cycle_message(*c), "cycle: x -> z -> y -> x");
}

TEST(WorkflowDag, DiamondHasNoCycle) {
  auto s = spec_of({step("a"), step("b", {"a"}), step("c", {"a"}), step("d", {"b", "c"})});
  EXPECT_FALSE(find_cycle(s).has_value());
  EXPECT_TRUE(validate(s).is_ok());
}

TEST(WorkflowDag, ValidateNamesUnknownAndSelfDependencies) {
  EXPECT_EQ(validate(spec_of({step("a", {"nope"})})).message(),
            "step 'a' depends on unknown step 'nope'");
  EXPECT_EQ(validate(spec_of({step("a", {"a"})})).message(), "step 'a' depends on itself");
  EXPECT_EQ(validate(spec_of({step("a"), step("a")})).message(), "duplicate step name 'a'");
}

TEST(WorkflowDag, TemplatesRenderWhitespaceTolerant) {
  auto r = render("Q: {{input}} / {{  steps.a.output   }} / {{ steps.b.output}}", "hello",
                  {{"a", "A!"}, {"b", "B?"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "Q: hello / A! / B?");
  EXPECT_EQ(*render("no refs", "x", {}), "no refs");
  EXPECT_EQ(*render("{{input}}{{input}}", "ab", {}), "abab");
}

TEST(WorkflowDag, UnknownReferencesAreErrorsNamingThem) {
  auto r = render("{{ steps.zz.output }}", "x", {{"a", "A"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("steps.zz.output"), std::string::npos);
  auto v = validate(spec_of({step("a", {}, "{{ steps.ghost.output }}")}));
  EXPECT_NE(v.message().find("no step 'ghost'"), std::string::npos) << v.message();
  auto bad = validate(spec_of({step("a", {}, "{{ inputs }}")}));
  EXPECT_NE(bad.message().find("unknown reference '{{ inputs }}'"), std::string::npos)
      << bad.message();
  auto unclosed = validate(spec_of({step("a", {}, "{{ input ")}));
  EXPECT_NE(unclosed.message().find("unclosed"), std::string::npos);
}

TEST(WorkflowDag, ReferenceToANonDependencyIsRejected) {
  auto v = validate(spec_of({step("a"), step("b", {}, "{{ steps.a.output }}")}));
  EXPECT_FALSE(v.is_ok());
  EXPECT_NE(v.message().find("needs 'a' in dependsOn"), std::string::npos) << v.message();
  // Transitive dependencies are fine.
  EXPECT_TRUE(
      validate(spec_of({step("a"), step("b", {"a"}), step("c", {"b"}, "{{ steps.a.output }}")}))
          .is_ok());
}

TEST(WorkflowDag, AReferenceToTheStepsOwnOutputIsToldSoNotToDependOnItself) {
  auto v = validate(spec_of({step("a", {}, "{{ steps.a.output }}")}));
  ASSERT_FALSE(v.is_ok());
  EXPECT_NE(v.message().find("this step's own output"), std::string::npos) << v.message();
  EXPECT_EQ(v.message().find("dependsOn"), std::string::npos)
      << "the advice must be possible: a step cannot depend on itself: " << v.message();
}

TEST(WorkflowDag, ReadyStepsFollowDependencies) {
  auto s = spec_of({step("a"), step("b", {"a"}), step("c", {"a"}), step("d", {"b", "c"})});
  EXPECT_EQ(ready_steps(s, {}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ready_steps(s, {{"a", kRunning}}), (std::vector<std::string>{}));
  EXPECT_EQ(ready_steps(s, {{"a", kSucceeded}}), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(ready_steps(s, {{"a", kSucceeded}, {"b", kSucceeded}, {"c", kRunning}}),
            (std::vector<std::string>{}));
  EXPECT_EQ(ready_steps(s, {{"a", kSucceeded}, {"b", kSucceeded}, {"c", kSucceeded}}),
            (std::vector<std::string>{"d"}));
  EXPECT_EQ(ready_steps(s, {{"a", kWaiting}}), (std::vector<std::string>{"a"}));
}

TEST(WorkflowDag, BlockedStepsAreTransitive) {
  auto s = spec_of({step("a"), step("b", {"a"}), step("c", {"b"}), step("d")});
  EXPECT_EQ(blocked_steps(s, {{"a", kFailed}}), (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(blocked_steps(s, {{"a", kSucceeded}}).empty());
}

TEST(WorkflowDag, Progress) {
  auto s = spec_of({step("a"), step("b", {"a"}), step("c")});
  EXPECT_EQ(progress(s, {}), "0/3");
  EXPECT_EQ(progress(s, {{"a", kSucceeded}, {"c", kFailed}}), "1/3");
}

TEST(WorkflowDag, SummariesAreBoundedOnUtf8Boundaries) {
  EXPECT_EQ(summarize("short"), "short");
  std::string big(5000, 'x');
  auto s = summarize(big);
  EXPECT_LE(s.size(), kMaxOutputSummary);
  EXPECT_TRUE(is_truncated(s));
  EXPECT_FALSE(is_truncated("short"));
  std::string utf;
  for (int i = 0; i < 3000; ++i) utf += "\xC3\xA9";  // é, 2 bytes
  auto u = summarize(utf, 101);
  EXPECT_LE(u.size(), 101u);
  // No split code point: the body before the ellipsis has an even number of bytes.
  EXPECT_EQ((u.size() - 3) % 2, 0u);
}

TEST(WorkflowDag, DurationsKeysAndBackoff) {
  EXPECT_EQ(format_duration(0.25), "250ms");
  EXPECT_EQ(format_duration(12.4), "12s");
  EXPECT_EQ(format_duration(184), "3m4s");
  EXPECT_EQ(format_duration(3723), "1h2m3s");
  EXPECT_EQ(idempotency_key("uid-1", "research", 2), "uid-1/research/2");
  EXPECT_EQ(retry_delay_seconds(5, 2), 5);
  EXPECT_EQ(retry_delay_seconds(5, 3), 10);
  EXPECT_EQ(retry_delay_seconds(5, 4), 20);
  EXPECT_EQ(retry_delay_seconds(0, 4), 0);
  EXPECT_EQ(retry_delay_seconds(3000, 9), 3600);
}

TEST(WorkflowDag, Rfc3339RoundTrip) {
  auto ms = parse_rfc3339_ms("2026-11-27T00:41:02.114Z");
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(*ms % 1000, 114);
  EXPECT_EQ(format_rfc3339(*ms), "2026-11-27T00:41:02Z");
  EXPECT_EQ(*parse_rfc3339_ms("2026-11-27T01:41:02+01:00"),
            *parse_rfc3339_ms("2026-11-27T00:41:02Z"));
  EXPECT_FALSE(parse_rfc3339_ms("yesterday").has_value());
}

}  // namespace
}  // namespace agentry::controllers::workflow

namespace agentry::controllers {
namespace {

TEST(WorkflowSettings, EndpointOverrideFlag) {
  std::map<std::string, std::string> m;
  EXPECT_TRUE(parse_endpoint_override("team-a/researcher=http://127.0.0.1:8080", &m).is_ok());
  EXPECT_TRUE(parse_endpoint_override("writer=https://w.example:8443", &m).is_ok());
  EXPECT_EQ(m["team-a/researcher"], "http://127.0.0.1:8080");
  EXPECT_EQ(m["writer"], "https://w.example:8443");
  EXPECT_FALSE(parse_endpoint_override("writer", &m).is_ok());
  EXPECT_FALSE(parse_endpoint_override("=http://x", &m).is_ok());
  auto bad = parse_endpoint_override("writer=ftp://x", &m);
  EXPECT_NE(bad.message().find("http://"), std::string::npos);
}

}  // namespace
}  // namespace agentry::controllers
