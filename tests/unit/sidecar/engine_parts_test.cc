// Pure parts of the engine and the plug-in points: chunking, cache keys, route labels, token
// comparison, the dialects' stream parsers, and the Engine's use of the memory and response-cache
// hooks (with an in-process provider that counts calls).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "sidecar/api/auth.h"
#include "sidecar/api/server.h"
#include "sidecar/api/worker_pool.h"
#include "sidecar/exec/cache_key.h"
#include "sidecar/exec/engine.h"
#include "sidecar/exec/pipeline.h"
#include "sidecar/exec/providers/dialect.h"

namespace agentry::sidecar {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

TEST(SidecarChunks, SplitAtWordBoundariesWithinTheLimit) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "word" + std::to_string(i) + " ";
  auto parts = split_chunks(text, 100);
  ASSERT_GT(parts.size(), 5u);
  std::string joined;
  for (const auto& p : parts) {
    EXPECT_LE(p.size(), 100u);
    joined += p;
  }
  EXPECT_EQ(joined, text);
  for (size_t i = 0; i + 1 < parts.size(); ++i) EXPECT_EQ(parts[i].back(), ' ');
  EXPECT_EQ(split_chunks("short", 100).size(), 1u);
  EXPECT_EQ(split_chunks(std::string(250, 'x'), 100).size(), 3u);  // no break: hard cut
}

TEST(SidecarCacheKey, StableAndSensitive) {
  ChatRequest a{{{"user", "hi", {}, "", ""}}, json::array(), {{"temperature", 0}}};
  ChatRequest b = a;
  EXPECT_EQ(response_cache_key("m", a), response_cache_key("m", b));
  EXPECT_NE(response_cache_key("m", a), response_cache_key("m2", a));
  b.messages[0].content = "hi!";
  EXPECT_NE(response_cache_key("m", a), response_cache_key("m", b));
  b = a;
  b.options["seed"] = 1;
  EXPECT_NE(response_cache_key("m", a), response_cache_key("m", b));
  EXPECT_EQ(response_cache_key("m", a).size(), 5u + 64u);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(cacheable({{"temperature", 0}}));
  EXPECT_TRUE(cacheable({{"temperature", 0.0}}));
  EXPECT_FALSE(cacheable({{"temperature", 0.7}}));
  EXPECT_FALSE(cacheable(json::object()));
}

TEST(SidecarEndpointLabel, IdsAreCollapsed) {
  EXPECT_EQ(endpoint_label("/v1/executions"), "/v1/executions");
  EXPECT_EQ(endpoint_label("/a2a"), "/a2a");
  EXPECT_EQ(endpoint_label("/mcp"), "/mcp");
  EXPECT_EQ(endpoint_label("/.well-known/agent.json"), "/.well-known/agent-card");
  EXPECT_EQ(endpoint_label("/.well-known/other"), "other");
  EXPECT_EQ(endpoint_label("/v1/executions/ex-123"), "/v1/executions/{id}");
  EXPECT_EQ(endpoint_label("/v1/memory/search"), "/v1/memory/search");
  EXPECT_EQ(endpoint_label("/v1/cache/some-key"), "/v1/cache/{id}");
  EXPECT_EQ(endpoint_label("/healthz"), "/healthz");
  EXPECT_EQ(endpoint_label("/wp-admin/x.php"), "other");
}

TEST(SidecarAuth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("secret-token", "secret-token"));
  EXPECT_FALSE(constant_time_equal("secret-token", "secret-tokem"));
  EXPECT_FALSE(constant_time_equal("secret-token", "secret"));
  EXPECT_FALSE(constant_time_equal("", "x"));
}

