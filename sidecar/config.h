// The sidecar's runtime configuration: the YAML file the operator renders into a ConfigMap, then
// environment overrides, then flags. Every field is validated at start; an error names the field
// ("provider.endpoint: want http:// or https:// URL"). The schema is documented in docs/sidecar.md.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentry::sidecar {

struct ServerConfig {
  std::string listen = ":8080";
  std::string token_file;  // bearer token (the operator's Secret); required
  int io_threads = 2;      // event loop threads: parse, route, run non-blocking handlers, write
  int threads = 128;       // most worker threads for handlers that may block (started on demand)
  int queue = 1024;        // blocking requests waiting for a worker (then 503 + Retry-After)
  int listen_backlog = 1024;
  int keep_alive_max_requests = 10000;
  int keep_alive_timeout_seconds = 5;
  int read_timeout_seconds = 10;
  int write_timeout_seconds = 10;
  size_t max_body_bytes = 1 << 20;
  int max_wait_seconds = 60;        // bound of ?wait= long-polls
  int shutdown_drain_seconds = 20;  // SIGTERM: in-flight executions get this long to finish
  int shutdown_grace_seconds = 2;   // then results stay readable this long before the port closes
  bool access_log = true;
};

struct LimitsConfig {
  int max_concurrency = 200;
  int queue_size = 1000;
  int execution_timeout_seconds = 120;
  int retain_executions = 10000;  // finished executions kept for GET (and idempotency)
  int retain_seconds = 3600;
};

// provider.completion: talk to a base (not instruction-tuned) model through the OpenAI-compatible
// /v1/completions, writing the conversation as one prompt (sidecar/exec/providers/completion.h).
// Each turn is its role's line with {content} (and, for tool results, {name}) filled in; the
// prompt ends with `generation`, which the model continues. An instruction-tuned model is the
// same section with its own turn markers (e.g. Gemma's <start_of_turn>).
struct CompletionTemplate {
  bool enabled = false;  // the section is present
  std::string system = "{content}\n\n";
  std::string user = "Question: {content}\n";
  std::string assistant = "Answer: {content}\n";
  std::string tool = "Result of {name}: {content}\n";
  // When tools are offered: before the first turn, {tools} the tools (one per line: name,
  // description, arguments schema). The answer is then constrained to JSON (a JSON schema:
  // {"tool": ..., "arguments": {...}} or {"answer": "..."}).
  std::string tools =
      "Tools you can call:\n{tools}\nReply with JSON: {\"tool\": name, \"arguments\": {...}} to "
      "call one, or {\"answer\": text}.\n\n";
  std::string generation = "Answer:";
  std::vector<std::string> stop = {"\nQuestion:"};
};

struct ProviderConfig {
  std::string type = "ollama";  // ollama | openai
  std::string endpoint = "http://127.0.0.1:11434";
  std::string model = "llama3.2";
  std::string embedding_model;  // empty: model
  std::string api_key;  // resolved from api_key_file / api_key_env / AGENTRY_PROVIDER_API_KEY
  std::string api_key_file;
  std::string api_key_env;
  std::string ca_bundle_file;
  bool tls_verify = true;
  int connect_timeout_ms = 2000;
  int read_timeout_ms = 120000;
  int retries = 3;  // extra attempts after the first
  int backoff_initial_ms = 200;
  int backoff_max_ms = 5000;
  int max_retry_after_seconds = 30;
  int breaker_failures = 5;  // consecutive failures that open the circuit
  int breaker_open_seconds = 10;
  int max_idle_connections = 64;
  CompletionTemplate completion;  // type openai only
};

struct ToolConfig {
  std::string name;
  std::string description;
  std::string url;
  std::string method = "POST";
  int timeout_ms = 0;                                    // 0: agent.toolTimeoutMs
  nlohmann::json parameters = nlohmann::json::object();  // JSON schema
};

// One MCP server whose tools the agent may call (sidecar/mcp/mcp_toolset.h). Its tools are offered
// to the model as "<name>__<tool>".
struct McpServerConfig {
  std::string name;                            // 1-32 of [a-z0-9-], no "__"
  std::string url;                             // the endpoint (sse: the event stream's URL)
  std::map<std::string, std::string> headers;  // sent on every request
  // "Authorization: Bearer $VAR" (a Secret's key, set by the operator); load_config() refuses an
  // unset or empty VAR, naming the field, and keeps the value in bearer_token.
  std::string bearer_token_env;
  std::string bearer_token;
  int timeout_ms = 30000;
  int retries = 2;                       // transient failures only
  std::vector<std::string> allow_tools;  // empty: every tool it lists
  size_t max_result_bytes = 64 * 1024;   // longer results are cut, and the model told so
  // "agent": the server is another Agentry agent's /mcp, so each call carries the call chain and a
  // derived Idempotency-Key (sidecar/mcp/call_chain.h); "mcp": any MCP server.
  std::string kind = "mcp";
  // "streamable-http" (MCP 2025-03-26 on) or "sse", the older HTTP+SSE transport (2024-11-05).
  std::string transport = "streamable-http";
};

