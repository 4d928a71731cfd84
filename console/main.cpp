// agentry-console: the Agents API and web UI (docs/console.md). Parses the flags and runs the
// Console (console/app/console.h); `agentry-console hash-password` prints a hash for an account.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "agentry/version.h"
#include "common/log.h"
#include "common/signals.h"
#include "console/app/console.h"
#include "console/auth/passwords.h"

namespace {

void usage(FILE* out) {
  std::fprintf(
      out,
      "usage: agentry-console [flags]\n"
      "       agentry-console hash-password   (reads a password on stdin, prints its yescrypt "
      "hash)\n"
      "  --kubeconfig PATH          kubeconfig (default $KUBECONFIG, in-cluster, ~/.kube/config)\n"
      "  --listen HOST:PORT         the API and UI (default 0.0.0.0:8090)\n"
      "  --namespace NS             the console's namespace: its accounts Secret and template\n"
      "                             ConfigMaps (default agentry-system)\n"
      "  --accounts-secret NAME     the Secret of console accounts (default "
      "agentry-console-accounts)\n"
      "  --default-namespace NS     where agents are created when a request names none "
      "(default default)\n"
      "  --session-ttl SECONDS      how long a login lasts (default 28800)\n"
      "  --no-kubernetes-tokens     accept console sessions only (no TokenReview)\n"
      "  --log-level debug|info|warn|error\n"
      "  --version, --help\n");
}

int hash_password() {
  std::string pw;
  const bool tty = isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::fprintf(stderr, "password: ");
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::getline(std::cin, pw);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  if (pw.empty()) {
    std::fprintf(stderr, "agentry-console: an empty password is not a password\n");
    return 2;
  }
  auto h = agentry::console::hash_password(pw);
  if (!h.ok()) {
    std::fprintf(stderr, "agentry-console: %s\n", h.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", h->c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "hash-password") == 0) return hash_password();
  agentry::block_termination_signals();
  agentry::log::set_component("console");
  agentry::console::ConsoleOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "agentry-console: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--version") {
      std::printf("agentry-console %s\n", agentry::kVersion);
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--kubeconfig") {
      o.kubeconfig = value("--kubeconfig");
    } else if (a == "--listen") {
      o.listen = value("--listen");
    } else if (a == "--namespace") {
      o.console_namespace = value("--namespace");
    } else if (a == "--accounts-secret") {
      o.auth.accounts_secret = value("--accounts-secret");
    } else if (a == "--default-namespace") {
      o.api.default_namespace = value("--default-namespace");
    } else if (a == "--session-ttl") {
      const std::string v = value("--session-ttl");
      char* end = nullptr;
      long s = std::strtol(v.c_str(), &end, 10);
      if (!end || *end || s < 60 || s > 7 * 24 * 3600) {
        std::fprintf(stderr, "agentry-console: --session-ttl %s: want 60..604800 seconds\n",
                     v.c_str());
        return 2;
      }
      o.auth.sessions.ttl = std::chrono::seconds(s);
    } else if (a == "--no-kubernetes-tokens") {
      o.auth.accept_kubernetes_tokens = false;
    } else if (a == "--log-level") {
      agentry::log::Level l;
      if (!agentry::log::parse_level(value("--log-level"), &l)) {
        std::fprintf(stderr, "agentry-console: --log-level: want debug, info, warn or error\n");
        return 2;
      }
      agentry::log::set_level(l);
    } else {
      std::fprintf(stderr, "agentry-console: unknown flag %s\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  agentry::console::Console console(o);
  if (auto s = console.start(); !s.is_ok()) {
    agentry::log::error("console cannot start", {{"error", s.to_string()}});
    return 1;
  }
  std::thread server([&] { console.serve(); });
  int sig = agentry::wait_for_termination_signal();
  agentry::log::info("console stopping", {{"signal", sig}});
  console.stop();
  server.join();
  return 0;
}
