// What the sidecar adds to a real model's answer (issue 21): llama-server with Gemma 3 270M
// (hack/llm.sh), called directly and through the sidecar (provider.completion, streamed), in
// alternating pairs on the same prompt, greedy, with the server's prompt cache off so both sides
// pay the same prompt processing. Prints the medians of time to first token and of tokens per
// second (first to last token), and their ratios: the sidecar must add < 2% to the first and
// nothing to the second. A last row adds memory recall (a MiniLM embedding of each input).
// Usage: llm_bench [--pairs N] [--llama-threads T]   (T < cores leaves the sidecar a core)
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench/memory/table.h"
#include "tests/support/eventually.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/tempdir.h"
#include "tests/support/test_tools.h"

using namespace agentry::testing;
using agentry::bench::Clock;
using nlohmann::json;

namespace {

double pct_median(const std::vector<double>& v) {
  return agentry::bench::pct(v, 0.5);
}

constexpr const char* kToken = "bench-token-0123456789abcdef";
constexpr int kMaxTokens = 48;
// An agent's instructions, as most agents have (about 90 tokens), on both paths.
constexpr const char* kSystem =
    "You are a careful research assistant for a platform engineering team. Answer briefly, in "
    "plain words, and say which facts you used. When you are not sure, say so instead of "
    "guessing. Prefer official documentation over blog posts, and recent sources over old ones. "
    "Never invent commands, flags or version numbers.";

struct Sample {
  double ttft_ms = 0;
  double tokens_per_s = 0;
  int tokens = 0;
};

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Streams a POST; `piece` gets each body chunk and returns the text tokens it carried (0: none).
// The time of the first and the last chunk that carried text.
Sample timed_stream(int port, const std::string& path, const httplib::Headers& h,
                    const std::string& body, const std::function<int(std::string_view)>& piece) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  c.set_tcp_nodelay(true);
  Sample s;
  std::string pending;
  Clock::time_point t0 = Clock::now(), first{}, last{};
  int pieces = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers = h;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    pending.append(d, n);
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      const int got = piece(std::string_view(pending).substr(0, end));
      pending.erase(0, end + 2);
      if (got > 0) {
        last = Clock::now();
        if (pieces == 0) first = last;
        pieces += got;
      }
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err;
  if (!c.send(req, res, err) || res.status != 200 || pieces == 0) {
    std::fprintf(stderr, "stream to %s failed: %s %d\n", path.c_str(),
                 httplib::to_string(err).c_str(), res.status);
    return s;
  }
  s.ttft_ms = ms(first - t0);
  s.tokens = pieces;
  s.tokens_per_s = pieces > 1 ? (pieces - 1) / (ms(last - first) / 1000) : 0;
  return s;
}

