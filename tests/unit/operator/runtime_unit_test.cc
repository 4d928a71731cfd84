// Pure logic of operator/runtime: store and indexes, work queue semantics, rate limiters,
// controller result handling, predicates, owner mapping, finalizer patches, lease records.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "operator/kube/object.h"
#include "operator/runtime/controller.h"
#include "operator/runtime/finalizer.h"
#include "operator/runtime/leader_election.h"
#include "operator/runtime/rate_limiter.h"
#include "operator/runtime/store.h"
#include "operator/runtime/workqueue.h"

namespace agentry::runtime {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

ObjectPtr obj(const std::string& ns, const std::string& name, const std::string& owner_uid = "",
              int64_t gen = 1, const std::string& rv = "1") {
  json o = {{"metadata",
             {{"name", name}, {"namespace", ns}, {"generation", gen}, {"resourceVersion", rv}}}};
  if (!owner_uid.empty()) {
    o["metadata"]["ownerReferences"] = {{{"apiVersion", "agentry.dev/v1alpha1"},
                                         {"kind", "Agent"},
                                         {"name", "owner-" + owner_uid},
                                         {"uid", owner_uid},
                                         {"controller", true}}};
  }
  return std::make_shared<const json>(std::move(o));
}

// Polls cond until true or the deadline passes.
template <typename F>
bool eventually(F cond, std::chrono::milliseconds deadline = 5s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return cond();
}

TEST(OpStore, UpsertGetEraseAndIndexes) {
  Store s;
  EXPECT_EQ(s.upsert(obj("a", "x", "u1")), nullptr);
  s.upsert(obj("a", "y", "u1"));
  s.upsert(obj("b", "z", "u2"));
  EXPECT_EQ(s.size(), 3u);
  ASSERT_NE(s.get("a/x"), nullptr);
  EXPECT_EQ(s.by_index(kNamespaceIndex, "a").size(), 2u);
  EXPECT_EQ(s.by_index(kOwnerUidIndex, "u1").size(), 2u);
  EXPECT_EQ(s.by_index(kOwnerUidIndex, "u2").size(), 1u);
  // An update that changes the owner moves the key between index values.
  ObjectPtr prev = s.upsert(obj("a", "y", "u2", 1, "2"));
  ASSERT_NE(prev, nullptr);
  EXPECT_EQ(kube::resource_version(*prev), "1");
  EXPECT_EQ(s.by_index(kOwnerUidIndex, "u1").size(), 1u);
  EXPECT_EQ(s.by_index(kOwnerUidIndex, "u2").size(), 2u);
  s.add_index("first-letter",
              [](const json& o) { return std::vector<std::string>{kube::name(o).substr(0, 1)}; });
  EXPECT_EQ(s.by_index("first-letter", "z").size(), 1u);
  EXPECT_NE(s.erase("b/z"), nullptr);
  EXPECT_EQ(s.erase("b/z"), nullptr);
  EXPECT_TRUE(s.by_index("first-letter", "z").empty());
  auto old = s.replace({obj("c", "w")});
  EXPECT_EQ(old.size(), 2u);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(s.by_index(kNamespaceIndex, "a").empty());
  EXPECT_EQ(s.by_index(kNamespaceIndex, "c").size(), 1u);
}

// Found by kube_watch_fuzz: an owner reference whose uid is not a string threw while indexing.
TEST(OpStore, OwnerReferencesOfAnyShapeAreIndexedWithoutThrowing) {
  Store s;
  auto odd = std::make_shared<const nlohmann::json>(nlohmann::json{
      {"metadata",
       {{"namespace", "n"},
        {"name", "o"},
        {"ownerReferences", {{{"uid", 5}}, {{"uid", "u1"}}, "x", {{"uid", {{"a", 1}}}}}}}}});
  ASSERT_NO_THROW(s.upsert(odd));
  EXPECT_EQ(s.by_index(kOwnerUidIndex, "u1").size(), 1u);
  EXPECT_NE(s.get("n/o"), nullptr);
}

TEST(OpStore, KeepsObjectsPackedAndUnpacksThemEqual) {
  Store s;
  json big = *obj("ns", "big", "u1");
  big["spec"] = {{"replicas", 3}, {"list", json::array({1, "two", 3.5, nullptr, true})}};
  big["data"]["text"] = std::string(1000, 'x');
  s.upsert(std::make_shared<const json>(big));
  EXPECT_EQ(s.count_by_index(kOwnerUidIndex, "u1"), 1u);
  EXPECT_EQ(s.count_by_index(kOwnerUidIndex, "nobody"), 0u);
  EXPECT_GT(s.packed_bytes(), 1000u);
  EXPECT_LT(s.packed_bytes(), big.dump().size());  // MessagePack is smaller than the JSON text
  ObjectPtr a = s.get("ns/big");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a, big);
  EXPECT_EQ(s.get("ns/big"), a);  // while held, the same object
  a.reset();
  ObjectPtr b = s.get("ns/big");  // unpacked again
  EXPECT_EQ(*b, big);
  s.erase("ns/big");
  EXPECT_EQ(s.packed_bytes(), 0u);
  EXPECT_EQ(s.count_by_index(kOwnerUidIndex, "u1"), 0u);
  EXPECT_EQ(*b, big);  // a reader keeps its object after the store lets go
}

