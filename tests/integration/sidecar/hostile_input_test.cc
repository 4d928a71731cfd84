// Hostile input against the real agentry-sidecar binary: every malformed request gets a 4xx JSON
// error in the documented format and the process lives; and no cache-API request can read or
// change a cached model answer (checked against the real key the engine stored in a real Redis).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/sidecar/harness.h"
#include "tests/support/redis_server.h"

namespace agentry::testing {
namespace {

using nlohmann::json;

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new RedisServer();
    std::string err;
    ASSERT_TRUE(redis_->start(&err)) << err;
    llm_ = new FakeLlm();
    SidecarOptions o;
    o.provider_endpoint = llm_->url();
    // Deterministic answers are cached; no recall, so a repeated input is the same request.
    o.agent_yaml = "  memoryRecallK: 0\n  options:\n    temperature: 0\n";
    o.extra_yaml = "cache:\n  redisUrl: " + redis_->url() + "\n";
    sidecar_ = new Sidecar(o);
  }
  static void TearDownTestSuite() {
    delete sidecar_;
    delete llm_;
    delete redis_;
  }

  // The answer is a 4xx with {"error": {"code", "message"}}, and the sidecar still serves.
  static void expect_4xx(const httplib::Result& r, const std::string& what, int want = 400) {
    ASSERT_TRUE(r) << what << ": " << httplib::to_string(r.error()) << "\n" << sidecar_->log_tail();
    EXPECT_EQ(r->status, want) << what << ": " << r->body;
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << what << ": " << r->body;
    EXPECT_TRUE(j["error"]["code"].is_string()) << what << ": " << r->body;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty()) << what;
    auto h = sidecar_->client().Get("/healthz");
    ASSERT_TRUE(h) << "the sidecar died after " << what << "\n" << sidecar_->log_tail();
    EXPECT_EQ(h->status, 200);
  }
  static httplib::Result send(const std::string& method, const std::string& path,
                              const std::string& body = "",
                              const std::string& type = "application/json") {
    auto c = sidecar_->client();
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = sidecar_->auth();
    if (!body.empty() || method == "POST" || method == "PUT") {
      req.body = body;
      req.set_header("Content-Type", type);
    }
    return c.send(req);
  }

  static RedisServer* redis_;
  static FakeLlm* llm_;
  static Sidecar* sidecar_;
};
RedisServer* HostileInputTest::redis_ = nullptr;
FakeLlm* HostileInputTest::llm_ = nullptr;
Sidecar* HostileInputTest::sidecar_ = nullptr;

TEST_F(HostileInputTest, InvalidUtf8InPathsAndQueriesIs400NotACrash) {
  // The observed crash: an unknown route, and a method a route does not allow, with %ff%fe.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET", "/nope/%ff%fe"},
      {"DELETE", "/healthz/%ff%fe"},
      {"PATCH", "/v1/executions/%ff%fe"},
      {"PUT", "/v1/executions/%ff"},
      {"GET", "/v1/executions/%c3%28"},
      {"DELETE", "/v1/executions/%ed%a0%80"},
      {"GET", "/v1/cache/%ff"},
      {"PUT", "/v1/cache/%c0%af"},
      {"DELETE", "/v1/cache/%f4%90%80%80"},
      {"GET", "/v1/memory/%fe"},
      {"DELETE", "/v1/memory/%e4%b8"},
      {"GET", "/v1/memory?agent=%ff"},
      {"GET", "/v1/memory?%ff=1"},
      {"GET", "/v1/executions?continue=%ff%fe"},
      {"POST", "/v1/memory/search?x=%80"},
  };
  for (const auto& [method, path] : cases) expect_4xx(send(method, path), method + " " + path);
}

TEST_F(HostileInputTest, DeepJsonIsRefusedOnEveryRouteThatReadsJson) {
  // 50,000 levels in 100 KB overflowed the stack.
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  const std::string deep_obj =
      "{\"input\": \"x\", \"parameters\": " + std::string(200, '[') + std::string(200, ']') + "}";
  for (const std::string path : {"/v1/executions", "/v1/memory", "/v1/memory/search"}) {
    expect_4xx(send("POST", path, deep), "POST " + path + " deep array");
    expect_4xx(send("POST", path, deep_obj), "POST " + path + " deep member");
  }
  expect_4xx(send("PUT", "/v1/cache/deep", deep), "PUT /v1/cache deep");
}