// data: {...} of an SSE frame ("" when none), and its event name.
std::string frame_data(std::string_view frame, std::string* event) {
  event->clear();
  std::string data;
  size_t at = 0;
  while (at < frame.size()) {
    size_t nl = frame.find('\n', at);
    std::string_view line = frame.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.rfind("event: ", 0) == 0) *event = std::string(line.substr(7));
    if (line.rfind("data: ", 0) == 0) data = std::string(line.substr(6));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  // llama-server on all cores but one by default: the sidecar gets a core, as it does in a pod
  // (its own container and CPU). With --llama-threads 2 on 2 cores the server's spinning threads
  // and the sidecar's take turns, and each hop of the stream can wait for a time slice.
  int pairs = 30, threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--pairs") == 0) pairs = std::max(2, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--llama-threads") == 0) threads = std::max(1, std::atoi(argv[i + 1]));
  }
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("load average at start: %.2f\n", load[0]);
  const std::string llm = llm_dir();
  if (llm.empty() || !ensure_model_env()) {
    std::fprintf(stderr, "llm_bench: hack/llm.sh or hack/models.sh failed\n");
    return 1;
  }
  TempDir dir("llm-bench");
  const int llama_port = free_port();
  Process::Options lo;
  lo.argv = {llm + "/bin/llama-server",
             "--model",
             llm + "/models/gemma-3-270m-q4_k_m.gguf",
             "--host",
             "127.0.0.1",
             "--port",
             std::to_string(llama_port),
             "--ctx-size",
             "2048",
             "--parallel",
             "1",
             "--threads",
             std::to_string(threads),
             "--no-webui"};
  lo.log_path = dir.file("llama-server.log");
  Process llama(lo);
  std::string err;
  if (!llama.start(&err)) return std::fprintf(stderr, "llama-server: %s\n", err.c_str()), 1;
  httplib::Client probe("127.0.0.1", llama_port);
  if (!eventually(
          [&] {
            auto r = probe.Get("/health");
            return r && r->status == 200;
          },
          std::chrono::seconds(120)))
    return std::fprintf(stderr, "llama-server did not come up\n"), 1;

  // Two sidecars on it: memory recall off (the provider path alone) and on (MiniLM).
  auto sidecar = [&](const std::string& name, int recall_k, Process* p) {
    const int port = free_port();
    write_file(dir.file("token"), std::string(kToken) + "\n");
    write_file(dir.file(name + ".yaml"),
               "server: {listen: '127.0.0.1:" + std::to_string(port) + "', tokenFile: '" +
                   dir.file("token") +
                   "', accessLog: false}\n"
                   "provider: {type: openai, endpoint: 'http://127.0.0.1:" +
                   std::to_string(llama_port) +
                   "', model: gemma-3-270m, readTimeoutMs: 120000, completion: {}}\n"
                   "agent: {name: " +
                   name + ", cacheResponses: false, systemPrompt: '" + kSystem +
                   "', memoryRecallK: " + std::to_string(recall_k) + "}\n");
    Process::Options so;
    so.argv = {AGENTRY_SIDECAR_BIN, "--config", dir.file(name + ".yaml")};
    so.log_path = dir.file(name + ".log");
    *p = Process(so);
    if (!p->start(&err) || !wait_for_port(port, std::chrono::seconds(20))) {
      std::fprintf(stderr, "sidecar %s: %s\n", name.c_str(), p->log_tail().c_str());
      std::exit(1);
    }
    return port;
  };
  Process bare_p, recall_p;
  const int bare = sidecar("bare", 0, &bare_p), recall = sidecar("recall", 4, &recall_p);
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  const json params = {{"temperature", 0}, {"max_tokens", kMaxTokens}, {"cache_prompt", false}};

  auto direct = [&](const std::string& input) {
    json body = params;
    // What the sidecar's default template writes.
    body["prompt"] = std::string(kSystem) + "\n\nQuestion: " + input + "\nAnswer:";
    body["stop"] = {"\nQuestion:"};
    body["stream"] = true;
    bool started = false;
    return timed_stream(llama_port, "/v1/completions", {}, body.dump(), [&](std::string_view f) {
      if (f.rfind("data: ", 0) != 0 || f.substr(6) == "[DONE]") return 0;
      auto j = json::parse(f.substr(6), nullptr, false);
      if (!j.is_object() || !j.contains("choices") || j["choices"].empty()) return 0;
      std::string text = j["choices"][0].value("text", "");
      // The sidecar drops leading white space; so does this count.
      if (!started && text.find_first_not_of(" \t\r\n") == std::string::npos) return 0;
      started = started || !text.empty();
      return text.empty() ? 0 : 1;
    });
  };
  auto through = [&](int port, const std::string& input, const std::string& session = "") {
    json body = {{"input", input}, {"stream", true}, {"parameters", params}};
    if (!session.empty()) body["sessionId"] = session;
    return timed_stream(port, "/v1/executions", auth, body.dump(), [&](std::string_view f) {
      std::string event;
      std::string data = frame_data(f, &event);
      return event == "delta" ? 1 : 0;
    });
  };

  const std::vector<std::string> inputs = {
      "What is Kubernetes?", "Why do containers start fast?", "What does a load balancer do?",
      "How does DNS work?",  "What is a database index?",     "Why use a message queue?"};
  (void)direct(inputs[0]);  // warm both paths
  (void)through(bare, inputs[0]);
  std::vector<double> d_ttft, s_ttft, d_tps, s_tps, ttft_ratio, tps_ratio;
  for (int i = 0; i < pairs; ++i) {
    const std::string& in = inputs[static_cast<size_t>(i) % inputs.size()];
    Sample a, b;
    if (i % 2 == 0) {
      a = direct(in);
      b = through(bare, in);
    } else {
      b = through(bare, in);
      a = direct(in);
    }
    if (a.tokens == 0 || b.tokens == 0) continue;
    d_ttft.push_back(a.ttft_ms);
    s_ttft.push_back(b.ttft_ms);
    d_tps.push_back(a.tokens_per_s);
    s_tps.push_back(b.tokens_per_s);
    ttft_ratio.push_back(b.ttft_ms / a.ttft_ms);
    tps_ratio.push_back(b.tokens_per_s / a.tokens_per_s);
  }
  // With recall: a MiniLM embedding of the input before the call. Each run waits for the previous
  // exchange to be remembered (an embedding on the same two cores) so it measures the recall alone.
  std::vector<double> r_ttft;
  (void)through(recall, inputs[0]);
  for (int i = 0; i < pairs / 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    // A session of its own: the recall embeds the input and searches, but finds nothing, so the
    // prompt stays the same length and the row shows the embedding and search alone.
    auto r = through(recall, inputs[static_cast<size_t>(i) % inputs.size()],
                     "bench-" + std::to_string(i));
    if (r.tokens > 0) r_ttft.push_back(r.ttft_ms);
  }
  std::printf("| %-48s | %-30s | %-24s |\n", "figure", "measured", "target");
  std::printf("|%s|%s|%s|\n", std::string(50, '-').c_str(), std::string(32, '-').c_str(),
              std::string(26, '-').c_str());
  auto row = [](const char* f, const std::string& v, const char* t) {
    std::printf("| %-48s | %-30s | %-24s |\n", f, v.c_str(), t);
  };
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.1f ms direct, %.1f ms sidecar", pct_median(d_ttft),
                pct_median(s_ttft));
  row("time to first token (median of pairs)", buf, "-");
  std::snprintf(buf, sizeof buf, "x%.3f (pairs: median x%.3f)",
                pct_median(s_ttft) / pct_median(d_ttft), pct_median(ttft_ratio));
  row("  sidecar / direct", buf, "< x1.02");
  std::snprintf(buf, sizeof buf, "%.1f direct, %.1f sidecar", pct_median(d_tps), pct_median(s_tps));
  row("tokens per second, first to last token", buf, "-");
  std::snprintf(buf, sizeof buf, "x%.3f", pct_median(tps_ratio));
  row("  sidecar / direct", buf, ">= x0.99 (nothing added)");
  std::snprintf(buf, sizeof buf, "%.1f ms (+%.1f ms)", pct_median(r_ttft),
                pct_median(r_ttft) - pct_median(s_ttft));
  row("  with memory recall (MiniLM, nothing found)", buf, "the embedding's cost");
  std::printf(
      "(Gemma 3 270M Q4_K_M, llama-server --threads %d --parallel 1, greedy, %d tokens at "
      "most, prompt cache off)\n",
      threads, kMaxTokens);
  return 0;
}
