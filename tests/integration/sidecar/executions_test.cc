// Executions end to end: sync and async, idempotency, cancel, timeouts, backpressure, pagination,
// streaming (SSE from Ollama NDJSON and OpenAI SSE), the tool-calling loop and chunking.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/integration/sidecar/harness.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

json body_of(const httplib::Result& r) {
  if (!r) return json();
  auto j = json::parse(r->body, nullptr, false);
  return j.is_discarded() ? json() : j;
}

SidecarOptions options_for(const FakeLlm& llm, const std::string& type = "ollama") {
  SidecarOptions o;
  o.provider_type = type;
  o.provider_endpoint = llm.url();
  return o;
}

TEST(SidecarExecutions, SyncWaitReturnsTheAnswer) {
  FakeLlm llm;
  Sidecar sc(options_for(llm));
  auto r = sc.post_execution({{"input", "hello there"}, {"sessionId", "s1"}}, "?wait=10s");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = body_of(r);
  EXPECT_EQ(j["state"], "succeeded");
  EXPECT_EQ(j["output"], "echo: hello there");
  EXPECT_EQ(j["sessionId"], "s1");
  EXPECT_EQ(j["usage"]["modelCalls"], 1);
  // Parameters reach the provider as model options.
  auto r2 =
      sc.post_execution({{"input", "p"}, {"parameters", {{"temperature", 0.5}}}}, "?wait=10s");
  ASSERT_TRUE(r2);
  EXPECT_EQ(llm.last()["body"]["options"]["temperature"], 0.5);
}

TEST(SidecarExecutions, AsyncIs202ThenPollable) {
  FakeLlm llm({"--latency-ms", "200"});
  Sidecar sc(options_for(llm));
  auto r = sc.post_execution({{"input", "later"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  auto j = body_of(r);
  std::string id = j["id"];
  EXPECT_EQ(r->get_header_value("Location"), "/v1/executions/" + id);
  EXPECT_TRUE(j["state"] == "queued" || j["state"] == "running") << j;
  auto done = sc.wait_terminal(id, seconds(10));
  EXPECT_EQ(done["state"], "succeeded") << done;
  EXPECT_EQ(done["output"], "echo: later");
}

TEST(SidecarExecutions, WaitIsBoundedAndAnswers202WhenNotDone) {
  FakeLlm llm({"--latency-ms", "3000"});
  Sidecar sc(options_for(llm));
  auto t0 = std::chrono::steady_clock::now();
  auto r = sc.post_execution({{"input", "slow"}}, "?wait=200ms");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_LT(took, milliseconds(2500));  // answered before the 3 s provider call ended
  EXPECT_EQ(sc.wait_terminal(body_of(r)["id"], seconds(10))["state"], "succeeded");
}

// ?wait= long-polls are answered when the execution ends, without a thread each: with two worker
// threads and a queue of one, 40 callers waiting at once all get their answer (a thread-per-wait
// server would refuse 37 of them with 503).
TEST(SidecarExecutions, LongPollsHoldNoWorkerThread) {
  FakeLlm llm({"--latency-ms", "1000"});
  auto o = options_for(llm);
  o.server_yaml = "  threads: 2\n  queue: 1\n";
  Sidecar sc(o);
  auto slow = body_of(sc.post_execution({{"input", "watched"}}));
  ASSERT_TRUE(slow.contains("id")) << slow;
  const std::string id = slow["id"];
  constexpr int kCallers = 40;
  std::vector<int> status(kCallers, 0);
  std::vector<std::string> state(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      // Half submit and wait, half long-poll the first execution.
      auto r = i % 2 ? sc.post_execution({{"input", "wait " + std::to_string(i)}}, "?wait=20s")
                     : sc.get("/v1/executions/" + id + "?wait=20s");
      if (!r) return;
      status[i] = r->status;
      state[i] = body_of(r).value("state", "");
    });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_EQ(status[i], 200) << i;
    EXPECT_EQ(state[i], "succeeded") << i;
  }
}

TEST(SidecarExecutions, IdempotencyKeyNeverRunsTwice) {
  FakeLlm llm({"--latency-ms", "300"});
  Sidecar sc(options_for(llm));
  httplib::Headers key{{"Idempotency-Key", "wf-1/step-a"}};
  std::vector<std::string> ids(6);
  std::vector<std::thread> ts;
  for (int i = 0; i < 6; ++i)
    ts.emplace_back([&, i] {
      auto r = sc.post_execution({{"input", "once"}}, "?wait=5s", key);
      if (r) ids[i] = body_of(r).value("id", "");
    });
  for (auto& t : ts) t.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  ASSERT_FALSE(ids[0].empty());
  auto again = sc.post_execution({{"input", "once"}}, "?wait=5s", key);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(again->get_header_value("Idempotent-Replayed"), "true");
  EXPECT_EQ(body_of(again)["id"], ids[0]);
  EXPECT_EQ(llm.stats()["chat"], 1);
  // Another key is another execution.
  auto other =
      sc.post_execution({{"input", "once"}}, "?wait=5s", {{"Idempotency-Key", "wf-1/step-b"}});
  EXPECT_NE(body_of(other)["id"], ids[0]);
}

TEST(SidecarExecutions, DeleteCancelsARunningExecution) {
  FakeLlm llm({"--mode", "hang"});
  Sidecar sc(options_for(llm));
  auto r = sc.post_execution({{"input", "never"}});
  ASSERT_TRUE(r);
  std::string id = body_of(r)["id"];
  ASSERT_TRUE(eventually(
      [&] { return body_of(sc.get("/v1/executions/" + id))["state"] == "running"; }, seconds(5)));
  auto t0 = std::chrono::steady_clock::now();
  auto c = sc.client();
  auto d = c.Delete(("/v1/executions/" + id).c_str(), sc.auth());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 200) << d->body;
  auto j = body_of(d);
  EXPECT_EQ(j["state"], "cancelled") << j;
  EXPECT_EQ(j["error"]["code"], "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(3));
  // Cancelling again is fine; an unknown id is 404.
  EXPECT_EQ(c.Delete(("/v1/executions/" + id).c_str(), sc.auth())->status, 200);
  EXPECT_EQ(c.Delete("/v1/executions/ex-unknown", sc.auth())->status, 404);
}

TEST(SidecarExecutions, TimeoutCutsAHungProviderCall) {
  FakeLlm llm({"--mode", "hang"});
  auto o = options_for(llm);
  o.limits_yaml = "  executionTimeoutSeconds: 1\n";
  Sidecar sc(o);
  auto t0 = std::chrono::steady_clock::now();
  auto r = sc.post_execution({{"input", "x"}}, "?wait=10s");
  ASSERT_TRUE(r);
  auto j = body_of(r);
  EXPECT_EQ(j["state"], "timed_out") << j;
  EXPECT_EQ(j["error"]["code"], "timeout");
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, seconds(4));
}

