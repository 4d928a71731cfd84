// Provider faults and formats against the fake LLM server: retries with backoff then a clear error,
// Retry-After, the circuit breaker opening and recovering (with /readyz), unreachable endpoints,
// API keys, dropped connections, HTTPS with a custom CA bundle, and embeddings for both formats.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sidecar/config.h"
#include "sidecar/exec/providers/http_provider.h"
#include "tests/integration/sidecar/harness.h"

namespace agentry::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

json run_sync(Sidecar& sc, const std::string& input) {
  auto r = sc.post_execution({{"input", input}}, "?wait=20s");
  if (!r) return json();
  return json::parse(r->body, nullptr, false);
}

SidecarOptions opts(const FakeLlm& llm, const std::string& type = "ollama") {
  SidecarOptions o;
  o.provider_type = type;
  o.provider_endpoint = llm.url();
  return o;
}

TEST(SidecarProviderFaults, RetriesServerErrorsThenSucceeds) {
  FakeLlm llm;
  Sidecar sc(opts(llm));
  llm.faults({{"mode", "error500"}, {"count", 2}});
  auto j = run_sync(sc, "retry me");
  EXPECT_EQ(j["state"], "succeeded") << j;
  EXPECT_EQ(llm.stats()["chat"], 3);
  auto m = sc.client().Get("/metrics");
  EXPECT_NE(m->body.find(R"(provider_requests_total{code="500",provider="ollama"} 2)"),
            std::string::npos)
      << m->body;
}

TEST(SidecarProviderFaults, GivesUpWithAClearError) {
  FakeLlm llm({"--mode", "error500"});
  auto o = opts(llm, "openai");
  o.provider_yaml = "  retries: 2\n  breakerFailures: 10\n";
  Sidecar sc(o);
  auto j = run_sync(sc, "doomed");
  EXPECT_EQ(j["state"], "failed") << j;
  EXPECT_EQ(j["error"]["code"], "provider_unavailable");
  std::string msg = j["error"]["message"];
  EXPECT_NE(msg.find("HTTP 500"), std::string::npos) << msg;
  EXPECT_NE(msg.find("injected failure"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gave up after 3 attempts"), std::string::npos) << msg;
  EXPECT_EQ(llm.stats()["chat"], 3);
}

TEST(SidecarProviderFaults, RateLimitHonoursRetryAfter) {
  FakeLlm llm;
  Sidecar sc(opts(llm));
  llm.faults({{"mode", "error429"}, {"count", 1}, {"retryAfter", 1}});
  auto t0 = std::chrono::steady_clock::now();
  auto j = run_sync(sc, "patience");
  EXPECT_EQ(j["state"], "succeeded") << j;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(950));
  EXPECT_EQ(llm.stats()["chat"], 2);
}

TEST(SidecarProviderFaults, DroppedConnectionIsRetried) {
  FakeLlm llm;
  Sidecar sc(opts(llm));
  llm.faults({{"mode", "drop"}, {"count", 1}});
  auto j = run_sync(sc, "again");
  EXPECT_EQ(j["state"], "succeeded") << j;
  EXPECT_EQ(llm.stats()["chat"], 2);
}

TEST(SidecarProviderFaults, BreakerOpensFailsFastAndRecovers) {
  FakeLlm llm({"--mode", "error500"});
  auto o = opts(llm);
  o.provider_yaml = "  retries: 0\n  breakerFailures: 2\n  breakerOpenSeconds: 1\n";
  Sidecar sc(o);
  EXPECT_EQ(run_sync(sc, "a")["state"], "failed");
  EXPECT_EQ(run_sync(sc, "b")["state"], "failed");
  EXPECT_EQ(llm.stats()["chat"], 2);
  // Open: no call goes out, the error says so, and the pod reports not ready.
  auto j = run_sync(sc, "c");
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["error"]["code"], "provider_unavailable");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("circuit open"), std::string::npos) << j;
  EXPECT_EQ(llm.stats()["chat"], 2);
  auto ready = sc.client().Get("/readyz?verbose");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("[-]provider failed: circuit open"), std::string::npos) << ready->body;
  // The provider heals; after the open period a probe goes through and closes the circuit.
  llm.faults({{"reset", true}});
  EXPECT_TRUE(eventually([&] { return run_sync(sc, "d")["state"] == "succeeded"; }, seconds(5)));
  EXPECT_EQ(sc.client().Get("/readyz")->status, 200);
}