TEST(OpWorkQueue, DeduplicatesQueuedKeys) {
  WorkQueue q("test-dedup");
  q.add("a");
  q.add("a");
  q.add("b");
  q.add("a");
  EXPECT_EQ(q.len(), 2u);
  std::string k;
  ASSERT_TRUE(q.get(&k));
  EXPECT_EQ(k, "a");
  ASSERT_TRUE(q.get(&k));
  EXPECT_EQ(k, "b");
  EXPECT_EQ(q.len(), 0u);
  q.done("a");
  q.done("b");
  EXPECT_EQ(q.len(), 0u);
}

TEST(OpWorkQueue, KeyAddedWhileProcessingWaitsForDone) {
  WorkQueue q("test-processing");
  q.add("a");
  std::string k;
  ASSERT_TRUE(q.get(&k));
  q.add("a");  // while a worker holds it
  EXPECT_EQ(q.len(), 0u) << "must not be handed to a second worker";
  q.done("a");
  EXPECT_EQ(q.len(), 1u) << "re-queued once the first worker is done";
  ASSERT_TRUE(q.get(&k));
  EXPECT_EQ(k, "a");
  q.done("a");
}

TEST(OpWorkQueue, NoConcurrentProcessingOfOneKey) {
  WorkQueue q("test-concurrency", std::make_unique<BucketRateLimiter>(0, 1));
  constexpr int kKeys = 5;
  std::map<std::string, std::atomic<int>> inflight;
  for (int i = 0; i < kKeys; ++i) inflight["k" + std::to_string(i)] = 0;
  std::atomic<int> violations{0}, processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&] {
      std::string k;
      while (q.get(&k)) {
        if (inflight[k].fetch_add(1) != 0) ++violations;
        std::this_thread::sleep_for(200us);
        inflight[k].fetch_sub(1);
        ++processed;
        q.done(k);
      }
    });
  }
  for (int i = 0; i < 20000; ++i) q.add("k" + std::to_string(i % kKeys));
  EXPECT_TRUE(eventually([&] { return q.len() == 0 && q.processing() == 0; }));
  q.shut_down();
  for (auto& t : workers) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GE(processed.load(), kKeys);
  EXPECT_LT(processed.load(), 20000) << "adds of a queued key must collapse";
}

TEST(OpWorkQueue, AddAfterDelays) {
  WorkQueue q("test-after");
  auto start = std::chrono::steady_clock::now();
  q.add_after("late", 150ms);
  q.add_after("late", 400ms);  // a later time does not postpone the earlier one
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.waiting(), 1u);
  std::string k;
  ASSERT_TRUE(q.get(&k));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(k, "late");
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 390ms);
  q.done(k);
}

TEST(OpRateLimiter, ItemExponentialGrowthAndCap) {
  ItemExponentialRateLimiter l(5ms, 1000s);
  EXPECT_EQ(l.when("a"), 5ms);
  EXPECT_EQ(l.when("a"), 10ms);
  EXPECT_EQ(l.when("a"), 20ms);
  EXPECT_EQ(l.when("a"), 40ms);
  EXPECT_EQ(l.when("b"), 5ms);  // per item
  EXPECT_EQ(l.num_requeues("a"), 4);
  for (int i = 0; i < 100; ++i) l.when("a");
  EXPECT_EQ(l.when("a"), std::chrono::seconds(1000));  // capped, no overflow
  l.forget("a");
  EXPECT_EQ(l.num_requeues("a"), 0);
  EXPECT_EQ(l.when("a"), 5ms);
}

