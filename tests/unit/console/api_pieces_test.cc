// The console's pure API pieces: templates and the create request, the list views, the change
// feed, and the embedded assets as served.
#include <gtest/gtest.h>
#include <zlib.h>

#include <thread>

#include "common/embedded_file.h"
#include "console/agents/templates.h"
#include "console/api/views.h"
#include "console/app/change_feed.h"
#include "console/app/static_assets.h"
#include "sidecar/api/router.h"

namespace agentry {
std::span<const EmbeddedFile> console_ui_files();
}

namespace agentry::console {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(ConsoleTemplates, TheBuiltInsParseAndCarryAModel) {
  auto ts = builtin_templates();
  std::set<std::string> names;
  for (const auto& t : ts) {
    names.insert(t.name);
    EXPECT_FALSE(t.description.empty()) << t.name;
    EXPECT_TRUE(t.spec.contains("model")) << t.name;
    EXPECT_EQ(t.source.rfind("built-in", 0), 0u);
  }
  EXPECT_EQ(names, (std::set<std::string>{"chatbot", "researcher", "summarizer"}));
}

TEST(ConsoleTemplates, ABrokenTemplateNamesItsSourceAndField) {
  auto t = parse_template("name: Bad Name\nspec: {}\n", "configmap ns/x");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("configmap ns/x"), std::string::npos);
  EXPECT_NE(t.status().message().find("name"), std::string::npos);
  EXPECT_FALSE(parse_template("name: ok\n", "s").ok()) << "no spec";
  EXPECT_FALSE(parse_template("[1, 2]", "s").ok());
  EXPECT_FALSE(parse_template("name: ok\nspec: [\n", "s").ok()) << "bad YAML";
}

TEST(ConsoleCreateRequest, TheGuidelinesBodyMakesAnAgentFromTheTemplate) {
  auto ts = builtin_templates();
  json body = json::parse(R"({"name": "Load Test Agent", "template": "chatbot",
                              "config": {"llm_provider": "ollama", "model": "llama2"}})");
  auto a = agent_from_request(body, ts, "default");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ((*a)["kind"], "Agent");
  EXPECT_EQ((*a)["metadata"]["namespace"], "default");
  EXPECT_EQ((*a)["metadata"]["generateName"], "load-test-agent-");
  EXPECT_FALSE((*a)["metadata"].contains("name"));
  EXPECT_EQ((*a)["metadata"]["annotations"][kDisplayNameAnnotation], "Load Test Agent");
  EXPECT_EQ((*a)["metadata"]["annotations"][kTemplateAnnotation], "chatbot");
  EXPECT_EQ((*a)["spec"]["model"]["provider"], "ollama");
  EXPECT_EQ((*a)["spec"]["model"]["name"], "llama2");
  EXPECT_EQ((*a)["spec"]["model"]["temperature"], 0.7) << "the template's, kept";
  EXPECT_TRUE((*a)["spec"].contains("systemPrompt"));
}

TEST(ConsoleCreateRequest, SpecMergesOverTheTemplateAndADnsNameIsKept) {
  json body = json::parse(R"({"name": "docs-bot", "namespace": "team-a", "template": "researcher",
      "spec": {"memory": {"recallTopK": 2}, "replicas": 3}, "labels": {"team": "a"}})");
  auto a = agent_from_request(body, builtin_templates(), "default");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ((*a)["metadata"]["name"], "docs-bot");
  EXPECT_EQ((*a)["metadata"]["namespace"], "team-a");
  EXPECT_EQ((*a)["metadata"]["labels"]["team"], "a");
  EXPECT_EQ((*a)["spec"]["memory"]["recallTopK"], 2);
  EXPECT_EQ((*a)["spec"]["memory"]["backend"], "embedded") << "merged, not replaced";
  EXPECT_EQ((*a)["spec"]["replicas"], 3);
}

TEST(ConsoleCreateRequest, EveryMistakeNamesTheField) {
  auto ts = builtin_templates();
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {R"({"template": "chatbot"})", "name"},
      {R"({"name": 7, "template": "chatbot"})", "name"},
      {R"({"name": "a"})", "template"},
      {R"({"name": "a", "template": "nope"})", "template"},
      {R"({"name": "a", "template": "chatbot", "config": {"colour": "red"}})", "config.colour"},
      {R"({"name": "a", "template": "chatbot", "config": {"model": {"x": 1}}})", "config.model"},
      {R"({"name": "a", "template": "chatbot", "config": []})", "config"},
      {R"({"name": "a", "template": "chatbot", "namespace": "Team A"})", "namespace"},
      {R"({"name": "a", "spec": {"replicas": 1}})", "spec.model"},
      {R"({"name": "a", "template": "chatbot", "extra": 1})", "extra"},
      {R"({"name": "a", "template": "chatbot", "labels": {"x": 1}})", "labels.x"},
      {R"([1])", "body"},
      {R"({"name": "a", "spec": {"model": "x"}, "config": {"model": "m"}})", "config.model"},
      {R"({"name": "a", "template": "chatbot", "spec": {"autoscaling": 3},
           "config": {"min_replicas": 1}})",
       "config.min_replicas"},
  };
  for (const auto& c : cases) {
    auto a = agent_from_request(json::parse(c.body), ts, "default");
    ASSERT_FALSE(a.ok()) << c.body;
    EXPECT_EQ(a.status().code(), Code::kInvalidArgument) << c.body;
    EXPECT_NE(a.status().message().find(c.field), std::string::npos)
        << c.body << " -> " << a.status().message();
  }
}