TEST(SidecarProviderFaults, UnreachableEndpointSaysWhatToCheck) {
  SidecarOptions o;
  o.provider_endpoint = "http://127.0.0.1:" + std::to_string(free_port());
  o.provider_yaml = "  retries: 1\n";
  Sidecar sc(o);
  auto j = run_sync(sc, "anyone?");
  EXPECT_EQ(j["state"], "failed") << j;
  EXPECT_EQ(j["error"]["code"], "provider_unavailable");
  std::string msg = j["error"]["message"];
  EXPECT_NE(msg.find("cannot reach ollama at http://127.0.0.1:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("provider.endpoint"), std::string::npos) << msg;
}

TEST(SidecarProviderFaults, ReadTimeoutIsAProviderTimeout) {
  FakeLlm llm({"--mode", "hang"});
  auto o = opts(llm);
  o.provider_yaml = "  readTimeoutMs: 300\n  retries: 1\n";
  Sidecar sc(o);
  auto j = run_sync(sc, "slow");
  EXPECT_EQ(j["state"], "failed") << j;
  EXPECT_EQ(j["error"]["code"], "provider_timeout");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("readTimeoutMs"), std::string::npos);
}

TEST(SidecarProviderAuth, ApiKeyIsSentAndAWrongOneIsExplained) {
  FakeLlm llm({"--api-key", "sk-right"});
  TempDir dir;
  write_file(dir.file("key"), "sk-right\n");
  auto o = opts(llm, "openai");
  o.provider_yaml = "  apiKeyFile: " + dir.file("key") + "\n";
  Sidecar good(o);
  EXPECT_EQ(run_sync(good, "hi")["state"], "succeeded");
  EXPECT_EQ(llm.last()["authorization"], "Bearer sk-right");

  write_file(dir.file("bad"), "sk-wrong\n");
  o.provider_yaml = "  apiKeyFile: " + dir.file("bad") + "\n";
  Sidecar bad(o);
  auto j = run_sync(bad, "hi");
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["error"]["code"], "provider_rejected");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("HTTP 401"), std::string::npos) << j;
  EXPECT_NE(j["error"]["message"].get<std::string>().find("apiKeyFile"), std::string::npos) << j;
}

// A fake OpenAI server on TLS with a self-signed certificate naming `san`, and the options of a
// sidecar that calls it (the certificate is at dir/cert.pem).
struct TlsLlm {
  TempDir dir;
  std::unique_ptr<FakeLlm> llm;
  SidecarOptions options;
  explicit TlsLlm(const std::string& san) {
    std::string out;
    EXPECT_EQ(run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=test", "-addext", "subjectAltName=" + san, "-keyout",
                           dir.file("key.pem"), "-out", dir.file("cert.pem")},
                          &out),
              0)
        << out;
    llm = std::make_unique<FakeLlm>(std::vector<std::string>{"--tls-cert", dir.file("cert.pem"),
                                                             "--tls-key", dir.file("key.pem")});
    options.provider_type = "openai";
    options.provider_endpoint = "https://127.0.0.1:" + std::to_string(llm->port()) + "/v1";
  }
};

// The error message of a one-shot execution through a sidecar with these options, which fails.
std::string failure_message(const SidecarOptions& o) {
  Sidecar s(o);
  auto j = run_sync(s, "x");
  EXPECT_EQ(j["state"], "failed") << j;
  return j["error"].value("message", "");
}

TEST(SidecarProviderTls, HttpsWithACustomCaBundle) {
  TlsLlm tls("IP:127.0.0.1");
  SidecarOptions o = tls.options;
  o.provider_yaml = "  caBundleFile: " + tls.dir.file("cert.pem") + "\n";
  Sidecar trusted(o);
  auto j = run_sync(trusted, "secure hello");
  EXPECT_EQ(j["state"], "succeeded") << j;
  EXPECT_EQ(j["output"], "echo: secure hello");

  o.provider_yaml = "  retries: 0\n";  // system CAs only: the self-signed server is refused
  std::string message = failure_message(o);
  EXPECT_NE(message.find("cannot reach openai"), std::string::npos) << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
}

