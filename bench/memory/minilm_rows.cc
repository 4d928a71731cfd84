#include "bench/memory/minilm_rows.h"

#include <cblas.h>
#include <httplib.h>
#include <time.h>

#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "bench/memory/table.h"
#include "sidecar/api/http_server.h"
#include "sidecar/memory/batching_embedder.h"
#include "sidecar/memory/memory_routes.h"
#include "sidecar/memory/memory_service.h"
#include "sidecar/memory/minilm/minilm_embedder.h"

namespace agentry::bench {
namespace {

using memory::minilm::MiniLmEmbedder;
using nlohmann::json;

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

size_t rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string data_file(const char* name) {
  return std::string(AGENTRY_REPO_DIR) + "/tests/data/" + name;
}

// `count` texts of at most `tokens` word pieces ([CLS] and [SEP] included), as many as fit, cut
// from the retrieval memories run together.
std::vector<std::string> long_texts(const MiniLmEmbedder& e, const std::vector<std::string>& pool,
                                    size_t tokens, size_t count) {
  std::vector<std::string> words;
  for (const auto& t : pool) {
    std::istringstream in(t);
    for (std::string w; in >> w;) words.push_back(w);
  }
  std::vector<std::string> out;
  size_t at = 0;
  while (out.size() < count) {
    std::string text;
    for (;;) {
      std::string next =
          text.empty() ? words[at % words.size()] : text + " " + words[at % words.size()];
      if (e.tokenizer().encode(next, 100000).size() > tokens) break;
      text = std::move(next);
      ++at;
    }
    out.push_back(text);
  }
  return out;
}

double mean_tokens(const MiniLmEmbedder& e, const std::vector<std::string>& texts) {
  double n = 0;
  for (const auto& t : texts)
    n += static_cast<double>(e.tokenizer().encode(t, e.max_tokens()).size());
  return n / static_cast<double>(texts.size());
}

// The forward pass's matrix products alone, for sequences of these lengths (bert.cc: per layer,
// four 384x384 projections and the 384->1536->384 feed-forward over all tokens stacked, then per
// sequence and head QK^T and scores x V), on random matrices: the floor an implementation on this
// BLAS cannot go under. Returns CPU seconds of this thread.
double sgemm_floor_s(const std::vector<size_t>& lengths, int rounds) {
  const int h = 384, ff = 1536, heads = 12, dh = 32, layers = 6;
  size_t total = 0, longest = 0;
  for (size_t n : lengths) total += n, longest = std::max(longest, n);
  const int T = static_cast<int>(total);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  auto rnd = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
  };
  auto x = rnd(static_cast<size_t>(T) * ff), y = rnd(static_cast<size_t>(T) * ff);
  auto w = rnd(static_cast<size_t>(h) * ff), scores = rnd(longest * longest);
  const double t0 = thread_cpu_s();
  for (int r = 0; r < rounds; ++r) {
    for (int l = 0; l < layers; ++l) {
      for (int p = 0; p < 4; ++p)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, h, h, 1.0f, x.data(), h, w.data(),
                    h, 1.0f, y.data(), h);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, ff, h, 1.0f, x.data(), h, w.data(), h,
                  1.0f, y.data(), ff);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, h, ff, 1.0f, x.data(), ff, w.data(),
                  ff, 1.0f, y.data(), h);
      size_t start = 0;
      for (size_t n0 : lengths) {
        const int n = static_cast<int>(n0);
        for (int hd = 0; hd < heads; ++hd) {
          const float* q = x.data() + start * h + hd * dh;
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dh, 1.0f, q, h, q, h, 0.0f,
                      scores.data(), n);
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, n, 1.0f, scores.data(), n,
                      q, h, 0.0f, y.data() + start * h + hd * dh, h);
        }
        start += n0;
      }
    }
  }
  return thread_cpu_s() - t0;
}

// Embeddings per CPU second on this thread, `batch` texts a call, and the sgemm floor's.
void speed_row(MiniLmEmbedder& e, const std::vector<std::string>& texts, size_t batch, size_t total,
               const char* label) {
  const int rounds = static_cast<int>(std::max<size_t>(1, total / texts.size()));
  std::vector<std::vector<std::string>> calls;
  for (size_t i = 0; i < texts.size(); i += batch)
    calls.emplace_back(texts.begin() + static_cast<long>(i),
                       texts.begin() + static_cast<long>(std::min(texts.size(), i + batch)));
  (void)e.embed(calls[0]);  // warm: pages of the weights, BLAS buffers
  const double t0 = thread_cpu_s();
  for (int r = 0; r < rounds; ++r)
    for (const auto& c : calls) (void)e.embed(c);
  const double ours = thread_cpu_s() - t0;
  double floor_s = 0;
  for (const auto& c : calls) {
    std::vector<size_t> lengths;
    for (const auto& t : c) lengths.push_back(e.tokenizer().encode(t, e.max_tokens()).size());
    floor_s += sgemm_floor_s(lengths, rounds);
  }
  const double n = static_cast<double>(texts.size()) * rounds;
  const double rate = n / ours, floor_rate = n / floor_s;
  row(label, fmt("%.0f/s; floor %.0f/s; x%.2f", rate, floor_rate, rate / floor_rate),
      ">= 0.7 x the sgemm floor");
}

