// agentry-sidecar: executes agent requests against an LLM provider behind an authenticated HTTP
// API. Parses the flags, loads the config and runs the Sidecar (sidecar/app/sidecar.h).
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "agentry/version.h"
#include "common/log.h"
#include "common/signals.h"
#include "sidecar/app/sidecar.h"
#include "sidecar/config.h"

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
  auto sidecar = sc::Sidecar::create(std::move(loaded.value()));
  if (!sidecar.ok()) {
    std::fprintf(stderr, "agentry-sidecar: %s\n", sidecar.status().message().c_str());
    return 1;
  }
  if (auto s = (*sidecar)->start(); !s.is_ok()) {
    agentry::log::error("cannot listen",
                        {{"addr", (*sidecar)->config().server.listen}, {"error", s.message()}});
    return 1;
  }
  (*sidecar)->shutdown(agentry::wait_for_termination_signal());
  return 0;
}