// A trusted certificate that names another host is refused too: the name is checked, not only
// the chain (the endpoint is an IP literal, so the certificate needs that IP in its SANs).
TEST(SidecarProviderTls, ACertificateForAnotherNameIsRefused) {
  TlsLlm tls("DNS:elsewhere.example");
  SidecarOptions o = tls.options;
  o.provider_yaml = "  caBundleFile: " + tls.dir.file("cert.pem") + "\n  retries: 0\n";
  std::string message = failure_message(o);
  EXPECT_NE(message.find("IP address mismatch"), std::string::npos) << message;
}

void expect_embeddings(const std::string& type) {
  FakeLlm llm;
  sidecar::ProviderConfig pc;
  pc.type = type;
  pc.endpoint = llm.url();
  pc.model = "fake";
  auto p = sidecar::make_provider(pc);
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto e = (*p)->embed({"alpha", "beta", "alpha"});
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[0].size(), 16u);
  EXPECT_EQ((*e)[0], (*e)[2]);
  EXPECT_NE((*e)[0], (*e)[1]);
  EXPECT_EQ(llm.last()["path"], type == "ollama" ? "/api/embed" : "/v1/embeddings");
}

TEST(SidecarProviderEmbeddings, Ollama) {
  expect_embeddings("ollama");
}
TEST(SidecarProviderEmbeddings, OpenAi) {
  expect_embeddings("openai");
}

// Issue 21: memory.embedder: provider. Concurrent memory writes share embedding calls; an
// embeddings outage opens the embeddings' own breaker (memory writes fail fast, saying so) and
// the agent still answers; the store is marked with the provider's model and dimension.
TEST(SidecarProviderEmbeddings, BatchedWithTheirOwnBreakerAndTheAgentStillAnswers) {
  FakeLlm llm({"--embed-dim", "16"});
  auto o = opts(llm);
  o.provider_yaml = "  retries: 0\n  breakerFailures: 2\n  breakerOpenSeconds: 30\n";
  o.extra_yaml = "memory: {embedder: provider, embeddingDim: 16}\n";
  Sidecar sc(o);
  // 24 writes at once while each embedding call takes 300 ms: they queue behind the 4 calls out
  // and share the next ones.
  llm.faults({{"latencyMs", 300}});
  std::vector<std::thread> writers;
  std::atomic<int> created{0};
  for (int i = 0; i < 24; ++i)
    writers.emplace_back([&, i] {
      auto r = sc.client().Post("/v1/memory", sc.auth(),
                                json{{"text", "fact number " + std::to_string(i)}}.dump(),
                                "application/json");
      if (r && r->status == 201) ++created;
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(created.load(), 24);
  const int calls = llm.stats()["embed"];
  EXPECT_LE(calls, 12) << "24 writes made " << calls << " embedding calls";
  // Embeddings fail (the fault is on every path, so chat is checked after the breaker opened).
  llm.faults({{"reset", true}, {"mode", "error500"}});
  for (int i = 0; i < 2; ++i)
    EXPECT_GE(
        sc.client().Post("/v1/memory", sc.auth(), R"({"text":"x"})", "application/json")->status,
        500);
  auto open = sc.client().Post("/v1/memory", sc.auth(), R"({"text":"y"})", "application/json");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, 503);
  EXPECT_NE(open->body.find("circuit open for ollama embeddings"), std::string::npos) << open->body;
  const int embeds = llm.stats()["embed"];
  llm.faults({{"reset", true}});
  // Chat has its own breaker, closed: the agent answers (its recall fails quietly: no embedding).
  auto ex = run_sync(sc, "still there?");
  EXPECT_EQ(ex["state"], "succeeded") << ex;
  EXPECT_EQ(llm.stats()["embed"], embeds) << "the open breaker let an embedding call through";
}

}  // namespace
}  // namespace agentry::testing
