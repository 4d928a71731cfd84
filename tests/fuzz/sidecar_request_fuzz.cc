// libFuzzer target: the sidecar's whole request path. One input is the bytes a client sends on a
// fresh connection to the real API server (Beast parsing, percent-decoding, auth, routing, every
// route's handler and JSON, the error answers), served in process on loopback with the real
// execution, cache and memory routes. A crash, a sanitizer report or a hang is a finding.
//
// The world is built once: a provider that is never reachable (connections refused at once), an
// L1-only cache, memory kept in process. The corpus (tests/fuzz/corpus/sidecar_request) holds
// authenticated requests to every route, so the fuzzer starts past the token check.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "common/log.h"
#include "sidecar/app/sidecar.h"
#include "sidecar/config.h"

namespace sc = agentry::sidecar;

namespace {

// The token in the corpus' Authorization headers.
constexpr const char* kToken = "fuzz-token-0123456789abcdef";

// Lives for the whole run (libFuzzer has no teardown); built on the first input.
struct World {
  World() {
    agentry::log::set_level(agentry::log::Level::kError);
    char tmpl[] = "/tmp/agentry-fuzz-sidecar-XXXXXX";
    dir = mkdtemp(tmpl);
    std::ofstream(dir + "/token") << kToken << "\n";
    std::ofstream(dir + "/config.yaml")
        << "server:\n  listen: 127.0.0.1:0\n  tokenFile: " << dir << "/token\n"
        << "  threads: 8\n  readTimeoutSeconds: 1\n  keepAliveTimeoutSeconds: 1\n"
        << "  writeTimeoutSeconds: 2\n  maxWaitSeconds: 1\n  maxBodyBytes: 65536\n"
        << "  accessLog: false\n"
        << "limits:\n  maxConcurrency: 4\n  queueSize: 16\n  executionTimeoutSeconds: 1\n"
        << "  retainExecutions: 256\n"
        << "provider:\n  type: openai\n  endpoint: http://127.0.0.1:9\n  model: m\n"
        << "  connectTimeoutMs: 50\n  readTimeoutMs: 200\n  retries: 0\n"
        << "agent:\n  name: fuzz\n  options:\n    temperature: 0\n"
        << "memory:\n  maxEntries: 2000\n";
    auto loaded = sc::load_config(dir + "/config.yaml");
    if (!loaded.ok()) die(loaded.status().message());
    auto built = sc::Sidecar::create(loaded.value());
    if (!built.ok()) die(built.status().message());
    sidecar = std::move(built.value());
    if (auto s = sidecar->start(); !s.is_ok()) die(s.message());
    port = sidecar->port();
  }
  [[noreturn]] static void die(const std::string& why) {
    std::fprintf(stderr, "sidecar_request_fuzz: %s\n", why.c_str());
    std::abort();
  }
  std::string dir;
  std::unique_ptr<sc::Sidecar> sidecar;
  int port = 0;
};

// Sends the bytes, half-closes, and reads until the server closes (bounded by 3 s).
// The connection is reset at the end (SO_LINGER 0) rather than closed: a closing client keeps
// each 4-tuple in TIME_WAIT for a minute, and at ~1,500 exchanges a second the loopback
// ephemeral ports run out (connect: EADDRNOTAVAIL) in under a minute. A refused or failing
// connect is retried for 2 s before it counts as the server being gone.
void exchange(int port, const uint8_t* data, size_t size) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = -1;
  for (int attempt = 0;; ++attempt) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) break;
    const int err = errno;
    ::close(fd);
    if (attempt == 100)
      World::die(std::string("cannot connect to the sidecar (") + std::strerror(err) +
                 "): is it still serving?");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  linger no_wait{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_wait, sizeof no_wait);
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered early and closed
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buf[16384];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (::recv(fd, buf, sizeof buf, 0) <= 0) break;
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();  // never destroyed: the fuzzer exits the process
  exchange(world->port, data, size);
  return 0;
}
