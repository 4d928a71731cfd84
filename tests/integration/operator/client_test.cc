// The REST client against the real API server: CRUD, typed errors, pagination, server-side apply,
// status and scale subresources, discovery, and one raw watch.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "common/file_io.h"
#include "common/metrics.h"
#include "operator/kube/object.h"
#include "operator/kube/watch.h"
#include "tests/integration/operator/kube_fixture.h"
#include "tests/integration/operator/tcp_proxy.h"

namespace agentry::optest {
namespace {

using kube::resources::kConfigMaps;
using kube::resources::kDeployments;

class OpClientTest : public SharedClusterTest {
 protected:
  OpClientTest() : SharedClusterTest("client") {}
};

TEST_F(OpClientTest, CrudAndTypedErrors) {
  auto created = c_->create(kConfigMaps, ns_, config_map(ns_, "cm", {{"k", "v1"}}));
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_FALSE(kube::uid(*created).empty());

  auto dup = c_->create(kConfigMaps, ns_, config_map(ns_, "cm"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.status().http_status(), 409);
  EXPECT_EQ(kube::api_reason(dup.status()), "AlreadyExists");

  auto got = c_->get(kConfigMaps, ns_, "cm");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["data"]["k"], "v1");

  json next = *got;
  next["data"]["k"] = "v2";
  auto updated = c_->update(kConfigMaps, next);
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  EXPECT_NE(kube::resource_version(*updated), kube::resource_version(*got));

  // The same stale resourceVersion again: an optimistic-concurrency conflict.
  next["data"]["k"] = "v3";
  auto stale = c_->update(kConfigMaps, next);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Code::kConflict);
  EXPECT_EQ(kube::api_reason(stale.status()), "Conflict");

  auto merged =
      c_->patch(kConfigMaps, ns_, "cm", kube::PatchType::kMerge, {{"data", {{"m", "1"}}}});
  ASSERT_TRUE(merged.ok()) << merged.status().to_string();
  EXPECT_EQ((*merged)["data"]["k"], "v2");
  EXPECT_EQ((*merged)["data"]["m"], "1");

  auto jp = c_->patch(kConfigMaps, ns_, "cm", kube::PatchType::kJson,
                      json::array({{{"op", "replace"}, {"path", "/data/m"}, {"value", "2"}}}));
  ASSERT_TRUE(jp.ok()) << jp.status().to_string();
  EXPECT_EQ((*jp)["data"]["m"], "2");

  // A JSON patch whose test op fails is rejected as invalid, and nothing changes.
  auto failed_test =
      c_->patch(kConfigMaps, ns_, "cm", kube::PatchType::kJson,
                json::array({{{"op", "test"}, {"path", "/data/m"}, {"value", "nope"}},
                             {{"op", "replace"}, {"path", "/data/m"}, {"value", "3"}}}));
  ASSERT_FALSE(failed_test.ok());
  EXPECT_EQ(failed_test.status().code(), Code::kInvalidArgument)
      << failed_test.status().to_string();