struct Latencies {
  std::vector<double> remember, search;
  double seconds = 0;
};

// Remember and search through the HTTP routes from `clients` connections at once, `per` of each
// per client, the memory holding the retrieval set first.
Latencies over_http(std::shared_ptr<memory::Embedder> embedder,
                    const std::vector<std::string>& memories,
                    const std::vector<std::string>& queries, int clients, int per) {
  Latencies out;
  memory::MemoryOptions o;
  o.index.background = false;
  auto svc = memory::MemoryService::open(o, embedder);
  if (!svc.ok()) return out;
  auto& m = **svc;
  std::vector<memory::NewEntry> seed;
  for (const auto& t : memories) {
    memory::NewEntry e;
    e.text = t;
    seed.push_back(e);
  }
  (void)m.add(std::move(seed));
  sidecar::Router router;
  memory::mount_memory_routes(router, m);
  sidecar::HttpServerOptions so;
  so.host = "127.0.0.1";
  sidecar::HttpServer server(router, so);
  if (!server.bind().is_ok()) return out;
  const int port = server.port();
  std::thread serve([&] { server.serve(); });
  std::mutex mu;
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cl("127.0.0.1", port);
      cl.set_keep_alive(true);
      cl.set_tcp_nodelay(true);  // else Nagle holds each body for the server's delayed ACK (40 ms)
      cl.set_read_timeout(60, 0);
      std::vector<double> rem, sea;
      for (int i = 0; i < per; ++i) {
        const size_t k = static_cast<size_t>(c * per + i);
        auto t = Clock::now();
        auto r =
            cl.Post("/v1/memory",
                    json{{"text", memories[k % memories.size()] + " (" + std::to_string(k) + ")"},
                         {"session", "bench"}}
                        .dump(),
                    "application/json");
        rem.push_back(ms_since(t));
        if (!r || r->status != 201)
          std::fprintf(stderr, "remember failed: %d\n", r ? r->status : 0);
        t = Clock::now();
        r = cl.Post("/v1/memory/search",
                    json{{"query", queries[k % queries.size()]}, {"k", 5}}.dump(),
                    "application/json");
        sea.push_back(ms_since(t));
        if (!r || r->status != 200) std::fprintf(stderr, "search failed: %d\n", r ? r->status : 0);
      }
      std::lock_guard<std::mutex> lock(mu);
      out.remember.insert(out.remember.end(), rem.begin(), rem.end());
      out.search.insert(out.search.end(), sea.begin(), sea.end());
    });
  for (auto& t : threads) t.join();
  out.seconds = ms_since(t0) / 1000;
  server.stop();
  serve.join();
  return out;
}

struct Quality {
  double recall5 = 0, mrr = 0;
};

// recall@5: the share of queries whose relevant memory is in the top 5; MRR: the mean of 1/rank
// of the relevant memory in the top 10 (0 when absent).
Quality quality(std::shared_ptr<memory::Embedder> embedder, const std::vector<json>& memories,
                const std::vector<json>& queries) {
  Quality q;
  memory::MemoryOptions o;
  o.index.background = false;
  auto svc = memory::MemoryService::open(o, embedder);
  if (!svc.ok()) return q;
  std::vector<memory::NewEntry> batch;
  for (const auto& m : memories) {
    memory::NewEntry e;
    e.id = m["id"];
    e.text = m["text"];
    batch.push_back(std::move(e));
  }
  if (!(*svc)->add(std::move(batch)).ok()) return q;
  for (const auto& query : queries) {
    memory::SearchRequest r;
    r.query = query["query"].get<std::string>();
    r.k = 10;
    auto res = (*svc)->search(r);
    if (!res.ok()) continue;
    const std::string want = query["relevant"][0];
    for (size_t i = 0; i < res->hits.size(); ++i)
      if (res->hits[i].entry.id == want) {
        if (i < 5) q.recall5 += 1;
        q.mrr += 1.0 / static_cast<double>(i + 1);
        break;
      }
  }
  q.recall5 /= static_cast<double>(queries.size());
  q.mrr /= static_cast<double>(queries.size());
  return q;
}

}  // namespace

