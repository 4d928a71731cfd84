// SIGTERM: no new executions are admitted, in-flight ones finish within the drain deadline (none
// acknowledged as done is lost: sync callers get their answers, async ones stay readable), and
// what the deadline cuts is cancelled and reported.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "tests/integration/sidecar/harness.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

TEST(SidecarShutdown, SigtermDrainsInFlightExecutions) {
  FakeLlm llm({"--latency-ms", "1500"});
  SidecarOptions o;
  o.provider_endpoint = llm.url();
  o.server_yaml = "  shutdownDrainSeconds: 10\n  shutdownGraceSeconds: 3\n";
  Sidecar sc(o);
  std::vector<std::string> async_ids;
  for (int i = 0; i < 5; ++i) {
    auto r = sc.post_execution({{"input", "async " + std::to_string(i)}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202);
    async_ids.push_back(json::parse(r->body)["id"]);
  }
  std::vector<json> sync_results(2);
  std::vector<std::thread> sync_callers;
  for (int i = 0; i < 2; ++i)
    sync_callers.emplace_back([&, i] {
      auto r = sc.post_execution({{"input", "sync " + std::to_string(i)}}, "?wait=20s");
      if (r) sync_results[i] = json::parse(r->body, nullptr, false);
    });
  ASSERT_TRUE(eventually(
      [&] {
        auto m = sc.client().Get("/metrics");
        return m && m->body.find("executions_in_flight 7") != std::string::npos;
      },
      seconds(5)));
  ASSERT_EQ(kill(sc.process().pid(), SIGTERM), 0);
  // Draining: not ready, and new work is refused.
  ASSERT_TRUE(eventually(
      [&] {
        auto r = sc.client().Get("/readyz");
        return r && r->status == 503;
      },
      seconds(3)));
  auto refused = sc.post_execution({{"input", "too late"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(json::parse(refused->body)["error"]["code"], "unavailable");
  // Everything in flight finishes and stays readable.
  for (const auto& id : async_ids) {
    auto j = sc.wait_terminal(id, seconds(10));
    EXPECT_EQ(j["state"], "succeeded") << id << " " << j;
  }
  for (auto& t : sync_callers) t.join();
  for (const auto& j : sync_results) {
    EXPECT_EQ(j["state"], "succeeded") << j;
  }
  EXPECT_EQ(sc.process().wait(std::chrono::seconds(10)), 0);
  std::string log = read_file(sc.log_path());
  EXPECT_NE(log.find("\"msg\":\"drained\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"cut_count\":0"), std::string::npos) << log;
  EXPECT_NE(log.find("\"finished\":7"), std::string::npos) << log;
}

TEST(SidecarShutdown, DeadlineCutsAndReportsWhatDidNotFinish) {
  FakeLlm llm({"--mode", "hang"});
  SidecarOptions o;
  o.provider_endpoint = llm.url();
  o.server_yaml = "  shutdownDrainSeconds: 1\n  shutdownGraceSeconds: 3\n";
  Sidecar sc(o);
  auto r = sc.post_execution({{"input", "stuck"}});
  ASSERT_TRUE(r);
  std::string id = json::parse(r->body)["id"];
  ASSERT_TRUE(eventually(
      [&] {
        auto g = sc.get("/v1/executions/" + id);
        return g && json::parse(g->body)["state"] == "running";
      },
      seconds(5)));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(sc.process().pid(), SIGTERM), 0);
  auto j = sc.wait_terminal(id, seconds(6));
  EXPECT_EQ(j["state"], "cancelled") << j;
  EXPECT_EQ(j["error"]["code"], "shutdown");
  EXPECT_EQ(sc.process().wait(std::chrono::seconds(10)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(8));
  std::string log = read_file(sc.log_path());
  EXPECT_NE(log.find("\"cut\":[\"" + id + "\"]"), std::string::npos) << log;
}

}  // namespace
}  // namespace agentry::testing