  auto invalid = c_->create(kConfigMaps, ns_, config_map(ns_, "Not_A_Valid_Name"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(invalid.status().http_status(), 422);
  EXPECT_EQ(kube::api_reason(invalid.status()), "Invalid");

  // Delete with a wrong uid precondition: refused (409), the object stays.
  auto wrong = c_->remove(kConfigMaps, ns_, "cm", {.precondition_uid = "not-the-uid"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kConflict);
  ASSERT_TRUE(c_->get(kConfigMaps, ns_, "cm").ok());

  auto del =
      c_->remove(kConfigMaps, ns_, "cm",
                 {.propagation_policy = "Foreground", .precondition_uid = kube::uid(*created)});
  ASSERT_TRUE(del.ok()) << del.status().to_string();
  ASSERT_TRUE(
      eventually([&] { return kube::is_not_found(c_->get(kConfigMaps, ns_, "cm").status()); }));
  auto missing = c_->get(kConfigMaps, ns_, "cm");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().http_status(), 404);
  EXPECT_EQ(kube::api_reason(missing.status()), "NotFound");
  EXPECT_EQ(c_->remove(kConfigMaps, ns_, "cm").status().code(), Code::kNotFound);
}

TEST_F(OpClientTest, PaginationOver1200Objects) {
  constexpr int kCount = 1200;
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 16; ++w) {
    writers.emplace_back([&] {
      for (int i = next++; i < kCount; i = next++) {
        auto r = c_->create(kConfigMaps, ns_,
                            config_map(ns_, "cm-" + std::to_string(i), {{"i", std::to_string(i)}}));
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);

  std::set<std::string> names;
  int pages = 0;
  kube::ListOptions o;
  o.limit = 100;
  for (;;) {
    auto page = c_->list(kConfigMaps, ns_, o);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    ++pages;
    EXPECT_LE((*page)["items"].size(), 100u);
    for (auto& item : (*page)["items"]) names.insert(kube::name(item));
    o.continue_token = (*page)["metadata"].value("continue", "");
    if (o.continue_token.empty()) break;
    ASSERT_LT(pages, 100) << "pagination does not end";
  }
  // kube-root-ca.crt is created in every namespace by the controller manager (full cluster).
  names.erase("kube-root-ca.crt");
  EXPECT_EQ(names.size(), static_cast<size_t>(kCount));
  EXPECT_GE(pages, kCount / 100);

  auto all = c_->list_all(kConfigMaps, ns_, {.limit = 250});
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  size_t n = 0;
  for (auto& item : (*all)["items"]) n += kube::name(item) != "kube-root-ca.crt";
  EXPECT_EQ(n, static_cast<size_t>(kCount));
  EXPECT_FALSE((*all)["metadata"].value("resourceVersion", "").empty());
  auto selected = c_->list(kConfigMaps, ns_, {.field_selector = "metadata.name=cm-7"});
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)["items"].size(), 1u);
}

TEST_F(OpClientTest, ServerSideApplyIsIdempotentAndReportsConflicts) {
  json desired = config_map(ns_, "applied", {{"owned-by-a", "1"}, {"shared", "a"}});
  auto first = c_->apply(kConfigMaps, desired, {.field_manager = "manager-a"});
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  auto second = c_->apply(kConfigMaps, desired, {.field_manager = "manager-a"});
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(kube::resource_version(*second), kube::resource_version(*first))
      << "re-applying the same intent must not write";

  desired["data"]["owned-by-a"] = "2";
  auto changed = c_->apply(kConfigMaps, desired, {.field_manager = "manager-a"});
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(kube::resource_version(*changed), kube::resource_version(*first));

  json other = config_map(ns_, "applied", {{"shared", "b"}});
  auto conflict = c_->apply(kConfigMaps, other, {.field_manager = "manager-b"});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), Code::kConflict);
  EXPECT_NE(conflict.status().message().find(".data.shared"), std::string::npos)
      << conflict.status().message();
  EXPECT_NE(conflict.status().message().find("manager-a"), std::string::npos);

