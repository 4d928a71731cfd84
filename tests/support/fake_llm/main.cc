// agentry-fake-llm: a small LLM server speaking the Ollama (/api/chat, /api/embed) and OpenAI
// (/v1/chat/completions, /v1/embeddings) wire formats, with streaming, tool calls and deterministic
// embeddings, plus injectable faults (latency, 5xx, 429 + Retry-After, hangs, dropped connections)
// set by flags or at run time through POST /admin/faults. Answers are deterministic so tests can
// assert them: "echo: <last user message>".
//
// It also serves test tools: POST /tools/echo (returns its JSON arguments), POST /tools/fail (500).
#include <httplib.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

namespace {

using nlohmann::json;

struct Faults {
  int latency_ms = 0;
  std::string mode = "ok";  // ok | error500 | error429 | hang | drop
  int count = -1;           // requests the mode applies to; -1: until changed
  int retry_after = 1;      // seconds, for error429
  double error_rate = 0;    // fraction of requests answered 500 at random
  int stream_delay_ms = 0;  // between streamed chunks
  int hang_ms = 600000;
};

struct State {
  std::mutex mu;
  Faults f;
  std::mt19937_64 rng{42};
  json stats = {{"chat", 0}, {"embed", 0}, {"faults", 0}, {"tools", 0}};
  json last = json::object();
  // Chat requests whose last user message starts with "mark:NAME": how many times each NAME was
  // asked (soak and workflow tests count how often a step reached the model).
  std::map<std::string, int> marks;
  std::string api_key;
  int embed_dim = 16;
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;  // wakes every nap() at shutdown
};

State g;

// Counts chat requests in progress; stats report the most seen at once (tests assert parallelism).
std::atomic<int> g_inflight{0}, g_max_inflight{0};
struct InflightGuard {
  InflightGuard() {
    int now = ++g_inflight;
    int seen = g_max_inflight.load();
    while (now > seen && !g_max_inflight.compare_exchange_weak(seen, now)) {
    }
  }
  ~InflightGuard() { --g_inflight; }
};

std::vector<float> embedding(const std::string& text, int dim) {
  std::vector<float> v(dim);
  double norm = 0;
  for (int i = 0; i < dim; ++i) {
    unsigned char md[32];
    unsigned int len = 0;
    std::string in = text + "#" + std::to_string(i / 8);
    EVP_Digest(in.data(), in.size(), md, &len, EVP_sha256(), nullptr);
    uint32_t x = (md[(i % 8) * 4] << 24) | (md[(i % 8) * 4 + 1] << 16) |
                 (md[(i % 8) * 4 + 2] << 8) | md[(i % 8) * 4 + 3];
    v[i] = static_cast<float>(x / 4294967295.0 * 2.0 - 1.0);
    norm += v[i] * v[i];
  }
  norm = std::sqrt(norm);
  for (auto& x : v) x = static_cast<float>(x / (norm > 0 ? norm : 1));
  return v;
}

// Sleeps without polling (a thousand sleepers must not wake 50 times a second each) and returns
// early when the server stops.
void nap(int ms) {
  std::unique_lock<std::mutex> lock(g.stop_mu);
  g.stop_cv.wait_for(lock, std::chrono::milliseconds(ms), [] { return g.stopping.load(); });
}

// Applies latency and faults. True if the response was already decided (a fault).
bool apply_faults(httplib::Response& res) {
  Faults f;
  bool random_fail = false;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    f = g.f;
    if (g.f.mode != "ok" && g.f.count > 0 && --g.f.count == 0) g.f.mode = "ok";
    if (f.error_rate > 0)
      random_fail = std::uniform_real_distribution<double>(0, 1)(g.rng) < f.error_rate;
    if (f.mode != "ok" || random_fail) g.stats["faults"] = g.stats["faults"].get<int>() + 1;
  }
  if (f.latency_ms > 0) nap(f.latency_ms);
  if (random_fail || f.mode == "error500") {
    res.status = 500;
    res.set_content(R"({"error":"injected failure"})", "application/json");
    return true;
  }
  if (f.mode == "error429") {
    res.status = 429;
    res.set_header("Retry-After", std::to_string(f.retry_after));
    res.set_content(R"J({"error":"rate limited (injected)"})J", "application/json");
    return true;
  }
  if (f.mode == "hang") {
    nap(f.hang_ms);
    res.status = 504;
    res.set_content(R"J({"error":"hung (injected)"})J", "application/json");
    return true;
  }
  if (f.mode == "drop") {
    // Headers go out, then the body provider fails: the connection closes mid-response.
    res.status = 200;
    res.set_content_provider(1000, "application/json",
                             [](size_t, size_t, httplib::DataSink&) { return false; });
    return true;
  }
  return false;
}

