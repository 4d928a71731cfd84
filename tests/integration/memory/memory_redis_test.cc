// Memory in a real Redis shared by two replicas (two MemoryService instances): a write on one is
// found by a search on the other, deletes follow, a new replica loads everything, and a Redis
// crash (AOF, appendfsync always) loses no acknowledged entry: replicas catch up after it.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "sidecar/memory/memory_service.h"
#include "tests/integration/memory/wait.h"
#include "tests/support/redis_server.h"

namespace agentry::memory {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::RedisServer;

MemoryOptions redis_options(const RedisServer& redis, const std::string& name) {
  MemoryOptions o;
  o.persistence = MemoryOptions::Persistence::kRedis;
  redis::RedisOptions r;
  r.host = redis.host();
  r.port = redis.port();
  r.name = name;
  r.op_timeout = 500ms;
  r.connect_timeout = 200ms;
  o.redis = r;
  o.redis_backend.block = 200ms;
  return o;
}

std::unique_ptr<MemoryService> replica(const RedisServer& redis, const std::string& name) {
  auto s = MemoryService::open(redis_options(redis, name), std::make_shared<LocalEmbedder>(384));
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? std::move(s.value()) : nullptr;
}

NewEntry text(const std::string& t, const std::string& session = "s") {
  NewEntry e;
  e.text = t;
  e.session = session;
  return e;
}

bool found_by(MemoryService& m, const std::string& query, const std::string& id) {
  SearchRequest r;
  r.query = query;
  r.k = 5;
  auto res = m.search(r);
  if (!res.ok()) return false;
  for (auto& h : res->hits)
    if (h.entry.id == id) return true;
  return false;
}

TEST(MemoryRedis, AWriteOnOneReplicaIsFoundByASearchOnTheOther) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  auto a = replica(redis, "mem-a");
  auto b = replica(redis, "mem-b");
  ASSERT_TRUE(a && b);
  auto w = a->add({text("the deployment uses blue green rollout")});
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  std::string id = w->front().id;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return found_by(*b, "blue green rollout", id); }, 5s, 1ms));
  std::printf(
      "replication to the other replica's index: %.2f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_EQ(redis.cli("HGET agentry:mem:e:default:" + id + " text"),
            "the deployment uses blue green rollout");
  ASSERT_TRUE(b->remove("", id).is_ok());
  EXPECT_TRUE(eventually([&] { return !a->get("", id, false).ok(); }, 5s, 1ms));
  EXPECT_EQ(redis.cli("EXISTS agentry:mem:e:default:" + id), "0");

  // A replica started later loads what is there.
  auto w2 =
      a->add({text("second fact about canary releases"), text("third fact about feature flags")});
  ASSERT_TRUE(w2.ok());
  auto c = replica(redis, "mem-c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->store().count("default"), 2u);
  EXPECT_TRUE(found_by(*c, "feature flags", w2->at(1).id));
}

TEST(MemoryRedis, RedisCrashLosesNoAcknowledgedEntryAndReplicasCatchUp) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  auto a = replica(redis, "mem-d");
  auto b = replica(redis, "mem-e");
  ASSERT_TRUE(a && b);

  // A writer keeps adding; Redis is killed and restarted under it.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<int> failed{0};
  std::thread writer([&] {
    for (int i = 0; i < 100000 && !stop; ++i) {
      auto r = a->add({text("incident note number " + std::to_string(i))});
      if (r.ok()) {
        std::lock_guard<std::mutex> l(mu);
        acked.push_back(r->front().id);
      } else {
        ++failed;
        EXPECT_TRUE(r.status().code() == Code::kUnavailable ||
                    r.status().code() == Code::kDeadlineExceeded)
            << r.status().to_string();
        std::this_thread::sleep_for(5ms);
      }
    }
  });
  auto count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return acked.size();
  };
  ASSERT_TRUE(eventually([&] { return count() >= 50; }, 10s));
  redis.kill();
  EXPECT_TRUE(eventually([&] { return failed.load() > 0; }, 10s)) << "writes must fail while down";
  EXPECT_TRUE(eventually([&] { return !a->degraded_reason().empty(); }, 5s));
  // Reads keep working from the in-process index while Redis is down.
  std::string some;
  {
    std::lock_guard<std::mutex> l(mu);
    some = acked.front();
  }
  EXPECT_TRUE(a->get("", some, false).ok());
  size_t before_restart = count();
  ASSERT_TRUE(redis.start(&err)) << err;
  ASSERT_TRUE(eventually([&] { return count() >= before_restart + 50; }, 20s)) << "writes resume";
  stop = true;
  writer.join();
  EXPECT_TRUE(eventually(
      [&] { return a->degraded_reason().empty() && b->degraded_reason().empty(); }, 10s));

  std::vector<std::string> all;
  {
    std::lock_guard<std::mutex> l(mu);
    all = acked;
  }
  // Every acknowledged entry is in Redis, and both replicas' indexes have it.
  for (const auto& id : all) ASSERT_EQ(redis.cli("EXISTS agentry:mem:e:default:" + id), "1") << id;
  EXPECT_TRUE(eventually([&] { return b->store().count("default") >= all.size(); }, 10s))
      << b->store().count("default") << " of " << all.size();
  for (const auto& id : all) {
    EXPECT_TRUE(a->get("", id, false).ok()) << id;
    EXPECT_TRUE(b->get("", id, false).ok()) << id;
  }
  // A fresh replica after the crash sees exactly the acknowledged entries (plus any whose ack was
  // lost in the crash: written, but the client saw an error).
  auto c = replica(redis, "mem-f");
  ASSERT_TRUE(c);
  EXPECT_GE(c->store().count("default"), all.size());
  EXPECT_LE(c->store().count("default"), all.size() + static_cast<size_t>(failed.load()));
}

