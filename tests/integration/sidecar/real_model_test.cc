// Issue 21: the sidecar against a real model: llama.cpp's llama-server (hack/llm.sh builds it)
// serving Gemma 3 270M, a base model, through provider.completion. Structure is asserted, never
// wording: a non-empty answer, token counts, the stream adding up to the answer, finishReason, a
// tool call round trip (forced with tool_choice: the schema then allows only that call), a cache
// hit, and a remembered fact in the prompt (seen by a recording proxy in front of the server).
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <mutex>
#include <thread>

#include "tests/integration/sidecar/harness.h"
#include "tests/support/test_tools.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// llama-server with the model on a free loopback port, shared by the suite (loading takes ~1 s,
// and each test's calls are its own).
class LlamaServer {
 public:
  LlamaServer() : port_(free_port()) {
    const std::string dir = llm_dir();
    if (dir.empty()) throw std::runtime_error("hack/llm.sh failed");
    Process::Options o;
    o.argv = {dir + "/bin/llama-server",
              "--model",
              dir + "/models/gemma-3-270m-q4_k_m.gguf",
              "--host",
              "127.0.0.1",
              "--port",
              std::to_string(port_),
              "--ctx-size",
              "4096",
              "--parallel",
              "2",
              "--threads",
              "2",
              "--no-webui"};
    o.log_path = dir_.file("llama-server.log");
    proc_ = Process(o);
    std::string err;
    if (!proc_.start(&err)) throw std::runtime_error("llama-server: " + err);
    httplib::Client c("127.0.0.1", port_);
    // /health answers 503 while the model loads, then 200.
    const bool up = eventually(
        [&] {
          auto r = c.Get("/health");
          return r && r->status == 200;
        },
        120s);
    if (!up) throw std::runtime_error("llama-server did not come up: " + proc_.log_tail());
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  TempDir dir_{"llama-server"};
  int port_;
  Process proc_;
};

// Forwards POST /v1/completions to the server (whole, not streamed) and keeps each request body.
class RecordingProxy {
 public:
  explicit RecordingProxy(int upstream) : upstream_(upstream) {
    server_.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(json::parse(req.body, nullptr, false));
      }
      httplib::Client c("127.0.0.1", upstream_);
      c.set_read_timeout(120, 0);
      auto r = c.Post("/v1/completions", req.body, "application/json");
      res.status = r ? r->status : 502;
      res.set_content(r ? r->body : "{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~RecordingProxy() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<json> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  int upstream_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<json> bodies_;
};

class RealModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { llama_ = std::make_unique<LlamaServer>(); }
  static void TearDownTestSuite() { llama_.reset(); }

  // A sidecar on the model (or on `endpoint`), the base-model template of the docs.
  static SidecarOptions options(const std::string& endpoint = "") {
    SidecarOptions o;
    o.provider_type = "openai";
    o.provider_endpoint = endpoint.empty() ? llama_->url() : endpoint;
    o.provider_yaml = "  readTimeoutMs: 120000\n  completion: {}\n";
    o.limits_yaml = "  executionTimeoutSeconds: 120\n";
    return o;
  }

  static json run(const Sidecar& sc, json body) {
    auto r = sc.post_execution(body, "?wait=120s");
    if (!r) return json();
    return json::parse(r->body, nullptr, false);
  }