TEST(SidecarExecutions, BackpressureIs429ThenRecovers) {
  FakeLlm llm({"--latency-ms", "800"});
  auto o = options_for(llm);
  o.limits_yaml = "  maxConcurrency: 2\n  queueSize: 2\n";
  Sidecar sc(o);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto r = sc.post_execution({{"input", "fill " + std::to_string(i)}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    ids.push_back(body_of(r)["id"]);
  }
  auto full = sc.post_execution({{"input", "one too many"}});
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 429) << full->body;
  EXPECT_FALSE(full->get_header_value("Retry-After").empty());
  EXPECT_EQ(body_of(full)["error"]["code"], "too_many_requests");
  EXPECT_TRUE(eventually(
      [&] {
        auto m = sc.client().Get("/metrics");
        return m && m->body.find("execution_queue_depth 2") != std::string::npos;
      },
      seconds(2)));
  for (const auto& id : ids) EXPECT_EQ(sc.wait_terminal(id, seconds(10))["state"], "succeeded");
  auto after = sc.post_execution({{"input", "room again"}}, "?wait=10s");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
}

TEST(SidecarExecutions, ListPagesWithLimitAndContinue) {
  FakeLlm llm;
  Sidecar sc(options_for(llm));
  std::set<std::string> made;
  for (int i = 0; i < 5; ++i)
    made.insert(body_of(sc.post_execution({{"input", "n"}}, "?wait=5s"))["id"]);
  std::set<std::string> seen;
  std::string cont;
  for (int page = 0; page < 5; ++page) {
    auto r = sc.get("/v1/executions?limit=2" + (cont.empty() ? "" : "&continue=" + cont));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto j = body_of(r);
    EXPECT_LE(j["items"].size(), 2u);
    for (const auto& it : j["items"]) seen.insert(it["id"].get<std::string>());
    cont = j.value("continue", "");
    if (cont.empty()) break;
  }
  EXPECT_EQ(seen, made);
  EXPECT_EQ(sc.get("/v1/executions?limit=0")->status, 400);
  EXPECT_EQ(sc.get("/v1/executions?continue=zz")->status, 400);
}