bool authorized(const httplib::Request& req, httplib::Response& res) {
  if (g.api_key.empty()) return true;
  if (req.get_header_value("Authorization") == "Bearer " + g.api_key) return true;
  res.status = 401;
  res.set_content(R"({"error":{"message":"invalid api key","type":"invalid_request_error"}})",
                  "application/json");
  return false;
}

// The NAME of a leading "mark:NAME" in the last user message of a chat body; empty if none.
std::string mark_of(const json& body) {
  if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) return "";
  std::string last_user;
  for (const auto& m : body["messages"]) {
    if (m.is_object() && m.value("role", "") == "user" && m.contains("content") &&
        m["content"].is_string())
      last_user = m["content"].get<std::string>();
  }
  if (last_user.rfind("mark:", 0) != 0) return "";
  return last_user.substr(5, last_user.find_first_of(" \n", 5) - 5);
}

void record(const std::string& kind, const httplib::Request& req) {
  std::lock_guard<std::mutex> lock(g.mu);
  g.stats[kind] = g.stats[kind].get<int>() + 1;
  g.last = {{"path", req.path},
            {"authorization", req.get_header_value("Authorization")},
            {"body", json::parse(req.body, nullptr, false)}};
  if (kind == "chat") {
    std::string m = mark_of(g.last["body"]);
    if (!m.empty()) ++g.marks[m];
  }
}

struct Turn {
  std::string content;  // the final answer (when no tool call)
  bool tool_call = false;
  std::string tool_name;
  json tool_args;
};

// The deterministic brain: a tool call when tools are offered and none was answered since the
// last user message (the one the message names, else the first; arguments {"query": message}, or
// the JSON object after the name); else echo the last user message (or the tool result).
Turn think(const json& body) {
  Turn t;
  const json& msgs = body.value("messages", json::array());
  std::string last_user, last_tool;
  bool tool_after_user = false;
  for (const auto& m : msgs) {
    std::string role = m.value("role", "");
    std::string content =
        m.contains("content") && m["content"].is_string() ? m["content"].get<std::string>() : "";
    if (role == "user") {
      last_user = content;
      tool_after_user = false;
    } else if (role == "tool") {
      last_tool = content;
      tool_after_user = true;
    }
  }
  const json& tools = body.value("tools", json::array());
  if (tools.is_array() && !tools.empty() && !tool_after_user) {
    t.tool_call = true;
    const json* pick = &tools[0];
    for (const auto& tool : tools) {
      std::string n = tool.value("function", json::object()).value("name", "");
      if (!n.empty() && last_user.find(n) != std::string::npos) pick = &tool;
    }
    t.tool_name = (*pick).value("function", json::object()).value("name", "tool");
    t.tool_args = {{"query", last_user}};
    // "call NAME {json}": the JSON object right after the tool's name is the arguments (so a test
    // can drive a real MCP tool with the arguments its schema wants).
    if (size_t at = last_user.find(t.tool_name + " {"); at != std::string::npos) {
      json args = json::parse(last_user.substr(at + t.tool_name.size() + 1), nullptr, false);
      if (args.is_object()) t.tool_args = args;
    }
    return t;
  }
  t.content = tool_after_user ? "tool said: " + last_tool : "echo: " + last_user;
  return t;
}

std::vector<std::string> pieces(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size(); i += 8) out.push_back(s.substr(i, 8));
  if (out.empty()) out.push_back("");
  return out;
}

int64_t tokens(const json& body) {
  return static_cast<int64_t>(body.dump().size() / 4);
}

