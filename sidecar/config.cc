#include "sidecar/config.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "common/file_io.h"
#include "common/http_util.h"
#include "common/json_io.h"
#include "common/tls_trust.h"
#include "common/yaml_json.h"

namespace agentry::sidecar {
namespace {

Status field_error(const std::string& field, const std::string& msg) {
  return invalid_argument(field + ": " + msg);
}

// Reads node[key] into *out when present; a type error names the dotted field.
template <typename T>
Status get(const YAML::Node& node, const char* key, const std::string& prefix, T* out) {
  YAML::Node v = node[key];
  if (!v || v.IsNull()) return ok_status();
  try {
    *out = v.as<T>();
  } catch (const YAML::Exception&) {
    return field_error(prefix + key, "wrong type (got '" + YAML::Dump(v) + "')");
  }
  return ok_status();
}

Status check_keys(const YAML::Node& node, const std::string& prefix,
                  const std::set<std::string>& known) {
  if (!node) return ok_status();
  if (!node.IsMap())
    return field_error(prefix.empty() ? "(root)" : prefix.substr(0, prefix.size() - 1),
                       "want a mapping");
  for (const auto& kv : node) {
    auto k = kv.first.as<std::string>();
    if (!known.count(k)) return field_error(prefix + k, "unknown field");
  }
  return ok_status();
}

#define TRY(expr)               \
  do {                          \
    Status _s = (expr);         \
    if (!_s.is_ok()) return _s; \
  } while (0)

Status parse_server(const YAML::Node& n, ServerConfig* s) {
  const std::string p = "server.";
  TRY(check_keys(n, p,
                 {"listen", "tokenFile", "ioThreads", "threads", "queue", "listenBacklog",
                  "keepAliveMaxRequests", "keepAliveTimeoutSeconds", "readTimeoutSeconds",
                  "writeTimeoutSeconds", "maxBodyBytes", "maxWaitSeconds", "shutdownDrainSeconds",
                  "shutdownGraceSeconds", "accessLog"}));
  TRY(get(n, "listen", p, &s->listen));
  TRY(get(n, "tokenFile", p, &s->token_file));
  TRY(get(n, "ioThreads", p, &s->io_threads));
  TRY(get(n, "threads", p, &s->threads));
  TRY(get(n, "queue", p, &s->queue));
  TRY(get(n, "listenBacklog", p, &s->listen_backlog));
  TRY(get(n, "keepAliveMaxRequests", p, &s->keep_alive_max_requests));
  TRY(get(n, "keepAliveTimeoutSeconds", p, &s->keep_alive_timeout_seconds));
  TRY(get(n, "readTimeoutSeconds", p, &s->read_timeout_seconds));
  TRY(get(n, "writeTimeoutSeconds", p, &s->write_timeout_seconds));
  TRY(get(n, "maxBodyBytes", p, &s->max_body_bytes));
  TRY(get(n, "maxWaitSeconds", p, &s->max_wait_seconds));
  TRY(get(n, "shutdownDrainSeconds", p, &s->shutdown_drain_seconds));
  TRY(get(n, "shutdownGraceSeconds", p, &s->shutdown_grace_seconds));
  TRY(get(n, "accessLog", p, &s->access_log));
  return ok_status();
}

Status parse_limits(const YAML::Node& n, LimitsConfig* l) {
  const std::string p = "limits.";
  TRY(check_keys(n, p,
                 {"maxConcurrency", "queueSize", "executionTimeoutSeconds", "retainExecutions",
                  "retainSeconds"}));
  TRY(get(n, "maxConcurrency", p, &l->max_concurrency));
  TRY(get(n, "queueSize", p, &l->queue_size));
  TRY(get(n, "executionTimeoutSeconds", p, &l->execution_timeout_seconds));
  TRY(get(n, "retainExecutions", p, &l->retain_executions));
  TRY(get(n, "retainSeconds", p, &l->retain_seconds));
  return ok_status();
}

Status parse_provider(const YAML::Node& n, ProviderConfig* c) {
  const std::string p = "provider.";
  TRY(check_keys(n, p,
                 {"type", "endpoint", "model", "embeddingModel", "apiKeyFile", "apiKeyEnv",
                  "caBundleFile", "tlsVerify", "connectTimeoutMs", "readTimeoutMs", "retries",
                  "backoffInitialMs", "backoffMaxMs", "maxRetryAfterSeconds", "breakerFailures",
                  "breakerOpenSeconds", "maxIdleConnections", "completion"}));
  TRY(get(n, "type", p, &c->type));
  TRY(get(n, "endpoint", p, &c->endpoint));
  TRY(get(n, "model", p, &c->model));
  TRY(get(n, "embeddingModel", p, &c->embedding_model));
  TRY(get(n, "apiKeyFile", p, &c->api_key_file));
  TRY(get(n, "apiKeyEnv", p, &c->api_key_env));
  TRY(get(n, "caBundleFile", p, &c->ca_bundle_file));
  TRY(get(n, "tlsVerify", p, &c->tls_verify));
  TRY(get(n, "connectTimeoutMs", p, &c->connect_timeout_ms));
  TRY(get(n, "readTimeoutMs", p, &c->read_timeout_ms));
  TRY(get(n, "retries", p, &c->retries));
  TRY(get(n, "backoffInitialMs", p, &c->backoff_initial_ms));
  TRY(get(n, "backoffMaxMs", p, &c->backoff_max_ms));
  TRY(get(n, "maxRetryAfterSeconds", p, &c->max_retry_after_seconds));
  TRY(get(n, "breakerFailures", p, &c->breaker_failures));
  TRY(get(n, "breakerOpenSeconds", p, &c->breaker_open_seconds));
  TRY(get(n, "maxIdleConnections", p, &c->max_idle_connections));
  if (const YAML::Node t = n["completion"]; t && !t.IsNull()) {
    const std::string q = p + "completion.";
    TRY(check_keys(t, q, {"system", "user", "assistant", "tool", "tools", "generation", "stop"}));
    CompletionTemplate& ct = c->completion;
    ct.enabled = true;
    TRY(get(t, "system", q, &ct.system));
    TRY(get(t, "user", q, &ct.user));
    TRY(get(t, "assistant", q, &ct.assistant));
    TRY(get(t, "tool", q, &ct.tool));
    TRY(get(t, "tools", q, &ct.tools));
    TRY(get(t, "generation", q, &ct.generation));
    TRY(get(t, "stop", q, &ct.stop));
  }
  return ok_status();
}

Status parse_agent(const YAML::Node& n, AgentConfig* a) {
  const std::string p = "agent.";
  TRY(check_keys(
      n, p,
      {"name", "systemPrompt", "options", "tools", "mcpServers", "maxToolTurns", "toolTimeoutMs",
       "chunking", "cacheResponses", "responseCacheTtlSeconds", "memoryRecallK", "maxCallDepth"}));
  TRY(get(n, "name", p, &a->name));
  TRY(get(n, "systemPrompt", p, &a->system_prompt));
  if (n["options"]) {
    if (!n["options"].IsMap()) return field_error("agent.options", "want a mapping");
    a->options = yaml_node_to_json(n["options"]);
  }
  TRY(get(n, "maxToolTurns", p, &a->max_tool_turns));
  TRY(get(n, "maxCallDepth", p, &a->max_call_depth));
  TRY(get(n, "toolTimeoutMs", p, &a->tool_timeout_ms));
  TRY(get(n, "cacheResponses", p, &a->cache_responses));
  TRY(get(n, "responseCacheTtlSeconds", p, &a->response_cache_ttl_seconds));
  TRY(get(n, "memoryRecallK", p, &a->memory_recall_k));
  if (auto t = n["tools"]) {
    if (!t.IsSequence()) return field_error("agent.tools", "want a list");
    for (size_t i = 0; i < t.size(); ++i) {
      std::string tp = "agent.tools[" + std::to_string(i) + "].";
      ToolConfig tc;
      TRY(check_keys(t[i], tp,
                     {"name", "description", "url", "method", "timeoutMs", "parameters"}));
      TRY(get(t[i], "name", tp, &tc.name));
      TRY(get(t[i], "description", tp, &tc.description));
      TRY(get(t[i], "url", tp, &tc.url));
      TRY(get(t[i], "method", tp, &tc.method));
      TRY(get(t[i], "timeoutMs", tp, &tc.timeout_ms));
      if (t[i]["parameters"]) {
        if (!t[i]["parameters"].IsMap())
          return field_error(tp + "parameters", "want a JSON schema object");
        tc.parameters = yaml_node_to_json(t[i]["parameters"]);
      }
      a->tools.push_back(std::move(tc));
    }
  }
  if (auto m = n["mcpServers"]) {
    if (!m.IsSequence()) return field_error("agent.mcpServers", "want a list");
    for (size_t i = 0; i < m.size(); ++i) {
      const std::string mp = "agent.mcpServers[" + std::to_string(i) + "].";
      McpServerConfig mc;
      TRY(check_keys(m[i], mp,
                     {"name", "url", "headers", "bearerTokenEnv", "timeoutMs", "retries",
                      "allowTools", "maxResultBytes", "kind", "transport"}));
      TRY(get(m[i], "name", mp, &mc.name));
      TRY(get(m[i], "url", mp, &mc.url));
      TRY(get(m[i], "headers", mp, &mc.headers));
      TRY(get(m[i], "bearerTokenEnv", mp, &mc.bearer_token_env));
      TRY(get(m[i], "timeoutMs", mp, &mc.timeout_ms));
      TRY(get(m[i], "retries", mp, &mc.retries));
      TRY(get(m[i], "allowTools", mp, &mc.allow_tools));
      TRY(get(m[i], "maxResultBytes", mp, &mc.max_result_bytes));
      TRY(get(m[i], "kind", mp, &mc.kind));
      TRY(get(m[i], "transport", mp, &mc.transport));
      a->mcp_servers.push_back(std::move(mc));
    }
  }
  if (auto c = n["chunking"]) {
    const std::string cp = "agent.chunking.";
    TRY(check_keys(c, cp, {"enabled", "chunkChars", "maxParallel", "combine"}));
    TRY(get(c, "enabled", cp, &a->chunking.enabled));
    TRY(get(c, "chunkChars", cp, &a->chunking.chunk_chars));
    TRY(get(c, "maxParallel", cp, &a->chunking.max_parallel));
    TRY(get(c, "combine", cp, &a->chunking.combine));
  }
  return ok_status();
}

Status parse_pressure(const YAML::Node& n, MemoryPressureConfig* m) {
  const std::string p = "memoryPressure.";
  TRY(check_keys(
      n, p,
      {"profile", "threshold", "limitBytes", "cgroupDir", "intervalSeconds", "cooldownSeconds"}));
  TRY(get(n, "profile", p, &m->profile));
  if (m->profile == "development")
    m->threshold = 0.90;
  else if (m->profile == "production")
    m->threshold = 0.80;
  else
    return field_error("memoryPressure.profile",
                       "want production or development, got '" + m->profile + "'");
  TRY(get(n, "threshold", p, &m->threshold));
  TRY(get(n, "limitBytes", p, &m->limit_bytes));
  TRY(get(n, "cgroupDir", p, &m->cgroup_dir));
  TRY(get(n, "intervalSeconds", p, &m->interval_seconds));
  TRY(get(n, "cooldownSeconds", p, &m->cooldown_seconds));
  return ok_status();
}

Status parse_cache(const YAML::Node& n, CacheConfig* c) {
  const std::string p = "cache.";
  TRY(check_keys(
      n, p, {"redisUrl", "l1MaxEntries", "l1MaxBytes", "defaultTtlSeconds", "readyWhenDegraded"}));
  TRY(get(n, "redisUrl", p, &c->redis_url));
  TRY(get(n, "l1MaxEntries", p, &c->l1_max_entries));
  TRY(get(n, "l1MaxBytes", p, &c->l1_max_bytes));
  TRY(get(n, "defaultTtlSeconds", p, &c->default_ttl_seconds));
  TRY(get(n, "readyWhenDegraded", p, &c->ready_when_degraded));
  return ok_status();
}

Status parse_memory(const YAML::Node& n, MemoryConfig* m) {
  const std::string p = "memory.";
  TRY(check_keys(n, p,
                 {"backend", "dir", "redisUrl", "maxEntries", "embeddingDim", "embedder",
                  "modelDir", "ttlSeconds", "onFull", "exchanges"}));
  TRY(get(n, "backend", p, &m->memory_backend));
  TRY(get(n, "onFull", p, &m->on_full));
  if (auto x = n["exchanges"]) {
    const std::string xp = "memory.exchanges.";
    TRY(check_keys(x, xp, {"maxEntries", "ttlSeconds"}));
    TRY(get(x, "maxEntries", xp, &m->exchanges_max_entries));
    TRY(get(x, "ttlSeconds", xp, &m->exchanges_ttl_seconds));
  }
  TRY(get(n, "dir", p, &m->memory_dir));
  TRY(get(n, "redisUrl", p, &m->redis_url));
  TRY(get(n, "maxEntries", p, &m->memory_max_entries));
  TRY(get(n, "embeddingDim", p, &m->embedding_dim));
  TRY(get(n, "embedder", p, &m->embedder));
  TRY(get(n, "modelDir", p, &m->model_dir));
  TRY(get(n, "ttlSeconds", p, &m->ttl_seconds));
  return ok_status();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

bool valid_url(const std::string& u) {
  return (u.rfind("http://", 0) == 0 && u.size() > 7) ||
         (u.rfind("https://", 0) == 0 && u.size() > 8);
}

}  // namespace

Result<Config> parse_config(const std::string& yaml_text) {
  Config c;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return invalid_argument(std::string("config: invalid YAML: ") + e.what());
  }
  if (!root || root.IsNull()) return c;
  try {
    TRY(check_keys(root, "",
                   {"server", "limits", "provider", "agent", "memoryPressure", "cache", "memory"}));
    TRY(parse_server(root["server"], &c.server));
    TRY(parse_limits(root["limits"], &c.limits));
    TRY(parse_provider(root["provider"], &c.provider));
    TRY(parse_agent(root["agent"], &c.agent));
    TRY(parse_pressure(root["memoryPressure"], &c.memory_pressure));
    TRY(parse_cache(root["cache"], &c.cache));
    TRY(parse_memory(root["memory"], &c.memory));
  } catch (const YAML::Exception& e) {
    return invalid_argument(std::string("config: ") + e.what());
  }
  return c;
}

namespace {

// One whole-number field of the config: its dotted path, bounds, and where it lives.
struct IntField {
  IntBound bound;
  int64_t (*get)(const Config&);
};

#define FIELD(path, lo, hi, expr)                                                         \
  IntField {                                                                              \
    {path, lo, hi}, [](const Config& c) -> int64_t { return static_cast<int64_t>(expr); } \
  }

constexpr int64_t kUnbounded = INT32_MAX;
constexpr int64_t kWeek = 7 * 24 * 3600;    // the cache's longest TTL (CacheOptions::max_ttl)
constexpr int64_t kYear = 365 * 24 * 3600;  // memory's longest TTL (memory::Limits::max_ttl_s)

const std::vector<IntField>& int_fields() {
  static const std::vector<IntField> fields = {
      FIELD("server.ioThreads", 1, 64, c.server.io_threads),
      FIELD("server.threads", 2, 4096, c.server.threads),
      FIELD("server.queue", 1, kUnbounded, c.server.queue),
      FIELD("server.listenBacklog", 1, kUnbounded, c.server.listen_backlog),
      FIELD("server.keepAliveMaxRequests", 1, kUnbounded, c.server.keep_alive_max_requests),
      FIELD("server.keepAliveTimeoutSeconds", 1, 3600, c.server.keep_alive_timeout_seconds),
      FIELD("server.readTimeoutSeconds", 1, 3600, c.server.read_timeout_seconds),
      FIELD("server.writeTimeoutSeconds", 1, 3600, c.server.write_timeout_seconds),
      FIELD("server.maxBodyBytes", 1024, 1LL << 30, c.server.max_body_bytes),
      FIELD("server.maxWaitSeconds", 0, 3600, c.server.max_wait_seconds),
      FIELD("server.shutdownDrainSeconds", 0, 3600, c.server.shutdown_drain_seconds),
      FIELD("server.shutdownGraceSeconds", 0, 3600, c.server.shutdown_grace_seconds),
      FIELD("limits.maxConcurrency", 1, 10000, c.limits.max_concurrency),
      FIELD("limits.queueSize", 0, 100000, c.limits.queue_size),
      FIELD("limits.executionTimeoutSeconds", 1, 86400, c.limits.execution_timeout_seconds),
      FIELD("limits.retainExecutions", 1, 10000000, c.limits.retain_executions),
      FIELD("limits.retainSeconds", 1, 30 * 86400, c.limits.retain_seconds),
      FIELD("provider.connectTimeoutMs", 1, 600000, c.provider.connect_timeout_ms),
      FIELD("provider.readTimeoutMs", 1, 86400000, c.provider.read_timeout_ms),
      FIELD("provider.retries", 0, 20, c.provider.retries),
      FIELD("provider.backoffInitialMs", 1, 600000, c.provider.backoff_initial_ms),
      FIELD("provider.backoffMaxMs", 1, 3600000, c.provider.backoff_max_ms),
      FIELD("provider.maxRetryAfterSeconds", 0, 3600, c.provider.max_retry_after_seconds),
      FIELD("provider.breakerFailures", 1, 10000, c.provider.breaker_failures),
      FIELD("provider.breakerOpenSeconds", 1, 3600, c.provider.breaker_open_seconds),
      FIELD("provider.maxIdleConnections", 0, 10000, c.provider.max_idle_connections),
      FIELD("agent.maxToolTurns", 1, 64, c.agent.max_tool_turns),
      FIELD("agent.maxCallDepth", 1, 16, c.agent.max_call_depth),
      FIELD("agent.toolTimeoutMs", 1, 600000, c.agent.tool_timeout_ms),
      FIELD("agent.chunking.chunkChars", 100, 10485760, c.agent.chunking.chunk_chars),
      FIELD("agent.chunking.maxParallel", 1, 64, c.agent.chunking.max_parallel),
      FIELD("agent.responseCacheTtlSeconds", 1, kWeek, c.agent.response_cache_ttl_seconds),
      FIELD("agent.memoryRecallK", 0, 100, c.agent.memory_recall_k),
      FIELD("memoryPressure.intervalSeconds", 1, 3600, c.memory_pressure.interval_seconds),
      FIELD("memoryPressure.cooldownSeconds", 0, 86400, c.memory_pressure.cooldown_seconds),
      FIELD("memoryPressure.limitBytes", 0, INT64_MAX, c.memory_pressure.limit_bytes),
      FIELD("cache.l1MaxEntries", 0, 100000000, c.cache.l1_max_entries),
      FIELD("cache.l1MaxBytes", 0, 1LL << 40, c.cache.l1_max_bytes),
      FIELD("cache.defaultTtlSeconds", 1, kWeek, c.cache.default_ttl_seconds),
      FIELD("memory.maxEntries", 1, 100000000, c.memory.memory_max_entries),
      FIELD("memory.embeddingDim", 0, 8192, c.memory.embedding_dim),
      FIELD("memory.ttlSeconds", 0, kYear, c.memory.ttl_seconds),
      FIELD("memory.exchanges.maxEntries", 1, 100000000, c.memory.exchanges_max_entries),
      FIELD("memory.exchanges.ttlSeconds", 0, kYear, c.memory.exchanges_ttl_seconds),
  };
  return fields;
}
#undef FIELD

// A server name becomes the prefix of its tools' names ("<name>__<tool>"), which providers
// accept as function names: letters, digits and '-' only, short, and never "__" inside.
Status check_mcp_server(const McpServerConfig& m, const std::string& mp) {
  const bool name_ok = !m.name.empty() && m.name.size() <= 32 && m.name.front() != '-' &&
                       m.name.back() != '-' &&
                       std::all_of(m.name.begin(), m.name.end(), [](char ch) {
                         return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
                       });
  if (!name_ok)
    return field_error(mp + "name",
                       "want 1-32 of a-z, 0-9 and '-' (not at either end), got '" + m.name + "'");
  if (!valid_url(m.url)) return field_error(mp + "url", "want an http:// or https:// URL");
  if (m.timeout_ms < 1 || m.timeout_ms > 600000)
    return field_error(mp + "timeoutMs", "want 1..600000");
  if (m.retries < 0 || m.retries > 10) return field_error(mp + "retries", "want 0..10");
  if (m.kind != "mcp" && m.kind != "agent")
    return field_error(mp + "kind", "want mcp or agent, got '" + m.kind + "'");
  if (m.transport != "streamable-http" && m.transport != "sse")
    return field_error(mp + "transport", "want streamable-http or sse, got '" + m.transport + "'");
  if (m.kind == "agent" && m.transport != "streamable-http")
    return field_error(mp + "transport", "an agent's /mcp speaks streamable-http only");
  if (m.max_result_bytes < 1 || m.max_result_bytes > (16u << 20))
    return field_error(mp + "maxResultBytes", "want 1..16777216");
  for (const auto& [k, v] : m.headers) {
    const bool token = !k.empty() && std::all_of(k.begin(), k.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
    });
    if (!token) return field_error(mp + "headers", "'" + k + "' is not an HTTP header name");
    if (v.find_first_of("\r\n") != std::string::npos)
      return field_error(mp + "headers." + k, "a header value cannot hold a line break");
  }
  for (const auto& t : m.allow_tools)
    if (t.empty()) return field_error(mp + "allowTools", "an empty tool name");
  return ok_status();
}

Status check_redis_url(const std::string& field, const std::string& url) {
  if (url.empty()) return ok_status();
  if (url.rfind("rediss://", 0) == 0)
    return field_error(field, "TLS to Redis (rediss://) is not supported yet; use redis://");
  std::string host, password;
  int port = 0;
  if (!parse_redis_url(url, &host, &port, &password) || host.empty() || port == 0)
    return field_error(field, "want redis://[:password@]host:port[/db], got '" + url + "'");
  return ok_status();
}

}  // namespace

