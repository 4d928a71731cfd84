// Informers across broken watches on a private control plane (etcd + kube-apiserver with
// --watch-cache=false, so watches are served by etcd and compaction reaches them):
//  - the informer's resourceVersion is compacted away while its watch is cut: it relists, and the
//    store (and its handlers) converge on the server's state, deletes included;
//  - kube-apiserver is killed with SIGKILL and restarted: the informer reconnects and converges,
//    and stopping an informer while the server is down is prompt.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "operator/kube/object.h"
#include "operator/kube/watch.h"
#include "operator/runtime/informer.h"
#include "tests/integration/operator/kube_fixture.h"
#include "tests/integration/operator/tcp_proxy.h"

namespace agentry::optest {
namespace {

using kube::resources::kConfigMaps;
using runtime::ObjectPtr;
using State = std::map<std::string, std::string>;  // name -> data.v

class OpRestartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string err;
    cp_ = testing::ControlPlane::start_private(
              {.full = false, .apiserver_args = "--watch-cache=false"}, &err)
              .release();
    if (!cp_) setup_error_ = err;
  }
  static void TearDownTestSuite() {
    delete cp_;
    cp_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cp_, nullptr) << setup_error_;
    c_ = client_for(*cp_);
    ASSERT_NE(c_, nullptr);
    ns_ = unique("restart");
    create_namespace(*c_, ns_);
  }

  State server_state() {
    State s;
    auto l = c_->list_all(kConfigMaps, ns_);
    EXPECT_TRUE(l.ok()) << l.status().to_string();
    if (!l.ok()) return s;
    for (auto& i : (*l)["items"]) s[kube::name(i)] = i.value("data", json::object()).value("v", "");
    return s;
  }
  static State store_state(const runtime::Store& st) {
    State s;
    for (auto& o : st.list()) s[kube::name(*o)] = o->value("data", json::object()).value("v", "");
    return s;
  }
  void put(const std::string& name, const std::string& v) {
    auto r = c_->apply(kConfigMaps, config_map(ns_, name, {{"v", v}}),
                       {.field_manager = "optest", .force = true});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }

  static testing::ControlPlane* cp_;
  static std::string setup_error_;
  std::shared_ptr<kube::Client> c_;
  std::string ns_;
};
testing::ControlPlane* OpRestartTest::cp_ = nullptr;
std::string OpRestartTest::setup_error_;

// What the handlers saw, applied in order: must end equal to the server's state.
struct HandlerState {
  std::mutex mu;
  State s;
  runtime::EventHandler handler() {
    auto set = [this](const ObjectPtr& o) {
      std::lock_guard<std::mutex> lock(mu);
      s[kube::name(*o)] = o->value("data", json::object()).value("v", "");
    };
    return {set, [set](const ObjectPtr&, const ObjectPtr& o) { set(o); },
            [this](const ObjectPtr& o) {
              std::lock_guard<std::mutex> lock(mu);
              s.erase(kube::name(*o));
            }};
  }
  State get() {
    std::lock_guard<std::mutex> lock(mu);
    return s;
  }
};

TEST_F(OpRestartTest, CompactedResourceVersionForcesRelistAndConverges) {
  for (int i = 0; i < 4; ++i) put("cm-" + std::to_string(i), "1");
  TcpProxy proxy(cp_->apiserver_port());
  auto proxied = client_for(*cp_, "https://127.0.0.1:" + std::to_string(proxy.port()));
  ASSERT_NE(proxied, nullptr);
  runtime::InformerOptions o;
  o.watcher.ns = ns_;
  o.watcher.backoff.initial = std::chrono::milliseconds(200);  // keep the test short
  o.watcher.backoff.max = std::chrono::milliseconds(1000);
  runtime::Informer inf(proxied, kConfigMaps, o);
  HandlerState hs;
  inf.add_handler(hs.handler());
  inf.start();
  ASSERT_TRUE(inf.wait_for_sync(30s));
  ASSERT_EQ(store_state(inf.store()), server_state());
  ASSERT_TRUE(eventually([&] { return inf.watcher().watches() >= 1; }));
  std::string informer_rv = inf.watcher().resource_version();

  // Cut the informer off, change things it cannot see, compact etcd past its resourceVersion.
  proxy.set_blocked(true);
  put("cm-0", "2");                                        // update
  ASSERT_TRUE(c_->remove(kConfigMaps, ns_, "cm-1").ok());  // delete
  put("cm-new", "1");                                      // add
  int64_t rev = etcd_revision(cp_->etcd_url());
  ASSERT_GT(rev, std::stoll(informer_rv));
  ASSERT_TRUE(etcd_compact(cp_->etcd_url(), rev));
  // Proof the compaction took: a watch from the informer's resourceVersion is now Gone.
  Status gone;
  kube::WatchOptions wo;
  wo.resource_version = informer_rv;
  wo.timeout_seconds = 5;
  Status s = kube::watch_once(
      *c_, kConfigMaps, ns_, wo,
      [&](kube::WatchEvent&& ev) {
        if (ev.type == "ERROR") gone = kube::status_from_api_status(ev.object);
        return ev.type != "ERROR";
      },
      nullptr);
  EXPECT_TRUE(kube::is_gone(gone) || kube::is_gone(s))
      << gone.to_string() << " / " << s.to_string();
  uint64_t lists_before = inf.watcher().lists();

  proxy.set_blocked(false);
  State want = server_state();
  ASSERT_TRUE(eventually([&] { return store_state(inf.store()) == want; }, 60s))
      << "store never converged";
  EXPECT_GT(inf.watcher().lists(), lists_before) << "a 410 must lead to a relist";
  EXPECT_EQ(hs.get(), want) << "handlers must see the update, the add and a synthesized delete";
  EXPECT_EQ(want.count("cm-1"), 0u);
  EXPECT_EQ(want.at("cm-0"), "2");
  inf.stop();
}

TEST_F(OpRestartTest, ApiserverKillAndRestartConverges) {
  for (int i = 0; i < 5; ++i) put("k-" + std::to_string(i), "1");
  runtime::InformerOptions o;
  o.watcher.ns = ns_;
  runtime::Informer inf(c_, kConfigMaps, o);
  HandlerState hs;
  inf.add_handler(hs.handler());
  inf.start();
  runtime::Informer idle(c_, kConfigMaps, o);  // stopped while the server is down
  idle.start();
  ASSERT_TRUE(inf.wait_for_sync(30s));
  ASSERT_TRUE(idle.wait_for_sync(30s));
  uint64_t watches_before = inf.watcher().watches();

  ASSERT_TRUE(cp_->kill_apiserver());
  auto t0 = std::chrono::steady_clock::now();
  idle.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms) << "stop must not wait for the server";

  std::string err;
  ASSERT_TRUE(cp_->start_apiserver_again(&err)) << err;
  // Changes right after the server is back, racing the informer's reconnect.
  put("k-0", "2");
  ASSERT_TRUE(c_->remove(kConfigMaps, ns_, "k-1").ok());
  put("k-new", "1");
  State want = server_state();
  ASSERT_TRUE(eventually([&] { return store_state(inf.store()) == want; }, 90s))
      << "store never converged after the restart";
  EXPECT_GT(inf.watcher().watches(), watches_before) << "the informer re-watched";
  EXPECT_EQ(hs.get(), want);
  // And it keeps following live changes on the new server.
  put("k-2", "3");
  want = server_state();
  EXPECT_TRUE(eventually([&] { return store_state(inf.store()) == want; }, 30s));
  inf.stop();
}

}  // namespace
}  // namespace agentry::optest
