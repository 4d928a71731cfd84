// A real redis-server (Debian's) on a free loopback port, in its own temp dir, for tests.
// Persistence follows Options; stop()/start() keep the data dir so a restart finds its data.
#pragma once

#include <memory>
#include <string>

#include "tests/support/process.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {

class RedisServer {
 public:
  struct Options {
    bool appendonly = false;  // AOF with appendfsync always: acknowledged writes survive kill -9
    int port = 0;             // 0: a free port
  };
  RedisServer() : RedisServer(Options{}) {}
  explicit RedisServer(Options opts);
  ~RedisServer();

  // Starts it and waits until it answers PING; false with the log tail in *error otherwise.
  bool start(std::string* error = nullptr);
  void stop();  // SIGTERM and wait
  void kill();  // SIGKILL, no goodbye
  bool running();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // Runs redis-cli against it; returns its trimmed stdout.
  std::string cli(const std::string& args) const;

 private:
  Options opts_;
  TempDir dir_{"redis"};
  int port_ = 0;
  std::unique_ptr<Process> proc_;
};

}  // namespace agentry::testing