// Reads an SSE body into (event, data) pairs.
void expect_streamed(const std::string& type) {
  FakeLlm llm({"--stream-delay-ms", "20"});
  Sidecar sc(options_for(llm, type));
  auto c = sc.client();
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::string body;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/executions";
  req.headers = sc.auth();
  req.body = json{{"input", "stream me a fairly long answer please"}, {"stream", true}}.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    arrivals.push_back(std::chrono::steady_clock::now());
    body.append(d, n);
    return true;
  };
  httplib::Response res;
  httplib::Error err;
  ASSERT_TRUE(c.send(req, res, err)) << httplib::to_string(err);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.get_header_value("Content-Type"), "text/event-stream");
  auto events = sse_events(body);
  ASSERT_GE(events.size(), 3u) << body;
  EXPECT_EQ(events.front().first, "execution");
  std::string text;
  int deltas = 0;
  for (const auto& [ev, data] : events)
    if (ev == "delta") {
      text += data["content"].get<std::string>();
      ++deltas;
    }
  EXPECT_GT(deltas, 3);
  EXPECT_EQ(text, "echo: stream me a fairly long answer please");
  EXPECT_EQ(events.back().first, "done");
  EXPECT_EQ(events.back().second["state"], "succeeded");
  EXPECT_EQ(events.back().second["output"], text);
  // Pieces arrived over time, not in one write at the end.
  ASSERT_GE(arrivals.size(), 2u);
  EXPECT_GT(arrivals.back() - arrivals.front(), milliseconds(60));
  // The upstream call was a streaming one.
  EXPECT_EQ(llm.last()["body"]["stream"], true);
}

TEST(SidecarStreaming, OllamaNdjsonBecomesSse) {
  expect_streamed("ollama");
}
TEST(SidecarStreaming, OpenAiSseBecomesSse) {
  expect_streamed("openai");
}

void expect_tool_loop(const std::string& type, bool stream) {
  FakeLlm llm;
  auto o = options_for(llm, type);
  o.agent_yaml =
      "  tools:\n  - name: echo\n    description: echoes its arguments\n    url: " + llm.url() +
      "/tools/echo\n    parameters:\n      type: object\n      properties:\n        query: {type: "
      "string}\n";
  Sidecar sc(o);
  auto r =
      sc.post_execution({{"input", "look this up with echo"}, {"stream", stream}}, "?wait=10s");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j;
  if (stream) {
    auto events = sse_events(r->body);
    ASSERT_FALSE(events.empty());
    bool saw_call = false;
    for (const auto& [ev, data] : events)
      saw_call = saw_call || (ev == "tool_call" && data["name"] == "echo");
    EXPECT_TRUE(saw_call) << r->body;
    j = events.back().second;
  } else {
    j = body_of(r);
  }
  EXPECT_EQ(j["state"], "succeeded") << j;
  std::string out = j["output"];
  EXPECT_EQ(out.rfind("tool said: ", 0), 0u) << out;
  auto tool_answer = json::parse(out.substr(11), nullptr, false);
  ASSERT_FALSE(tool_answer.is_discarded()) << out;
  EXPECT_EQ(tool_answer["args"]["query"], "look this up with echo");
  EXPECT_EQ(j["usage"]["toolCalls"], 1);
  EXPECT_EQ(j["usage"]["modelCalls"], 2);
  EXPECT_EQ(llm.stats()["tools"], 1);
  // The tool declaration reached the model in the first turn.
  EXPECT_EQ(llm.stats()["chat"], 2);
}

TEST(SidecarToolCalling, OllamaLoop) {
  expect_tool_loop("ollama", false);
}
TEST(SidecarToolCalling, OpenAiLoop) {
  expect_tool_loop("openai", false);
}
TEST(SidecarToolCalling, OpenAiStreamedToolCallIsAssembled) {
  expect_tool_loop("openai", true);
}

TEST(SidecarToolCalling, FailingToolIsReportedToTheModel) {
  FakeLlm llm;
  auto o = options_for(llm);
  o.agent_yaml = "  tools:\n  - name: broken\n    url: " + llm.url() + "/tools/fail\n";
  Sidecar sc(o);
  auto j = body_of(sc.post_execution({{"input", "use broken"}}, "?wait=10s"));
  EXPECT_EQ(j["state"], "succeeded") << j;
  EXPECT_NE(j["output"].get<std::string>().find("HTTP 500"), std::string::npos) << j;
}

TEST(SidecarChunking, LargeInputIsSplitCalledInParallelAndCombined) {
  FakeLlm llm({"--latency-ms", "300"});
  auto o = options_for(llm);
  o.agent_yaml =
      "  chunking:\n    enabled: true\n    chunkChars: 100\n    maxParallel: 4\n    combine: "
      "concat\n";
  Sidecar sc(o);
  std::string input;
  for (int i = 0; i < 35; ++i) input += "word" + std::to_string(i % 10) + "xxxx ";
  ASSERT_GT(input.size(), 300u);
  auto t0 = std::chrono::steady_clock::now();
  auto j = body_of(sc.post_execution({{"input", input}}, "?wait=20s"));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(j["state"], "succeeded") << j;
  EXPECT_EQ(j["usage"]["modelCalls"], 4);
  std::string out = j["output"];
  EXPECT_NE(out.find("echo: Part 1 of 4"), std::string::npos);
  EXPECT_NE(out.find("echo: Part 4 of 4"), std::string::npos);
  // The four 300 ms calls overlapped at the provider (maxParallel 4), not one after another.
  EXPECT_GE(llm.stats()["maxInflight"], 2);
  EXPECT_LT(took, seconds(5));
}

}  // namespace
}  // namespace agentry::testing
