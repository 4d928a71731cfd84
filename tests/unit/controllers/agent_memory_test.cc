// status.memory from a sidecar's memory stats (agent_memory.h), and the warning at 90%.
#include "operator/controllers/agent_memory.h"

#include <gtest/gtest.h>

namespace agentry::controllers {
namespace {

using nlohmann::json;

json stats(double fact_fill, int facts) {
  return {{"facts", facts},
          {"exchanges", 400},
          {"fill", {{"facts", fact_fill}, {"exchanges", 0.4}}},
          {"evictions",
           {{"fact", {{"bound", 0}, {"ttl", 2}}},
            {"exchange", {{"bound", 75}, {"ttl", 0}}},
            {"last", "2026-12-03T10:00:00.000Z"}}},
          {"refusedFull", 3},
          {"limits", {{"maxEntriesPerAgent", 1000}, {"exchangesMaxEntriesPerAgent", 1000}}}};
}

TEST(AgentMemoryStatus, SaysTheFillOfEachKindAgainstItsBound) {
  json m = memory_status(stats(0.98, 980), "2026-12-03T10:00:01Z");
  EXPECT_EQ(m["summary"], "facts 98% of bound (980/1000), exchanges 40% of bound (400/1000)");
  EXPECT_EQ(m["factsPercent"], 98);
  EXPECT_EQ(m["factsBound"], 1000);
  EXPECT_EQ(m["exchangesBound"], 1000);
  EXPECT_EQ(m["evictions"]["exchangeBound"], 75);
  EXPECT_EQ(m["evictions"]["factTtl"], 2);
  EXPECT_EQ(m["refusedFull"], 3);
  EXPECT_EQ(m["lastEviction"], "2026-12-03T10:00:00.000Z");
  EXPECT_EQ(m["observedAt"], "2026-12-03T10:00:01Z");
}

TEST(AgentMemoryStatus, HostileOrOldStatsGiveWhatTheyHaveAndNeverThrow) {
  for (const json& s : {json(), json("x"), json::array(), json{{"facts", "many"}},
                        json{{"fill", {{"facts", "NaN"}}}}, json{{"limits", 7}},
                        json{{"evictions", {{"fact", 1}}}}}) {
    json m;
    ASSERT_NO_THROW(m = memory_status(s, "t")) << s;
    EXPECT_FALSE(m.contains("summary")) << s;
  }
  // Stats of a sidecar from before kinds: entries only.
  EXPECT_FALSE(memory_status(json{{"entries", 5}}, "t").contains("facts"));
}

TEST(AgentMemoryStatus, WarnsOnceWhenTheFactsCrossNinetyPercent) {
  json below = memory_status(stats(0.89, 890), "t");
  json above = memory_status(stats(0.91, 910), "t");
  EXPECT_FALSE(memory_crossing_note(json(), below));
  auto note = memory_crossing_note(below, above);
  ASSERT_TRUE(note);
  EXPECT_NE(note->find("facts 91% of bound (910/1000)"), std::string::npos) << *note;
  EXPECT_NE(note->find("spec.memory.maxEntries"), std::string::npos);
  EXPECT_FALSE(memory_crossing_note(above, memory_status(stats(0.95, 950), "t")));
  EXPECT_TRUE(memory_crossing_note(json(), above));
}

}  // namespace
}  // namespace agentry::controllers