TEST(SidecarDialects, OpenAiStreamAssemblesToolCallsAndText) {
  auto d = make_openai_dialect("/v1");
  EXPECT_EQ(d->chat_path(), "/chat/completions");
  EXPECT_EQ(make_openai_dialect("")->chat_path(), "/v1/chat/completions");
  ChatResponse acc;
  json state;
  std::string seen;
  DeltaFn on = [&](std::string_view p) { seen += p; };
  const char* lines[] = {
      R"(data: {"choices":[{"delta":{"content":"Hel"}}]})",
      R"(data: {"choices":[{"delta":{"content":"lo"}}]})",
      R"(data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"wea","arguments":"{\"ci"}}]}}]})",
      R"(data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"ther","arguments":"ty\":\"Oslo\"}"}}]}}]})",
      R"(data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}})",
      ": keep-alive comment",
  };
  for (const char* l : lines) {
    auto r = d->stream_line(l, &acc, &state, on);
    ASSERT_TRUE(r.ok()) << l;
    EXPECT_FALSE(*r);
  }
  auto end = d->stream_line("data: [DONE]", &acc, &state, on);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(*end);
  EXPECT_EQ(seen, "Hello");
  EXPECT_EQ(acc.content, "Hello");
  ASSERT_EQ(acc.tool_calls.size(), 1u);
  EXPECT_EQ(acc.tool_calls[0].id, "c1");
  EXPECT_EQ(acc.tool_calls[0].name, "weather");
  EXPECT_EQ(acc.tool_calls[0].arguments["city"], "Oslo");
  EXPECT_EQ(acc.prompt_tokens, 5);
}

// A provider's tool-call index is untrusted: 1e9 once grew the call list a billion entries (a hung,
// then killed sidecar); negative, float and huge indexes are ignored, the stream goes on.
TEST(SidecarDialects, OpenAiStreamIgnoresHostileToolCallIndexes) {
  auto d = make_openai_dialect("/v1");
  ChatResponse acc;
  json state;
  DeltaFn on = [](std::string_view) {};
  const char* lines[] = {
      R"(data: {"choices":[{"delta":{"tool_calls":[{"index":1000000000,"function":{"name":"x"}}]}}]})",
      R"(data: {"choices":[{"delta":{"tool_calls":[{"index":-1,"function":{"name":"x"}}]}}]})",
      R"(data: {"choices":[{"delta":{"tool_calls":[{"index":1e300,"function":{"name":"x"}}]}}]})",
      R"(data: {"choices":[{"delta":{"tool_calls":["not an object",{"index":0,"function":7}]}}]})",
      R"(data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"ok","arguments":"{}"}}]}}]})",
  };
  for (const char* l : lines) {
    auto r = d->stream_line(l, &acc, &state, on);
    ASSERT_TRUE(r.ok()) << l;
  }
  ASSERT_TRUE(d->stream_line("data: [DONE]", &acc, &state, on).ok());
  ASSERT_EQ(acc.tool_calls.size(), 1u);
  EXPECT_EQ(acc.tool_calls[0].name, "ok");
}

TEST(SidecarDialects, OllamaStreamAndBodies) {
  auto d = make_ollama_dialect();
  ChatRequest req{
      {{"system", "s", {}, "", ""}, {"user", "u", {}, "", ""}}, json::array(), {{"max_tokens", 9}}};
  auto body = d->chat_body("llama", req, true);
  EXPECT_EQ(body["options"]["num_predict"], 9);
  EXPECT_EQ(body["stream"], true);
  ChatResponse acc;
  json state;
  ASSERT_FALSE(
      *d->stream_line(R"({"message":{"content":"a"},"done":false})", &acc, &state, nullptr));
  ASSERT_TRUE(*d->stream_line(
      R"({"message":{"content":"","tool_calls":[{"function":{"name":"t","arguments":{"x":1}}}]},"done":true,"eval_count":3})",
      &acc, &state, nullptr));
  EXPECT_EQ(acc.content, "a");
  ASSERT_EQ(acc.tool_calls.size(), 1u);
  EXPECT_EQ(acc.tool_calls[0].arguments["x"], 1);
  EXPECT_EQ(acc.completion_tokens, 3);
  EXPECT_FALSE(d->stream_line("{oops", &acc, &state, nullptr).ok());
  EXPECT_EQ(provider_error_text(R"({"error":{"message":"model not found"}})"), "model not found");
  EXPECT_EQ(provider_error_text(R"({"error":"nope"})"), "nope");
}