TEST(MemoryRedis, StartsWhileRedisIsDownAndLoadsWhenItIsBack) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  {
    auto a = replica(redis, "mem-g");
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->add({text("one"), text("two"), text("three")}).ok());
  }
  redis.kill();
  auto b = replica(redis, "mem-h");
  ASSERT_TRUE(b) << "a replica must start without Redis";
  EXPECT_EQ(b->store().count("default"), 0u);
  EXPECT_NE(b->degraded_reason(), "");
  EXPECT_EQ(b->add({text("four")}).status().code(), Code::kUnavailable);
  ASSERT_TRUE(redis.start(&err)) << err;
  EXPECT_TRUE(eventually([&] { return b->store().count("default") == 3; }, 15s));
  EXPECT_TRUE(eventually([&] { return b->degraded_reason().empty(); }, 15s));
  EXPECT_TRUE(b->add({text("four")}).ok());
}

// Issue 21: the embedder that wrote an agent's memory is recorded in Redis (<prefix>embedder); a
// replica configured with another one refuses to start, and refuses to load it later when Redis
// was down at its start, and writes nothing either way.
TEST(MemoryRedis, AReplicaWithAnotherEmbedderRefusesTheMemoryAndChangesNothing) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  auto a = replica(redis, "mem-i");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->add({text("one"), text("two")}).ok());
  EXPECT_EQ(redis.cli("GET agentry:mem:embedder"), "local-hashed-ngrams/384");
  const std::string keys = redis.cli("DBSIZE"), feed = redis.cli("XLEN agentry:mem:feed");

  auto other = std::make_shared<FunctionEmbedder>(
      [](const std::vector<std::string>& t) { return LocalEmbedder(384).embed(t); }, 384,
      "all-MiniLM-L6-v2");
  auto b = MemoryService::open(redis_options(redis, "mem-j"), other);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kConflict);
  EXPECT_NE(b.status().message().find("memory.embedder"), std::string::npos);
  EXPECT_NE(b.status().message().find("'local-hashed-ngrams/384'"), std::string::npos)
      << b.status().message();
  EXPECT_NE(b.status().message().find("redis under agentry:mem:"), std::string::npos);
  EXPECT_EQ(redis.cli("DBSIZE"), keys);
  EXPECT_EQ(redis.cli("XLEN agentry:mem:feed"), feed);

  // Started while Redis was down: it cannot know yet, so it starts degraded, then says why.
  redis.kill();
  auto c = MemoryService::open(redis_options(redis, "mem-k"), other);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE(redis.start(&err)) << err;
  EXPECT_TRUE(eventually(
      [&] { return (*c)->degraded_reason().find("memory.embedder") != std::string::npos; }, 15s))
      << (*c)->degraded_reason();
  EXPECT_EQ((*c)->store().count("default"), 0u);
  EXPECT_EQ((*c)->add({text("three")}).status().code(), Code::kUnavailable);
  EXPECT_EQ(redis.cli("DBSIZE"), keys);
}

}  // namespace
}  // namespace agentry::memory