const std::vector<IntBound>& int_bounds() {
  static const std::vector<IntBound> bounds = [] {
    std::vector<IntBound> v;
    for (const auto& f : int_fields()) v.push_back(f.bound);
    return v;
  }();
  return bounds;
}

std::string memory_redis_url(const Config& c) {
  if (c.memory.memory_backend != "redis") return "";
  return c.memory.redis_url.empty() ? c.cache.redis_url : c.memory.redis_url;
}

bool parse_redis_url(std::string url, std::string* host, int* port, std::string* password) {
  if (url.rfind("redis://", 0) == 0) url = url.substr(8);
  auto at = url.rfind('@');
  if (at != std::string::npos) {
    auto cred = url.substr(0, at);
    auto colon = cred.find(':');
    *password = colon == std::string::npos ? cred : cred.substr(colon + 1);
    url = url.substr(at + 1);
  }
  auto slash = url.find('/');
  if (slash != std::string::npos) url = url.substr(0, slash);
  return http::parse_host_port(url, host, port);
}

Status validate(const Config& c) {
  std::string host;
  int port = 0;
  if (!http::parse_host_port(c.server.listen, &host, &port))
    return field_error("server.listen", "want HOST:PORT or :PORT with a port 0..65535");
  if (c.server.token_file.empty())
    return field_error("server.tokenFile", "required (the API token file)");
  for (const auto& f : int_fields()) {
    int64_t v = f.get(c);
    if (v < f.bound.min || v > f.bound.max)
      return field_error(f.bound.field, "want " + std::to_string(f.bound.min) + ".." +
                                            std::to_string(f.bound.max) + ", got " +
                                            std::to_string(v));
  }
  if (c.provider.type != "ollama" && c.provider.type != "openai")
    return field_error("provider.type", "want ollama or openai, got '" + c.provider.type + "'");
  if (!valid_url(c.provider.endpoint))
    return field_error("provider.endpoint",
                       "want an http:// or https:// URL, got '" + c.provider.endpoint + "'");
  if (c.provider.model.empty()) return field_error("provider.model", "required");
  if (const CompletionTemplate& ct = c.provider.completion; ct.enabled) {
    if (c.provider.type != "openai")
      return field_error("provider.completion",
                         "needs provider.type openai (an OpenAI-compatible /v1/completions), got " +
                             c.provider.type);
    for (const auto& [field, text] : {std::pair{"user", &ct.user},
                                      {"assistant", &ct.assistant},
                                      {"system", &ct.system},
                                      {"tool", &ct.tool}})
      if (text->find("{content}") == std::string::npos)
        return field_error(std::string("provider.completion.") + field,
                           "want a line with {content} in it, got '" + *text + "'");
    if (ct.tools.find("{tools}") == std::string::npos)
      return field_error("provider.completion.tools", "want a text with {tools} in it");
    if (ct.stop.size() > 4)
      return field_error("provider.completion.stop", "at most 4 stop strings");
    for (const auto& s : ct.stop)
      if (s.empty()) return field_error("provider.completion.stop", "an empty stop string");
  }
  for (size_t i = 0; i < c.agent.tools.size(); ++i) {
    const auto& t = c.agent.tools[i];
    std::string tp = "agent.tools[" + std::to_string(i) + "].";
    if (t.name.empty()) return field_error(tp + "name", "required");
    if (!valid_url(t.url)) return field_error(tp + "url", "want an http:// or https:// URL");
    if (t.method != "POST" && t.method != "GET")
      return field_error(tp + "method", "want POST or GET");
    if (t.timeout_ms < 0 || t.timeout_ms > 600000)
      return field_error(tp + "timeoutMs", "want 0..600000 (0: agent.toolTimeoutMs)");
    for (size_t j = 0; j < i; ++j)
      if (c.agent.tools[j].name == t.name)
        return field_error(
            tp + "name", "'" + t.name + "' is also agent.tools[" + std::to_string(j) + "]'s name");
  }
  for (size_t i = 0; i < c.agent.mcp_servers.size(); ++i) {
    const auto& m = c.agent.mcp_servers[i];
    const std::string mp = "agent.mcpServers[" + std::to_string(i) + "].";
    TRY(check_mcp_server(m, mp));
    for (size_t j = 0; j < i; ++j)
      if (c.agent.mcp_servers[j].name == m.name)
        return field_error(mp + "name", "'" + m.name + "' is also agent.mcpServers[" +
                                            std::to_string(j) + "]'s name");
  }
  if (c.agent.chunking.combine != "model" && c.agent.chunking.combine != "concat")
    return field_error("agent.chunking.combine", "want model or concat");
  if (c.memory_pressure.threshold <= 0 || c.memory_pressure.threshold > 1)
    return field_error("memoryPressure.threshold", "want a fraction in (0, 1]");
  TRY(check_redis_url("cache.redisUrl", c.cache.redis_url));
  TRY(check_redis_url("memory.redisUrl", c.memory.redis_url));
  if (c.memory.memory_backend != "embedded" && c.memory.memory_backend != "redis")
    return field_error("memory.backend",
                       "want embedded or redis, got '" + c.memory.memory_backend + "'");
  if (c.memory.memory_backend == "redis" && memory_redis_url(c).empty())
    return field_error("memory.backend",
                       "redis needs memory.redisUrl (or cache.redisUrl): without it memory "
                       "would not be persisted");
  if (c.memory.memory_backend == "embedded" && !c.memory.redis_url.empty())
    return field_error("memory.redisUrl", "set, but memory.backend is embedded: say redis");
  if (c.memory.on_full != "refuse" && c.memory.on_full != "evictOldest")
    return field_error("memory.onFull",
                       "want refuse or evictOldest, got '" + c.memory.on_full + "'");
  const std::string& e = c.memory.embedder;
  if (e != "minilm" && e != "lexical" && e != "local" && e != "provider")
    return field_error("memory.embedder",
                       "want minilm, lexical or provider, got '" + c.memory.embedder + "'");
  if (e == "minilm" && c.memory.embedding_dim != 0 && c.memory.embedding_dim != 384)
    return field_error("memory.embeddingDim", "all-MiniLM-L6-v2 makes 384 dimensions, not " +
                                                  std::to_string(c.memory.embedding_dim));
  if (e != "minilm" && !c.memory.model_dir.empty())
    return field_error("memory.modelDir", "set, but memory.embedder is " + e + ": say minilm");
  return ok_status();
}

