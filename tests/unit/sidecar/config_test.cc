#include "sidecar/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/support/tempdir.h"

namespace agentry::sidecar {
namespace {

using testing::TempDir;
using testing::write_file;

const char* kMinimal = "server:\n  tokenFile: /t\n";

TEST(SidecarConfig, DefaultsAreValid) {
  auto c = parse_config(kMinimal);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->limits.max_concurrency, 200);
  EXPECT_EQ(c->provider.type, "ollama");
  EXPECT_DOUBLE_EQ(c->memory_pressure.threshold, 0.80);
  EXPECT_TRUE(validate(*c).is_ok()) << validate(*c).message();
}

TEST(SidecarConfig, FullDocumentParses) {
  auto c = parse_config(R"(
server: {listen: "127.0.0.1:9000", tokenFile: /t, threads: 64, maxBodyBytes: 2048}
limits: {maxConcurrency: 10, queueSize: 5, executionTimeoutSeconds: 9}
provider: {type: openai, endpoint: "https://x/v1", model: gpt, retries: 1, caBundleFile: /ca.pem}
agent:
  systemPrompt: be brief
  options: {temperature: 0, seed: 7}
  tools:
  - name: weather
    url: http://tools/weather
    method: GET
    parameters: {type: object, properties: {city: {type: string}}}
  chunking: {enabled: true, chunkChars: 500, combine: concat}
memoryPressure: {profile: development}
cache: {redisUrl: "redis://r:6379", l1MaxEntries: 5, readyWhenDegraded: false}
memory: {backend: redis, embeddingDim: 384}
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server.threads, 64);
  EXPECT_EQ(c->limits.queue_size, 5);
  EXPECT_EQ(c->provider.ca_bundle_file, "/ca.pem");
  EXPECT_EQ(c->agent.options["temperature"], 0);
  ASSERT_EQ(c->agent.tools.size(), 1u);
  EXPECT_EQ(c->agent.tools[0].parameters["properties"]["city"]["type"], "string");
  EXPECT_TRUE(c->agent.chunking.enabled);
  EXPECT_DOUBLE_EQ(c->memory_pressure.threshold, 0.90);
  EXPECT_EQ(c->cache.redis_url, "redis://r:6379");
  EXPECT_FALSE(c->cache.ready_when_degraded);
  EXPECT_EQ(memory_redis_url(*c), "redis://r:6379") << "memory falls back to the cache's Redis";
  EXPECT_EQ(c->memory.memory_backend, "redis");
  EXPECT_EQ(c->memory.embedding_dim, 384);
  EXPECT_TRUE(validate(*c).is_ok()) << validate(*c).message();
}

struct Bad {
  const char* yaml;
  const char* field;
};

TEST(SidecarConfig, ErrorsNameTheField) {
  const Bad cases[] = {
      {"server: {tokenFile: /t, threads: many}", "server.threads"},
      {"server: {tokenFile: /t, thraeds: 4}", "server.thraeds: unknown field"},
      {"server: {tokenFile: /t}\nprovider: {type: bard}", "provider.type"},
      {"server: {tokenFile: /t}\nprovider: {endpoint: localhost:11434}", "provider.endpoint"},
      {"server: {tokenFile: /t}\nlimits: {maxConcurrency: 0}", "limits.maxConcurrency"},
      {"server: {tokenFile: /t}\nagent: {tools: [{name: t, url: ftp://x}]}", "agent.tools[0].url"},
      {"server: {tokenFile: /t}\nagent: {tools: [{url: http://x}]}", "agent.tools[0].name"},
      {"server: {tokenFile: /t}\nmemoryPressure: {profile: staging}", "memoryPressure.profile"},
      {"server: {tokenFile: /t}\nmemoryPressure: {threshold: 1.5}", "memoryPressure.threshold"},
      {"server: {listen: nowhere, tokenFile: /t}", "server.listen"},
      {"server: {}", "server.tokenFile"},
      {"bogus: 1", "bogus: unknown field"},
      {"server: [1, 2", "invalid YAML"},
      // Typos in the cache and memory sections are errors too (they were kept silently).
      {"server: {tokenFile: /t}\ncache: {redisURL: redis://r:1}", "cache.redisURL: unknown field"},
      {"server: {tokenFile: /t}\nmemory: {maxEntires: 5}", "memory.maxEntires: unknown field"},
      // A persistence that cannot be had is an error, not a silent downgrade.
      {"server: {tokenFile: /t}\nmemory: {backend: redis}", "memory.backend: redis needs"},
      {"server: {tokenFile: /t}\ncache: {redisUrl: rediss://r:6380}", "cache.redisUrl: TLS"},
      {"server: {tokenFile: /t}\ncache: {redisUrl: r}", "cache.redisUrl: want redis://"},
      {"server: {tokenFile: /t}\nmemory: {backend: embedded, redisUrl: redis://r:1}",
       "memory.redisUrl: set, but"},
      {"server: {tokenFile: /t}\nmemory: {embedder: bert}", "memory.embedder"},
      {"server: {tokenFile: /t}\nagent: {maxToolTurns: 0}", "agent.maxToolTurns: want 1..64"},
      {"server: {tokenFile: /t}\nagent: {responseCacheTtlSeconds: 2592000}",
       "agent.responseCacheTtlSeconds"},
      {"server: {tokenFile: /t}\nlimits: {queueSize: -1}", "limits.queueSize"},
      {"server: {tokenFile: /t, threads: 99999999999}", "server.threads"},
      // MCP servers: the name becomes a tool-name prefix, so it is checked hard.
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: Files, url: http://m/mcp}]}",
       "agent.mcpServers[0].name: want 1-32"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: a__b, url: http://m/mcp}]}",
       "agent.mcpServers[0].name"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m}]}", "agent.mcpServers[0].url"},
      {"server: {tokenFile: /t}\nmemory: {embedder: bert}",
       "memory.embedder: want minilm, lexical or provider, got 'bert'"},
      {"server: {tokenFile: /t}\nmemory: {embedder: minilm, embeddingDim: 768}",
       "memory.embeddingDim: all-MiniLM-L6-v2 makes 384 dimensions, not 768"},
      {"server: {tokenFile: /t}\nmemory: {embedder: lexical, modelDir: /m}",
       "memory.modelDir: set, but memory.embedder is lexical: say minilm"},
      // A base model's prompt template (issue 21).
      {"server: {tokenFile: /t}\nprovider: {type: ollama, completion: {}}",
       "provider.completion: needs provider.type openai"},
      {"server: {tokenFile: /t}\nprovider: {type: openai, completion: {user: 'Q: text'}}",
       "provider.completion.user: want a line with {content} in it, got 'Q: text'"},
      {"server: {tokenFile: /t}\nprovider: {type: openai, completion: {tools: 'call one'}}",
       "provider.completion.tools: want a text with {tools} in it"},
      {"server: {tokenFile: /t}\nprovider: {type: openai, completion: {stop: ['']}}",
       "provider.completion.stop: an empty stop string"},
      {"server: {tokenFile: /t}\nprovider: {type: openai, completion: {prefix: x}}",
       "provider.completion.prefix: unknown field"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m, url: http://m/sse, transport: "
       "websocket}]}",
       "agent.mcpServers[0].transport: want streamable-http or sse, got 'websocket'"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m, url: http://m/mcp, kind: agent, "
       "transport: sse}]}",
       "agent.mcpServers[0].transport: an agent's /mcp speaks streamable-http only"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m, url: http://m, timeoutMs: 0}]}",
       "agent.mcpServers[0].timeoutMs"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m, url: http://m, retries: 11}]}",
       "agent.mcpServers[0].retries"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m, url: http://m, urll: x}]}",
       "agent.mcpServers[0].urll: unknown field"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m, url: http://m, headers: "
       "{\"bad header\": x}}]}",
       "agent.mcpServers[0].headers"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m, url: http://a}, {name: m, url: "
       "http://b}]}",
       "agent.mcpServers[1].name: 'm' is also agent.mcpServers[0]"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: {name: m}}", "agent.mcpServers: want a list"},
      {"server: {tokenFile: /t}\nagent: {mcpServers: [{name: m, url: http://m, kind: a2a}]}",
       "agent.mcpServers[0].kind: want mcp or agent"},
      {"server: {tokenFile: /t}\nagent: {maxCallDepth: 17}", "agent.maxCallDepth: want 1..16"},
  };
  for (const auto& b : cases) {
    auto c = parse_config(b.yaml);
    Status s = c.ok() ? validate(*c) : c.status();
    ASSERT_FALSE(s.is_ok()) << b.yaml;
    EXPECT_NE(s.message().find(b.field), std::string::npos) << b.yaml << " -> " << s.message();
  }
}

