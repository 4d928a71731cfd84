// The HTTP surface: auth, JSON errors, body limits, routing, request IDs, health, metrics, and
// --check-config, against the real sidecar binary over loopback.
#include <gtest/gtest.h>

#include "tests/integration/sidecar/harness.h"

namespace agentry::testing {
namespace {

using nlohmann::json;

class SidecarApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    llm_ = new FakeLlm();
    SidecarOptions o;
    o.provider_endpoint = llm_->url();
    o.server_yaml = "  maxBodyBytes: 4096\n";
    sidecar_ = new Sidecar(o);
  }
  static void TearDownTestSuite() {
    delete sidecar_;
    delete llm_;
  }
  static FakeLlm* llm_;
  static Sidecar* sidecar_;
};
FakeLlm* SidecarApiTest::llm_ = nullptr;
Sidecar* SidecarApiTest::sidecar_ = nullptr;

void expect_json_error(const httplib::Result& r, int status, const std::string& code) {
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, status) << r->body;
  auto j = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r->body;
  EXPECT_EQ(j["error"]["code"], code) << r->body;
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
}

TEST_F(SidecarApiTest, HealthReadyAndMetricsNeedNoToken) {
  auto c = sidecar_->client();
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto r = c.Get("/readyz?verbose");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("[+]provider ok"), std::string::npos) << r->body;
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("executions_in_flight"), std::string::npos);
  EXPECT_NE(m->body.find("execution_queue_depth"), std::string::npos);
  // The scrape's own connection is open while it is served.
  EXPECT_EQ(m->body.find("agentry_http_connections 0"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("agentry_http_connections "), std::string::npos);
  EXPECT_NE(m->body.find("agentry_http_busy_refused 0"), std::string::npos);
}

TEST_F(SidecarApiTest, MissingTokenIs401) {
  auto c = sidecar_->client();
  auto r = c.Get("/v1/executions");
  expect_json_error(r, 401, "unauthenticated");
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
}

TEST_F(SidecarApiTest, WrongTokenIs401) {
  auto c = sidecar_->client();
  expect_json_error(c.Get("/v1/executions", {{"Authorization", "Bearer wrong-token-0123456789"}}),
                    401, "unauthenticated");
  expect_json_error(c.Get("/v1/executions", {{"Authorization", std::string("Basic ") + kToken}}),
                    401, "unauthenticated");
  // A prefix of the right token is wrong too.
  expect_json_error(c.Get("/v1/executions", {{"Authorization", "Bearer test-token"}}), 401,
                    "unauthenticated");
}

TEST_F(SidecarApiTest, RightTokenIsServed) {
  auto r = sidecar_->get("/v1/executions");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(json::parse(r->body)["items"].is_array());
}

TEST_F(SidecarApiTest, MalformedJsonIs400) {
  auto c = sidecar_->client();
  expect_json_error(c.Post("/v1/executions", sidecar_->auth(), "{not json", "application/json"),
                    400, "invalid_json");
  expect_json_error(c.Post("/v1/executions", sidecar_->auth(), "[1,2]", "application/json"), 400,
                    "invalid_argument");
  auto r = c.Post("/v1/executions", sidecar_->auth(), R"({"sessionId":"s"})", "application/json");
  expect_json_error(r, 400, "invalid_argument");
  EXPECT_NE(r->body.find("input"), std::string::npos);
  expect_json_error(c.Post("/v1/executions", sidecar_->auth(), R"({"input":"x","stream":"yes"})",
                           "application/json"),
                    400, "invalid_argument");
  expect_json_error(
      c.Post("/v1/executions?wait=soon", sidecar_->auth(), R"({"input":"x"})", "application/json"),
      400, "invalid_argument");
}

TEST_F(SidecarApiTest, OversizeBodyIs413) {
  auto c = sidecar_->client();
  std::string big = json{{"input", std::string(10000, 'x')}}.dump();
  auto r = c.Post("/v1/executions", sidecar_->auth(), big, "application/json");
  expect_json_error(r, 413, "payload_too_large");
  EXPECT_NE(r->body.find("maxBodyBytes"), std::string::npos);
}