TEST(OpRateLimiter, DefaultCombinesBackoffWithOverallBucket) {
  auto l = default_controller_rate_limiter();
  // 100 distinct keys fit in the burst: each waits only its own 5 ms.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(l->when("k" + std::to_string(i)), 5ms) << i;
  // Beyond the burst the bucket (10 qps) dominates: ~100 ms, then ~200 ms of queueing.
  auto d1 = l->when("x");
  auto d2 = l->when("y");
  EXPECT_GT(d1, 80ms);
  EXPECT_GT(d2, d1 + 50ms);
  // For a key failing many times the per-item backoff dominates.
  for (int i = 0; i < 15; ++i) l->when("hot");
  EXPECT_GT(l->when("hot"), 100s);
}

TEST(OpWorkQueue, RateLimitedRequeueWaitsTheBackoff) {
  WorkQueue q("test-ratelimited",
              std::make_unique<ItemExponentialRateLimiter>(std::chrono::milliseconds(40), 10s));
  q.add_rate_limited("k");  // 40 ms
  q.add_rate_limited("k");  // 80 ms: the earlier time stays
  EXPECT_EQ(q.num_requeues("k"), 2);
  std::string k;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(q.get(&k));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 35ms);
  q.done(k);
  q.forget("k");
  EXPECT_EQ(q.num_requeues("k"), 0);
}

