// Memory retention (issue 23) without Redis: the bounds rule (bounds.h) alone, then through the
// service in process and on the embedded log: facts are never pushed out by exchanges, the fact
// bound refuses (507) or evicts the oldest facts when asked, evictions are counted, and kinds
// survive a restart and old (format 1) records.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "sidecar/memory/bounds.h"
#include "sidecar/memory/memory_service.h"
#include "tests/support/tempdir.h"

namespace agentry::memory {
namespace {

using testing::TempDir;

// A store the rule can look at: ids per (agent, kind) in creation order.
struct FakeState {
  std::map<std::pair<std::string, Kind>, std::vector<std::string>> ids;
  BoundsView view() {
    BoundsView v;
    v.count = [this](const std::string& a, Kind k) { return ids[{a, k}].size(); };
    v.oldest = [this](const std::string& a, Kind k, size_t n) {
      auto& all = ids[{a, k}];
      return std::vector<std::string>(all.begin(), all.begin() + std::min(n, all.size()));
    };
    v.kind_of = [this](const std::string& a, const std::string& id) -> std::optional<Kind> {
      for (Kind k : {Kind::kFact, Kind::kExchange}) {
        auto& all = ids[{a, k}];
        if (std::find(all.begin(), all.end(), id) != all.end()) return k;
      }
      return std::nullopt;
    };
    return v;
  }
};

Op put(const std::string& id, Kind kind, const std::string& agent = "a") {
  Op op;
  op.entry.agent = agent;
  op.entry.id = id;
  op.entry.kind = kind;
  return op;
}

std::vector<std::string> evicted_ids(const PlannedWrite& p) {
  std::vector<std::string> out;
  for (const auto& d : p.evictions) out.push_back(d.entry.id);
  return out;
}

TEST(PlanBounds, AFactAtTheBoundIsRefusedWith507NamingMemoryMaxEntries) {
  FakeState st;
  st.ids[{"a", Kind::kFact}] = {"f1", "f2", "f3"};
  Limits l;
  l.max_entries_per_agent = 3;
  std::vector<Op> req = {put("f4", Kind::kFact)};
  auto plans = plan_bounds({&req}, l, st.view());
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].status.http_status(), 507);
  EXPECT_NE(plans[0].status.message().find("memory.maxEntries (3)"), std::string::npos)
      << plans[0].status.message();
  EXPECT_TRUE(plans[0].evictions.empty());
  // An update of an existing fact adds nothing: it is not refused.
  std::vector<Op> update = {put("f2", Kind::kFact)};
  EXPECT_TRUE(plan_bounds({&update}, l, st.view())[0].status);
}

TEST(PlanBounds, EvictOldestTakesExactlyTheOldestFactsAndNoExchange) {
  FakeState st;
  st.ids[{"a", Kind::kFact}] = {"f1", "f2", "f3"};
  st.ids[{"a", Kind::kExchange}] = {"x1"};
  Limits l;
  l.max_entries_per_agent = 3;
  l.on_full = Limits::OnFull::kEvictOldest;
  std::vector<Op> req = {put("f4", Kind::kFact), put("f5", Kind::kFact)};
  auto plans = plan_bounds({&req}, l, st.view());
  ASSERT_TRUE(plans[0].status);
  EXPECT_EQ(evicted_ids(plans[0]), (std::vector<std::string>{"f1", "f2"}));
  for (const auto& d : plans[0].evictions) EXPECT_EQ(d.entry.kind, Kind::kFact);
}

TEST(PlanBounds, ExchangesEvictOnlyExchangesAndNeverAFact) {
  FakeState st;
  st.ids[{"a", Kind::kFact}] = {"f1", "f2"};
  st.ids[{"a", Kind::kExchange}] = {"x1", "x2"};
  Limits l;
  l.max_entries_per_agent = 2;  // facts full: must not matter to exchanges
  l.max_exchanges_per_agent = 2;
  std::vector<Op> req = {put("x3", Kind::kExchange)};
  auto plans = plan_bounds({&req}, l, st.view());
  ASSERT_TRUE(plans[0].status);
  EXPECT_EQ(evicted_ids(plans[0]), (std::vector<std::string>{"x1"}));
  EXPECT_EQ(plans[0].evictions[0].entry.kind, Kind::kExchange);
}

