// Pure logic of operator/kube: kubeconfig parsing, error mapping, paths, accessors, line
// splitting, token bucket.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>

#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"
#include "operator/kube/token_bucket.h"
#include "operator/kube/watch.h"
#include "tests/support/tempdir.h"

namespace agentry::kube {
namespace {

using agentry::testing::TempDir;

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(OpKubeconfig, FilesResolvedRelativeToTheKubeconfig) {
  TempDir dir("kc");
  write(dir.file("ca.crt"), "CA-PEM");
  write(dir.file("admin.crt"), "CERT-PEM");
  write(dir.file("admin.key"), "KEY-PEM");
  write(dir.file("config"), R"(apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443/", certificate-authority: ca.crt}
users:
- name: u1
  user: {client-certificate: admin.crt, client-key: admin.key}
contexts:
- name: ctx1
  context: {cluster: c1, user: u1, namespace: team-a}
current-context: ctx1
)");
  auto cfg = load_kubeconfig(dir.file("config"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  EXPECT_EQ(cfg->server, "https://127.0.0.1:6443");
  EXPECT_EQ(cfg->ca_pem, "CA-PEM");
  EXPECT_EQ(cfg->client_cert_pem, "CERT-PEM");
  EXPECT_EQ(cfg->client_key_pem, "KEY-PEM");
  EXPECT_EQ(cfg->default_namespace, "team-a");
  EXPECT_FALSE(cfg->insecure_skip_tls_verify);
}

TEST(OpKubeconfig, DataFieldsTokenAndExplicitContext) {
  // "hello" and "world" in base64.
  std::string yaml = R"(
clusters:
- name: a
  cluster: {server: "https://a:1", certificate-authority-data: aGVsbG8=}
- name: b
  cluster: {server: "https://b:2", insecure-skip-tls-verify: true}
users:
- name: ua
  user: {client-certificate-data: d29ybGQ=, client-key-data: aGVsbG8=}
- name: ub
  user: {token: s3cret}
contexts:
- {name: ca, context: {cluster: a, user: ua}}
- {name: cb, context: {cluster: b, user: ub}}
current-context: ca
)";
  auto a = parse_kubeconfig(yaml, "/nowhere");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->ca_pem, "hello");
  EXPECT_EQ(a->client_cert_pem, "world");
  EXPECT_EQ(a->default_namespace, "default");
  auto b = parse_kubeconfig(yaml, "/nowhere", "cb");
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->server, "https://b:2");
  EXPECT_TRUE(b->insecure_skip_tls_verify);
  EXPECT_EQ(b->token, "s3cret");
  auto missing = parse_kubeconfig(yaml, "/nowhere", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(parse_kubeconfig("[not, a, map]", "/").ok());
  EXPECT_FALSE(parse_kubeconfig("clusters: [", "/").ok());  // YAML error caught at the edge
}

TEST(OpKubeconfig, InClusterReadsServiceAccountFiles) {
  TempDir dir("sa");
  write(dir.file("token"), "tok\n");
  write(dir.file("ca.crt"), "CA");
  write(dir.file("namespace"), "agentry-system\n");
  setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto cfg = in_cluster_config(dir.path());
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  EXPECT_EQ(cfg->server, "https://10.0.0.1:443");
  EXPECT_EQ(cfg->token_file, dir.file("token"));
  EXPECT_EQ(cfg->ca_pem, "CA");
  EXPECT_EQ(cfg->default_namespace, "agentry-system");
  EXPECT_FALSE(in_cluster_config(dir.path()).ok());  // env unset: not in a cluster
}

TEST(OpKubeconfig, FlagWinsOverEnvironment) {
  TempDir dir("kc2");
  auto kc = [](const std::string& server) {
    return "clusters: [{name: c, cluster: {server: '" + server +
           "'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: "
           "c, user: u}}]\ncurrent-context: x\n";
  };
  write(dir.file("env"), kc("https://env:1"));
  write(dir.file("flag"), kc("https://flag:1"));
  setenv("KUBECONFIG", (dir.file("missing") + ":" + dir.file("env")).c_str(), 1);
  auto from_env = load_config("");
  auto from_flag = load_config(dir.file("flag"));
  unsetenv("KUBECONFIG");
  ASSERT_TRUE(from_env.ok()) << from_env.status().to_string();
  EXPECT_EQ(from_env->server, "https://env:1");  // first existing file of the list
  ASSERT_TRUE(from_flag.ok());
  EXPECT_EQ(from_flag->server, "https://flag:1");
}

TEST(OpResource, PathsNameTheirResourceForMetrics) {
  EXPECT_EQ(resource_of_path("/api/v1/namespaces/ns/secrets/a-token"), "secrets");
  EXPECT_EQ(resource_of_path("/apis/agentry.dev/v1alpha1/namespaces/ns/agents/x/status"),
            "agents/status");
  EXPECT_EQ(resource_of_path("/apis/apps/v1/namespaces/ns/deployments?fieldManager=x"),
            "deployments");
  EXPECT_EQ(resource_of_path("/apis/agentry.dev/v1alpha1/agentpolicies/production"),
            "agentpolicies");
  EXPECT_EQ(resource_of_path("/api/v1/namespaces/ns"), "namespaces");
  EXPECT_EQ(resource_of_path("/api/v1/namespaces"), "namespaces");
  EXPECT_EQ(resource_of_path("/apis/coordination.k8s.io/v1/namespaces/d/leases/op"), "leases");
  EXPECT_EQ(resource_of_path("/apis/events.k8s.io/v1/events"), "events");
  EXPECT_EQ(resource_of_path("/version"), "");
  EXPECT_EQ(resource_of_path("/apis"), "");
  EXPECT_EQ(resource_of_path(""), "");
}

TEST(OpErrors, HttpCodesMapToTypedStatus) {
  auto st = [](int code, const std::string& reason) {
    return status_from_http(code, R"({"kind":"Status","apiVersion":"v1","status":"Failure",)"
                                  R"("message":"m","reason":")" +
                                      reason + R"(","code":)" + std::to_string(code) + "}");
  };
  EXPECT_EQ(st(404, "NotFound").code(), Code::kNotFound);
  EXPECT_EQ(st(409, "Conflict").code(), Code::kConflict);
  EXPECT_EQ(st(409, "AlreadyExists").code(), Code::kAlreadyExists);
  EXPECT_EQ(st(410, "Expired").code(), Code::kGone);
  EXPECT_EQ(st(422, "Invalid").code(), Code::kInvalidArgument);
  EXPECT_EQ(st(403, "Forbidden").code(), Code::kPermissionDenied);
  EXPECT_EQ(st(401, "Unauthorized").code(), Code::kUnauthenticated);
  EXPECT_EQ(st(429, "TooManyRequests").code(), Code::kResourceExhausted);
  EXPECT_EQ(st(503, "ServiceUnavailable").code(), Code::kUnavailable);
  EXPECT_EQ(st(500, "InternalError").code(), Code::kUnavailable);
  Status s = st(409, "AlreadyExists");
  EXPECT_EQ(api_reason(s), "AlreadyExists");
  EXPECT_EQ(s.http_status(), 409);
  EXPECT_NE(s.message().find(": m"), std::string::npos);
  Status plain = status_from_http(502, "bad gateway\n");
  EXPECT_EQ(plain.code(), Code::kUnavailable);
  // Found by kube_watch_fuzz: a "kind" that is not a string threw from json::value(); a deep body
  // is not parsed at all (depth limit) but still becomes an error of the right class.
  for (const std::string& body :
       {std::string(R"({"kind":{"a":1},"code":"x"})"), std::string(R"({"kind":7})"),
        std::string(100000, '['), std::string("\xff\xfe")}) {
    Status odd;
    ASSERT_NO_THROW(odd = status_from_http(503, body)) << body.substr(0, 40);
    EXPECT_EQ(odd.code(), Code::kUnavailable);
  }
  EXPECT_TRUE(is_transient(plain));
  EXPECT_FALSE(is_transient(st(404, "NotFound")));
  Status watch_err = status_from_api_status(
      {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old"}});
  EXPECT_TRUE(is_gone(watch_err));
  EXPECT_EQ(api_reason(watch_err), "Expired");
}

TEST(OpResources, PathsAndTable) {
  using namespace resources;
  EXPECT_EQ(kConfigMaps.path("ns1", "cm"), "/api/v1/namespaces/ns1/configmaps/cm");
  EXPECT_EQ(kConfigMaps.path(""), "/api/v1/configmaps");
  EXPECT_EQ(kDeployments.path("ns", "d", "scale"),
            "/apis/apps/v1/namespaces/ns/deployments/d/scale");
  EXPECT_EQ(kAgentPolicies.path("ignored", "prod"),
            "/apis/agentry.dev/v1alpha1/agentpolicies/prod");
  EXPECT_EQ(kNamespaces.path("", "x"), "/api/v1/namespaces/x");
  EXPECT_EQ(kLeases.api_version(), "coordination.k8s.io/v1");
  ASSERT_NE(find_resource("autoscaling/v2", "HorizontalPodAutoscaler"), nullptr);
  EXPECT_EQ(find_resource("v1", "Secret")->plural, "secrets");
  EXPECT_EQ(find_resource("v1", "Nope"), nullptr);
  EXPECT_EQ(url_encode("a=b,c d/é"), "a%3Db%2Cc%20d%2F%C3%A9");
}

TEST(OpObjects, Accessors) {
  json o = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{
    "name":"d","namespace":"n","uid":"u1","resourceVersion":"42","generation":3,
    "labels":{"a":"b"},"finalizers":["x","y"],"deletionTimestamp":"2024-01-01T00:00:00Z",
    "ownerReferences":[{"apiVersion":"agentry.dev/v1alpha1","kind":"Agent","name":"ag",
      "uid":"o1","controller":true}]}})");
  EXPECT_EQ(name(o), "d");
  EXPECT_EQ(namespace_of(o), "n");
  EXPECT_EQ(uid(o), "u1");
  EXPECT_EQ(resource_version(o), "42");
  EXPECT_EQ(generation(o), 3);
  EXPECT_EQ(labels(o)["a"], "b");
  EXPECT_TRUE(has_finalizer(o, "y"));
  EXPECT_FALSE(has_finalizer(o, "z"));
  EXPECT_TRUE(being_deleted(o));
  EXPECT_EQ(key_of(o).str(), "n/d");
  ASSERT_NE(controller_of(o), nullptr);
  EXPECT_EQ((*controller_of(o))["name"], "ag");
  json ref = owner_reference(o);
  EXPECT_EQ(ref["uid"], "u1");
  EXPECT_EQ(ref["controller"], true);
  json empty = json::object();
  EXPECT_EQ(name(empty), "");
  EXPECT_EQ(generation(empty), 0);
  EXPECT_EQ(controller_of(empty), nullptr);
  // Found by kube_watch_fuzz: a "controller" that is not a boolean threw from json::value().
  json odd = {
      {"metadata",
       {{"ownerReferences",
         {{{"name", "a"}, {"controller", 1}}, "x", {{"name", "b"}, {"controller", true}}}}}}};
  ASSERT_NO_THROW((void)controller_of(odd));
  ASSERT_NE(controller_of(odd), nullptr);
  EXPECT_EQ((*controller_of(odd))["name"], "b");
  EXPECT_EQ(owner_reference(json{{"apiVersion", 7}, {"kind", false}})["apiVersion"], "");
  EXPECT_EQ(ObjectKey::parse("ns/name"), (ObjectKey{"ns", "name"}));
  EXPECT_EQ(ObjectKey::parse("cluster-obj"), (ObjectKey{"", "cluster-obj"}));
  json withmf = {{"metadata", {{"name", "a"}, {"managedFields", json::array({1, 2})}}}};
  strip_managed_fields(withmf);
  EXPECT_FALSE(withmf["metadata"].contains("managedFields"));
  EXPECT_EQ(now_rfc3339_micro().size(), std::string("2006-01-02T15:04:05.000000Z").size());
}