TEST(OpWorkQueue, ShutDownWakesWorkersAndDrainWaitsForInFlight) {
  WorkQueue q("test-shutdown");
  std::atomic<bool> returned{false};
  std::thread idle([&] {
    std::string k;
    EXPECT_FALSE(q.get(&k));
    returned = true;
  });
  // Nothing is queued, so the worker blocks in get() (given 50 ms to get there) until shut_down.
  std::this_thread::sleep_for(50ms);
  q.shut_down();
  idle.join();
  EXPECT_TRUE(returned.load());
  size_t before = q.len();
  q.add("after");
  EXPECT_EQ(q.len(), before) << "adds after shut-down are ignored";

  WorkQueue d("test-drain");
  d.add("slow");
  std::string k;
  ASSERT_TRUE(d.get(&k));
  std::thread finisher([&] {
    std::this_thread::sleep_for(100ms);
    d.done("slow");
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(d.shut_down_with_drain(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
  finisher.join();
  WorkQueue stuck("test-drain-deadline");
  stuck.add("x");
  ASSERT_TRUE(stuck.get(&k));
  EXPECT_FALSE(stuck.shut_down_with_drain(50ms)) << "deadline passes while x is in flight";
  stuck.done("x");
}

TEST(OpController, ResultsDriveRequeueForgetAndTerminalErrors) {
  std::mutex mu;
  std::map<std::string, int> calls;
  ControllerOptions o;
  o.workers = 2;
  o.rate_limiter = [] { return std::make_unique<ItemExponentialRateLimiter>(1ms, 50ms); };
  Controller c(
      "test-results",
      [&](const kube::ObjectKey& k) -> Result<ReconcileResult> {
        int n;
        {
          std::lock_guard<std::mutex> lock(mu);
          n = ++calls[k.str()];
        }
        if (k.name == "flaky" && n < 4) return unavailable("try again");
        if (k.name == "bad") return terminal(invalid_argument("spec is wrong"));
        if (k.name == "periodic" && n < 3) return ReconcileResult{false, 20ms};
        if (k.name == "again" && n < 2) return ReconcileResult{true, {}};
        return ReconcileResult{};
      },
      o);
  c.start();
  for (const char* k : {"ns/ok", "ns/flaky", "ns/bad", "ns/periodic", "ns/again"}) c.queue().add(k);
  auto count = [&](const std::string& k) {
    std::lock_guard<std::mutex> lock(mu);
    return calls[k];
  };
  EXPECT_TRUE(eventually([&] {
    return count("ns/flaky") == 4 && count("ns/periodic") == 3 && count("ns/again") == 2;
  }));
  std::this_thread::sleep_for(150ms);  // give a wrong requeue the time to show up
  EXPECT_EQ(count("ns/ok"), 1);
  EXPECT_EQ(count("ns/bad"), 1) << "terminal errors are not retried";
  EXPECT_EQ(count("ns/flaky"), 4) << "retried until success, then forgotten";
  EXPECT_EQ(c.queue().num_requeues("ns/flaky"), 0);
  EXPECT_TRUE(is_terminal(terminal(unavailable("x"))));
  EXPECT_FALSE(is_terminal(unavailable("x")));
  c.stop(true);
  EXPECT_FALSE(c.running());
}

TEST(OpPredicates, GenerationChangedAndOwnerMapping) {
  auto p = predicates::generation_changed();
  EXPECT_FALSE(p(obj("a", "x", "", 1, "1"), obj("a", "x", "", 1, "2")));  // status write
  EXPECT_TRUE(p(obj("a", "x", "", 1, "1"), obj("a", "x", "", 2, "3")));
  auto rv = predicates::resource_version_changed();
  EXPECT_FALSE(rv(obj("a", "x"), obj("a", "x")));  // a resync
  auto map = map_to_controller_owner(kube::resources::kAgents);
  auto keys = map(*obj("team", "deploy", "uid-9"));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].str(), "team/owner-uid-9");
  EXPECT_TRUE(map(*obj("team", "orphan")).empty());
  EXPECT_TRUE(map_to_controller_owner(kube::resources::kWorkflows)(*obj("t", "d", "u")).empty());
}

TEST(OpFinalizer, PatchTestsTheListItChanges) {
  json none = {{"metadata", {{"name", "a"}, {"resourceVersion", "7"}}}};
  json p = finalizer_patch(none, "agentry.dev/cleanup", true);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0]["op"], "test");
  EXPECT_EQ(p[0]["path"], "/metadata/resourceVersion");
  EXPECT_EQ(p[0]["value"], "7");
  EXPECT_EQ(p[1]["op"], "add");
  EXPECT_EQ(p[1]["value"], json::array({"agentry.dev/cleanup"}));
  json some = {{"metadata", {{"finalizers", {"other.io/x"}}}}};
  p = finalizer_patch(some, "agentry.dev/cleanup", true);
  EXPECT_EQ(p[0],
            json({{"op", "test"}, {"path", "/metadata/finalizers"}, {"value", {"other.io/x"}}}));
  EXPECT_EQ(p[1]["value"], json::array({"other.io/x", "agentry.dev/cleanup"}));
  json both = {{"metadata", {{"finalizers", {"other.io/x", "agentry.dev/cleanup"}}}}};
  p = finalizer_patch(both, "agentry.dev/cleanup", false);
  EXPECT_EQ(p[0]["value"], json::array({"other.io/x", "agentry.dev/cleanup"}));
  EXPECT_EQ(p[1]["value"], json::array({"other.io/x"})) << "the other finalizer survives";
  EXPECT_TRUE(finalizer_patch(both, "agentry.dev/cleanup", true).is_null());
  EXPECT_TRUE(finalizer_patch(none, "agentry.dev/cleanup", false).is_null());
}

TEST(OpLeaderElection, NextSpecAcquireRenewTakeOver) {
  json fresh = LeaderElector::next_spec(nullptr, "me", 15s, "T1");
  EXPECT_EQ(fresh["holderIdentity"], "me");
  EXPECT_EQ(fresh["leaseDurationSeconds"], 15);
  EXPECT_EQ(fresh["acquireTime"], "T1");
  EXPECT_EQ(fresh["leaseTransitions"], 0);
  json renewed = LeaderElector::next_spec(&fresh, "me", 15s, "T2");
  EXPECT_EQ(renewed["acquireTime"], "T1");
  EXPECT_EQ(renewed["renewTime"], "T2");
  EXPECT_EQ(renewed["leaseTransitions"], 0);
  json taken = LeaderElector::next_spec(&renewed, "you", 15s, "T3");
  EXPECT_EQ(taken["holderIdentity"], "you");
  EXPECT_EQ(taken["acquireTime"], "T3");
  EXPECT_EQ(taken["leaseTransitions"], 1);
  EXPECT_NE(default_identity().find('_'), std::string::npos);
  EXPECT_NE(default_identity(), default_identity());
}

}  // namespace
}  // namespace agentry::runtime