// Requests of one group see each other: the second of two facts at bound - 1 is refused, and two
// exchange writes never pick the same victim.
TEST(PlanBounds, RequestsOfOneGroupAreCountedTogether) {
  FakeState st;
  st.ids[{"a", Kind::kFact}] = {"f1"};
  st.ids[{"a", Kind::kExchange}] = {"x1", "x2"};
  Limits l;
  l.max_entries_per_agent = 2;
  l.max_exchanges_per_agent = 2;
  std::vector<Op> r1 = {put("f2", Kind::kFact)}, r2 = {put("f3", Kind::kFact)},
                  r3 = {put("x3", Kind::kExchange)}, r4 = {put("x4", Kind::kExchange)};
  auto plans = plan_bounds({&r1, &r2, &r3, &r4}, l, st.view());
  EXPECT_TRUE(plans[0].status);
  EXPECT_EQ(plans[1].status.http_status(), 507);
  EXPECT_EQ(evicted_ids(plans[2]), (std::vector<std::string>{"x1"}));
  EXPECT_EQ(evicted_ids(plans[3]), (std::vector<std::string>{"x2"}));
  // A refused request leaves nothing behind for the next: f4 after a refused f3 is refused too,
  // and the count did not move.
  std::vector<Op> r5 = {put("f4", Kind::kFact)};
  EXPECT_EQ(plan_bounds({&r1, &r2, &r5}, l, st.view())[2].status.http_status(), 507);
}

TEST(PlanBounds, AgentsAreBoundedApart) {
  FakeState st;
  st.ids[{"a", Kind::kFact}] = {"f1"};
  Limits l;
  l.max_entries_per_agent = 1;
  std::vector<Op> other = {put("g1", Kind::kFact, "b")};
  EXPECT_TRUE(plan_bounds({&other}, l, st.view())[0].status);
}

std::unique_ptr<MemoryService> open_service(MemoryOptions o) {
  o.sweep_interval = memory::Ms(50);
  auto r = MemoryService::open(std::move(o), std::make_shared<LocalEmbedder>(64));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r.value()) : nullptr;
}

NewEntry fact(const std::string& t) {
  NewEntry e;
  e.text = t;
  return e;
}

TEST(MemoryRetention, ExchangesNeverPushOutAFactAndStayWithinTheirBound) {
  MemoryOptions o;
  o.limits.max_entries_per_agent = 20;
  o.limits.max_exchanges_per_agent = 15;
  auto m = open_service(o);
  std::vector<std::string> facts;
  for (int i = 0; i < 20; ++i) {
    auto r = m->add({fact("fact number " + std::to_string(i))});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->front().kind, Kind::kFact);
    facts.push_back(r->front().id);
  }
  for (int i = 0; i < 300; ++i)
    m->remember("", "s" + std::to_string(i % 7), "question " + std::to_string(i),
                "answer " + std::to_string(i));
  m->drain();
  for (const auto& id : facts) EXPECT_TRUE(m->get("", id, false).ok()) << id;
  EXPECT_EQ(m->store().count("default", Kind::kFact), 20u);
  EXPECT_EQ(m->store().count("default", Kind::kExchange), 15u);
  const auto ev = m->evictions();
  EXPECT_EQ(ev.exchange_bound, 285u);
  EXPECT_EQ(ev.fact_bound, 0u);
  EXPECT_GT(ev.last_ms, 0);
  // The kind is returned and filterable.
  Filter only_facts;
  only_facts.kind = Kind::kFact;
  auto page = m->list("", only_facts, 1000, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 20u);
  Filter only_exchanges;
  only_exchanges.kind = Kind::kExchange;
  auto ex = m->list("", only_exchanges, 1000, "");
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->items.size(), 15u);
  for (const auto& e : ex->items) EXPECT_EQ(e.kind, Kind::kExchange);
  // The 21st fact is refused, whole, and counted; nothing was evicted for it.
  auto full = m->add({fact("one too many"), fact("and another")});
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().http_status(), 507);
  EXPECT_EQ(m->store().count("default", Kind::kFact), 20u);
  EXPECT_EQ(m->write_stats().refused_full, 1u);
  auto stats = m->stats();
  EXPECT_EQ(stats["facts"], 20);
  EXPECT_EQ(stats["exchanges"], 15);
  EXPECT_DOUBLE_EQ(stats["fill"]["facts"].get<double>(), 1.0);
  EXPECT_EQ(stats["evictions"]["exchange"]["bound"], 285);
  EXPECT_TRUE(stats["evictions"]["last"].is_string());
}

TEST(MemoryRetention, EvictOldestIsARollingWindowOfFactsThatCountsWhatWent) {
  MemoryOptions o;
  o.limits.max_entries_per_agent = 10;
  o.limits.on_full = Limits::OnFull::kEvictOldest;
  auto m = open_service(o);
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    auto r = m->add({fact("rolling " + std::to_string(i))});
    ASSERT_TRUE(r.ok());
    ids.push_back(r->front().id);
  }
  for (int i = 0; i < 15; ++i) EXPECT_FALSE(m->get("", ids[i], false).ok()) << i;
  for (int i = 15; i < 25; ++i) EXPECT_TRUE(m->get("", ids[i], false).ok()) << i;
  EXPECT_EQ(m->evictions().fact_bound, 15u);
}