TEST(ConsoleCreateRequest, SlugsAreDnsLabels) {
  EXPECT_EQ(slugify("Load Test Agent"), "load-test-agent");
  EXPECT_EQ(slugify("  --Ünïcode ✓ bot--  "), "n-code-bot");
  EXPECT_EQ(slugify("✓✓✓"), "agent");
  EXPECT_EQ(slugify(std::string(200, 'a')).size(), 40u);
  for (const char* s : {"Load Test Agent", "-x-", "a b", "...", "UPPER"})
    EXPECT_TRUE(is_dns_label(slugify(s))) << s;
  EXPECT_FALSE(is_dns_label("a_b"));
  EXPECT_FALSE(is_dns_label(std::string(64, 'a')));
}

TEST(ConsoleViews, AgentAndWorkflowRowsToleratePartialObjects) {
  json agent = json::parse(R"({"metadata": {"name": "a", "namespace": "n",
      "annotations": {"agentry.dev/display-name": "A!"}},
      "spec": {"model": {"provider": "ollama", "name": "m"}},
      "status": {"phase": "Ready", "ready": "2/2", "replicas": 2, "readyReplicas": 2}})");
  json v = agent_view(agent);
  EXPECT_EQ(v["id"], "n/a");
  EXPECT_EQ(v["displayName"], "A!");
  EXPECT_EQ(v["phase"], "Ready");
  EXPECT_EQ(agent_view(json::object())["phase"], "Pending");
  json wf = json::parse(R"({"metadata": {"name": "w", "namespace": "n"},
      "spec": {"steps": [{"name": "a", "agentRef": {"name": "x"}},
                         {"name": "b", "agentRef": {"name": "x"}, "dependsOn": ["a"]}]},
      "status": {"phase": "Running", "steps": [{"name": "a", "phase": "Succeeded", "attempts": 1,
                 "output": "done"}]}})");
  json w = workflow_view(wf);
  ASSERT_EQ(w["steps"].size(), 2u);
  EXPECT_EQ(w["steps"][0]["phase"], "Succeeded");
  EXPECT_EQ(w["steps"][0]["output"], "done");
  EXPECT_EQ(w["steps"][1]["phase"], "Pending");
  EXPECT_EQ(w["steps"][1]["dependsOn"], json::array({"a"}));
  EXPECT_NO_THROW(workflow_view(json::parse(R"({"spec": {"steps": [1, "x", null]}})")));
}

TEST(ConsoleChangeFeed, ReadersGetWhatCameAfterTheirRevisionOrAreToldToRelist) {
  ChangeFeed f(4);
  EXPECT_EQ(f.head(), 0u);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(f.since(0, 50ms).changes.empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 40ms) << "it waited";
  std::thread writer([&] {
    std::this_thread::sleep_for(30ms);
    f.publish({0, "agent", "ADDED", "n", "a", json::object()});
  });
  auto b = f.since(0, 5s);
  writer.join();
  ASSERT_EQ(b.changes.size(), 1u) << "woken by the publish";
  EXPECT_EQ(b.changes[0].revision, 1u);
  for (int i = 0; i < 5; ++i) f.publish({0, "agent", "MODIFIED", "n", "a", json::object()});
  EXPECT_EQ(f.head(), 6u);
  EXPECT_TRUE(f.since(0, 0ms).lost) << "revisions 1-2 fell out of the ring of 4";
  auto tail = f.since(3, 0ms);
  EXPECT_FALSE(tail.lost);
  ASSERT_EQ(tail.changes.size(), 3u);
  EXPECT_EQ(tail.changes.front().revision, 4u);
  f.stop();
  EXPECT_TRUE(f.since(6, 5s).stopped);
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

TEST(ConsoleAssets, HashedUrlsGzipAndAnIndexThatPointsAtThem) {
  StaticAssets assets(console_ui_files());
  sidecar::Router r;
  assets.mount(r);
  const std::string js = assets.url_of("app.js");
  ASSERT_FALSE(js.empty());
  EXPECT_TRUE(std::regex_match(js, std::regex("/assets/[0-9a-f]{12}/app\\.js")));
  httplib::Request req;
  req.method = "GET";
  req.path = "/";
  auto* route = r.match(req);
  ASSERT_NE(route, nullptr);
  httplib::Response res;
  route->handler(req, res);
  EXPECT_EQ(res.get_header_value("Cache-Control"), "no-cache");
  EXPECT_NE(res.body.find(js), std::string::npos) << "index.html names the hashed app.js";
  EXPECT_EQ(res.body.find("{{asset:"), std::string::npos) << "every placeholder filled";
  EXPECT_EQ(res.body.find("<script>"), std::string::npos) << "no inline script (CSP)";
  httplib::Request areq;
  areq.method = "GET";
  areq.path = js;
  areq.headers.emplace("Accept-Encoding", "gzip, deflate");
  route = r.match(areq);
  ASSERT_NE(route, nullptr);
  httplib::Response ares;
  route->handler(areq, ares);
  EXPECT_EQ(ares.status, 200);
  EXPECT_EQ(ares.get_header_value("Content-Encoding"), "gzip");
  EXPECT_NE(ares.get_header_value("Cache-Control").find("immutable"), std::string::npos);
  const std::string plain = gunzip(ares.body);
  EXPECT_NE(plain.find("import"), std::string::npos);
  EXPECT_LT(ares.body.size(), plain.size());
  for (const char* page : {"/agents", "/agents/ns/name", "/workflows/ns/w", "/login", "/create"}) {
    httplib::Request p;
    p.method = "GET";
    p.path = page;
    EXPECT_NE(r.match(p), nullptr) << page << " serves the page";
  }
}

}  // namespace
}  // namespace agentry::console
