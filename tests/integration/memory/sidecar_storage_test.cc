// The real agentry-sidecar with cache and memory mounted (sidecar/storage_routes.cc): two sidecars
// share one Redis; the embedded store survives kill -9; an execution is remembered and recalled.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/integration/memory/wait.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const char* kToken = "memory-test-token-0123456789";

struct Sidecar {
  TempDir dir{"sidecar-mem"};
  int port = free_port();
  std::unique_ptr<Process> proc;

  bool start(const std::string& extra_yaml, int llm_port) {
    write_file(dir.file("token"), kToken);
    std::string yaml = "server:\n  listen: 127.0.0.1:" + std::to_string(port) +
                       "\n  tokenFile: " + dir.file("token") +
                       "\n  threads: 32\n  shutdownGraceSeconds: 0\n"
                       "provider:\n  type: ollama\n  endpoint: http://127.0.0.1:" +
                       std::to_string(llm_port) +
                       "\n  model: fake\n  connectTimeoutMs: 500\n  retries: 0\n"
                       "agent:\n  name: test\n" +
                       extra_yaml;
    write_file(dir.file("config.yaml"), yaml);
    Process::Options o;
    o.argv = {AGENTRY_SIDECAR_BIN, "--config", dir.file("config.yaml")};
    o.log_path = dir.file("sidecar.log");
    proc = std::make_unique<Process>(o);
    if (!proc->start()) return false;
    return wait_for_port(port, 15s);
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_bearer_token_auth(kToken);
    c.set_read_timeout(10, 0);
    return c;
  }
};

json body(const httplib::Result& r) {
  return r ? json::parse(r->body, nullptr, false) : json();
}

TEST(SidecarStorage, TwoSidecarsShareCacheAndMemoryThroughRedis) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  std::string yaml = "cache:\n  redisUrl: redis://127.0.0.1:" + std::to_string(redis.port()) +
                     "\nmemory:\n  backend: redis\n";
  Sidecar a, b;
  int no_llm = free_port();
  ASSERT_TRUE(a.start(yaml, no_llm)) << a.proc->log_tail();
  ASSERT_TRUE(b.start(yaml, no_llm)) << b.proc->log_tail();
  auto ca = a.client(), cb = b.client();
  auto put = ca.Put("/v1/cache/shared?ttl=60", "one", "text/plain");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  ASSERT_EQ(cb.Get("/v1/cache/shared")->body, "one");
  ASSERT_EQ(ca.Put("/v1/cache/shared?ttl=60", "two", "text/plain")->status, 200);
  EXPECT_TRUE(eventually([&] { return cb.Get("/v1/cache/shared")->body == "two"; }, 1s, 1ms));
  ASSERT_EQ(ca.Delete("/v1/cache/shared")->status, 204);
  EXPECT_TRUE(eventually([&] { return cb.Get("/v1/cache/shared")->status == 404; }, 1s, 1ms));

  auto w = ca.Post("/v1/memory",
                   R"({"text":"the on-call rotation changes every monday","session":"ops"})",
                   "application/json");
  ASSERT_EQ(w->status, 201) << w->body;
  std::string id = body(w)["id"];
  EXPECT_TRUE(eventually(
      [&] {
        auto s = cb.Post("/v1/memory/search",
                         R"({"query":"on-call rotation monday","k":1,"session":"ops"})",
                         "application/json");
        auto j = body(s);
        return s && s->status == 200 && j["results"].size() == 1 && j["results"][0]["id"] == id;
      },
      5s, 2ms));
  // Bad input is a JSON 4xx through the sidecar's own error handling too.
  auto bad = cb.Post("/v1/memory", R"({"text":"x","embedding":[1,2]})", "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(body(bad).contains("error")) << bad->body;
  httplib::Client anon("127.0.0.1", a.port);
  EXPECT_EQ(anon.Get("/v1/memory")->status, 401);
}

