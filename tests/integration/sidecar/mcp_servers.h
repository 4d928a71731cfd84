// MCP servers no one here wrote, as test processes: the reference server
// @modelcontextprotocol/server-everything (npm, installed and cached by hack/test-tools.sh).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/support/process.h"
#include "tests/support/test_tools.h"
#include "tests/support/tempdir.h"

namespace agentry::testing {


// The reference server as a process on a free port (PORT env), restartable on the same port.
// transport: "streamableHttp" (its /mcp) or "sse" (the older HTTP+SSE transport: GET /sse, POST
// /message).
class EverythingServer {
 public:
  explicit EverythingServer(std::string transport = "streamableHttp");
  ::testing::AssertionResult start();
  void stop() { proc_.reset(); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + (transport_ == "sse" ? "/sse" : "/mcp");
  }
  int port() const { return port_; }

 private:
  std::string transport_;
  int port_;
  TempDir tmp_{"mcp-everything"};
  std::unique_ptr<Process> proc_;
};

// tests/integration/sidecar/mcp_python_server.py on the official Python SDK (PyPI mcp, in
// hack/test-tools.sh's venv): tools add, slow, fail, grow (adds "fresh", notifies list_changed).
class PythonMcpServer {
 public:
  PythonMcpServer();
  ::testing::AssertionResult start();
  void stop() { proc_.reset(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }

 private:
  int port_;
  TempDir tmp_{"mcp-python"};
  std::unique_ptr<Process> proc_;
};

}  // namespace agentry::testing
