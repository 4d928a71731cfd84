#include "tests/integration/sidecar/mcp_servers.h"

#include <chrono>
#include <cstdio>

#include "tests/support/control_plane.h"
#include "tests/support/ports.h"

namespace agentry::testing {

EverythingServer::EverythingServer(std::string transport)
    : transport_(std::move(transport)), port_(free_port()) {}

::testing::AssertionResult EverythingServer::start() {
  const std::string dir = test_tools_dir();
  if (dir.empty()) return ::testing::AssertionFailure() << "hack/test-tools.sh failed";
  Process::Options o;
  o.argv = {"node", dir + "/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
            transport_};
  o.env = {{"PORT", std::to_string(port_)}};
  o.log_path = tmp_.file("everything.log");
  proc_ = std::make_unique<Process>(o);
  std::string err;
  if (!proc_->start(&err)) return ::testing::AssertionFailure() << err;
  if (!wait_for_port(port_, std::chrono::seconds(30)))
    return ::testing::AssertionFailure() << "did not listen: " << proc_->log_tail();
  return ::testing::AssertionSuccess();
}

PythonMcpServer::PythonMcpServer() : port_(free_port()) {}

::testing::AssertionResult PythonMcpServer::start() {
  const std::string dir = test_tools_dir();
  if (dir.empty()) return ::testing::AssertionFailure() << "hack/test-tools.sh failed";
  Process::Options o;
  o.argv = {dir + "/venv/bin/python",
            repo_dir() + "/tests/integration/sidecar/mcp_python_server.py", std::to_string(port_)};
  o.log_path = tmp_.file("python-mcp.log");
  proc_ = std::make_unique<Process>(o);
  std::string err;
  if (!proc_->start(&err)) return ::testing::AssertionFailure() << err;
  if (!wait_for_port(port_, std::chrono::seconds(30)))
    return ::testing::AssertionFailure() << "did not listen: " << proc_->log_tail();
  return ::testing::AssertionSuccess();
}

}  // namespace agentry::testing
