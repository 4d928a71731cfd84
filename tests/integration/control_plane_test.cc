// The local control plane is real: TLS with the admin client certificate, RBAC on, and a
// Deployment's pods scheduled onto the kwok node and Running.
#include "tests/support/control_plane.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

namespace agentry::testing {
namespace {

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    cp_ = ControlPlane::shared(&err);
    ASSERT_NE(cp_, nullptr) << err;
  }
  std::unique_ptr<httplib::SSLClient> admin_client() const {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", cp_->apiserver_port(),
                                                  cp_->admin_cert_file(), cp_->admin_key_file());
    c->set_ca_cert_path(cp_->ca_file().c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(5);
    return c;
  }
  ControlPlane* cp_ = nullptr;
};

TEST_F(ControlPlaneTest, VersionAndApiOverTlsWithAdminCert) {
  auto c = admin_client();
  auto v = c->Get("/version");
  ASSERT_TRUE(v) << httplib::to_string(v.error());
  ASSERT_EQ(v->status, 200) << v->body;
  auto version = nlohmann::json::parse(v->body);
  EXPECT_EQ(version.value("major", ""), "1");
  EXPECT_FALSE(version.value("gitVersion", "").empty());

  auto api = c->Get("/api");
  ASSERT_TRUE(api);
  ASSERT_EQ(api->status, 200) << api->body;
  auto j = nlohmann::json::parse(api->body);
  EXPECT_EQ(j.value("kind", ""), "APIVersions");
  EXPECT_EQ(j["versions"][0], "v1");
}

TEST_F(ControlPlaneTest, RbacForbidsAnonymousAndTlsIsVerified) {
  httplib::SSLClient anon("127.0.0.1", cp_->apiserver_port());
  anon.set_ca_cert_path(cp_->ca_file().c_str());
  anon.enable_server_certificate_verification(true);
  auto r = anon.Get("/api/v1/namespaces/default/secrets");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 403) << r->body;

  // Without our CA the server's certificate must not be trusted.
  httplib::SSLClient untrusting("127.0.0.1", cp_->apiserver_port());
  untrusting.set_ca_cert_path("/dev/null");
  untrusting.enable_server_certificate_verification(true);
  auto u = untrusting.Get("/version");
  EXPECT_FALSE(u);
}

TEST_F(ControlPlaneTest, DeploymentPodsBecomeRunningOnTheKwokNode) {
  const std::string ns = "cp-test-" + std::to_string(::getpid());
  std::string out;
  ASSERT_EQ(cp_->kubectl({"create", "namespace", ns}, &out), 0) << out;
  const std::string manifest = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example/web:1}]
)";
  ASSERT_EQ(cp_->kubectl_stdin({"apply", "-n", ns, "-f", "-"}, manifest, &out), 0) << out;
  ASSERT_EQ(cp_->kubectl({"-n", ns, "rollout", "status", "deployment/web", "--timeout=120s"}, &out),
            0)
      << out;
  ASSERT_EQ(cp_->kubectl({"-n", ns, "get", "pods", "-o", "json"}, &out), 0) << out;
  auto pods = nlohmann::json::parse(out)["items"];
  ASSERT_EQ(pods.size(), 2u);
  for (auto& p : pods) {
    EXPECT_EQ(p["status"]["phase"], "Running");
    EXPECT_EQ(p["spec"]["nodeName"], "kwok-node-0");
  }
  cp_->kubectl({"delete", "namespace", ns, "--wait=false"}, &out);
}

// The kwok node heartbeats through its Lease (renewed every 10 s against the controller
// manager's default 50 s grace period), so it never flaps NotReady on an idle or a loaded machine.
TEST_F(ControlPlaneTest, TheKwokNodeRenewsItsLeaseAndStaysReady) {
  auto renew_time = [&] {
    std::string out;
    if (cp_->kubectl({"get", "lease", "-n", "kube-node-lease", "kwok-node-0", "-o",
                      "jsonpath={.spec.renewTime}"},
                     &out) != 0)
      return std::string();
    return out;
  };
  std::string first = renew_time();
  ASSERT_FALSE(first.empty())
      << "kwok holds no node lease: the node would heartbeat by status only";
  std::string later = first;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (later == first && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    later = renew_time();
  }
  EXPECT_NE(later, first) << "the node lease was not renewed within 30 s";
  std::string ready;
  ASSERT_EQ(cp_->kubectl({"get", "node", "kwok-node-0", "-o",
                          "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"},
                         &ready),
            0);
  EXPECT_EQ(ready, "True");
}

}  // namespace
}  // namespace agentry::testing