void ollama_chat(const httplib::Request& req, httplib::Response& res) {
  InflightGuard inflight;
  if (!authorized(req, res)) return;
  record("chat", req);
  if (apply_faults(res)) return;
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.contains("messages")) {
    res.status = 400;
    res.set_content(R"({"error":"bad request: messages required"})", "application/json");
    return;
  }
  Turn t = think(body);
  std::string model = body.value("model", "fake");
  json tool_calls = json::array();
  if (t.tool_call)
    tool_calls.push_back({{"function", {{"name", t.tool_name}, {"arguments", t.tool_args}}}});
  int64_t pt = tokens(body), ct = static_cast<int64_t>(t.content.size() / 4 + 1);
  if (!body.value("stream", true)) {
    json m = {{"role", "assistant"}, {"content", t.content}};
    if (t.tool_call) m["tool_calls"] = tool_calls;
    res.set_content(json{{"model", model},
                         {"message", m},
                         {"done", true},
                         {"prompt_eval_count", pt},
                         {"eval_count", ct}}
                        .dump(),
                    "application/json");
    return;
  }
  int delay;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    delay = g.f.stream_delay_ms;
  }
  auto parts = std::make_shared<std::vector<std::string>>(pieces(t.content));
  res.set_chunked_content_provider("application/x-ndjson", [=](size_t, httplib::DataSink& sink) {
    for (size_t i = 0; i < parts->size(); ++i) {
      if (delay > 0 && i > 0) nap(delay);
      json m = {{"role", "assistant"}, {"content", (*parts)[i]}};
      std::string line = json{{"model", model}, {"message", m}, {"done", false}}.dump() + "\n";
      if (!sink.write(line.data(), line.size())) return false;
    }
    json fin = {{"model", model},
                {"message", {{"role", "assistant"}, {"content", ""}}},
                {"done", true},
                {"prompt_eval_count", pt},
                {"eval_count", ct}};
    if (t.tool_call) fin["message"]["tool_calls"] = tool_calls;
    std::string line = fin.dump() + "\n";
    sink.write(line.data(), line.size());
    sink.done();
    return true;
  });
}

void openai_chat(const httplib::Request& req, httplib::Response& res) {
  InflightGuard inflight;
  if (!authorized(req, res)) return;
  record("chat", req);
  if (apply_faults(res)) return;
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.contains("messages")) {
    res.status = 400;
    res.set_content(R"({"error":{"message":"messages required"}})", "application/json");
    return;
  }
  Turn t = think(body);
  std::string model = body.value("model", "fake");
  static std::atomic<uint64_t> n{0};
  std::string call_id = "call_" + std::to_string(++n);
  json tool_calls = json::array();
  if (t.tool_call)
    tool_calls.push_back(
        {{"id", call_id},
         {"type", "function"},
         {"function", {{"name", t.tool_name}, {"arguments", t.tool_args.dump()}}}});
  json usage = {{"prompt_tokens", tokens(body)},
                {"completion_tokens", static_cast<int64_t>(t.content.size() / 4 + 1)}};
  if (!body.value("stream", false)) {
    json m = {{"role", "assistant"}, {"content", t.tool_call ? json(nullptr) : json(t.content)}};
    if (t.tool_call) m["tool_calls"] = tool_calls;
    json out = {
        {"id", "chatcmpl-fake"},
        {"object", "chat.completion"},
        {"model", model},
        {"choices",
         {{{"index", 0}, {"message", m}, {"finish_reason", t.tool_call ? "tool_calls" : "stop"}}}},
        {"usage", usage}};
    res.set_content(out.dump(), "application/json");
    return;
  }
  int delay;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    delay = g.f.stream_delay_ms;
  }
  auto parts = std::make_shared<std::vector<std::string>>(pieces(t.content));
  res.set_chunked_content_provider("text/event-stream", [=](size_t, httplib::DataSink& sink) {
    auto send = [&](const json& j) {
      std::string ev = "data: " + j.dump() + "\n\n";
      return sink.write(ev.data(), ev.size());
    };
    if (t.tool_call) {
      // Split the call over two events, as real servers do.
      std::string args = t.tool_args.dump();
      json d1 = {{"tool_calls",
                  {{{"index", 0},
                    {"id", call_id},
                    {"type", "function"},
                    {"function",
                     {{"name", t.tool_name}, {"arguments", args.substr(0, args.size() / 2)}}}}}}};
      json d2 = {{"tool_calls",
                  {{{"index", 0}, {"function", {{"arguments", args.substr(args.size() / 2)}}}}}}};
      if (!send({{"choices", {{{"index", 0}, {"delta", d1}}}}})) return false;
      if (!send({{"choices", {{{"index", 0}, {"delta", d2}}}}})) return false;
    } else {
      for (size_t i = 0; i < parts->size(); ++i) {
        if (delay > 0 && i > 0) nap(delay);
        if (!send({{"choices", {{{"index", 0}, {"delta", {{"content", (*parts)[i]}}}}}}}))
          return false;
      }
    }
    send({{"choices",
           {{{"index", 0},
             {"delta", json::object()},
             {"finish_reason", t.tool_call ? "tool_calls" : "stop"}}}}});
    send({{"choices", json::array()}, {"usage", usage}});
    std::string done = "data: [DONE]\n\n";
    sink.write(done.data(), done.size());
    sink.done();
    return true;
  });
}