TEST(SidecarWorkerPool, RunsEverythingRefusesBeyondItsQueueAndShrinksWhenIdle) {
  std::atomic<int> ran{0};
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  auto blocker = [&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    ++ran;
  };
  WorkerPool pool(2, 3, milliseconds(50));
  ASSERT_TRUE(pool.try_submit(blocker));
  ASSERT_TRUE(pool.try_submit(blocker));
  // Both threads are taken once they picked their job; then three may wait and a fourth may not.
  for (int i = 0; i < 200 && pool.queued() > 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(pool.threads(), 2u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(pool.try_submit([&] { ++ran; })) << i;
  EXPECT_FALSE(pool.try_submit([&] { ++ran; }));
  EXPECT_EQ(pool.queued(), 3u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 200 && ran.load() < 5; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(ran.load(), 5);
  for (int i = 0; i < 200 && pool.threads() > 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(pool.threads(), 0u);                 // idle threads left
  EXPECT_TRUE(pool.try_submit([&] { ++ran; }));  // and come back on demand
  pool.shutdown();
  EXPECT_EQ(ran.load(), 6);
  EXPECT_FALSE(pool.try_submit([&] { ++ran; }));
}

// An in-process provider: answers "echo: <last message>" after a delay, counting calls.
class CountingProvider : public Provider {
 public:
  explicit CountingProvider(milliseconds delay) : delay_(delay) {}
  Result<ChatResponse> chat(const ChatRequest& req, const CallOptions& opts) override {
    ++calls;
    if (opts.cancel && !opts.cancel->sleep_for(delay_))
      return Status(Code::kCancelled, "cancelled", 499);
    ChatResponse r;
    r.content = "echo: " + req.messages.back().content;
    last_messages = req.messages.size();
    return r;
  }
  Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>&) override {
    return std::vector<std::vector<float>>{};
  }
  std::string name() const override { return "counting"; }
  std::string model() const override { return "m"; }
  std::atomic<int> calls{0};
  std::atomic<size_t> last_messages{0};

 private:
  milliseconds delay_;
};

class RecordingMemory : public MemoryHook {
 public:
  std::vector<MemoryHit> recall(const std::string& agent, const std::string&, const std::string&,
                                int k) override {
    ++recalls;
    EXPECT_EQ(agent, "unit");
    EXPECT_EQ(k, 4);
    return {{"m1", "the user likes tea", 0.9}};
  }
  void remember(const std::string&, const std::string& session, const std::string& input,
                const std::string& output) override {
    std::this_thread::sleep_for(milliseconds(50));  // slow writer: must not delay the answer
    std::lock_guard<std::mutex> lock(mu);
    saved.push_back(session + "|" + input + "|" + output);
  }
  std::atomic<int> recalls{0};
  std::mutex mu;
  std::vector<std::string> saved;
};

class MapCache : public ResponseCacheHook {
 public:
  std::optional<std::string> get(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
  void put(const std::string& key, const std::string& value, std::chrono::seconds) override {
    std::lock_guard<std::mutex> lock(mu);
    m[key] = value;
  }
  std::mutex mu;
  std::map<std::string, std::string> m;
};

// Retirement happens right after the waiter wakes; poll briefly for it.
bool eventually_retained(const Engine& e, size_t n) {
  for (int i = 0; i < 200 && e.retained() != n; ++i) std::this_thread::sleep_for(milliseconds(5));
  return e.retained() == n;
}

Config unit_config() {
  Config c;
  c.agent.name = "unit";
  c.limits.max_concurrency = 20;
  return c;
}

TEST(SidecarEngineHooks, MemoryIsRecalledAndUpdatedAfterAnsweringWithoutLoss) {
  auto provider = std::make_shared<CountingProvider>(milliseconds(1));
  auto memory = std::make_shared<RecordingMemory>();
  {
    Engine engine(unit_config(), provider);
    engine.set_memory_hook(memory);
    std::vector<std::shared_ptr<Execution>> exs;
    for (int i = 0; i < 10; ++i) {
      auto s = engine.submit({"q" + std::to_string(i), "sess", json::object(), false, "", {}});
      ASSERT_TRUE(s.ok());
      exs.push_back(s->execution);
    }
    for (auto& ex : exs) ASSERT_TRUE(ex->wait(std::chrono::seconds(5)));
    EXPECT_EQ(memory->recalls.load(), 10);
    EXPECT_EQ(provider->last_messages.load(), 2u);  // the memory context + the input
    auto rep = engine.drain(std::chrono::seconds(5));
    EXPECT_TRUE(rep.cut.empty());
    std::lock_guard<std::mutex> lock(memory->mu);
    EXPECT_EQ(memory->saved.size(), 10u);  // drain waited for the slow writer
  }
  EXPECT_NE(std::find(memory->saved.begin(), memory->saved.end(), "sess|q3|echo: q3"),
            memory->saved.end());
}

TEST(SidecarEngineHooks, ResponseCacheWithSingleFlight) {
  auto provider = std::make_shared<CountingProvider>(milliseconds(200));
  auto cache = std::make_shared<MapCache>();
  Engine engine(unit_config(), provider);
  engine.set_response_cache_hook(cache);
  json det = {{"temperature", 0}};
  std::vector<std::shared_ptr<Execution>> exs;
  for (int i = 0; i < 8; ++i)
    exs.push_back(engine.submit({"same", "", det, false, "", {}})->execution);
  for (auto& ex : exs) ASSERT_TRUE(ex->wait(std::chrono::seconds(5)));
  EXPECT_EQ(provider->calls.load(), 1);  // eight identical misses, one provider call
  int cached = 0;
  for (auto& ex : exs) {
    auto j = ex->to_json();
    EXPECT_EQ(j["output"], "echo: same");
    cached += j["cached"].get<bool>();
  }
  EXPECT_EQ(cached, 7);
  EXPECT_EQ(cache->m.size(), 1u);
  auto again = engine.submit({"same", "", det, false, "", {}})->execution;
  ASSERT_TRUE(again->wait(std::chrono::seconds(5)));
  EXPECT_TRUE(again->to_json()["cached"].get<bool>());
  EXPECT_EQ(provider->calls.load(), 1);
  // Non-deterministic calls bypass the cache.
  auto warm = engine.submit({"same", "", json{{"temperature", 0.7}}, false, "", {}})->execution;
  ASSERT_TRUE(warm->wait(std::chrono::seconds(5)));
  EXPECT_EQ(provider->calls.load(), 2);
}

TEST(SidecarEngineRetention, TrimKeepsTheNewestAndForgetsTheirKeys) {
  auto provider = std::make_shared<CountingProvider>(milliseconds(0));
  Config c = unit_config();
  c.limits.retain_executions = 3;
  Engine engine(c, provider);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto ex =
        engine.submit({"x", "", json::object(), false, "k" + std::to_string(i), {}})->execution;
    ASSERT_TRUE(ex->wait(std::chrono::seconds(5)));
    ids.push_back(ex->id());
  }
  EXPECT_TRUE(eventually_retained(engine, 3));
  EXPECT_EQ(engine.get(ids[0]), nullptr);
  EXPECT_NE(engine.get(ids[5]), nullptr);
  EXPECT_EQ(engine.trim_finished(1), 2u);
  EXPECT_EQ(engine.get(ids[4]), nullptr);
  EXPECT_NE(engine.get(ids[5]), nullptr);
}

}  // namespace
}  // namespace agentry::sidecar
