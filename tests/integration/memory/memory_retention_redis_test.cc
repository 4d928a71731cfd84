// Memory retention (issue 23) in a real Redis shared by two replicas (two MemoryService
// instances): the bounds are enforced by the write script, so concurrent writers on both replicas
// never overshoot the fact bound in Redis and both see 507 at once; evictOldest evicts exactly the
// oldest facts and every replica drops them; exchanges churn without pushing out a fact; a Redis
// kill -9 mid-churn loses nothing acknowledged and keeps kinds and counts; data written before
// kinds (format 1, no per-kind sets) loads with its kinds and is bounded afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "sidecar/memory/memory_service.h"
#include "tests/integration/memory/wait.h"
#include "tests/support/redis_server.h"

namespace agentry::memory {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::RedisServer;

std::unique_ptr<MemoryService> replica(const RedisServer& redis, const std::string& name,
                                       const Limits& limits) {
  MemoryOptions o;
  o.persistence = MemoryOptions::Persistence::kRedis;
  o.limits = limits;
  redis::RedisOptions r;
  r.host = redis.host();
  r.port = redis.port();
  r.name = name;
  r.op_timeout = 2000ms;
  r.connect_timeout = 200ms;
  o.redis = r;
  o.redis_backend.block = 200ms;
  auto s = MemoryService::open(o, std::make_shared<LocalEmbedder>(64));
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? std::move(s.value()) : nullptr;
}

NewEntry fact(const std::string& t) {
  NewEntry e;
  e.text = t;
  return e;
}

long long redis_int(const RedisServer& r, const std::string& cmd) {
  return std::atoll(r.cli(cmd).c_str());
}

// Entry hashes of an agent in Redis, by kind field.
long long hashes_of_kind(const RedisServer& r, const std::string& kind) {
  std::string keys = r.cli("--scan --pattern agentry:mem:e:default:*");
  long long n = 0;
  std::istringstream in(keys);
  for (std::string k; std::getline(in, k);) {
    if (!k.empty() && r.cli("HGET " + k + " kind") == kind) ++n;
  }
  return n;
}

TEST(MemoryRetentionRedis, TheFactBoundHoldsAcrossReplicasUnderConcurrentWriters) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  Limits l;
  l.max_entries_per_agent = 150;
  auto a = replica(redis, "ret-a", l);
  auto b = replica(redis, "ret-b", l);
  ASSERT_TRUE(a && b);
  std::atomic<int> ok{0}, full_a{0}, full_b{0}, other{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&, t] {
      MemoryService& m = t % 2 ? *b : *a;
      for (int i = 0; i < 40; ++i) {
        auto r = m.add({fact("writer " + std::to_string(t) + " fact " + std::to_string(i))});
        if (r.ok())
          ++ok;
        else if (r.status().http_status() == 507)
          ++(t % 2 ? full_b : full_a);
        else
          ++other;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load(), 150);
  EXPECT_GT(full_a.load(), 0) << "replica a never refused";
  EXPECT_GT(full_b.load(), 0) << "replica b never refused";
  EXPECT_EQ(full_a.load() + full_b.load(), 320 - 150);
  EXPECT_EQ(redis_int(redis, "ZCARD agentry:mem:z:default:0"), 150);
  EXPECT_EQ(hashes_of_kind(redis, "0"), 150);
  // Both replicas converge on the same 150.
  EXPECT_TRUE(eventually(
      [&] {
        return a->store().count("default", Kind::kFact) == 150 &&
               b->store().count("default", Kind::kFact) == 150;
      },
      5s, 5ms));
  // A delete frees a slot for exactly one more write.
  auto page = a->list("", Filter{}, 1, "");
  ASSERT_TRUE(page.ok() && !page->items.empty());
  ASSERT_TRUE(a->remove("", page->items[0].id).is_ok());
  EXPECT_TRUE(b->add({fact("after a delete")}).ok());
  EXPECT_EQ(a->add({fact("and one too many")}).status().http_status(), 507);
}

TEST(MemoryRetentionRedis, EvictOldestEvictsExactlyTheOldestFactsOnEveryReplica) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  Limits l;
  l.max_entries_per_agent = 10;
  l.on_full = Limits::OnFull::kEvictOldest;
  auto a = replica(redis, "ev-a", l);
  auto b = replica(redis, "ev-b", l);
  ASSERT_TRUE(a && b);
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    auto r = (i % 2 ? *b : *a).add({fact("window " + std::to_string(i))});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ids.push_back(r->front().id);
    std::this_thread::sleep_for(2ms);  // distinct createdAt: "oldest" is unambiguous
  }
  EXPECT_EQ(redis_int(redis, "ZCARD agentry:mem:z:default:0"), 10);
  EXPECT_EQ(a->evictions().fact_bound + b->evictions().fact_bound, 20u);
  for (auto* m : {a.get(), b.get()}) {
    EXPECT_TRUE(
        eventually([&] { return m->store().count("default", Kind::kFact) == 10; }, 5s, 5ms));
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(m->get("", ids[i], false).ok()) << i;
    for (int i = 20; i < 30; ++i) EXPECT_TRUE(m->get("", ids[i], false).ok()) << i;
  }
}

