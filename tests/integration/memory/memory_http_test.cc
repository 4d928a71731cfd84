// The HTTP routes through a real process (agentry-memory-testd): bad input as clear 4xx, auth,
// pagination, cache routes, kill -9 of the embedded store with every acknowledged entry back, and
// two processes sharing one Redis.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/memory/wait.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const char* kToken = "s3cret";

struct Testd {
  int port = free_port();
  std::unique_ptr<Process> proc;
  TempDir logs{"testd"};

  bool start(const std::vector<std::string>& extra) {
    Process::Options o;
    o.argv = {std::string(AGENTRY_MEMORY_TESTD_BIN), "--port",
              std::to_string(port), "--token", kToken};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    o.log_path = logs.file("testd.log");
    proc = std::make_unique<Process>(o);
    std::string err;
    if (!proc->start(&err)) return false;
    return wait_for_port(port, 10s);
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_bearer_token_auth(kToken);
    c.set_read_timeout(10, 0);
    return c;
  }
};

json body(const httplib::Result& r) { return json::parse(r->body, nullptr, false); }

std::string error_code(const httplib::Result& r) {
  auto j = body(r);
  return j.is_object() && j.contains("error") ? j["error"]["code"].get<std::string>() : "";
}

TEST(MemoryHttp, BadInputIsAClear4xx) {
  TempDir dir("mem");
  Testd d;
  ASSERT_TRUE(d.start({"--dir", dir.path()}));
  auto c = d.client();
  auto ok = c.Post("/v1/memory", R"({"text":"hello world"})", "application/json");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 201) << ok->body;

  struct Case {
    const char* what;
    std::string path, body;
    int status;
  };
  std::vector<Case> cases = {
      {"wrong vector dim", "/v1/memory", R"({"text":"x","embedding":[1,2,3]})", 400},
      {"empty text", "/v1/memory", R"({"text":""})", 400},
      {"missing text", "/v1/memory", R"({"session":"s"})", 400},
      {"oversize text", "/v1/memory", json{{"text", std::string(40000, 'a')}}.dump(), 413},
      {"bad ttl", "/v1/memory", R"({"text":"x","ttl":-3})", 400},
      {"ttl not a number", "/v1/memory", R"({"text":"x","ttl":"soon"})", 400},
      {"metadata not strings", "/v1/memory", R"({"text":"x","metadata":{"a":1}})", 400},
      {"not json", "/v1/memory", "{nope", 400},
      {"unknown field", "/v1/memory", R"({"text":"x","colour":"red"})", 400},
      {"search wrong dim", "/v1/memory/search", R"({"vector":[0.1,0.2]})", 400},
      {"search invalid filter", "/v1/memory/search", R"({"query":"x","filter":["a"]})", 400},
      {"search filter value", "/v1/memory/search", R"({"query":"x","filter":{"a":{"b":1}}})", 400},
      {"search no query", "/v1/memory/search", R"({"k":3})", 400},
      {"search both", "/v1/memory/search", R"({"query":"x","vector":[1]})", 400},
      {"search k zero", "/v1/memory/search", R"({"query":"x","k":0})", 400},
      {"search k huge", "/v1/memory/search", R"({"query":"x","k":5000})", 400},
      {"search minScore", "/v1/memory/search", R"({"query":"x","minScore":"high"})", 400},
  };
  for (const auto& tc : cases) {
    auto r = c.Post(tc.path, tc.body, "application/json");
    ASSERT_TRUE(r) << tc.what;
    EXPECT_EQ(r->status, tc.status) << tc.what << ": " << r->body;
    EXPECT_FALSE(error_code(r).empty()) << tc.what << ": " << r->body;
    EXPECT_FALSE(body(r)["error"]["message"].get<std::string>().empty()) << tc.what;
  }
  auto unknown = c.Get("/v1/memory/m-does-not-exist");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(error_code(unknown), "not_found");
  EXPECT_EQ(c.Delete("/v1/memory/m-does-not-exist")->status, 404);
  EXPECT_EQ(c.Get("/v1/memory?limit=0")->status, 400);
  EXPECT_EQ(c.Get("/v1/memory?continue=zz")->status, 400);

  // Cache: bad TTL, oversize value, bad key, unknown key.
  EXPECT_EQ(c.Put("/v1/cache/k?ttl=abc", "v", "text/plain")->status, 400);
  EXPECT_EQ(c.Put("/v1/cache/k?ttl=0", "v", "text/plain")->status, 400);
  EXPECT_EQ(c.Put("/v1/cache/k?ttl=99999999", "v", "text/plain")->status, 400);
  EXPECT_EQ(c.Put("/v1/cache/k", R"({"value":"v","ttl":-1})", "application/json")->status, 400);
  EXPECT_EQ(c.Put("/v1/cache/k", std::string(2 << 20, 'x'), "text/plain")->status, 413);
  EXPECT_EQ(c.Put("/v1/cache/" + std::string(600, 'k'), "v", "text/plain")->status, 400);
  EXPECT_EQ(c.Put("/v1/cache/a%20b", "v", "text/plain")->status, 400);
  EXPECT_EQ(c.Get("/v1/cache/never-set")->status, 404);
  EXPECT_EQ(c.Delete("/v1/cache/never-set")->status, 404);

  // Auth.
  httplib::Client anon("127.0.0.1", d.port);
  auto denied = anon.Get("/v1/memory");
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(error_code(denied), "unauthenticated");
  EXPECT_EQ(anon.Get("/v1/cache")->status, 401);
  EXPECT_EQ(anon.Get("/healthz")->status, 200);
}