TEST(OpLineSplitter, SplitsAcrossChunks) {
  LineSplitter s;
  std::vector<std::string> lines;
  auto on = [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  };
  s.feed("{\"a\":1}\n{\"b\"", on);
  EXPECT_EQ(lines.size(), 1u);
  s.feed(":2}\n\n{\"c\":3}\n{", on);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "{\"b\":2}");
  EXPECT_EQ(lines[2], "{\"c\":3}");
  EXPECT_EQ(s.buffered(), 1u);
  // A false from the callback stops at once.
  int calls = 0;
  EXPECT_FALSE(s.feed("}\nx\ny\n", [&](std::string_view) { return ++calls < 1; }));
  EXPECT_EQ(calls, 1);
}

// A peer that never sends a newline cannot grow the buffer past the bound: the split stops.
TEST(OpLineSplitter, ALineBeyondTheBoundStopsTheSplit) {
  LineSplitter s(64);
  int calls = 0;
  auto on = [&](std::string_view) { return ++calls > 0; };
  EXPECT_TRUE(s.feed(std::string(40, 'x'), on));
  EXPECT_FALSE(s.overflowed());
  EXPECT_FALSE(s.feed(std::string(40, 'y'), on));
  EXPECT_TRUE(s.overflowed());
  EXPECT_EQ(s.buffered(), 0u);
  EXPECT_EQ(calls, 0);
  // Lines within the bound are delivered even when the chunk itself is larger.
  LineSplitter t(64);
  std::string many;
  for (int i = 0; i < 10; ++i) many += std::string(30, 'z') + "\n";
  EXPECT_TRUE(t.feed(many, on));
  EXPECT_EQ(calls, 10);
}