Result<Config> load_config(const std::string& path,
                           const std::map<std::string, std::string>& overrides) {
  std::string text;
  if (!path.empty() && !read_file(path, &text))
    return invalid_argument("config: cannot read " + path);
  auto parsed = parse_config(text);
  if (!parsed.ok()) return parsed;
  Config c = std::move(parsed.value());
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
  };
  if (auto v = env("AGENTRY_SIDECAR_LISTEN")) c.server.listen = v;
  if (auto v = env("AGENTRY_SIDECAR_TOKEN_FILE")) c.server.token_file = v;
  if (auto v = env("AGENTRY_PROVIDER_ENDPOINT")) c.provider.endpoint = v;
  if (auto v = env("AGENTRY_PROVIDER_MODEL")) c.provider.model = v;
  // The operator passes Redis passwords from Secrets this way (spec.*.redis.passwordSecretRef).
  if (auto v = env("AGENTRY_CACHE_REDIS_PASSWORD")) c.cache.redis_password = v;
  if (auto v = env("AGENTRY_MEMORY_REDIS_PASSWORD")) c.memory.redis_password = v;
  for (const auto& [k, v] : overrides) {
    if (k == "server.listen")
      c.server.listen = v;
    else if (k == "server.tokenFile")
      c.server.token_file = v;
    else if (k == "provider.endpoint")
      c.provider.endpoint = v;
  }
  if (!c.provider.api_key_file.empty()) {
    if (!read_file(c.provider.api_key_file, &c.provider.api_key))
      return field_error("provider.apiKeyFile", "cannot read " + c.provider.api_key_file);
    c.provider.api_key = trim(c.provider.api_key);
  } else if (!c.provider.api_key_env.empty()) {
    const char* v = env(c.provider.api_key_env.c_str());
    if (!v)
      return field_error("provider.apiKeyEnv",
                         "environment variable " + c.provider.api_key_env + " is empty");
    c.provider.api_key = v;
  } else if (auto v = env("AGENTRY_PROVIDER_API_KEY")) {
    c.provider.api_key = v;
  }
  for (size_t i = 0; i < c.agent.mcp_servers.size(); ++i) {
    auto& m = c.agent.mcp_servers[i];
    if (m.bearer_token_env.empty()) continue;
    const char* v = env(m.bearer_token_env.c_str());
    if (!v)
      return field_error("agent.mcpServers[" + std::to_string(i) + "].bearerTokenEnv",
                         "environment variable " + m.bearer_token_env + " is empty");
    m.bearer_token = v;
  }
  if (!c.provider.ca_bundle_file.empty()) {
    if (auto t = tls::Trust::from_file(c.provider.ca_bundle_file); !t.ok())
      return field_error("provider.caBundleFile", t.status().message());
  }
  if (auto s = validate(c); !s.is_ok()) return s;
  return c;
}

bool parse_duration(const std::string& text, std::chrono::milliseconds* out) {
  auto d = json_io::parse_duration(text, "duration", std::chrono::hours(24 * 366));
  if (!d.ok()) return false;
  *out = *d;
  return true;
}

}  // namespace agentry::sidecar