TEST(MemoryHttp, RoutesRoundTripAndPaginate) {
  Testd d;
  ASSERT_TRUE(d.start({}));
  auto c = d.client();
  json batch = {{"entries", json::array()}};
  for (int i = 0; i < 25; ++i)
    batch["entries"].push_back({{"text", "note " + std::to_string(i)},
                                {"session", i < 5 ? "alpha" : "beta"},
                                {"metadata", {{"n", std::to_string(i)}}}});
  auto r = c.Post("/v1/memory", batch.dump(), "application/json");
  ASSERT_EQ(r->status, 201) << r->body;
  ASSERT_EQ(body(r)["entries"].size(), 25u);
  std::set<std::string> ids;
  std::string cont;
  for (int page = 0; page < 10; ++page) {
    auto l = c.Get("/v1/memory?limit=10" + (cont.empty() ? "" : "&continue=" + cont));
    ASSERT_EQ(l->status, 200);
    auto j = body(l);
    for (auto& e : j["items"]) ids.insert(e["id"].get<std::string>());
    if (!j.contains("continue")) break;
    cont = j["continue"].get<std::string>();
  }
  EXPECT_EQ(ids.size(), 25u);
  EXPECT_EQ(body(c.Get("/v1/memory?session=alpha&limit=100"))["items"].size(), 5u);
  auto s = c.Post("/v1/memory/search",
                  R"({"query":"note 7","k":3,"session":"beta","filter":{"n":"7"}})",
                  "application/json");
  ASSERT_EQ(s->status, 200) << s->body;
  auto hits = body(s)["results"];
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["text"], "note 7");
  std::string id = hits[0]["id"];
  auto g = c.Get("/v1/memory/" + id + "?embedding=true");
  ASSERT_EQ(g->status, 200);
  EXPECT_EQ(body(g)["embedding"].size(), 384u);
  EXPECT_EQ(c.Delete("/v1/memory/" + id)->status, 204);
  EXPECT_EQ(c.Get("/v1/memory/" + id)->status, 404);

  auto put = c.Put("/v1/cache/greeting", R"({"value":"hi","ttl":30})", "application/json");
  ASSERT_EQ(put->status, 200) << put->body;
  auto got = c.Get("/v1/cache/greeting");
  ASSERT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "hi");
  EXPECT_LE(std::stoll(got->get_header_value("X-Cache-TTL-Ms")), 30000);
  auto stats = body(c.Get("/v1/cache"));
  EXPECT_EQ(stats["l1"]["entries"], 1);
  EXPECT_EQ(c.Delete("/v1/cache/greeting")->status, 204);
}