TEST(SidecarStorage, EmbeddedMemorySurvivesKillNine) {
  TempDir mem("sidecar-memdir");
  std::string yaml = "memory:\n  backend: embedded\n  dir: " + mem.path() + "\n";
  int no_llm = free_port();
  std::vector<std::string> acked;
  {
    Sidecar s;
    ASSERT_TRUE(s.start(yaml, no_llm)) << s.proc->log_tail();
    auto c = s.client();
    for (int i = 0; i < 100; ++i) {
      auto r = c.Post("/v1/memory", json{{"text", "fact number " + std::to_string(i)}}.dump(),
                      "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 201) << r->body;
      acked.push_back(body(r)["id"]);
    }
    s.proc->stop(SIGKILL, 5s);
  }
  Sidecar again;
  ASSERT_TRUE(again.start(yaml, no_llm)) << again.proc->log_tail();
  auto c = again.client();
  for (const auto& id : acked) EXPECT_EQ(c.Get("/v1/memory/" + id)->status, 200) << id;
  // The memory gauges, refreshed at the scrape, count what came back from the log.
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("\nagentry_memory_entries 100\n"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("\nagentry_memory_writes_waiting 0\n"), std::string::npos);
  EXPECT_NE(m->body.find("\nagentry_memory_index_backlog "), std::string::npos);
}

TEST(SidecarStorage, AnExecutionIsRememberedAndItsSessionRecalled) {
  int llm_port = free_port();
  TempDir logs("fake-llm");
  Process::Options lo;
  lo.argv = {AGENTRY_FAKE_LLM_BIN, "--port", std::to_string(llm_port)};
  lo.log_path = logs.file("llm.log");
  Process llm(lo);
  ASSERT_TRUE(llm.start());
  ASSERT_TRUE(wait_for_port(llm_port, 10s));
  Sidecar s;
  ASSERT_TRUE(s.start("", llm_port)) << s.proc->log_tail();
  auto c = s.client();
  auto r = c.Post("/v1/executions?wait=10",
                  R"({"input":"remember that the launch code is blue falcon","sessionId":"u1"})",
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_LT(r->status, 300) << r->body;
  EXPECT_TRUE(eventually(
      [&] {
        auto l = c.Get("/v1/memory?session=u1");
        return l && body(l)["items"].size() == 1;
      },
      10s, 10ms));
  auto l = body(c.Get("/v1/memory?session=u1"));
  EXPECT_NE(l["items"][0]["text"].get<std::string>().find("blue falcon"), std::string::npos);
  EXPECT_EQ(l["items"][0]["kind"], "exchange");
}

// Issue 23 at the seam: executions (the engine remembering each exchange) never push out a fact
// written through the API; facts are refused at their bound with a 507 naming memory.maxEntries;
// the evictions and the refusal are counted in /metrics and in the stats of GET /v1/memory.
TEST(SidecarStorage, ExecutionsNeverPushOutFactsAndTheFactBoundRefuses) {
  int llm_port = free_port();
  TempDir logs("fake-llm");
  Process::Options lo;
  lo.argv = {AGENTRY_FAKE_LLM_BIN, "--port", std::to_string(llm_port)};
  lo.log_path = logs.file("llm.log");
  Process llm(lo);
  ASSERT_TRUE(llm.start());
  ASSERT_TRUE(wait_for_port(llm_port, 10s));
  Sidecar s;
  ASSERT_TRUE(s.start("memory:\n  maxEntries: 5\n  exchanges:\n    maxEntries: 3\n", llm_port))
      << s.proc->log_tail();
  auto c = s.client();
  std::vector<std::string> facts;
  for (int i = 0; i < 5; ++i) {
    auto r = c.Post("/v1/memory", json{{"text", "kept fact " + std::to_string(i)}}.dump(),
                    "application/json");
    ASSERT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
    facts.push_back(body(r)["id"]);
  }
  for (int i = 0; i < 20; ++i) {
    auto r = c.Post("/v1/executions?wait=10",
                    json{{"input", "question " + std::to_string(i)}}.dump(), "application/json");
    ASSERT_TRUE(r && r->status < 300) << (r ? r->body : "no answer");
  }
  json stats;
  EXPECT_TRUE(eventually(
      [&] {
        stats = body(c.Get("/v1/memory?limit=1"))["stats"];
        return stats.is_object() && stats["evictions"]["exchange"]["bound"] == 17;
      },
      10s, 10ms))
      << stats;
  for (const auto& id : facts) EXPECT_EQ(c.Get("/v1/memory/" + id)->status, 200) << id;
  EXPECT_EQ(stats["facts"], 5);
  EXPECT_EQ(stats["exchanges"], 3);
  auto full = c.Post("/v1/memory", R"({"text":"the sixth fact"})", "application/json");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 507) << full->body;
  EXPECT_EQ(body(full)["error"]["code"], "resource_exhausted") << full->body;
  EXPECT_NE(full->body.find("memory.maxEntries (5)"), std::string::npos) << full->body;
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("agentry_memory_evictions_total{kind=\"exchange\",reason=\"bound\"} 17"),
            std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("agentry_memory_writes_refused_full_total 1"), std::string::npos);
  EXPECT_NE(m->body.find("agentry_memory_fill_ratio{kind=\"fact\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace agentry::testing