  static std::unique_ptr<LlamaServer> llama_;
};
std::unique_ptr<LlamaServer> RealModel::llama_;

const json kGreedy = {{"temperature", 0}, {"max_tokens", 24}};

TEST_F(RealModel, AnswersWithTokenCountsAndAFinishReason) {
  Sidecar sc(options());
  json ex = run(sc, {{"input", "What is Kubernetes?"}, {"parameters", kGreedy}});
  ASSERT_EQ(ex.value("state", ""), "succeeded") << ex.dump();
  EXPECT_FALSE(ex["output"].get<std::string>().empty()) << ex.dump();
  EXPECT_GT(ex["usage"]["promptTokens"].get<int>(), 5);
  EXPECT_GT(ex["usage"]["completionTokens"].get<int>(), 0);
  EXPECT_LE(ex["usage"]["completionTokens"].get<int>(), 24);
  EXPECT_EQ(ex["usage"]["modelCalls"], 1);
  const std::string why = ex.value("finishReason", "");
  EXPECT_TRUE(why == "stop" || why == "length") << ex.dump();
}

TEST_F(RealModel, TheStreamsPiecesAddUpToTheAnswerAndItsUsage) {
  Sidecar sc(options());
  auto c = sc.client(120);
  auto r = c.Post("/v1/executions", sc.auth(),
                  json{{"input", "Name three uses of containers."},
                       {"stream", true},
                       {"parameters", {{"temperature", 0}, {"max_tokens", 32}}}}
                      .dump(),
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto events = sse_events(r->body);
  ASSERT_GE(events.size(), 3u) << r->body;
  std::string text;
  int pieces = 0;
  for (const auto& [ev, data] : events)
    if (ev == "delta") {
      text += data["content"].get<std::string>();
      ++pieces;
    }
  const json& done = events.back().second;
  ASSERT_EQ(events.back().first, "done") << r->body;
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(done["output"], text);
  // llama-server streams a token at a time: at least one piece, at most one per token.
  const int tokens = done["usage"]["completionTokens"];
  EXPECT_GE(pieces, 1);
  EXPECT_LE(pieces, tokens) << "pieces " << pieces << ", tokens " << tokens;
  const std::string why = done.value("finishReason", "");
  EXPECT_TRUE(why == "stop" || why == "length") << done.dump();
}

TEST_F(RealModel, AToolCallGoesToTheToolAndItsResultBackToTheModel) {
  // The tool: an HTTP endpoint that records its arguments.
  httplib::Server tool;
  std::mutex mu;
  std::vector<json> calls;
  tool.Post("/weather", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back(json::parse(req.body, nullptr, false));
    res.set_content("sunny, 21 C", "text/plain");
  });
  const int port = tool.bind_to_any_port("127.0.0.1");
  std::thread serve([&] { tool.listen_after_bind(); });
  auto o = options();
  o.agent_yaml =
      "  maxToolTurns: 1\n  tools:\n  - name: get_weather\n    description: The "
      "current weather in a city.\n    url: http://127.0.0.1:" +
      std::to_string(port) +
      "/weather\n    parameters:\n      type: object\n      properties:\n        city: "
      "{type: string}\n      required: [city]\n";
  {
    Sidecar sc(o);
    json params = kGreedy;
    params["max_tokens"] = 48;
    params["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_weather"}}}};
    json ex = run(sc, {{"input", "What is the weather in Paris?"}, {"parameters", params}});
    ASSERT_EQ(ex.value("state", ""), "succeeded") << ex.dump();
    EXPECT_EQ(ex["usage"]["toolCalls"], 1) << ex.dump();
    EXPECT_EQ(ex["usage"]["modelCalls"], 2) << "the call, then the answer with its result";
    EXPECT_FALSE(ex["output"].get<std::string>().empty());
  }
  tool.stop();
  serve.join();
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_TRUE(calls[0].is_object()) << calls[0].dump();
  ASSERT_TRUE(calls[0].contains("city")) << calls[0].dump();
  EXPECT_TRUE(calls[0]["city"].is_string()) << calls[0].dump();
}

// A whole answer (here: ended by a stop string the request sets) is cached; one cut at max_tokens
// is not, since a hit would pass it off as whole.
TEST_F(RealModel, ARepeatedDeterministicAnswerIsServedFromTheCacheUnlessItWasCut) {
  // Recall off: with it the second request's prompt holds the first exchange, another key.
  auto o = options();
  o.agent_yaml = "  memoryRecallK: 0\n";
  Sidecar sc(o);
  const json whole = {{"input", "Kubernetes is"},
                      {"parameters", {{"temperature", 0}, {"max_tokens", 64}, {"stop", {"."}}}}};
  json first = run(sc, whole), second = run(sc, whole);
  ASSERT_EQ(first.value("state", ""), "succeeded") << first.dump();
  ASSERT_EQ(first.value("finishReason", ""), "stop") << first.dump();
  ASSERT_EQ(second.value("state", ""), "succeeded") << second.dump();
  EXPECT_FALSE(first["cached"].get<bool>());
  EXPECT_TRUE(second["cached"].get<bool>());
  EXPECT_EQ(second["output"], first["output"]);
  EXPECT_EQ(second["usage"]["modelCalls"], 0);
  const json cut = {{"input", "Containers are"},
                    {"parameters", {{"temperature", 0}, {"max_tokens", 3}}}};
  json a = run(sc, cut), b = run(sc, cut);
  ASSERT_EQ(a.value("finishReason", ""), "length") << a.dump();
  EXPECT_FALSE(b["cached"].get<bool>()) << b.dump();
  EXPECT_EQ(b["usage"]["modelCalls"], 1);
}

TEST_F(RealModel, ARememberedFactIsInThePromptTheModelGets) {
  RecordingProxy proxy(llama_->port());
  auto o = options(proxy.url());
  o.agent_yaml = "  memoryRecallK: 2\n  cacheResponses: false\n";
  Sidecar sc(o);
  auto c = sc.client();
  for (const char* fact :
       {"The office door code is 4417.", "I drive a blue Subaru Outback.",
        "The staging environment lives in the eu-west-1 region.", "My cat is named Miso.",
        "Invoices must be approved by finance within five business days.",
        "I prefer my coffee black with no sugar."}) {
    auto w = c.Post("/v1/memory", sc.auth(), json{{"text", fact}}.dump(), "application/json");
    ASSERT_TRUE(w);
    ASSERT_EQ(w->status, 201) << w->body;
  }
  json ex =
      run(sc, {{"input", "Which number opens the office entrance?"}, {"parameters", kGreedy}});
  ASSERT_EQ(ex.value("state", ""), "succeeded") << ex.dump();
  auto bodies = proxy.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  const std::string prompt = bodies[0].value("prompt", "");
  // Found by meaning (MiniLM), in the top 2 of 6: the question shares no word with the fact.
  EXPECT_NE(prompt.find("Relevant memory:\n- "), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("\n- The office door code is 4417."), std::string::npos) << prompt;
  EXPECT_EQ(prompt.substr(prompt.size() - 7), "Answer:") << prompt;
}

}  // namespace
}  // namespace agentry::testing