TEST(MemoryHttp, KillNineKeepsEveryAcknowledgedEntry) {
  TempDir dir("mem-kill");
  Testd d;
  ASSERT_TRUE(d.start({"--dir", dir.path()}));
  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      auto c = d.client();
      c.set_read_timeout(2, 0);
      for (int i = 0; i < 100000 && !stop; ++i) {
        json e = {{"text", "writer " + std::to_string(t) + " fact " + std::to_string(i)},
                  {"session", "w" + std::to_string(t)}};
        auto r = c.Post("/v1/memory", e.dump(), "application/json");
        if (!r) break;  // the server is gone
        if (r->status == 201) {
          std::lock_guard<std::mutex> l(mu);
          acked.push_back(body(r)["id"]);
        }
      }
    });
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> l(mu);
    return acked.size() >= 300;
  }, 30s));
  d.proc->stop(SIGKILL, 5s);  // mid-write: requests are in flight
  stop = true;
  for (auto& w : writers) w.join();
  std::vector<std::string> all;
  {
    std::lock_guard<std::mutex> l(mu);
    all = acked;
  }
  Testd again;
  ASSERT_TRUE(again.start({"--dir", dir.path()}));
  auto c = again.client();
  std::set<std::string> listed;
  std::string cont;
  for (int page = 0; page < 1000; ++page) {
    auto l = c.Get("/v1/memory?limit=1000" + (cont.empty() ? "" : "&continue=" + cont));
    ASSERT_TRUE(l);
    auto j = body(l);
    for (auto& e : j["items"]) listed.insert(e["id"].get<std::string>());
    if (!j.contains("continue")) break;
    cont = j["continue"].get<std::string>();
  }
  size_t missing = 0;
  for (const auto& id : all) missing += listed.count(id) ? 0 : 1;
  EXPECT_EQ(missing, 0u) << "of " << all.size() << " acknowledged entries";
  std::printf("acknowledged before kill -9: %zu, present after restart: %zu\n", all.size(),
              listed.size());
  // Searchable again, too.
  auto s = c.Post("/v1/memory/search", R"({"query":"writer 0 fact 1","k":1,"session":"w0"})",
                  "application/json");
  ASSERT_EQ(s->status, 200);
  EXPECT_EQ(body(s)["results"].size(), 1u);
}

TEST(MemoryHttp, TwoProcessesShareOneRedis) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  std::string addr = "127.0.0.1:" + std::to_string(redis.port());
  Testd a, b;
  ASSERT_TRUE(a.start({"--redis", addr}));
  ASSERT_TRUE(b.start({"--redis", addr}));
  auto ca = a.client(), cb = b.client();
  // Cache: written on a, read on b; rewritten and deleted on a, seen by b within the window.
  ASSERT_EQ(ca.Put("/v1/cache/plan?ttl=60", "v1", "text/plain")->status, 200);
  ASSERT_EQ(cb.Get("/v1/cache/plan")->body, "v1");
  ASSERT_TRUE(eventually([&] { return cb.Get("/v1/cache/plan")->get_header_value("X-Cache-Source") == "l1"; }, 5s));
  ASSERT_EQ(ca.Put("/v1/cache/plan?ttl=60", "v2", "text/plain")->status, 200);
  EXPECT_TRUE(eventually([&] { return cb.Get("/v1/cache/plan")->body == "v2"; }, 1s, 1ms));
  ASSERT_EQ(ca.Delete("/v1/cache/plan")->status, 204);
  EXPECT_TRUE(eventually([&] { return cb.Get("/v1/cache/plan")->status == 404; }, 1s, 1ms));
  // Memory: written on a, found by a search on b.
  auto w = ca.Post("/v1/memory", R"({"text":"the database migration runs on sundays"})",
                   "application/json");
  ASSERT_EQ(w->status, 201) << w->body;
  std::string id = body(w)["id"];
  EXPECT_TRUE(eventually([&] {
    auto s = cb.Post("/v1/memory/search", R"({"query":"database migration sundays","k":1})",
                     "application/json");
    auto j = body(s);
    return s->status == 200 && j["results"].size() == 1 && j["results"][0]["id"] == id;
  }, 5s, 2ms));
  // Redis goes away: both degrade (readyz says why) and recover by themselves.
  redis.kill();
  EXPECT_TRUE(eventually([&] { return cb.Get("/readyz")->status == 503; }, 10s, 20ms));
  auto why = httplib::Client("127.0.0.1", b.port).Get("/readyz?verbose");
  EXPECT_NE(why->body.find("redis"), std::string::npos) << why->body;
  EXPECT_EQ(cb.Get("/v1/memory/" + id)->status, 200) << "reads are served from the local index";
  EXPECT_EQ(ca.Post("/v1/memory", R"({"text":"during the outage"})", "application/json")->status, 503);
  ASSERT_TRUE(redis.start(&err)) << err;
  EXPECT_TRUE(eventually([&] { return ca.Get("/readyz")->status == 200 && cb.Get("/readyz")->status == 200; }, 15s, 20ms));
  EXPECT_EQ(ca.Post("/v1/memory", R"({"text":"after the outage"})", "application/json")->status, 201);
  EXPECT_TRUE(a.proc->running());
  EXPECT_TRUE(b.proc->running());
}