TEST_F(HostileInputTest, MalformedScalarsNameTheirParameter) {
  struct Case {
    std::string method, path, body, needle;
  };
  const std::vector<Case> cases = {
      {"GET", "/v1/executions?limit=5abc", "", "limit"},
      {"GET", "/v1/executions?limit=99999999999999999999", "", "limit"},
      {"GET", "/v1/executions?limit=-1", "", "limit"},
      {"GET", "/v1/memory?limit=5abc", "", "limit"},
      {"GET", "/v1/memory?limit=0x10", "", "limit"},
      {"GET", "/v1/executions/abc?wait=99999999999999999999h", "", "wait"},
      {"GET", "/v1/executions/abc?wait=1e400", "", "wait"},
      {"POST", "/v1/executions?wait=-5s", R"({"input": "x"})", "wait"},
      {"GET", "/v1/executions?continue=-1", "", "continue"},
      {"PUT", "/v1/cache/k", R"({"value": "v", "ttlSeconds": 99999999999})", "ttlSeconds"},
      {"PUT", "/v1/cache/k", R"({"value": "v", "ttl": 99999999999})", "ttl"},
      {"PUT", "/v1/cache/k?ttl=5abc", R"({"value": "v"})", "ttl"},
      {"POST", "/v1/memory", R"({"text": "t", "ttl": 99999999999})", "ttl"},
      {"POST", "/v1/memory", R"({"text": "t", "ttlSeconds": 5})", "ttlSeconds"},
      {"POST", "/v1/memory", R"({"text": "t", "embedding": [1e300, 1]})", "embedding"},
      {"POST", "/v1/memory/search", R"({"query": "q", "minScore": 1e300})", "minScore"},
      {"POST", "/v1/memory/search", R"({"query": "q", "k": 18446744073709551615})", "k"},
      {"POST", "/v1/memory/search", R"({"vector": [1e39]})", "vector"},
      {"POST", "/v1/executions", "{\"input\": \"\xff\xfe\"}", "JSON"},
      {"POST", "/v1/executions", R"({"input": 5})", "input"},
  };
  for (const auto& c : cases) {
    auto r = send(c.method, c.path, c.body);
    expect_4xx(r, c.method + " " + c.path + " " + c.body);
    if (r) {
      EXPECT_NE(r->body.find(c.needle), std::string::npos) << c.path << ": " << r->body;
    }
  }
}

TEST_F(HostileInputTest, ACacheClientCannotReadOrRewriteACachedModelAnswer) {
  const json req = {{"input", "what is the scope of a cache key?"}};
  auto first = sidecar_->post_execution(req, "?wait=10s");
  ASSERT_TRUE(first && first->status == 200) << (first ? first->body : "no answer");
  const json a = json::parse(first->body);
  ASSERT_EQ(a["state"], "succeeded") << a;
  const std::string answer = a["output"];
  auto again = sidecar_->post_execution(req, "?wait=10s");
  ASSERT_TRUE(again && again->status == 200);
  ASSERT_EQ(json::parse(again->body)["cached"], true) << again->body;

  // The key the engine stored, as Redis has it.
  std::string keys = redis_->cli("--scan --pattern *");
  std::string engine_key;
  std::istringstream lines(keys);
  for (std::string k; std::getline(lines, k);)
    if (k.find("resp") != std::string::npos) engine_key = k;
  ASSERT_FALSE(engine_key.empty()) << keys;
  const std::string prefix = "agentry:test:cache:";
  ASSERT_EQ(engine_key.rfind(prefix, 0), 0u) << engine_key;
  const std::string stored = engine_key.substr(prefix.size());  // the service-level key
  const std::string hash = stored.substr(stored.rfind(':') + 1);

  // Every way a client might name it: the stored key, its parts, traversal, encodings, prefixes.
  const std::vector<std::string> names = {
      stored,
      engine_key,
      hash,
      "resp:" + hash,
      "resp:resp:" + hash,
      "api:../" + stored,
      "../" + stored,
      "..%2f" + stored,
      "%2e%2e/" + stored,
      "%72%65%73%70:" + hash,  // "resp" percent-encoded
      "api:" + stored,
      "/" + stored,
      "./" + stored,
  };
  for (const auto& n : names) {
    auto got = send("GET", "/v1/cache/" + n);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 404) << n << ": " << got->body;
    EXPECT_EQ(got->body.find(answer), std::string::npos) << n;
    auto put = send("PUT", "/v1/cache/" + n, "POISONED", "application/octet-stream");
    ASSERT_TRUE(put);
    (void)send("DELETE", "/v1/cache/" + n);
  }
  EXPECT_EQ(redis_->cli("GET " + engine_key), answer);
  auto after = sidecar_->post_execution(req, "?wait=10s");
  ASSERT_TRUE(after && after->status == 200);
  const json b = json::parse(after->body);
  EXPECT_EQ(b["cached"], true) << b;
  EXPECT_EQ(b["output"], answer) << b;

  // And what a client stores is under its own space, readable by it.
  auto put = send("PUT", "/v1/cache/mine", "value", "application/octet-stream");
  ASSERT_TRUE(put && put->status == 200) << (put ? put->body : "");
  EXPECT_EQ(redis_->cli("GET " + prefix + "api:mine"), "value");
  auto mine = send("GET", "/v1/cache/mine");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->body, "value");
}

}  // namespace
}  // namespace agentry::testing