  auto forced = c_->apply(kConfigMaps, other, {.field_manager = "manager-b", .force = true});
  ASSERT_TRUE(forced.ok()) << forced.status().to_string();
  EXPECT_EQ((*forced)["data"]["shared"], "b");
  EXPECT_EQ((*forced)["data"]["owned-by-a"], "2");
}

TEST_F(OpClientTest, StatusSubresourceAndDiscovery) {
  kube::Resource widgets = ensure_widget_crd(*c_);
  ASSERT_EQ(widgets.plural, "widgets");
  EXPECT_TRUE(widgets.namespaced);
  auto created = c_->create(widgets, ns_, widget(ns_, "w", {{"size", 1}}));
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_EQ(kube::generation(*created), 1);

  json with_status = *created;
  with_status["status"] = {{"phase", "Ready"}, {"observedGeneration", 1}};
  with_status["spec"]["size"] = 99;  // ignored by the status endpoint
  auto st = c_->update_status(widgets, with_status);
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  EXPECT_EQ((*st)["status"]["phase"], "Ready");
  EXPECT_EQ((*st)["spec"]["size"], 1);
  EXPECT_EQ(kube::generation(*st), 1) << "status writes do not bump the generation";

  // Status through a merge patch on the subresource, and the main endpoint ignoring status.
  auto patched = c_->patch(widgets, ns_, "w", kube::PatchType::kMerge,
                           {{"status", {{"phase", "Degraded"}}}}, "status");
  ASSERT_TRUE(patched.ok()) << patched.status().to_string();
  EXPECT_EQ((*patched)["status"]["phase"], "Degraded");
  json main_write = *patched;
  main_write["status"]["phase"] = "Ignored";
  main_write["spec"]["size"] = 2;
  auto mw = c_->update(widgets, main_write);
  ASSERT_TRUE(mw.ok()) << mw.status().to_string();
  EXPECT_EQ((*mw)["status"]["phase"], "Degraded");
  EXPECT_EQ(kube::generation(*mw), 2);
  // A status write with a stale resourceVersion is a conflict like any update.
  auto stale = c_->update_status(widgets, with_status);
  EXPECT_EQ(stale.status().code(), Code::kConflict);
}

TEST_F(OpClientTest, ScaleSubresource) {
  json d = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
    "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":"example.invalid/web:1"}]}}}})");
  ASSERT_TRUE(c_->create(kDeployments, ns_, d).ok());
  auto scale = c_->get_scale(kDeployments, ns_, "web");
  ASSERT_TRUE(scale.ok()) << scale.status().to_string();
  EXPECT_EQ((*scale)["kind"], "Scale");
  EXPECT_EQ((*scale)["spec"]["replicas"], 1);
  auto set = c_->set_scale(kDeployments, ns_, "web", 3);
  ASSERT_TRUE(set.ok()) << set.status().to_string();
  auto got = c_->get(kDeployments, ns_, "web");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["spec"]["replicas"], 3);
}

TEST_F(OpClientTest, RawWatchSeesAddUpdateDeleteInOrder) {
  auto list = c_->list(kConfigMaps, ns_);
  ASSERT_TRUE(list.ok());
  std::string rv = (*list)["metadata"]["resourceVersion"];
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> seen;  // (type, name:data)
  kube::StreamCanceller cancel;
  Status result;
  std::thread watcher([&] {
    kube::WatchOptions o;
    o.resource_version = rv;
    o.timeout_seconds = 60;
    o.field_selector = "metadata.name=watched";
    result = kube::watch_once(
        *c_, kConfigMaps, ns_, o,
        [&](kube::WatchEvent&& ev) {
          if (ev.type == "BOOKMARK") return true;
          std::lock_guard<std::mutex> lock(mu);
          seen.emplace_back(ev.type, kube::name(ev.object) + ":" +
                                         ev.object.value("data", json::object()).value("v", ""));
          return true;
        },
        &cancel);
  });
  ASSERT_TRUE(c_->create(kConfigMaps, ns_, config_map(ns_, "watched", {{"v", "1"}})).ok());
  ASSERT_TRUE(
      c_->patch(kConfigMaps, ns_, "watched", kube::PatchType::kMerge, {{"data", {{"v", "2"}}}})
          .ok());
  ASSERT_TRUE(c_->remove(kConfigMaps, ns_, "watched").ok());
  EXPECT_TRUE(eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return seen.size() >= 3;
      },
      20s));
  auto t0 = std::chrono::steady_clock::now();
  cancel.cancel();
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "a cancelled watch returns at once";
  EXPECT_EQ(result.code(), Code::kCancelled);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("ADDED"), std::string("watched:1")));
  EXPECT_EQ(seen[1], std::make_pair(std::string("MODIFIED"), std::string("watched:2")));
  EXPECT_EQ(seen[2].first, "DELETED");
}