TEST(MemoryRetention, ExchangeTtlExpiresExchangesAndCountsThem) {
  MemoryOptions o;
  o.limits.exchange_ttl_s = 1;
  auto m = open_service(o);
  auto f = m->add({fact("a fact without ttl")});
  ASSERT_TRUE(f.ok());
  m->remember("", "", "hello", "world");
  m->drain();
  EXPECT_EQ(m->store().count("default", Kind::kExchange), 1u);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (m->evictions().exchange_ttl == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(m->evictions().exchange_ttl, 1u);
  EXPECT_EQ(m->store().count("default", Kind::kExchange), 0u);
  EXPECT_TRUE(m->get("", f->front().id, false).ok());
}

// Writers racing at the bound: the committer serialises the check, so the count never passes it.
TEST(MemoryRetention, ConcurrentWritersNeverOvershootTheFactBound) {
  MemoryOptions o;
  o.limits.max_entries_per_agent = 100;
  auto m = open_service(o);
  std::atomic<int> ok{0}, full{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        auto r = m->add({fact("w" + std::to_string(t) + " " + std::to_string(i))});
        if (r.ok())
          ++ok;
        else if (r.status().http_status() == 507)
          ++full;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(full.load(), 220);
  EXPECT_EQ(m->store().count("default", Kind::kFact), 100u);
}

TEST(MemoryRetention, KindsAndCountsSurviveARestartOfTheEmbeddedLog) {
  TempDir dir("retention");
  MemoryOptions o;
  o.persistence = MemoryOptions::Persistence::kEmbedded;
  o.log.dir = dir.path();
  o.limits.max_entries_per_agent = 5;
  o.limits.max_exchanges_per_agent = 3;
  std::vector<std::string> facts;
  {
    auto m = open_service(o);
    for (int i = 0; i < 5; ++i)
      facts.push_back(m->add({fact("kept " + std::to_string(i))})->front().id);
    for (int i = 0; i < 10; ++i) m->remember("", "", "q" + std::to_string(i), "a");
    m->drain();
  }
  auto m = open_service(o);
  EXPECT_EQ(m->store().count("default", Kind::kFact), 5u);
  EXPECT_EQ(m->store().count("default", Kind::kExchange), 3u);
  for (const auto& id : facts) {
    auto e = m->get("", id, false);
    ASSERT_TRUE(e.ok()) << id;
    EXPECT_EQ(e->kind, Kind::kFact);
  }
  EXPECT_EQ(m->add({fact("sixth")}).status().http_status(), 507);
}

// Records written before kinds existed (format 1): what the engine remembered then (metadata
// kind=exchange) is an exchange, everything else a fact.
TEST(MemoryRetention, FormatOneRecordsLoadWithTheirKind) {
  Op op;
  op.entry.agent = "a";
  op.entry.id = "old";
  op.entry.text = "User: hi\nAssistant: hello";
  op.entry.metadata["kind"] = "exchange";
  op.entry.embedding = {1.0f, 0.0f};
  std::string v2 = encode(op);
  // Format 1 is format 2 without the trailing kind byte and with version 1.
  std::string v1 = v2.substr(0, v2.size() - 1);
  v1[0] = 1;
  auto d = decode(v1);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->entry.kind, Kind::kExchange);
  op.entry.metadata.clear();
  v2 = encode(op);
  v1 = v2.substr(0, v2.size() - 1);
  v1[0] = 1;
  EXPECT_EQ(decode(v1)->entry.kind, Kind::kFact);
  // Format 2 round-trips the kind; an unknown kind byte is refused.
  op.entry.kind = Kind::kExchange;
  v2 = encode(op);
  EXPECT_EQ(decode(v2)->entry.kind, Kind::kExchange);
  v2.back() = 7;
  EXPECT_FALSE(decode(v2).ok());
}

// Found by memory_records_fuzz: a record with an empty vector made decode() memcpy from null
// (undefined behaviour, caught by UBSan). It decodes, with no vector.
TEST(MemoryCodec, ARecordWithAnEmptyVectorDecodes) {
  Op op;
  op.entry.agent = "a";
  op.entry.id = "no-vector";
  op.entry.text = "t";
  auto d = decode(encode(op));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_TRUE(d->entry.embedding.empty());
  EXPECT_EQ(d->entry.text, "t");
}

TEST(MemoryRetention, AtEqualScoreAFactRanksBeforeAnExchange) {
  MemoryOptions o;
  auto m = open_service(o);
  NewEntry x;
  x.kind = Kind::kExchange;
  x.text = "the same words";
  ASSERT_TRUE(m->add({x}).ok());
  ASSERT_TRUE(m->add({fact("the same words")}).ok());
  SearchRequest s;
  s.query = "the same words";
  auto r = m->search(s);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->hits.size(), 2u);
  EXPECT_FLOAT_EQ(r->hits[0].score, r->hits[1].score);
  EXPECT_EQ(r->hits[0].entry.kind, Kind::kFact);
}

}  // namespace
}  // namespace agentry::memory