// Issue 23 through real processes: two replicas on one Redis, 1,000 facts, then exchanges
// churned through both while one replica and then Redis are killed with -9 and started again.
// Every acknowledged fact is still there on both replicas, the fact count in Redis is exactly
// 1,000, exchanges stay within their bound, and a restarted replica has the right kinds and counts.
TEST(MemoryHttp, ExchangeChurnWithKillNineOfAReplicaAndOfRedisKeepsEveryFact) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  const std::vector<std::string> flags = {"--redis", "127.0.0.1:" + std::to_string(redis.port()),
                                          "--max-entries", "1000", "--max-exchanges", "300"};
  Testd a, b;
  ASSERT_TRUE(a.start(flags) && b.start(flags));
  std::vector<std::string> facts;
  {
    auto c = a.client();
    for (int i = 0; i < 1000; i += 100) {
      json batch = {{"entries", json::array()}};
      for (int j = i; j < i + 100; ++j) batch["entries"].push_back({{"text", "kept fact " + std::to_string(j)}});
      auto r = c.Post("/v1/memory", batch.dump(), "application/json");
      ASSERT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
      for (const auto& e : body(r)["entries"]) facts.push_back(e["id"]);
    }
    auto full = c.Post("/v1/memory", R"({"text":"the 1001st fact"})", "application/json");
    ASSERT_TRUE(full);
    EXPECT_EQ(full->status, 507) << full->body;
  }
  std::atomic<bool> stop{false};
  std::atomic<int> exchanges_ok{0};
  auto churn = [&](Testd* d) {
    for (int i = 0; !stop; ++i) {
      auto c = d->client();
      c.set_connection_timeout(0, 200000);
      json e = {{"text", "User: q" + std::to_string(i) + "\nAssistant: a"}, {"kind", "exchange"}};
      auto r = c.Post("/v1/memory", e.dump(), "application/json");
      if (r && r->status == 201) ++exchanges_ok;
      else std::this_thread::sleep_for(20ms);
    }
  };
  std::thread ta(churn, &a), tb(churn, &b);
  std::this_thread::sleep_for(1s);
  a.proc->stop(SIGKILL);
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(a.start(flags));
  std::this_thread::sleep_for(1s);
  redis.kill();
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(redis.start(&err)) << err;
  std::this_thread::sleep_for(2s);
  stop = true;
  ta.join();
  tb.join();
  EXPECT_GT(exchanges_ok.load(), 300) << "the churn did not get going";
  EXPECT_EQ(redis.cli("ZCARD agentry:mem:z:default:0"), "1000");
  EXPECT_LE(std::atoi(redis.cli("ZCARD agentry:mem:z:default:1").c_str()), 300);
  for (Testd* d : {&a, &b}) {
    auto c = d->client();
    ASSERT_TRUE(eventually([&] {
      auto r = c.Get("/v1/memory?limit=1");
      return r && r->status == 200 && body(r)["stats"]["facts"] == 1000;
    }, 10s)) << "replica on :" << d->port;
    int missing = 0;
    for (size_t i = 0; i < facts.size(); i += 7) {
      auto r = c.Get("/v1/memory/" + facts[i]);
      if (!r || r->status != 200 || body(r)["kind"] != "fact") ++missing;
    }
    EXPECT_EQ(missing, 0) << "replica on :" << d->port;
    auto stats = body(c.Get("/v1/memory?limit=1"))["stats"];
    EXPECT_LE(stats["exchanges"].get<int>(), 300) << stats;
    EXPECT_EQ(stats["evictions"]["fact"]["bound"], 0) << stats;
  }
  std::printf("churn through two processes: %d exchanges acknowledged\n", exchanges_ok.load());
}

}  // namespace
}  // namespace agentry::testing
