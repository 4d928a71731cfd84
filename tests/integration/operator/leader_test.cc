// Two agentry-operator processes with --leader-elect against the shared cluster: one leads; after
// kill -9 of the leader the other takes over within lease duration + retry; after SIGTERM it
// takes over at once (the lease is released). Also checks the binary's /metrics, /healthz and
// /readyz.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <optional>

#include "operator/kube/object.h"
#include "tests/integration/operator/kube_fixture.h"
#include "tests/support/ports.h"
#include "tests/support/tempdir.h"

namespace agentry::optest {
namespace {

struct Operator {
  testing::Process proc;
  int port = 0;
};

class OpLeaderTest : public SharedClusterTest {
 protected:
  // Their own namespace: the other tests run beside this one on the same control plane, and an
  // operator that watched every namespace would reconcile their Agents and dispatch their
  // Workflows (a reconcile in flight then holds up the graceful stop, which drains it first).
  OpLeaderTest() : SharedClusterTest("leader") {}
  void SetUp() override {
    SharedClusterTest::SetUp();
    if (HasFatalFailure()) return;
    lease_ = unique("le");
    // The binary's controllers watch Agentry's kinds: /readyz waits for their informers.
    std::string out;
    ASSERT_TRUE(cp_->install_crds(&out)) << out;
    log_dir_ = std::make_unique<testing::TempDir>("leader");
  }
  void TearDown() override {
    if (c_) c_->remove(kube::resources::kLeases, "default", lease_);
    SharedClusterTest::TearDown();
  }

  std::unique_ptr<Operator> spawn(const std::string& tag) {
    auto op = std::make_unique<Operator>();
    op->port = testing::free_port();
    testing::Process::Options o;
    o.argv = {std::string(AGENTRY_BUILD_DIR) + "/operator/agentry-operator",
              "--kubeconfig",
              cp_->kubeconfig(),
              "--metrics-addr",
              "127.0.0.1:" + std::to_string(op->port),
              "--leader-elect",
              "--leader-election-namespace",
              "default",
              "--leader-election-id",
              lease_,
              "--watch-namespace",
              ns_};
    o.log_path = log_dir_->file(tag + ".log");
    op->proc = testing::Process(o);
    std::string err;
    EXPECT_TRUE(op->proc.start(&err)) << err;
    return op;
  }

  // 1, 0, or nullopt when the endpoint does not answer.
  static std::optional<int> master_status(const Operator& op) {
    httplib::Client http("127.0.0.1", op.port);
    http.set_connection_timeout(std::chrono::milliseconds(300));
    http.set_read_timeout(std::chrono::seconds(1));
    auto r = http.Get("/metrics");
    if (!r || r->status != 200) return std::nullopt;
    auto pos = r->body.find("\nleader_election_master_status{");
    if (pos == std::string::npos) return std::nullopt;
    auto sp = r->body.find("} ", pos);
    return std::atoi(r->body.c_str() + sp + 2);
  }

  std::string holder() {
    auto l = c_->get(kube::resources::kLeases, "default", lease_);
    return l.ok() ? l->value("spec", json::object()).value("holderIdentity", "") : "";
  }

  // Waits until exactly one of a, b leads; returns it (nullptr on timeout).
  Operator* wait_for_leader(Operator& a, Operator& b) {
    Operator* leader = nullptr;
    eventually(
        [&] {
          auto sa = master_status(a), sb = master_status(b);
          if (!sa || !sb) return false;
          if (*sa + *sb != 1) return false;
          leader = *sa == 1 ? &a : &b;
          return true;
        },
        30s);
    return leader;
  }

  std::string lease_;
  std::unique_ptr<testing::TempDir> log_dir_;
};

TEST_F(OpLeaderTest, OneLeadsAndKillNineFailsOverWithinLeaseDuration) {
  auto a = spawn("a");
  auto b = spawn("b");
  Operator* leader = wait_for_leader(*a, *b);
  ASSERT_NE(leader, nullptr) << a->proc.log_tail() << b->proc.log_tail();
  Operator* standby = leader == a.get() ? b.get() : a.get();
  std::string first_holder = holder();
  EXPECT_FALSE(first_holder.empty());

  // The binary's operational endpoints.
  httplib::Client http("127.0.0.1", leader->port);
  auto healthz = http.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200) << healthz->body;
  std::string ready_body;
  EXPECT_TRUE(eventually(
      [&] {
        auto readyz = http.Get("/readyz?verbose");
        ready_body = readyz ? readyz->body : "no answer";
        return readyz && readyz->status == 200;
      },
      30s))
      << ready_body;
  EXPECT_NE(ready_body.find("[+]informers-synced ok"), std::string::npos) << ready_body;
  EXPECT_TRUE(eventually(
      [&] {
        auto metrics = http.Get("/metrics");
        return metrics &&
               metrics->body.find("rest_client_requests_total{code=\"200\",method=\"PUT\"}") !=
                   std::string::npos;
      },
      10s))
      << "lease renewals are PUTs, counted by code and method";

  auto t0 = std::chrono::steady_clock::now();
  leader->proc.stop(SIGKILL, 5s);
  ASSERT_TRUE(eventually([&] { return master_status(*standby) == 1; }, 30s))
      << standby->proc.log_tail();
  auto took = std::chrono::steady_clock::now() - t0;
  // The standby watches the Lease (it sees the last renewal as it happens) and wakes when that
  // renewal's lease runs out: 15 s after the last renewal, which came before the kill.
  EXPECT_LT(took, 17500ms) << "lease duration 15 s + retry 2 s";
  EXPECT_GT(took, 5s) << "an unreleased lease must be waited out, not stolen";
  EXPECT_NE(holder(), first_holder);
  EXPECT_FALSE(holder().empty());
  std::printf("kill -9 failover took %.2f s\n", std::chrono::duration<double>(took).count());
}

TEST_F(OpLeaderTest, GracefulStopHandsOverAtOnce) {
  auto a = spawn("a");
  auto b = spawn("b");
  Operator* leader = wait_for_leader(*a, *b);
  ASSERT_NE(leader, nullptr) << a->proc.log_tail() << b->proc.log_tail();
  Operator* standby = leader == a.get() ? b.get() : a.get();
  std::string first_holder = holder();

  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(leader->proc.pid(), SIGTERM), 0);
  ASSERT_TRUE(eventually([&] { return master_status(*standby) == 1; }, 20s))
      << standby->proc.log_tail();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 3s) << "a released lease is taken on the standby's next poll\n"
                      << leader->proc.log_tail();
  EXPECT_EQ(leader->proc.wait(10s), 0) << leader->proc.log_tail();
  EXPECT_NE(holder(), first_holder);
  std::printf("graceful hand-over took %.2f s\n", std::chrono::duration<double>(took).count());
}

}  // namespace
}  // namespace agentry::optest
