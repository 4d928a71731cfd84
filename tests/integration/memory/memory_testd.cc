// agentry-memory-testd: serves the cache and memory routes on a loopback port.
//   --port N  --dir PATH (embedded memory) | --redis HOST:PORT (cache L2 + memory in Redis)
//   --token T (bearer token)  --max-entries N  --hnsw-min N
// Prints "listening <port>" on stdout once it accepts connections; SIGTERM stops it cleanly.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "common/http_util.h"
#include "common/log.h"
#include "common/signals.h"
#include "sidecar/api/http_server.h"
#include "sidecar/api/router.h"
#include "sidecar/cache/cache_routes.h"
#include "sidecar/memory/memory_routes.h"

using namespace agentry;

int main(int argc, char** argv) {
  block_termination_signals();
  log::set_component("memory-testd");
  int port = 0;
  std::string dir, redis, token;
  size_t max_entries = 100000, max_exchanges = 100000, hnsw_min = 2048, l1_entries = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--port")
      port = std::stoi(v);
    else if (a == "--dir")
      dir = v;
    else if (a == "--redis")
      redis = v;
    else if (a == "--token")
      token = v;
    else if (a == "--max-entries")
      max_entries = std::stoul(v);
    else if (a == "--max-exchanges")
      max_exchanges = std::stoul(v);
    else if (a == "--hnsw-min")
      hnsw_min = std::stoul(v);
    else if (a == "--l1-entries")
      l1_entries = std::stoul(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  cache::CacheOptions co;
  co.l1.max_entries = l1_entries;
  memory::MemoryOptions mo;
  mo.limits.max_entries_per_agent = max_entries;
  mo.limits.max_exchanges_per_agent = max_exchanges;
  mo.index.hnsw_min = hnsw_min;
  if (!redis.empty()) {
    redis::RedisOptions ro;
    if (!http::parse_host_port(redis, &ro.host, &ro.port)) return 2;
    co.redis = ro;
    mo.redis = ro;
    mo.persistence = memory::MemoryOptions::Persistence::kRedis;
  } else if (!dir.empty()) {
    mo.persistence = memory::MemoryOptions::Persistence::kEmbedded;
    mo.log.dir = dir;
  }
  cache::CacheService cache(co);
  auto mem = memory::MemoryService::open(mo, std::make_shared<memory::LocalEmbedder>(384));
  if (!mem.ok()) {
    std::fprintf(stderr, "memory: %s\n", mem.status().to_string().c_str());
    return 1;
  }
  // The sidecar's own HTTP server, so the HTTP benchmarks measure what the sidecar serves with.
  sidecar::Router router;
  sidecar::HttpServerOptions so;
  so.host = "127.0.0.1";
  so.port = port;
  so.keep_alive_max_requests = 1000000;  // benchmarks keep their connections
  so.worker_threads = 64;  // like server.threads: concurrent writers share one fsync (group commit)
  sidecar::HttpHooks hooks;
  if (!token.empty()) {
    hooks.before = [token](const httplib::Request& req, httplib::Response& res) {
      if (req.path == "/healthz" || req.path == "/readyz" || req.path == "/metrics") return false;
      if (req.get_header_value("Authorization") == "Bearer " + token) return false;
      http::send_error(res, 401, "unauthenticated", "missing or wrong bearer token");
      return true;
    };
  }
  HealthChecks live, ready;
  ready.add("cache", [&] { return cache.degraded_reason(); });
  ready.add("memory", [&] { return mem.value()->degraded_reason(); });
  sidecar::mount_operational_routes(router, live, ready);
  cache::mount_cache_routes(router, cache);
  memory::mount_memory_routes(router, *mem.value());
  sidecar::HttpServer server(router, so, hooks);
  if (auto s = server.bind(); !s.is_ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }
  port = server.port();
  std::thread serve([&] { server.serve(); });
  std::printf("listening %d\n", port);
  std::fflush(stdout);
  wait_for_termination_signal();
  server.stop();
  serve.join();
  return 0;
}
