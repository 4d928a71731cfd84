#include "tests/support/redis_server.h"

#include <csignal>
#include <sstream>
#include <thread>

#include "tests/support/ports.h"

namespace agentry::testing {

RedisServer::RedisServer(Options opts) : opts_(opts), port_(opts.port ? opts.port : free_port()) {}

RedisServer::~RedisServer() {
  if (proc_) proc_->stop(SIGKILL);
}

bool RedisServer::start(std::string* error) {
  Process::Options po;
  po.argv = {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
             "--dir", dir_.path(), "--save", "", "--protected-mode", "no",
             "--appendonly", opts_.appendonly ? "yes" : "no", "--appendfsync", "always",
             "--daemonize", "no", "--loglevel", "warning"};
  po.log_path = dir_.file("redis.log");
  proc_ = std::make_unique<Process>(po);
  std::string err;
  if (!proc_->start(&err)) {
    if (error) *error = "redis-server did not start (" + err + "); run hack/install-deps.sh";
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!proc_->running()) break;
    if (wait_for_port(port_, std::chrono::milliseconds(50)) && cli("PING") == "PONG") return true;
  }
  if (error) *error = "redis-server on port " + std::to_string(port_) + " not ready:\n" + proc_->log_tail();
  return false;
}

void RedisServer::stop() {
  if (proc_) proc_->stop(SIGTERM);
}

void RedisServer::kill() {
  if (proc_) proc_->stop(SIGKILL);
}

bool RedisServer::running() { return proc_ && proc_->running(); }

std::string RedisServer::cli(const std::string& args) const {
  std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port_)};
  std::istringstream in(args);
  std::string word;
  while (in >> word) argv.push_back(word);
  std::string out;
  run_command(argv, &out, std::chrono::seconds(10));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace agentry::testing