struct ChunkingConfig {
  bool enabled = false;
  size_t chunk_chars = 8000;
  int max_parallel = 4;
  std::string combine = "model";  // model | concat
};

struct AgentConfig {
  std::string name = "agent";
  std::string system_prompt;
  nlohmann::json options = nlohmann::json::object();  // default model parameters (temperature...)
  std::vector<ToolConfig> tools;
  std::vector<McpServerConfig> mcp_servers;
  int max_tool_turns = 4;
  // Agents calling agents: an execution called through this many agents already is refused.
  int max_call_depth = 4;
  int tool_timeout_ms = 10000;
  ChunkingConfig chunking;
  bool cache_responses = true;  // only deterministic calls (temperature 0) are cached
  int response_cache_ttl_seconds = 300;
  int memory_recall_k = 4;
};

struct MemoryPressureConfig {
  std::string profile = "production";  // production (0.80) | development (0.90)
  double threshold = 0.80;
  int64_t limit_bytes = 0;  // used when the cgroup has no limit ("max") or no cgroup v2
  std::string cgroup_dir = "/sys/fs/cgroup";
  int interval_seconds = 5;
  int cooldown_seconds = 30;
};

// Read by the cache and memory code; parsed here, like every section, with unknown keys refused.
struct CacheConfig {
  std::string redis_url;  // "": L1 only
  int64_t l1_max_entries = 10000;
  int64_t l1_max_bytes = 64ll << 20;
  int default_ttl_seconds = 300;
  bool ready_when_degraded = true;  // /readyz stays ok while Redis is down
  std::string redis_password;  // from $AGENTRY_CACHE_REDIS_PASSWORD (the operator's Secret ref)
};

struct MemoryConfig {
  std::string memory_backend = "embedded";  // embedded | redis
  std::string memory_dir;                   // embedded: the log's folder ("": in process only)
  std::string redis_url;                    // redis: its own Redis ("": cache.redisUrl)
  int64_t memory_max_entries = 100000;      // facts per agent
  std::string on_full = "refuse";           // refuse | evictOldest: a fact write at the bound
  int64_t exchanges_max_entries = 100000;   // exchanges per agent (memory.exchanges.maxEntries)
  int64_t exchanges_ttl_seconds = 0;        // memory.exchanges.ttlSeconds; 0: none
  int embedding_dim = 0;                    // 0: whatever the provider returns
  // minilm (all-MiniLM-L6-v2 in process, from model_dir) | lexical (a word hash, for tests; "local"
  // is its old name) | provider (the provider's /embeddings)
  std::string embedder = "minilm";
  std::string model_dir;       // minilm: its files; "" : $AGENTRY_MODEL_DIR, else
                               // /usr/share/agentry/models/all-MiniLM-L6-v2
  int64_t ttl_seconds = 0;     // lifetime of entries written without a ttl; 0: none
  std::string redis_password;  // from $AGENTRY_MEMORY_REDIS_PASSWORD
};

struct Config {
  ServerConfig server;
  LimitsConfig limits;
  ProviderConfig provider;
  AgentConfig agent;
  MemoryPressureConfig memory_pressure;
  CacheConfig cache;
  MemoryConfig memory;
};

// Parses YAML text (no env, no files read besides none). Errors name the field.
Result<Config> parse_config(const std::string& yaml_text);
// Reads the file, parses, applies env overrides, resolves the API key and validates.
Result<Config> load_config(const std::string& path,
                           const std::map<std::string, std::string>& env_overrides = {});
// Checks ranges and cross-field rules; the message names the field. Reads nothing outside c, so
// the operator runs it on every config it renders (one contract: docs/agents.md).
Status validate(const Config& c);

// The whole-number bounds validate() enforces, by the field's dotted path in the sidecar's
// config: what the Agent CRD's minimum/maximum must equal or be stricter than (a test compares).
struct IntBound {
  const char* field;
  int64_t min;
  int64_t max;
};
const std::vector<IntBound>& int_bounds();

// The Redis memory uses: memory.redisUrl, else cache.redisUrl; "" when memory is not on Redis.
std::string memory_redis_url(const Config& c);

// "redis://[:password@]host:port[/db]" or "host:port"; false when it is neither.
bool parse_redis_url(std::string url, std::string* host, int* port, std::string* password);

// "30s", "500ms", "2m", "1h" or a plain number of seconds.
bool parse_duration(const std::string& text, std::chrono::milliseconds* out);

}  // namespace agentry::sidecar
