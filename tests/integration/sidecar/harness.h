// Real processes for the sidecar's integration tests: the fake LLM server and the sidecar binary,
// each on a free loopback port, plus small HTTP helpers.
#pragma once

#include <httplib.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/eventually.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {

inline constexpr const char* kToken = "test-token-0123456789abcdef";

class FakeLlm {
 public:
  explicit FakeLlm(std::vector<std::string> extra_args = {});
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // POST /admin/faults.
  void faults(const nlohmann::json& f);
  nlohmann::json stats();
  nlohmann::json last();
  Process& process() { return proc_; }

 private:
  TempDir dir_{"fake-llm"};
  int port_;
  Process proc_;
};

struct SidecarOptions {
  std::string provider_type = "ollama";
  std::string provider_endpoint;           // required
  std::string extra_yaml;                  // appended: more top-level sections
  std::string provider_yaml;               // appended inside provider:
  std::string limits_yaml;                 // appended inside limits:
  std::string server_yaml;                 // appended inside server:
  std::string agent_yaml;                  // appended inside agent:
  std::string name = "test";               // agent.name
  int port = 0;                            // 0: a free one
  std::map<std::string, std::string> env;  // the sidecar's, beside the current environment
};

class Sidecar {
 public:
  explicit Sidecar(const SidecarOptions& o);
  int port() const { return port_; }
  httplib::Client client(int read_timeout_s = 30) const;
  httplib::Headers auth() const { return {{"Authorization", std::string("Bearer ") + kToken}}; }
  Process& process() { return proc_; }
  const std::string& log_path() const { return log_; }
  std::string log_tail(size_t n = 40) { return proc_.log_tail(n); }

  // POST /v1/executions with the token; body is JSON.
  httplib::Result post_execution(const nlohmann::json& body, const std::string& query = "",
                                 httplib::Headers extra = {}) const;
  httplib::Result get(const std::string& path) const;
  // Polls GET /v1/executions/{id} until terminal or timeout; the last JSON seen.
  nlohmann::json wait_terminal(const std::string& id, std::chrono::milliseconds timeout) const;

 private:
  TempDir dir_{"sidecar"};
  int port_;
  std::string log_;
  Process proc_;
};

bool is_terminal_state(const std::string& s);

// The (event, data) pairs of a Server-Sent Events body, data parsed as JSON.
std::vector<std::pair<std::string, nlohmann::json>> sse_events(const std::string& body);

}  // namespace agentry::testing