// A bearer token the config asks for but the environment lacks is a refusal naming the field,
// never an MCP server called without it.
TEST(SidecarConfig, McpBearerTokenComesFromTheEnvironmentOrTheConfigIsRefused) {
  TempDir dir;
  const std::string path = dir.file("config.yaml");
  write_file(path,
             "server: {tokenFile: /t}\nagent: {mcpServers: [{name: a, url: http://m/mcp}, "
             "{name: b, url: http://m/mcp, bearerTokenEnv: AGENTRY_TEST_MCP_TOKEN}]}\n");
  ::unsetenv("AGENTRY_TEST_MCP_TOKEN");
  auto missing = load_config(path, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(
                "agent.mcpServers[1].bearerTokenEnv: environment variable AGENTRY_TEST_MCP_TOKEN"),
            std::string::npos)
      << missing.status().message();
  ::setenv("AGENTRY_TEST_MCP_TOKEN", "s3cret", 1);
  auto loaded = load_config(path, {});
  ::unsetenv("AGENTRY_TEST_MCP_TOKEN");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->agent.mcp_servers[1].bearer_token, "s3cret");
  EXPECT_EQ(loaded->agent.mcp_servers[0].bearer_token, "");
}

TEST(SidecarConfig, Durations) {
  std::chrono::milliseconds d;
  ASSERT_TRUE(parse_duration("30s", &d));
  EXPECT_EQ(d.count(), 30000);
  ASSERT_TRUE(parse_duration("250ms", &d));
  EXPECT_EQ(d.count(), 250);
  ASSERT_TRUE(parse_duration("2m", &d));
  EXPECT_EQ(d.count(), 120000);
  ASSERT_TRUE(parse_duration("5", &d));
  EXPECT_EQ(d.count(), 5000);
  EXPECT_FALSE(parse_duration("soon", &d));
  EXPECT_FALSE(parse_duration("5d", &d));
  EXPECT_FALSE(parse_duration("", &d));
}

}  // namespace
}  // namespace agentry::sidecar