TEST_F(SidecarApiTest, UnknownRouteIs404AndWrongMethodIs405) {
  auto c = sidecar_->client();
  expect_json_error(c.Get("/v1/nothing-here", sidecar_->auth()), 404, "not_found");
  expect_json_error(c.Get("/v1/executions/ex-doesnotexist", sidecar_->auth()), 404, "not_found");
  auto r = c.Put("/v1/executions", sidecar_->auth(), "{}", "application/json");
  expect_json_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, POST");
  expect_json_error(c.Post("/v1/executions/ex-1", sidecar_->auth(), "{}", "application/json"), 405,
                    "method_not_allowed");
}

TEST_F(SidecarApiTest, RequestIdsAreEchoedOrGenerated) {
  auto c = sidecar_->client();
  auto h = sidecar_->auth();
  h.emplace("X-Request-Id", "trace-abc-123");
  auto r = c.Get("/v1/executions", h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("X-Request-Id"), "trace-abc-123");
  auto r2 = c.Get("/v1/executions", sidecar_->auth());
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->get_header_value("X-Request-Id").size(), 32u);
  // The access log carries the id, as one JSON object per line.
  EXPECT_TRUE(eventually(
      [&] {
        return read_file(sidecar_->log_path()).find("\"request_id\":\"trace-abc-123\"") !=
               std::string::npos;
      },
      std::chrono::seconds(5)));
}

TEST_F(SidecarApiTest, MetricsCountRequestsByRoute) {
  sidecar_->get("/v1/executions/ex-nope");
  sidecar_->client().Get("/v1/executions");  // unauthenticated
  // A request is counted after its response is written (httplib's logger hook), so the count can
  // trail the client's next request by a moment.
  std::string body;
  EXPECT_TRUE(eventually(
      [&] {
        auto m = sidecar_->client().Get("/metrics");
        body = m ? m->body : "";
        return body.find(R"(status="401")") != std::string::npos &&
               body.find(R"(endpoint="/v1/executions/{id}")") != std::string::npos;
      },
      std::chrono::seconds(5)))
      << body;
  EXPECT_NE(body.find("http_request_duration_seconds_bucket"), std::string::npos);
}

TEST(SidecarCheckConfig, ValidFileExitsZeroInvalidNamesTheField) {
  TempDir dir;
  write_file(dir.file("good.yaml"),
             "server:\n  tokenFile: /var/run/token\nprovider:\n  type: openai\n  endpoint: "
             "https://llm.example:8443/v1\n  model: m\n");
  std::string out;
  EXPECT_EQ(run_command({AGENTRY_SIDECAR_BIN, "--check-config", dir.file("good.yaml")}, &out), 0)
      << out;
  EXPECT_NE(out.find("ok"), std::string::npos);

  write_file(dir.file("bad.yaml"),
             "server:\n  tokenFile: /t\nprovider:\n  type: bard\n  endpoint: http://x:1\n");
  EXPECT_EQ(run_command({AGENTRY_SIDECAR_BIN, "--check-config", dir.file("bad.yaml")}, &out), 1);
  EXPECT_NE(out.find("provider.type"), std::string::npos) << out;

  write_file(dir.file("typo.yaml"), "server:\n  tokenFile: /t\n  thread: 4\n");
  EXPECT_EQ(run_command({AGENTRY_SIDECAR_BIN, "--check-config", dir.file("typo.yaml")}, &out), 1);
  EXPECT_NE(out.find("server.thread: unknown field"), std::string::npos) << out;

  write_file(dir.file("type.yaml"), "server:\n  tokenFile: /t\nlimits:\n  maxConcurrency: lots\n");
  EXPECT_EQ(run_command({AGENTRY_SIDECAR_BIN, "--check-config", dir.file("type.yaml")}, &out), 1);
  EXPECT_NE(out.find("limits.maxConcurrency"), std::string::npos) << out;
}

TEST(SidecarStartup, MissingTokenFileFailsWithItsName) {
  TempDir dir;
  write_file(dir.file("c.yaml"), "server:\n  listen: 127.0.0.1:" + std::to_string(free_port()) +
                                     "\n  tokenFile: " + dir.file("absent") + "\n");
  std::string out;
  EXPECT_EQ(run_command({AGENTRY_SIDECAR_BIN, "--config", dir.file("c.yaml")}, &out), 1);
  EXPECT_NE(out.find("server.tokenFile"), std::string::npos) << out;
}

}  // namespace
}  // namespace agentry::testing
