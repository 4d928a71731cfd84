// agentry-sidecar: executes agent requests against an LLM provider behind an authenticated HTTP
// API.
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "agentry/version.h"
#include "common/log.h"
#include "common/signals.h"
#include "sidecar/api/auth.h"
#include "sidecar/api/server.h"
#include "sidecar/config.h"
#include "sidecar/exec/engine.h"
#include "sidecar/exec/providers/http_provider.h"
#include "sidecar/memory_pressure.h"
#include "sidecar/storage_routes.h"

namespace {

namespace sc = agentry::sidecar;

void usage(FILE* out) {
  std::fprintf(
      out,
      "usage: agentry-sidecar --config FILE [flags]\n"
      "  --config FILE          the runtime config (YAML; see docs/sidecar.md)\n"
      "  --check-config FILE    validate FILE, print the result, exit 0 (valid) or 1\n"
      "  --listen HOST:PORT     overrides server.listen\n"
      "  --token-file FILE      overrides server.tokenFile\n"
      "  --log-text             plain text logs instead of JSON lines\n"
      "  --version              print the version and exit\n"
      "  --help                 this text\n"
      "env: AGENTRY_SIDECAR_LISTEN, AGENTRY_SIDECAR_TOKEN_FILE, AGENTRY_PROVIDER_ENDPOINT,\n"
      "     AGENTRY_PROVIDER_MODEL, AGENTRY_PROVIDER_API_KEY, AGENTRY_LOG_LEVEL\n");
}

}  // namespace

int main(int argc, char** argv) {
  agentry::block_termination_signals();
  agentry::log::set_component("sidecar");
  std::string config_path;
  std::map<std::string, std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "agentry-sidecar: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--version") {
      std::printf("agentry-sidecar %s\n", agentry::kVersion);
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--check-config") {
      std::string path = value("--check-config");
      auto cfg = sc::load_config(path);
      if (!cfg.ok()) {
        std::fprintf(stderr, "%s: invalid: %s\n", path.c_str(), cfg.status().message().c_str());
        return 1;
      }
      std::printf("%s: ok\n", path.c_str());
      return 0;
    } else if (a == "--config") {
      config_path = value("--config");
    } else if (a == "--listen") {
      overrides["server.listen"] = value("--listen");
    } else if (a == "--token-file") {
      overrides["server.tokenFile"] = value("--token-file");
    } else if (a == "--log-text") {
      agentry::log::set_text_format(true);
    } else {
      std::fprintf(stderr, "agentry-sidecar: unknown flag %s\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }

  auto loaded = sc::load_config(config_path, overrides);
  if (!loaded.ok()) {
    std::fprintf(stderr, "agentry-sidecar: config: %s\n", loaded.status().message().c_str());
    return 1;
  }
  const sc::Config cfg = std::move(loaded.value());
  auto auth = sc::TokenAuth::from_file(cfg.server.token_file);
  if (!auth.ok()) {
    std::fprintf(stderr, "agentry-sidecar: %s\n", auth.status().message().c_str());
    return 1;
  }
  auto provider = sc::make_provider(cfg.provider);
  if (!provider.ok()) {
    std::fprintf(stderr, "agentry-sidecar: %s\n", provider.status().message().c_str());
    return 1;
  }
  auto http_provider = provider.value();

  sc::Engine engine(cfg, http_provider);
  sc::MemoryMonitor monitor(cfg.memory_pressure);
  monitor.add_cleanup_hook("finished-executions", [&engine, &cfg](double) {
    size_t n = engine.trim_finished(static_cast<size_t>(cfg.limits.retain_executions) / 2);
    agentry::log::info("trimmed finished executions", {{"count", n}});
  });
  monitor.add_cleanup_hook("provider-idle-connections",
                           [http_provider](double) { http_provider->pool().clear_idle(); });
  monitor.add_cleanup_hook("malloc-trim", [](double) { malloc_trim(0); });

  sc::ApiServer server(cfg, engine, *auth.value(), monitor);
  sc::mount_storage_routes(server, cfg, engine);
  if (auto s = server.bind(); !s.is_ok()) {
    agentry::log::error("cannot listen", {{"addr", cfg.server.listen}, {"error", s.message()}});
    return 1;
  }
  std::thread serve([&] { server.serve(); });
  monitor.start();
  agentry::log::info("started", {{"version", agentry::kVersion},
                                 {"listen", cfg.server.listen},
                                 {"port", server.port()},
                                 {"provider", cfg.provider.type},
                                 {"endpoint", cfg.provider.endpoint},
                                 {"model", cfg.provider.model},
                                 {"max_concurrency", cfg.limits.max_concurrency}});

  int sig = agentry::wait_for_termination_signal();
  agentry::log::info("shutting down: no new executions; draining",
                     {{"signal", sig},
                      {"running", engine.running()},
                      {"queued", engine.queued()},
                      {"deadline_seconds", cfg.server.shutdown_drain_seconds}});
  auto report = engine.drain(std::chrono::seconds(cfg.server.shutdown_drain_seconds));
  agentry::log::info("drained", {{"finished", report.finished},
                                 {"cut", report.cut},
                                 {"cut_count", report.cut.size()},
                                 {"memory_updates_flushed", report.memory_updates_flushed}});
  // Results stay readable briefly so callers polling for them see their final state.
  std::this_thread::sleep_for(std::chrono::seconds(cfg.server.shutdown_grace_seconds));
  server.stop();
  serve.join();
  monitor.stop();
  agentry::log::info("stopped");
  return 0;
}