// 1,000 facts, then 200,000 exchanges remembered through both replicas (the engine's path), with
// Redis killed (-9) and restarted in the middle: every acknowledged fact is there and found by its
// exact text, exchanges stay within their bound, and counts and kinds are right after a reload.
TEST(MemoryRetentionRedis, ChurnOfExchangesWithARedisCrashKeepsEveryFact) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  Limits l;
  l.max_entries_per_agent = 1000;
  l.max_exchanges_per_agent = 500;
  auto a = replica(redis, "churn-a", l);
  auto b = replica(redis, "churn-b", l);
  ASSERT_TRUE(a && b);
  std::vector<std::pair<std::string, std::string>> facts;
  for (int i = 0; i < 1000; i += 50) {
    std::vector<NewEntry> batch;
    for (int j = i; j < i + 50; ++j) batch.push_back(fact("durable fact " + std::to_string(j)));
    auto r = a->add(std::move(batch));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    for (const auto& e : *r) facts.emplace_back(e.id, e.text);
  }
  const int kExchanges = 200000;
  std::thread churn([&] {
    for (int i = 0; i < kExchanges; ++i)
      (i % 2 ? *b : *a)
          .remember("", "s" + std::to_string(i % 13), "q" + std::to_string(i),
                    "answer " + std::to_string(i));
  });
  std::this_thread::sleep_for(500ms);
  redis.kill();
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(redis.start(&err)) << err;
  churn.join();
  a->drain();
  b->drain();
  EXPECT_LE(redis_int(redis, "ZCARD agentry:mem:z:default:1"), 500);
  EXPECT_EQ(redis_int(redis, "ZCARD agentry:mem:z:default:0"), 1000);
  // A fresh replica loads the same kinds and counts.
  auto c = replica(redis, "churn-c", l);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->store().count("default", Kind::kFact), 1000u);
  EXPECT_LE(c->store().count("default", Kind::kExchange), 500u);
  EXPECT_GT(c->store().count("default", Kind::kExchange), 0u);
  for (const auto& [id, text] : facts) {
    auto e = c->get("", id, false);
    ASSERT_TRUE(e.ok()) << id;
    EXPECT_EQ(e->kind, Kind::kFact);
  }
  int found = 0;
  for (size_t i = 0; i < facts.size(); i += 10) {
    SearchRequest s;
    s.query = facts[i].second;
    s.k = 10;
    auto r = c->search(s);
    ASSERT_TRUE(r.ok());
    for (const auto& h : r->hits) found += h.entry.id == facts[i].first;
  }
  EXPECT_EQ(found, 100) << "every sampled fact is found by its exact text";
  const auto ev = a->evictions();
  const auto evb = b->evictions();
  EXPECT_EQ(ev.fact_bound + evb.fact_bound, 0u);
  EXPECT_GT(ev.exchange_bound + evb.exchange_bound, 0u);
  std::printf("churn: %d exchanges remembered, %llu evicted, %llu+%llu failed writes\n", kExchanges,
              static_cast<unsigned long long>(ev.exchange_bound + evb.exchange_bound),
              static_cast<unsigned long long>(a->stats()["remember"]["failed"].get<uint64_t>()),
              static_cast<unsigned long long>(b->stats()["remember"]["failed"].get<uint64_t>()));
}

// Data written by the code before kinds: format 1 records in hashes without a kind field and no
// per-kind sets. The first replica to load builds the sets; the bound then counts the old facts.
TEST(MemoryRetentionRedis, DataWrittenBeforeKindsLoadsWithKindsAndIsBounded) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  auto v1 = [](const std::string& id, bool exchange, int64_t created) {
    Op op;
    op.entry.agent = "default";
    op.entry.id = id;
    op.entry.text = exchange ? "User: old\nAssistant: chat" : "an old fact " + id;
    if (exchange) op.entry.metadata["kind"] = "exchange";
    op.entry.embedding = LocalEmbedder(64).embed_one(op.entry.text);
    op.entry.created_ms = created;
    op.entry.rev = 1;
    std::string rec = encode(op);
    rec.pop_back();  // format 1: no kind byte
    rec[0] = 1;
    return rec;
  };
  // Write them the way the old code did (HSET of data, session, text, createdAt).
  for (int i = 0; i < 5; ++i) {
    for (bool ex : {false, true}) {
      const std::string id = std::string(ex ? "x" : "f") + std::to_string(i);
      redis::RedisOptions ro;
      ro.host = redis.host();
      ro.port = redis.port();
      ro.name = "seed";
      redis::RedisPool pool(ro);
      auto r = pool.command({"HSET", "agentry:mem:e:default:" + id, "data", v1(id, ex, 1000 + i),
                             "session", "", "text", "t", "createdAt", std::to_string(1000 + i)});
      ASSERT_TRUE(r.ok());
    }
  }
  Limits l;
  l.max_entries_per_agent = 6;
  l.max_exchanges_per_agent = 5;
  auto a = replica(redis, "old-a", l);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->store().count("default", Kind::kFact), 5u);
  EXPECT_EQ(a->store().count("default", Kind::kExchange), 5u);
  EXPECT_EQ(redis.cli("GET agentry:mem:zver"), "1");
  EXPECT_EQ(redis_int(redis, "ZCARD agentry:mem:z:default:0"), 5);
  EXPECT_EQ(redis_int(redis, "ZCARD agentry:mem:z:default:1"), 5);
  EXPECT_TRUE(a->add({fact("the sixth fact")}).ok());
  EXPECT_EQ(a->add({fact("the seventh fact")}).status().http_status(), 507);
  // A new exchange evicts the oldest old exchange (x0), never a fact.
  a->remember("", "", "new", "exchange");
  a->drain();
  EXPECT_FALSE(a->get("", "x0", false).ok());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(a->get("", "f" + std::to_string(i), false).ok()) << i;
}

}  // namespace
}  // namespace agentry::memory