bool retrieval_quality_rows(const std::string& model_dir) {
  auto model = MiniLmEmbedder::load(model_dir);
  if (!model.ok()) {
    std::fprintf(stderr, "minilm: %s\n", model.status().message().c_str());
    return false;
  }
  const auto memories = read_jsonl(data_file("retrieval_memories.jsonl"));
  const auto queries = read_jsonl(data_file("retrieval_queries.jsonl"));
  const Quality mini =
      quality(std::shared_ptr<memory::Embedder>(std::move(*model)), memories, queries);
  const Quality lex = quality(std::make_shared<memory::LocalEmbedder>(384), memories, queries);
  char label[128];
  std::snprintf(label, sizeof label, "retrieval, %zu paraphrase queries over %zu memories",
                queries.size(), memories.size());
  row(label, "recall@5 / MRR@10", "MiniLM clearly ahead");
  row("  MiniLM (all-MiniLM-L6-v2)", fmt("%.3f / %.3f", mini.recall5, mini.mrr),
      ">= lexical + 0.2 each");
  row("  lexical (word hash)", fmt("%.3f / %.3f", lex.recall5, lex.mrr), "the baseline");
  return mini.recall5 >= lex.recall5 + 0.2 && mini.mrr >= lex.mrr + 0.2;
}

bool minilm_rows(const std::string& model_dir) {
  const size_t rss0 = rss_kb();
  auto loaded = MiniLmEmbedder::load(model_dir);
  if (!loaded.ok()) {
    std::fprintf(stderr, "minilm: %s\n", loaded.status().message().c_str());
    return false;
  }
  std::shared_ptr<MiniLmEmbedder> e(std::move(*loaded));
  const size_t rss_loaded = rss_kb();
  std::vector<std::string> memories, queries;
  for (const auto& m : read_jsonl(data_file("retrieval_memories.jsonl")))
    memories.push_back(m["text"]);
  for (const auto& q : read_jsonl(data_file("retrieval_queries.jsonl")))
    queries.push_back(q["query"]);
  std::vector<std::string> short_texts;
  for (const auto& t : memories)
    if (e->tokenizer().encode(t, 256).size() <= 16) short_texts.push_back(t);
  short_texts.resize(std::min<size_t>(short_texts.size(), 128));
  const auto long_128 = long_texts(*e, memories, 128, 64);

  char label[128];
  std::snprintf(label, sizeof label, "MiniLM, short texts (mean %.1f tokens), 64 a pass",
                mean_tokens(*e, short_texts));
  speed_row(*e, short_texts, 64, 1024, label);
  speed_row(*e, short_texts, 1, 1024, "  the same, 1 a pass (no batching)");
  std::snprintf(label, sizeof label, "MiniLM, long texts (mean %.1f tokens), 16 a call",
                mean_tokens(*e, long_128));
  speed_row(*e, long_128, 16, 128, label);
  speed_row(*e, long_128, 1, 128, "  the same, 1 a pass");
  const size_t rss_warm = rss_kb();
  row("MiniLM resident memory (weights mapped, warm)",
      fmt("%.1f MB (+%.1f MB at load)", (rss_warm - rss0) / 1024.0, (rss_loaded - rss0) / 1024.0),
      "<= 90.9 MB weights + 32 MB");

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto batched = std::make_shared<memory::BatchingEmbedder>(
      e, memory::BatchingOptions{.passes = cores, .max_texts = 64});
  for (int clients : {1, 8, 64}) {
    const int per = clients == 1 ? 60 : clients == 8 ? 20 : 8;
    auto l = over_http(batched, memories, queries, clients, per);
    std::snprintf(label, sizeof label, "remember / search p95 via HTTP, %d at once", clients);
    row(label,
        fmt("%.1f / %.1f ms, %.0f ops/s", pct(l.remember, 0.95), pct(l.search, 0.95),
            2.0 * static_cast<double>(l.remember.size()) / l.seconds),
        "guideline p95 < 100 ms");
    if (clients == 64) {
      auto b = batched->stats();
      auto u = over_http(e, memories, queries, clients, per);
      row("  64 at once without batching",
          fmt("%.1f / %.1f ms, %.0f ops/s", pct(u.remember, 0.95), pct(u.search, 0.95),
              2.0 * static_cast<double>(u.remember.size()) / u.seconds),
          "what batching bought");
      row("  batching: texts per forward pass (all rows)",
          fmt("%.2f (%.0f passes)", static_cast<double>(b.texts) / static_cast<double>(b.passes),
              static_cast<double>(b.passes)),
          "> 1 under concurrency");
    }
  }
  return retrieval_quality_rows(model_dir);
}

}  // namespace agentry::bench