std::vector<std::string> inputs_of(const json& body) {
  std::vector<std::string> in;
  if (!body.contains("input")) return in;
  if (body["input"].is_string())
    in.push_back(body["input"].get<std::string>());
  else if (body["input"].is_array())
    for (const auto& s : body["input"])
      in.push_back(s.is_string() ? s.get<std::string>() : s.dump());
  return in;
}

void ollama_embed(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  record("embed", req);
  if (apply_faults(res)) return;
  json body = json::parse(req.body, nullptr, false);
  json out = json::array();
  for (const auto& s : inputs_of(body)) out.push_back(embedding(s, g.embed_dim));
  res.set_content(json{{"model", body.value("model", "fake")}, {"embeddings", out}}.dump(),
                  "application/json");
}

void openai_embed(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  record("embed", req);
  if (apply_faults(res)) return;
  json body = json::parse(req.body, nullptr, false);
  json data = json::array();
  auto in = inputs_of(body);
  for (size_t i = 0; i < in.size(); ++i)
    data.push_back(
        {{"object", "embedding"}, {"index", i}, {"embedding", embedding(in[i], g.embed_dim)}});
  res.set_content(
      json{{"object", "list"}, {"data", data}, {"model", body.value("model", "fake")}}.dump(),
      "application/json");
}

void set_faults(const httplib::Request& req, httplib::Response& res) {
  json b = json::parse(req.body, nullptr, false);
  if (b.is_discarded() || !b.is_object()) {
    res.status = 400;
    res.set_content(R"({"error":"want a JSON object"})", "application/json");
    return;
  }
  std::lock_guard<std::mutex> lock(g.mu);
  if (b.value("reset", false)) g.f = Faults{};
  g.f.latency_ms = b.value("latencyMs", g.f.latency_ms);
  g.f.mode = b.value("mode", g.f.mode);
  g.f.count = b.value("count", b.contains("mode") ? -1 : g.f.count);
  g.f.retry_after = b.value("retryAfter", g.f.retry_after);
  g.f.error_rate = b.value("errorRate", g.f.error_rate);
  g.f.stream_delay_ms = b.value("streamDelayMs", g.f.stream_delay_ms);
  g.f.hang_ms = b.value("hangMs", g.f.hang_ms);
  res.set_content(
      json{{"mode", g.f.mode}, {"count", g.f.count}, {"latencyMs", g.f.latency_ms}}.dump(),
      "application/json");
}