// A watch from a compacted resourceVersion (410, typed kGone) is proven in restart_test.cc, whose
// private API server runs without a watch cache so an explicit etcd compaction reaches it.

// The kubeconfig's CA is the only trust anchor, and the certificate must name the host (or
// tls-server-name): the cluster's certificate carries IP:127.0.0.1 and DNS:kubernetes.
// Keep-alive connections the server (or anything between) closed while they sat in the pool:
// every verb still succeeds, on a fresh connection, with no error and no duplicate.
TEST_F(OpClientTest, PooledConnectionsClosedWhileIdleAreNotUsedAgain) {
  TcpProxy proxy(cp_->apiserver_port());
  auto c = client_for(*cp_, "https://127.0.0.1:" + std::to_string(proxy.port()));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->create(kConfigMaps, ns_, config_map(ns_, "idle", {{"n", "0"}})).ok());
  auto cut = [&] {  // every connection through the proxy closes; new ones work at once
    proxy.set_blocked(true);
    proxy.set_blocked(false);
  };
  for (int round = 1; round <= 3; ++round) {
    const std::string n = std::to_string(round);
    cut();
    auto got = c->get(kConfigMaps, ns_, "idle");
    ASSERT_TRUE(got.ok()) << "GET after a cut: " << got.status().to_string();
    cut();
    auto patched =
        c->patch(kConfigMaps, ns_, "idle", kube::PatchType::kMerge, {{"data", {{"n", n}}}});
    ASSERT_TRUE(patched.ok()) << "PATCH after a cut: " << patched.status().to_string();
    cut();
    auto created = c->create(kConfigMaps, ns_, config_map(ns_, "made-" + n));
    ASSERT_TRUE(created.ok()) << "POST after a cut: " << created.status().to_string();
    cut();
    json obj = *patched;
    obj["data"]["m"] = n;
    auto updated = c->update(kConfigMaps, obj);
    ASSERT_TRUE(updated.ok()) << "PUT after a cut: " << updated.status().to_string();
    cut();
    auto removed = c->remove(kConfigMaps, ns_, "made-" + n);
    ASSERT_TRUE(removed.ok()) << "DELETE after a cut: " << removed.status().to_string();
  }
  auto last = c_->get(kConfigMaps, ns_, "idle");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ((*last)["data"]["n"], "3");
  EXPECT_EQ((*last)["data"]["m"], "3");
}