TEST(OpTokenBucket, BurstThenRate) {
  TokenBucket b(100, 10);  // 10 ms per token after the burst
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.reserve().count(), 0) << i;
  auto d1 = b.reserve();
  auto d2 = b.reserve();
  EXPECT_GT(d1.count(), 5'000'000);  // ~10 ms
  EXPECT_LT(d1.count(), 15'000'000);
  EXPECT_GT(d2.count(), d1.count());  // reservations queue up
  TokenBucket t(1, 2);
  EXPECT_TRUE(t.try_take());
  EXPECT_TRUE(t.try_take());
  EXPECT_FALSE(t.try_take());
  TokenBucket unlimited(0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(unlimited.reserve().count(), 0);
}

TEST(OpClient, RejectsBadConfig) {
  Config c;
  c.server = "ftp://x";
  EXPECT_FALSE(Client::create(c).ok());
  c.server = "https://127.0.0.1:1";
  c.ca_pem = "not pem";
  EXPECT_FALSE(Client::create(c).ok());
  c.ca_pem.clear();
  auto ok = Client::create(c);
  ASSERT_TRUE(ok.ok());
  // Nothing listens on port 1: a transport error, typed kUnavailable, after the read retries.
  auto r = (*ok)->get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().http_status(), 0);
}

}  // namespace
}  // namespace agentry::kube