void usage() {
  std::fprintf(
      stderr,
      "usage: agentry-fake-llm [--host H] [--port N] [--threads N] [--keep-alive-seconds N]\n"
      "       [--latency-ms N]"
      "       [--error-rate F] [--mode ok|error500|error429|hang|drop] [--retry-after S]\n"
      "       [--stream-delay-ms N] [--api-key K] [--embed-dim N] [--seed N]\n"
      "       [--tls-cert FILE --tls-key FILE]\n"
      "admin: POST /admin/faults {latencyMs, mode, count, retryAfter, errorRate,\n"
      "       streamDelayMs, hangMs, reset}; GET /admin/stats; GET /admin/last; GET "
      "/admin/marks\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", cert, key;
  int port = 11434, threads = 1100, keep_alive_seconds = 2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host")
      host = next();
    else if (a == "--port")
      port = std::stoi(next());
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--keep-alive-seconds")
      keep_alive_seconds = std::stoi(next());
    else if (a == "--latency-ms")
      g.f.latency_ms = std::stoi(next());
    else if (a == "--error-rate")
      g.f.error_rate = std::stod(next());
    else if (a == "--mode")
      g.f.mode = next();
    else if (a == "--retry-after")
      g.f.retry_after = std::stoi(next());
    else if (a == "--stream-delay-ms")
      g.f.stream_delay_ms = std::stoi(next());
    else if (a == "--api-key")
      g.api_key = next();
    else if (a == "--embed-dim")
      g.embed_dim = std::stoi(next());
    else if (a == "--seed")
      g.rng.seed(std::stoull(next()));
    else if (a == "--tls-cert")
      cert = next();
    else if (a == "--tls-key")
      key = next();
    else {
      usage();
      return a == "--help" ? 0 : 2;
    }
  }
  std::unique_ptr<httplib::Server> srv;
  if (!cert.empty())
    srv = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
  else
    srv = std::make_unique<httplib::Server>();
  if (!srv->is_valid()) {
    std::fprintf(stderr, "agentry-fake-llm: invalid TLS cert/key\n");
    return 1;
  }
  srv->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  srv->set_keep_alive_max_count(100000);
  // httplib 0.11 waits for the next request on an idle keep-alive connection by polling (10 ms
  // poll + 1 ms sleep, hard-coded in libcpp-httplib.so): each idle connection wakes ~90 times a
  // second until this timeout. A short one keeps 1,000 idle connections from eating the CPU the
  // benchmark measures.
  srv->set_keep_alive_timeout(keep_alive_seconds);
  srv->set_tcp_nodelay(true);
  std::atomic<int> listen_fd{-1};
  srv->set_socket_options([&](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  srv->Post("/api/chat", ollama_chat);
  srv->Post("/api/embed", ollama_embed);
  srv->Get("/api/tags", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"models":[{"name":"fake"}]})", "application/json");
  });
  srv->Post("/v1/chat/completions", openai_chat);
  srv->Post("/v1/embeddings", openai_embed);
  srv->Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"object":"list","data":[{"id":"fake","object":"model"}]})",
                    "application/json");
  });
  srv->Post("/tools/echo", [](const httplib::Request& req, httplib::Response& res) {
    record("tools", req);
    json args = json::parse(req.body, nullptr, false);
    res.set_content(
        json{{"tool", "echo"}, {"args", args.is_discarded() ? json(req.body) : args}}.dump(),
        "application/json");
  });
  srv->Post("/tools/fail", [](const httplib::Request& req, httplib::Response& res) {
    record("tools", req);
    res.status = 500;
    res.set_content("tool broke", "text/plain");
  });
  srv->Post("/admin/faults", set_faults);
  srv->Get("/admin/stats", [](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(g.mu);
    json out = g.stats;
    out["maxInflight"] = g_max_inflight.load();
    res.set_content(out.dump(), "application/json");
  });
  srv->Get("/admin/marks", [](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(g.mu);
    res.set_content(json(g.marks).dump(), "application/json");
  });
  srv->Get("/admin/last", [](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(g.mu);
    res.set_content(g.last.dump(), "application/json");
  });
  if (port == 0)
    port = srv->bind_to_any_port(host);
  else if (!srv->bind_to_port(host, port))
    port = -1;
  if (port <= 0) {
    std::fprintf(stderr, "agentry-fake-llm: cannot listen on %s\n", host.c_str());
    return 1;
  }
  if (listen_fd >= 0) ::listen(listen_fd, 4096);
  std::printf("agentry-fake-llm listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::thread serve([&] { srv->listen_after_bind(); });
  int sig = 0;
  sigwait(&set, &sig);
  {
    std::lock_guard<std::mutex> lock(g.stop_mu);
    g.stopping = true;
  }
  g.stop_cv.notify_all();
  srv->stop();
  serve.join();
  return 0;
}