// The race no check before reuse can see: the connection dies as the request is written, its bytes
// lost. A request whose write failed never reached a server able to act on it (it was
// incomplete), so every verb is sent again at once on a fresh connection, a create included, and
// nothing is made twice. (A request fully written whose answer was lost is resent only for verbs
// whose repetition changes nothing: safe_to_resend() in operator/kube/client.cc.)
TEST_F(OpClientTest, ARequestLostWithAClosingConnectionIsResentOnAFreshOne) {
  TcpProxy proxy(cp_->apiserver_port());
  auto c = client_for(*cp_, "https://127.0.0.1:" + std::to_string(proxy.port()));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->create(kConfigMaps, ns_, config_map(ns_, "race", {{"n", "0"}})).ok());
  auto resends = [] {
    double sum = 0;
    for (const auto& f : metrics::registry()->Collect())
      if (f.name == "rest_client_stale_connection_resends_total")
        for (const auto& m : f.metric) sum += m.counter.value;
    return sum;
  };
  const double before = resends();
  proxy.close_on_next_request();
  auto got = c->get(kConfigMaps, ns_, "race");
  ASSERT_TRUE(got.ok()) << "GET: " << got.status().to_string();
  proxy.close_on_next_request();
  auto patched =
      c->patch(kConfigMaps, ns_, "race", kube::PatchType::kMerge, {{"data", {{"n", "1"}}}});
  ASSERT_TRUE(patched.ok()) << "PATCH: " << patched.status().to_string();
  proxy.close_on_next_request();
  json obj = *patched;
  obj["data"]["m"] = "1";
  auto updated = c->update(kConfigMaps, obj);
  ASSERT_TRUE(updated.ok()) << "PUT: " << updated.status().to_string();
  EXPECT_GE(resends(), before + 3) << "each request was resent on a fresh connection";
  // A create: resent when its write failed; when it was written whole and only the answer was
  // lost (the connection died after the write), it is not resent, the caller sees a transient
  // error and retries, and it is never made twice. Which of the two happens is the race's.
  proxy.close_on_next_request();
  auto created = c->create(kConfigMaps, ns_, config_map(ns_, "race-made"));
  if (!created.ok()) {
    EXPECT_TRUE(kube::is_transient(created.status())) << created.status().to_string();
    EXPECT_FALSE(c_->get(kConfigMaps, ns_, "race-made").ok()) << "the lost create was not made";
    created = c->create(kConfigMaps, ns_, config_map(ns_, "race-made"));
  }
  ASSERT_TRUE(created.ok()) << "POST: " << created.status().to_string();
  proxy.close_on_next_request();
  auto removed = c->remove(kConfigMaps, ns_, "race-made");
  ASSERT_TRUE(removed.ok()) << "DELETE: " << removed.status().to_string();
  auto last = c_->get(kConfigMaps, ns_, "race");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ((*last)["data"]["m"], "1");
  EXPECT_EQ(kube::resource_version(*last), kube::resource_version(*updated))
      << "written once: no later write of the same change";
}

TEST(OpClientTls, TrustsOnlyTheConfiguredCaAndChecksTheName) {
  AGENTRY_SHARED_CLUSTER(cp);
  auto base = kube::load_kubeconfig(cp->kubeconfig());
  ASSERT_TRUE(base.ok()) << base.status().to_string();
  auto list_with = [](const kube::Config& cfg) {
    auto c = kube::Client::create(cfg);
    if (!c.ok()) return c.status();
    auto r = (*c)->list(kube::resources::kNamespaces, "", {.limit = 1});
    return r.ok() ? Status() : r.status();
  };
  EXPECT_TRUE(list_with(*base).is_ok());

  kube::Config named = *base;
  named.tls_server_name = "kubernetes";
  EXPECT_TRUE(list_with(named).is_ok()) << list_with(named).to_string();

  kube::Config wrong_name = *base;
  wrong_name.tls_server_name = "not-in-the-certificate.example";
  Status s = list_with(wrong_name);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.to_string();
  EXPECT_NE(s.message().find("certificate verify failed"), std::string::npos) << s.to_string();

  // Another CA (made here) that did not sign the server's certificate.
  std::string dir = ::testing::TempDir() + "/other-ca-" + std::to_string(getpid());
  std::string out;
  ASSERT_EQ(testing::run_command({"mkdir", "-p", dir}, &out), 0);
  ASSERT_EQ(testing::run_command(
                {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                 "/CN=other-ca", "-keyout", dir + "/ca.key", "-out", dir + "/ca.crt"},
                &out),
            0)
      << out;
  kube::Config other_ca = *base;
  ASSERT_TRUE(agentry::read_file(dir + "/ca.crt", &other_ca.ca_pem));
  s = list_with(other_ca);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.to_string();
  EXPECT_NE(s.message().find("certificate verify failed"), std::string::npos) << s.to_string();

  // No CA in the kubeconfig means the system roots, which did not sign a private cluster's CA.
  kube::Config system_roots = *base;
  system_roots.ca_pem.clear();
  EXPECT_FALSE(list_with(system_roots).is_ok());

  kube::Config insecure = other_ca;
  insecure.insecure_skip_tls_verify = true;
  EXPECT_TRUE(list_with(insecure).is_ok()) << list_with(insecure).to_string();
}

}  // namespace
}  // namespace agentry::optest
